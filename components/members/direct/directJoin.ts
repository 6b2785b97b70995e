/**
 * The direct connection (docs/kubesphere.md §3): KubeSphere gets a kubeconfig of the member — the member's own
 * (`credentials: kubeconfig`) or a ServiceAccount token's (`serviceAccount`) — and the program waits for the join
 * when it can read the host (memberJoin.ts), with the diagnosis on a failure.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_READY_TIMEOUT_SECONDS } from "../../config/configSchema";
import type { ParsedKubeconfig } from "../../kubernetes/kubeconfig";
import { asResourceError } from "../../kubernetes/resourceErrors";
import { diagnose } from "../diagnosis/diagnose";
import { readDiagnosisFacts } from "../diagnosis/readFacts";
import type { JoinPath } from "../joinPath";
import { diagnosisInput, importedServer, MemberContext } from "../memberContext";
import type { MemberPreflight } from "../memberClusterArgs";
import { isKubeSphereRenewal, serviceAccountKubeconfig } from "./importCredentials";
import { createImportServiceAccount } from "./importServiceAccount";
import { ClusterJoinState, waitForClusterJoin } from "./memberJoin";

/** The direct join of a member, once every pre-flight passed (`checked`). */
export function directJoin(ctx: MemberContext, checked: pulumi.Output<MemberPreflight>): JoinPath {
    const importKubeconfig = pulumi.secret(
        ctx.credentials === "serviceAccount"
            ? serviceAccountImport(ctx, checked)
            : ctx.hostMajor === "v3"
              ? ctx.kubeconfig.apply((parsed) => importedServer(ctx, parsed).yaml)
              : keepingKubeSphereRenewal(ctx, checked),
    );
    const programWaits = ctx.args.host.kubeconfig !== undefined;
    return {
        connection: (ready) => ({
            kubeconfigBase64: pulumi
                .all([importKubeconfig, ready])
                .apply(([text]) => Buffer.from(text, "utf8").toString("base64")),
        }),
        memberResources: [],
        programWaits,
        joined: (cluster, recorded) =>
            programWaits
                ? pulumi
                      .all([recorded, pulumi.unsecret(waitForJoin(ctx, cluster.id))])
                      .apply(([value, read]) => read ?? value)
                : recorded,
    };
}

/** The ServiceAccount on the member and the static token kubeconfig built from it. */
function serviceAccountImport(ctx: MemberContext, checked: pulumi.Output<MemberPreflight>): pulumi.Output<string> {
    const account = createImportServiceAccount(ctx.name, ctx.args.credentialsRevision ?? 1, checked, {
        parent: ctx.component,
        provider: ctx.kubernetesProvider,
    });
    return pulumi
        .all([ctx.kubeconfig, account.token, account.caData])
        .apply(([memberKubeconfig, token, secretCaData]) =>
            serviceAccountKubeconfig({
                member: ctx.name,
                server: ctx.args.apiServerEndpoint ?? memberKubeconfig.server,
                token,
                caData: memberKubeconfig.caData ?? secretCaData,
                insecure: memberKubeconfig.insecure,
            }),
        );
}

/**
 * 4.x renews a client certificate inside the Cluster when 7 days or less are left (docs/kubesphere.md §9): once it has, the
 * kubeconfig KubeSphere keeps is what the Cluster gets, so neither `pulumi up --refresh` nor a plain `up` puts ours
 * back (isKubeSphereRenewal). A read of the host, so previews show the same; a host from another stack is not read.
 */
function keepingKubeSphereRenewal(ctx: MemberContext, checked: pulumi.Output<MemberPreflight>): pulumi.Output<string> {
    return pulumi.all([ctx.kubeconfig, ctx.hostKubeconfig, checked]).apply(async ([memberKubeconfig, host]) => {
        const ours: ParsedKubeconfig = importedServer(ctx, memberKubeconfig);
        if (host === undefined) return ours.yaml;
        try {
            const kept = await ctx.reads.access.readImportedKubeconfig(host, ctx.name);
            if (!isKubeSphereRenewal(ours, kept)) return ours.yaml;
            pulumi.log.info(
                `member "${ctx.name}": KubeSphere renewed the kubeconfig in its Cluster (client certificate with 7 days or less left); ` +
                    `keeping KubeSphere's (a kubeconfig of yours whose certificate expires later replaces it)`,
                ctx.component,
            );
            return kept!;
        } catch (err) {
            throw asResourceError(err, ctx.component);
        }
    });
}

/**
 * Waits for the Cluster to join (memberJoin.ts), with the diagnosis on a failure KubeSphere reports and at the
 * timeout. Not in previews: the recorded status stands.
 */
function waitForJoin(ctx: MemberContext, created: pulumi.Output<string>): pulumi.Output<ClusterJoinState | undefined> {
    return pulumi
        .all([created, ctx.kubeconfig, ctx.hostKubeconfig])
        .apply(async ([, memberKubeconfig, hostKubeconfig]) => {
            if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return undefined;
            const access = ctx.reads.access;
            try {
                const { cluster } = await waitForClusterJoin({
                    member: ctx.name,
                    configKey: ctx.configKey,
                    read: async () => {
                        const found = await access.readClusterObject(hostKubeconfig, ctx.name);
                        if (found === undefined) return undefined;
                        // The kubeconfig KubeSphere got stays with the diagnosis (a secret); the wait keeps the status.
                        const { kubeconfig: _imported, ...state } = found;
                        return state;
                    },
                    ksCoreConfigHash: ctx.ksCoreConfigHash,
                    diagnose: async () =>
                        diagnose(
                            await readDiagnosisFacts(
                                { ...diagnosisInput(ctx, { memberKubeconfig, hostKubeconfig }), withPods: true },
                                access,
                            ),
                        ),
                    timeoutMs: (ctx.args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, ctx.component),
                });
                return cluster;
            } catch (err) {
                throw asResourceError(err, ctx.component);
            }
        });
}
