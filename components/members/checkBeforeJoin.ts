/**
 * The first step of a MemberCluster: the pre-flight. Reads the member and the host (shared per run), logs the
 * warnings and refuses, before any change and in previews too, a join that cannot work (memberPreflight.ts says
 * which, the diagnosis's early checks add the connection KubeSphere will use).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { ClusterFacts, FleetMember, installOf } from "../kubesphere/facts";
import { WORKSPACE_CRD } from "../kubesphere/kubefed";
import { KUBESPHERE_NAMESPACE } from "../kubesphere/kubesphereConfig";
import { KS_APISERVER_WORKLOAD, KS_CONTROLLER_MANAGER_WORKLOAD } from "../kubesphere/kubesphereObjects";
import { asResourceError, refusal } from "../kubernetes/resourceErrors";
import { checkTower } from "./agent/agentJoin";
import { diagnose, findingsBeforeJoin } from "./diagnosis/diagnose";
import { readDiagnosisFacts, readWorkloadPods } from "./diagnosis/readFacts";
import { checkImport, ImportCheck } from "./direct/importCredentials";
import { diagnosisInput, MemberContext, thisStack } from "./memberContext";
import type { MemberPreflight } from "./memberClusterArgs";
import { imagePreflightVerdict, ImagePreflightVerdict } from "./imagePreflight";
import { preflightVerdict } from "./memberPreflight";
import { workspacePreflightVerdict } from "./workspacePreflight";

/** The pre-flight's result; fails with the refusal, as a ResourceError on the MemberCluster. */
export function checkBeforeJoin(ctx: MemberContext): pulumi.Output<MemberPreflight> {
    return pulumi
        .all([ctx.kubeconfig, ctx.hostKubeconfig, ctx.args.otherMembers ?? []])
        .apply(async ([memberKubeconfig, hostKubeconfig, otherMembers]) => {
            try {
                return await preflight(ctx, { memberKubeconfig, hostKubeconfig, otherMembers });
            } catch (err) {
                throw asResourceError(err, ctx.component);
            }
        });
}

/**
 * What every change on the member waits for: its own pre-flight and, in a federation, everyone else's (so one
 * refused member leaves every cluster unchanged).
 */
export function afterFleetChecked(
    ctx: MemberContext,
    preflight: pulumi.Output<MemberPreflight>,
): pulumi.Output<MemberPreflight> {
    const fleetChecked = ctx.args.fleetChecked;
    return fleetChecked === undefined ? preflight : pulumi.all([preflight, fleetChecked]).apply(([own]) => own);
}

