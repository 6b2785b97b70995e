/**
 * Pre-flight checks of the host, before anything changes on it (reads only, so previews run them too): is it the
 * KubeSphere the config says, is it free to be this federation's host, and is it a host yet (docs/kubesphere.md §9).
 * Pure: the facts are read by components/host/hostCluster.ts. Secrets: the jwtSecret read with the facts is never quoted.
 */
import { assessHostRole, HOST_ROLE_SIGNAL } from "./hostInstaller";
import {
    describeInstall,
    FIXED_HOST_ENTRY_NAME,
    hasHostClusterNameOption,
    KubesphereInstall,
} from "../kubesphere/kubesphereVersion";
import { HostFacts, hostEntryOf, installOf } from "../members/memberPreflight";

export interface HostPreflightVerdict {
    errors: string[];
    warnings: string[];
    /** The host's KubeSphere as found (4.x: the version its own Cluster entry reports). */
    install: KubesphereInstall;
    /** 3.x: whether the host already is a host (docs/kubesphere.md §9's done signal); always true on 4.x. */
    isHost: boolean;
}

/** Everything that stops or endangers this host's federation, each naming the host, what was found and the fix. */
export function hostPreflightVerdict(input: { hostMajor: "v3" | "v4"; host: HostFacts }): HostPreflightVerdict {
    const errors: string[] = [];
    const warnings: string[] = [];
    const { facts, clusters, name } = input.host;
    const prefix = `host "${name}"`;
    const install = installOf(facts, clusters);
    const hostEntry = hostEntryOf(clusters);
    let isHost = true;

    if (input.hostMajor === "v3") {
        if (facts.installer === undefined) {
            errors.push(
                `KubeSphere 3.x is not installed on ${prefix}: ClusterConfiguration kubesphere-system/ks-installer was not found ` +
                    `(KubeSphere found: ${describeInstall(install)}). Fix: point host.kubeconfig at the KubeSphere host, or set ` +
                    `host.kubesphereVersion: v4 (or auto) for a KubeSphere 4.x host`,
            );
        } else {
            if (facts.installer.clusterRole === "member") {
                errors.push(
                    `${prefix} is a member of another federation (its ks-installer has spec.multicluster.clusterRole: member): making it ` +
                        `a host would take it from that federation. Fix: remove it from its host first, or point host.kubeconfig at the right cluster`,
                );
            }
            if (facts.installer.version === undefined) {
                warnings.push(
                    `${prefix}: its ks-installer reports no status.core.version (the installer has not finished), so the checks that ` +
                        `depend on the host's KubeSphere version (3.3.0–3.3.2 and token kubeconfigs) are skipped. Fix: wait for the ` +
                        `installer (kubectl -n kubesphere-system get cc ks-installer -o jsonpath='{.status.core}') and run \`pulumi preview\` again`,
                );
            }
            isHost = assessHostRole({ config: facts.config, hostEntry }).state === "done";
        }
    } else if (facts.config?.clusterRole !== "host") {
        errors.push(
            `${prefix} does not run KubeSphere 4.x as a host: its kubesphere-config has ` +
                `${facts.config === undefined ? `no readable kubesphere.yaml${facts.configProblem ? ` (${facts.configProblem})` : ""}` : `multicluster.clusterRole ${JSON.stringify(facts.config.clusterRole ?? null)}`}. ` +
                `Fix: point host.kubeconfig at the KubeSphere 4.x host (ks-core installed with multicluster.role host)`,
        );
    }

    if (
        hostEntry === undefined &&
        input.hostMajor === "v3" &&
        install.kind === "v3" &&
        !hasHostClusterNameOption(install.release) &&
        name !== FIXED_HOST_ENTRY_NAME
    ) {
        warnings.push(
            `${prefix}: KubeSphere ${describeInstall(install)} has no hostClusterName option, so KubeSphere will name its own host Cluster ` +
                `entry "${FIXED_HOST_ENTRY_NAME}", not "${name}" (host.name). Fix: set host.name: ${FIXED_HOST_ENTRY_NAME}`,
        );
    }
    if (hostEntry !== undefined && hostEntry.name !== name) {
        warnings.push(
            `${prefix}: KubeSphere's own host Cluster entry is named "${hostEntry.name}", not "${name}" (host.name). ` +
                (install.kind === "v3" && !hasHostClusterNameOption(install.release)
                    ? `KubeSphere ${describeInstall(install)} has no hostClusterName option and always names it "${FIXED_HOST_ENTRY_NAME}". `
                    : `KubeSphere reads hostClusterName only when it creates that entry, so this name changes nothing there. `) +
                `Fix: set host.name: ${hostEntry.name}`,
        );
    }
    return { errors, warnings, install, isHost };
}

/** What a preview says about the wait for a host that is not a host yet. */
export function hostWaitPreviewMessage(host: string, timeoutSeconds: number): string {
    return (
        `host "${host}": not a host yet; \`pulumi up\` will patch its ks-installer and wait (up to ${timeoutSeconds}s, ` +
        `host.installerTimeoutSeconds) until ${HOST_ROLE_SIGNAL}, before any member's Cluster is created`
    );
}
