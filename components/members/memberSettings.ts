/**
 * The second step of a MemberCluster, KubeSphere 3.x only: the host's jwtSecret and `clusterRole: member` on the
 * member's ks-installer, and the wait until its installer has applied them. The Cluster must not be created before:
 * KubeSphere would report a jwtSecret mismatch. The wait also checks, on every `up`, that nobody changed them since
 * (docs/kubesphere.md §1). 4.x: the host's controller configures the member, and KSCoreReady says when.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_INSTALLER_TIMEOUT_SECONDS } from "../config/configSchema";
import { UpWait, waitOnUp } from "../kubernetes/resourceErrors";
import { KS_INSTALLER_WORKLOAD, ksInstallerPatch, memberInstallerSpec } from "../kubesphere/kubesphereObjects";
import { podVerdict } from "./diagnosis/podChecks";
import { explained, MemberContext } from "./memberContext";
import type { MemberPreflight } from "./memberClusterArgs";
import { appliedSignalFor, waitForMemberInstaller } from "./memberInstaller";

/** The member's settings: the patch (3.x) and when the member runs with them (not waited in previews). */
export interface MemberSettings {
    /** The server-side-apply patch of the member's ks-installer; undefined on 4.x. */
    installerPatch?: k8s.apiextensions.CustomResourcePatch;
    /** Resolves once the member runs with the host's settings (4.x: once the pre-flights passed). */
    applied: pulumi.Output<UpWait>;
}

/**
 * Patches the member's ks-installer once every pre-flight passed (`checked`), and waits for its installer.
 * @param preflight the member's own pre-flight: which release, so which signal shows the settings applied
 */
export function applyMemberSettings(
    ctx: MemberContext,
    preflight: pulumi.Output<MemberPreflight>,
    checked: pulumi.Output<MemberPreflight>,
): MemberSettings {
    if (ctx.hostMajor !== "v3") return { applied: checked.apply(() => ({ waited: false, waitedMs: 0 })) };
    const installerPatch = ksInstallerPatch(
        ctx.name,
        pulumi.secret(
            pulumi.all([checked, ctx.args.host.jwtSecret]).apply(([, jwtSecret]) => memberInstallerSpec(jwtSecret)),
        ),
        { parent: ctx.component, provider: ctx.kubernetesProvider },
    );
    const applied = pulumi
        .all([installerPatch.id, pulumi.secret(ctx.args.host.jwtSecret), ctx.kubeconfig, ctx.hostKubeconfig, preflight])
        .apply(([, hostJwtSecret, memberKubeconfig, hostKubeconfig, found]) =>
            waitOnUp(ctx.component, () =>
                waitForMemberInstaller({
                    member: ctx.name,
                    configKey: ctx.configKey,
                    read: ctx.reads.access.memberInstallerReader(ctx.name, memberKubeconfig),
                    hostJwtSecret,
                    // 3.1/3.2 render no clusterRole on a member (docs/kubesphere.md §9).
                    signal: appliedSignalFor(found.install.kind === "v3" ? found.install.release : undefined),
                    timeoutMs: (ctx.args.installerTimeoutSeconds ?? DEFAULT_INSTALLER_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, ctx.component),
                    // One pod list per progress line (every 10 s), only while the wait is already waiting.
                    podProblem: async () => {
                        const pods = await ctx.reads.access.readPods(
                            memberKubeconfig,
                            KS_INSTALLER_WORKLOAD.namespace,
                            KS_INSTALLER_WORKLOAD.labelSelector,
                        );
                        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, pods);
                        return verdict.verdict === "fail" ? verdict.evidence : undefined;
                    },
                    explain: (message) =>
                        explained(ctx, message, { memberKubeconfig, hostKubeconfig, withoutCluster: true }),
                }),
            ),
        );
    return { installerPatch, applied };
}
