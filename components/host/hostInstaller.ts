/**
 * Waiting for a 3.x host to be a host (docs/kubesphere.md §9, "When a host is really a host"). Patching ks-installer to
 * `clusterRole: host` starts a full installer run (kubefed with `--wait`, up to 30 minutes, kubesphere-config last);
 * KubeSphere's cluster controller only starts once the rendered config says so, and then creates the host's own
 * Cluster entry. A member Cluster created before that sits without status, so members wait for this. Every join also
 * needs kubefed's KubeFedCluster CRD, which the same installer run installs (docs/kubesphere.md §12): a host without
 * it never gets a Ready member, so the wait holds on it too and its timeout names it first.
 * The assessment is pure and the loop is components/kubernetes/poll.ts, so every branch is unit-tested.
 */
import { PollOutcome, pollUntilDone } from "../kubernetes/poll";
import { HostRoleState } from "../kubesphere/facts";
import { KUBEFED_CLUSTER_CRD, KUBEFED_FIX } from "../kubesphere/kubefed";

/**
 * Done when kubesphere-config shows the host role — `clusterRole: host` (3.3+), or `multicluster.enable: true` with
 * no role key (3.1/3.2) —, the host's own Cluster entry exists and kubefed's CRD is there (when it could be read).
 */
export function assessHostRole(state: HostRoleState): PollOutcome {
    const config = state.config;
    const roleRendered =
        config !== undefined &&
        (config.clusterRole === "host" || (config.clusterRole === undefined && config.multiclusterEnable === true));
    const missing = [
        roleRendered
            ? undefined
            : config === undefined
              ? "kubesphere-config has no kubesphere.yaml yet"
              : `kubesphere-config shows clusterRole ${JSON.stringify(config.clusterRole ?? null)}, multicluster.enable ${JSON.stringify(config.multiclusterEnable ?? null)}`,
        state.hostEntry === undefined ? "no Cluster labelled cluster-role.kubesphere.io/host yet" : undefined,
        state.kubefedCrd === false ? KUBEFED_MISSING : undefined,
    ].filter((item): item is string => item !== undefined);
    return missing.length === 0 ? { state: "done" } : { state: "pending", detail: missing.join("; ") };
}

/** The progress detail while kubefed's CRD is missing. */
const KUBEFED_MISSING = `no CRD ${KUBEFED_CLUSTER_CRD} (kubefed's KubeFedCluster) yet: KubeSphere joins no Cluster without it`;

/** What the wait for a host says, in previews and in messages. */
export const HOST_ROLE_SIGNAL =
    "its kubesphere-config shows the host role (clusterRole: host, or multicluster.enable: true on 3.1/3.2) and KubeSphere has " +
    `created its own Cluster entry (label cluster-role.kubesphere.io/host), with kubefed's CRD ${KUBEFED_CLUSTER_CRD} installed`;

export interface HostRoleWaitOptions {
    /** The host's name (`host.name`), for messages. */
    hostClusterName: string;
    /** Reads the host's current state; rejects when the host cannot be reached. */
    read: () => Promise<HostRoleState>;
    timeoutMs: number;
    log: (message: string) => void;
    unreachableGraceMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}

/** Polls the host until it is a host, or fails with the fix. */
export function waitForHostRole(options: HostRoleWaitOptions): Promise<{ waitedMs: number }> {
    const prefix = `host "${options.hostClusterName}"`;
    let last: HostRoleState | undefined;
    return pollUntilDone({
        check: async () => assessHostRole((last = await options.read())),
        timeoutMs: options.timeoutMs,
        log: options.log,
        progress: (seconds, detail) =>
            `${prefix}: waiting for KubeSphere to make it a host before members join (${seconds}s; ${detail})`,
        done: (seconds) => `${prefix}: KubeSphere is running as a host after ${seconds}s`,
        timeout: (seconds, detail) =>
            last?.kubefedCrd === false
                ? // The cause first: kubefed's missing CRD fails every join, whatever else the installer still does.
                  `${prefix}: kubefed's CRD ${KUBEFED_CLUSTER_CRD} is missing after ${seconds}s: KubeSphere 3.x joins no Cluster ` +
                  `without it (Federated=False 'no matches for kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"'). ` +
                  `Fix: ${KUBEFED_FIX}; if the installer is still installing kubefed, raise host.installerTimeoutSeconds\n` +
                  `(still missing: ${detail})`
                : `${prefix}: KubeSphere did not become a host within ${seconds}s (${detail}). Fix: inspect the installer on the host: ` +
                  `kubectl -n kubesphere-system logs -l app=ks-install --tail=200 and kubectl get clusters.cluster.kubesphere.io -l cluster-role.kubesphere.io/host; ` +
                  `if it is still working (the kubefed install alone may take 30 minutes), raise host.installerTimeoutSeconds and run \`pulumi up\` again`,
        unreachable: (detail) =>
            `${prefix}: ${detail}. Fix: check that the host's API server is up and reachable from this machine with the kubeconfig in ` +
            `host.kubeconfig, then run \`pulumi up\` again`,
        unreachableGraceMs: options.unreachableGraceMs,
        now: options.now,
        sleep: options.sleep,
    });
}
