import { PollOutcome, pollUntilDone } from "../../kubernetes/poll";
import { ClusterCondition } from "../../kubesphere/kubesphereObjects";
import { provesJoinFails } from "../diagnosis/diagnose";
import { Diagnosis } from "../diagnosis/findings";
import { formatDiagnosis } from "../diagnosis/format";

/** The Cluster as the wait reads it (components/kubesphere/reads.ts readClusterObject). */
export interface ClusterJoinState {
    conditions: ClusterCondition[];
    connectionType?: string;
    configHash?: string;
    kubernetesVersion?: string;
    kubeSphereVersion?: string;
}

/** Done, or what is still missing (and whether KubeSphere already reports a failure). */
export type JoinAssessment = { state: "joined" } | { state: "pending"; detail: string; failing: boolean };

function describeCondition(condition: ClusterCondition | undefined, type: string): string {
    if (condition === undefined) return `no ${type} condition yet`;
    return `${type}=${condition.status}${condition.message ? ` (${condition.message}${condition.reason && condition.reason !== type ? `; ${condition.reason}` : ""})` : ""}`;
}

/**
 * Whether the Cluster has joined: Ready=True, and on 4.x KSCoreReady=True and `kubesphere.io/config-hash` equal to the
 * hash of our `spec.config` (a reinstall after a config change is done when it matches again).
 * @param ksCoreConfigHash 4.x only: the hash of the `spec.config` bytes the program wrote
 */
export function assessClusterJoin(cluster: ClusterJoinState | undefined, ksCoreConfigHash?: string): JoinAssessment {
    if (cluster === undefined) return { state: "pending", detail: "the Cluster is not on the host", failing: false };
    const find = (type: string) => cluster.conditions.find((condition) => condition.type === type);
    const missing: string[] = [];
    const ready = find("Ready");
    if (ready?.status !== "True") missing.push(describeCondition(ready, "Ready"));
    const federated = find("Federated");
    if (federated?.status === "False")
        missing.push(`Federated=False (${federated.reason || federated.message || "no reason"})`);
    if (ksCoreConfigHash !== undefined) {
        const ksCore = find("KSCoreReady");
        if (ksCore?.status !== "True") missing.push(describeCondition(ksCore, "KSCoreReady"));
        else if (cluster.configHash !== ksCoreConfigHash)
            missing.push("kubesphere.io/config-hash does not match spec.config yet (ks-core reinstalling)");
    }
    if (missing.length === 0) return { state: "joined" };
    const failing = ["Ready", "Federated", "KSCoreReady", "AgentAvailable"].some(
        (type) => find(type)?.status === "False",
    );
    return { state: "pending", detail: missing.join(", "), failing };
}

export interface JoinWaitOptions {
    member: string;
    configKey: string;
    /** Reads the Cluster on the host; rejects when the host does not answer. */
    read: () => Promise<ClusterJoinState | undefined>;
    /** 4.x: the ks-core config hash of `spec.config`; undefined on 3.x. */
    ksCoreConfigHash?: string;
    /** Runs the diagnosis (read-only). */
    diagnose: () => Promise<Diagnosis>;
    timeoutMs: number;
    log: (message: string) => void;
    /** While KubeSphere reports a failure, diagnose at most this often (the checks cost a few requests). Default 15 s. */
    diagnoseEveryMs?: number;
    unreachableGraceMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls the Cluster until it has joined. While KubeSphere reports a failure (Ready=False, Federated=False,
 * KSCoreReady=False), runs the diagnosis (bounded) and fails at once when a check proves the join cannot succeed;
 * at the timeout, fails with the diagnosis. Returns the Cluster as last read.
 */
export async function waitForClusterJoin(
    options: JoinWaitOptions,
): Promise<{ cluster: ClusterJoinState; waitedMs: number }> {
    const prefix = `member "${options.member}"`;
    const now = options.now ?? Date.now;
    const every = options.diagnoseEveryMs ?? 15_000;
    const what = options.ksCoreConfigHash === undefined ? "Ready" : "Ready, KSCoreReady and the ks-core config hash";
    let last: ClusterJoinState | undefined;
    let lastDiagnosis = -Infinity;
    const explain = async (message: string) => formatDiagnosis(await options.diagnose(), message);
    const { waitedMs } = await pollUntilDone({
        check: async (): Promise<PollOutcome> => {
            last = await options.read();
            const assessment = assessClusterJoin(last, options.ksCoreConfigHash);
            if (assessment.state === "joined") return { state: "done" };
            if (assessment.failing && now() - lastDiagnosis >= every) {
                lastDiagnosis = now();
                const diagnosis = await options.diagnose();
                if (provesJoinFails(diagnosis, last)) {
                    return {
                        state: "failed",
                        message: formatDiagnosis(
                            diagnosis,
                            `KubeSphere reports ${assessment.detail}; stopped waiting: the check above explains it`,
                        ),
                    };
                }
            }
            return { state: "pending", detail: assessment.detail };
        },
        timeoutMs: options.timeoutMs,
        log: options.log,
        progress: (seconds, detail) =>
            `${prefix}: waiting for the Cluster on the host to be ${what} (${seconds}s; ${detail})`,
        done: (seconds) => `${prefix}: the Cluster is ${what} after ${seconds}s`,
        timeout: (seconds, detail) =>
            `${prefix}: the Cluster on the host was not ${what} within ${seconds}s (${detail}). ` +
            `If KubeSphere is still working, raise ${options.configKey}.readyTimeoutSeconds`,
        unreachable: (detail) =>
            `${prefix}: the host ${detail} while waiting for the Cluster. Fix: check that the host's API server is up, then run \`pulumi up\` again`,
        explain,
        unreachableGraceMs: options.unreachableGraceMs,
        now: options.now,
        sleep: options.sleep,
    });
    return { cluster: last!, waitedMs };
}
