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
import { hostEntryOf, HostFacts, installOf } from "../kubesphere/facts";

export interface HostPreflightVerdict {
    errors: string[];
    warnings: string[];
    /** The host's KubeSphere as found (4.x: the version its own Cluster entry reports). */
    install: KubesphereInstall;
    /** 3.x: whether the host already is a host (docs/kubesphere.md §9's done signal); always true on 4.x. */
    isHost: boolean;
}

/**
 * Where a fix to the host's config goes: the key in this stack, or, for a host taken from a host stack
 * (`host.stackReference`: a member stack has no such key), that key in the host stack.
 */
export function hostConfigKey(key: string, hostStack: string | undefined): string {
    return hostStack === undefined ? key : `${key} in host stack ${hostStack}`;
}

/** After a fix in the host stack, its `pulumi up` runs before this member stack's; nothing to add for this stack's own host. */
export function afterHostStackFix(hostStack: string | undefined): string {
    return hostStack === undefined ? "" : `, run \`pulumi up\` of stack ${hostStack}, then this stack's again`;
}

/**
 * Everything that stops or endangers this host's federation, each naming the host, what was found and the fix.
 * `hostStack`: the host stack a member stack takes the host from; the fixes then name that stack's keys.
 */
export function hostPreflightVerdict(input: {
    hostMajor: "v3" | "v4";
    host: HostFacts;
    hostStack?: string;
}): HostPreflightVerdict {
    const errors: string[] = [];
    const warnings: string[] = [];
    const { facts, clusters, name } = input.host;
    const prefix = `host "${name}"${input.hostStack === undefined ? "" : ` (from stack ${input.hostStack})`}`;
    const key = (configKey: string) => hostConfigKey(configKey, input.hostStack);
    const then = afterHostStackFix(input.hostStack);
    const nameKey = input.hostStack === undefined ? "host.name" : `host.name of stack ${input.hostStack}`;
    const install = installOf(facts, clusters);
    const hostEntry = hostEntryOf(clusters);
    let isHost = true;

    if (input.hostMajor === "v3") {
        if (facts.installer === undefined) {
            errors.push(
                `KubeSphere 3.x is not installed on ${prefix}: ClusterConfiguration kubesphere-system/ks-installer was not found ` +
                    `(KubeSphere found: ${describeInstall(install)}). Fix: point ${key("host.kubeconfig")} at the KubeSphere ` +
                    `host, or set ${key("host.kubesphereMajor: v4 (or auto)")} for a KubeSphere 4.x host${then}`,
            );
        } else {
            if (facts.installer.clusterRole === "member") {
                errors.push(
                    `${prefix} is a member of another federation (its ks-installer has spec.multicluster.clusterRole: member): making it ` +
                        `a host would take it from that federation. Fix: remove it from its host first, or point ${key("host.kubeconfig")} at the right cluster${then}`,
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
                `Fix: point ${key("host.kubeconfig")} at the KubeSphere 4.x host (ks-core installed with multicluster.role host)${then}`,
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
                `entry "${FIXED_HOST_ENTRY_NAME}", not "${name}" (${nameKey}). Fix: set ${key(`host.name: ${FIXED_HOST_ENTRY_NAME}`)}${then}`,
        );
    }
    if (hostEntry !== undefined && hostEntry.name !== name) {
        warnings.push(
            `${prefix}: KubeSphere's own host Cluster entry is named "${hostEntry.name}", not "${name}" (${nameKey}). ` +
                (install.kind === "v3" && !hasHostClusterNameOption(install.release)
                    ? `KubeSphere ${describeInstall(install)} has no hostClusterName option and always names it "${FIXED_HOST_ENTRY_NAME}". `
                    : `KubeSphere reads hostClusterName only when it creates that entry, so this name changes nothing there. `) +
                `Fix: set ${key(`host.name: ${hostEntry.name}`)}${then}`,
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