async function preflight(
    ctx: MemberContext,
    read: { memberKubeconfig: ParsedKubeconfig; hostKubeconfig?: ParsedKubeconfig; otherMembers: FleetMember[] },
): Promise<MemberPreflight> {
    const { name, configKey, credentials, args } = ctx;
    const { memberKubeconfig, hostKubeconfig } = read;
    const v3 = ctx.hostMajor === "v3";
    const access = ctx.reads.access;
    // Through tower KubeSphere never uses the member's kubeconfig: nothing to check for the import.
    const importCheck: ImportCheck = ctx.viaAgent
        ? {}
        : checkImport({
              member: name,
              configKey,
              credentials,
              authMethod: memberKubeconfig.authMethod,
              server: args.apiServerEndpoint ?? memberKubeconfig.server,
          });
    if (importCheck.error !== undefined) throw refusal(importCheck.error, ctx.component);
    if (importCheck.warning !== undefined) pulumi.log.warn(importCheck.warning, ctx.component);
    if (args.ksCoreValues !== undefined && v3) {
        pulumi.log.warn(
            `member "${name}": ${configKey}.ksCoreValues only applies to KubeSphere 4.x hosts and is ignored on this 3.x host`,
            ctx.component,
        );
    }
    const [facts, host] = await Promise.all([
        ctx.reads.member(name, memberKubeconfig),
        hostKubeconfig === undefined ? undefined : ctx.reads.host(args.host.hostClusterName, hostKubeconfig),
    ]);
    // docs/kubesphere.md §4.3, the console's check; 3.x only (4.x members may be bare until the host installs ks-core).
    // The console validates before an import only: a member the host already lists as this cluster (same kube-system
    // UID) and Ready is past it, so its previews skip the probe (one request per member; bench/RESULTS.md).
    const imported = host?.clusters.find(
        (cluster) => cluster.name === name && !cluster.isHostEntry && cluster.uid === facts.kubeSystemUid,
    );
    const probeKsApiserver = v3 && facts.installer !== undefined && imported?.ready !== true;
    // docs/kubesphere.md §12: the join lists the member's Workspaces. Same rule as the probe: a member Ready on this
    // host has passed that join (one GET of the CRD by name otherwise).
    const [ksApiserverProblem, workspaceCrd] = await Promise.all([
        probeKsApiserver ? access.probeKsApiserver(memberKubeconfig) : undefined,
        probeKsApiserver ? access.readCrdPresence(memberKubeconfig, WORKSPACE_CRD) : undefined,
    ]);
    const verdict = preflightVerdict({
        member: name,
        configKey,
        hostMajor: ctx.hostMajor,
        facts,
        host,
        otherMembers: read.otherMembers,
        credentials,
        importKubeconfig: credentials === "kubeconfig" && !ctx.viaAgent ? memberKubeconfig : undefined,
        ksApiserverProblem,
        stack: thisStack(),
    });
    const agent = ctx.viaAgent ? await checkTower(ctx, { hostKubeconfig, hostFacts: host?.facts }) : undefined;
    const images = await checkImages(ctx, memberKubeconfig, facts, imported !== undefined);
    const workspace = workspacePreflightVerdict({ member: name, configKey, crd: workspaceCrd });
    [...verdict.warnings, ...workspace.warnings, ...images.warnings].forEach((warning) =>
        pulumi.log.warn(warning, ctx.component),
    );
    const errors = [...verdict.errors, ...workspace.errors, ...(agent?.errors ?? []), ...images.errors];
    if (errors.length > 0) throw refusal(errors.join("\n"), ctx.component);
    // The diagnosis checks that need no change first (the kubeconfig KubeSphere will get, the clocks): previews too.
    const early = findingsBeforeJoin(
        diagnose(
            await readDiagnosisFacts(
                {
                    ...diagnosisInput(ctx, { memberKubeconfig, hostKubeconfig }),
                    withoutCluster: true,
                    known: {
                        memberFacts: facts,
                        host,
                        ksApiserver: { problem: probeKsApiserver ? (ksApiserverProblem ?? null) : undefined },
                    },
                },
                access,
            ),
        ),
    );
    early.warnings.forEach((warning) => pulumi.log.warn(warning, ctx.component));
    if (early.errors.length > 0) throw refusal(early.errors.join("\n"), ctx.component);
    return { install: verdict.install, agent: agent && { proxyAddress: agent.proxyAddress!, image: agent.image } };
}

/** A value's list of names: Helm values may give a pull secret as `name` or as `{ name }`. */
function secretNames(value: unknown): string[] {
    if (!Array.isArray(value)) return [];
    return value
        .map((entry) => (typeof entry === "string" ? entry : (entry as { name?: unknown } | null)?.name))
        .filter((name): name is string => typeof name === "string" && name !== "");
}

/**
 * The facts for the image checks (imagePreflight.ts), read only where the program deploys images: the pull secrets
 * the agent Deployment or (4.x) ks-core's values name — one metadata-only GET per name, none when no name is given —
 * and, for a 4.x member with ks-core that is not imported yet, its ks-core pods (two lists, on its first join only:
 * an imported member's pods are the Ready wait's and the diagnosis's, so no-change previews ask nothing more).
 */
async function checkImages(
    ctx: MemberContext,
    memberKubeconfig: ParsedKubeconfig,
    facts: ClusterFacts,
    imported: boolean,
): Promise<ImagePreflightVerdict> {
    const v4 = ctx.hostMajor === "v4";
    const global = (ctx.ksCoreValues?.global ?? {}) as Record<string, unknown>;
    const names = [
        ...new Set([
            ...(ctx.viaAgent ? (ctx.args.imagePullSecrets ?? []) : []),
            ...(v4 ? secretNames(global.imagePullSecrets) : []),
        ]),
    ];
    const ksCoreRegistry = v4 && typeof global.imageRegistry === "string" ? global.imageRegistry : undefined;
    const readKsCorePods = v4 && !imported && installOf(facts).kind === "v4";
    const [pullSecrets, ksCorePods] = await Promise.all([
        names.length === 0
            ? undefined
            : ctx.reads.access.readSecretPresence(memberKubeconfig, KUBESPHERE_NAMESPACE, names),
        readKsCorePods
            ? readWorkloadPods(ctx.reads.access, memberKubeconfig, [
                  KS_APISERVER_WORKLOAD,
                  KS_CONTROLLER_MANAGER_WORKLOAD,
              ])
            : undefined,
    ]);
    return imagePreflightVerdict({
        member: ctx.name,
        configKey: ctx.configKey,
        namespace: KUBESPHERE_NAMESPACE,
        pulledBy:
            ctx.viaAgent && v4
                ? "the cluster-agent and ks-core's pods"
                : ctx.viaAgent
                  ? "the cluster-agent"
                  : "ks-core's pods",
        pullSecrets,
        ksCoreRegistry,
        ksCorePods,
    });
}
