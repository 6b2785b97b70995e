/**
 * Waiting for a member's ks-installer to apply the host's jwtSecret and `clusterRole: member`.
 *
 * The installer re-runs on every spec change and has no per-change "done" marker (API notes §1): the reliable
 * signal is the member's own kubesphere-config showing the role and the host's jwtSecret. The assessment and the
 * poll loop are pure (reader, clock and sleep are injected) so every branch is unit-tested.
 * Secrets: jwtSecrets are compared, never printed.
 */

/** What the member says about itself; undefined parts could not be found. */
export interface MemberInstallerState {
    /** `spec` values of ks-installer; undefined when the object does not exist. */
    installer?: { clusterRole?: string; jwtSecret?: string };
    /** kubesphere-config values; undefined when the ConfigMap or its key does not exist. */
    config?: { clusterRole?: string; jwtSecret?: string };
}

/** Where the member's installer stands. */
export type InstallerAssessment =
    | { state: "applied" }
    | { state: "pending"; detail: string }
    | { state: "drifted"; detail: string };

/** Compares what the member shows with what the federation needs. */
export function assessMemberInstaller(member: MemberInstallerState, hostJwtSecret: string): InstallerAssessment {
    const installer = member.installer;
    if (installer === undefined) {
        return { state: "drifted", detail: "ks-installer (ClusterConfiguration kubesphere-system/ks-installer) does not exist" };
    }
    const driftedFields = [
        installer.clusterRole !== "member" ? `spec.multicluster.clusterRole is ${JSON.stringify(installer.clusterRole ?? null)}` : undefined,
        installer.jwtSecret !== hostJwtSecret ? "spec.authentication.jwtSecret differs from the host's" : undefined,
    ].filter((field): field is string => field !== undefined);
    if (driftedFields.length > 0) {
        return { state: "drifted", detail: `ks-installer ${driftedFields.join(" and ")} (changed outside Pulumi)` };
    }
    const config = member.config;
    if (config === undefined) {
        return { state: "pending", detail: "kubesphere-config has no kubesphere.yaml yet" };
    }
    const pendingFields = [
        config.clusterRole !== "member" ? `clusterRole is ${JSON.stringify(config.clusterRole ?? null)}` : undefined,
        config.jwtSecret !== hostJwtSecret ? "jwtSecret is not the host's yet" : undefined,
    ].filter((field): field is string => field !== undefined);
    return pendingFields.length === 0 ? { state: "applied" } : { state: "pending", detail: `kubesphere-config: ${pendingFields.join(", ")}` };
}

export interface InstallerWaitOptions {
    /** The member's cluster name, for messages. */
    member: string;
    /** The config key of the member, e.g. `members[1]`, for the fix in messages. */
    configKey: string;
    /** Reads the member's current state; rejects when the member cannot be reached. */
    read: () => Promise<MemberInstallerState>;
    hostJwtSecret: string;
    timeoutMs: number;
    /** Progress messages (pulumi.log.info in the program). */
    log: (message: string) => void;
    /** How long the member may fail to answer before we give up. Default 10 s. */
    unreachableGraceMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}

const FIRST_POLL_INTERVAL_MS = 250;
// Bounded at 1 s: the benchmark showed up to 1.6 s of slack after the installer finished with a 2 s bound.
const MAX_POLL_INTERVAL_MS = 1000;
const PROGRESS_EVERY_MS = 10_000;

/**
 * Polls the member until kubesphere-config shows the role and the host's jwtSecret. Fails at once when the
 * member's ks-installer no longer holds our settings (a refresh re-applies them), when the member stops answering
 * for longer than the grace period, and at the timeout, each with the fix.
 */
export async function waitForMemberInstaller(options: InstallerWaitOptions): Promise<void> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const graceMs = options.unreachableGraceMs ?? 10_000;
    const started = now();
    let interval = FIRST_POLL_INTERVAL_MS;
    let lastProgress = started;
    let unreachableSince: number | undefined;
    let lastDetail = "not read yet";
    const prefix = `member "${options.member}"`;

    for (;;) {
        let assessment: InstallerAssessment | undefined;
        try {
            assessment = assessMemberInstaller(await options.read(), options.hostJwtSecret);
            unreachableSince = undefined;
        } catch (err) {
            unreachableSince ??= now();
            lastDetail = `the API server does not answer (${err instanceof Error ? err.message : String(err)})`;
            if (now() - unreachableSince >= graceMs) {
                throw new Error(
                    `${prefix}: ${lastDetail}. Fix: check that the member's API server is up and reachable from this machine ` +
                        `with the kubeconfig in ${options.configKey}.kubeconfig, then run \`pulumi up\` again`,
                );
            }
        }
        if (assessment?.state === "applied") {
            const elapsed = now() - started;
            if (elapsed >= PROGRESS_EVERY_MS) options.log(`${prefix}: ks-installer applied the host's jwtSecret and clusterRole member after ${Math.round(elapsed / 1000)}s`);
            return;
        }
        if (assessment?.state === "drifted") {
            throw new Error(
                `${prefix}: ${assessment.detail}. Fix: run \`pulumi up --refresh\` so Pulumi sees the change and re-applies ` +
                    `its settings (or \`pulumi refresh\` then \`pulumi up\`)`,
            );
        }
        if (assessment) lastDetail = assessment.detail;
        const elapsed = now() - started;
        if (elapsed >= options.timeoutMs) {
            throw new Error(
                `${prefix}: ks-installer did not apply the host's jwtSecret and clusterRole member within ${Math.round(options.timeoutMs / 1000)}s ` +
                    `(${lastDetail}). Fix: inspect the installer on the member: ` +
                    `kubectl -n kubesphere-system logs -l app=ks-install --tail=200 (and kubectl -n kubesphere-system get cc ks-installer -o yaml); ` +
                    `if it is still working, raise ${options.configKey}.installerTimeoutSeconds`,
            );
        }
        if (now() - lastProgress >= PROGRESS_EVERY_MS) {
            options.log(`${prefix}: waiting for ks-installer to apply the host's jwtSecret and clusterRole member (${Math.round(elapsed / 1000)}s; ${lastDetail})`);
            lastProgress = now();
        }
        await sleep(Math.min(interval, Math.max(0, options.timeoutMs - elapsed)));
        interval = Math.min(MAX_POLL_INTERVAL_MS, Math.round(interval * 1.5));
    }
}
