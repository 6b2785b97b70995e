/**
 * Waiting for a member's ks-installer to apply the host's jwtSecret and `clusterRole: member`.
 *
 * The installer re-runs on every spec change and has no per-change "done" marker (docs/kubesphere.md §1): the reliable
 * signal is the member's own kubesphere-config showing the role and the host's jwtSecret. The assessment and the
 * poll loop are pure (reader, clock and sleep are injected) so every branch is unit-tested.
 * Secrets: jwtSecrets are compared, never printed.
 */
import { PollOutcome, pollUntilDone } from "../kubernetes/poll";
import { MemberInstallerState } from "../kubesphere/facts";
import { isZeroDuration } from "../kubesphere/kubesphereConfig";
import { KubesphereRelease, rendersNoMemberRole } from "../kubesphere/kubesphereVersion";

/**
 * What shows, in the member's kubesphere-config, that its installer applied our settings (docs/kubesphere.md §9):
 * `clusterRole` — 3.3 and later render `multicluster.clusterRole: member`; `accessTokenMaxAge` — 3.1/3.2 render no
 * multicluster block on a member, only the host's jwtSecret and `authentication.oauthOptions.accessTokenMaxAge: 0`.
 */
export type AppliedSignal = "clusterRole" | "accessTokenMaxAge";

/** The signal for a member's 3.x release; unknown releases are taken as 3.3+ (the role is the stronger signal). */
export function appliedSignalFor(release: KubesphereRelease | undefined): AppliedSignal {
    return rendersNoMemberRole(release) ? "accessTokenMaxAge" : "clusterRole";
}

/** Where the member's installer stands. */
export type InstallerAssessment =
    { state: "applied" } | { state: "pending"; detail: string } | { state: "drifted"; detail: string };

/** Compares what the member shows with what the federation needs. */
export function assessMemberInstaller(
    member: MemberInstallerState,
    hostJwtSecret: string,
    signal: AppliedSignal = "clusterRole",
): InstallerAssessment {
    const installer = member.installer;
    if (installer === undefined) {
        return {
            state: "drifted",
            detail: "ks-installer (ClusterConfiguration kubesphere-system/ks-installer) does not exist",
        };
    }
    const driftedFields = [
        installer.clusterRole !== "member"
            ? `spec.multicluster.clusterRole is ${JSON.stringify(installer.clusterRole ?? null)}`
            : undefined,
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
        signal === "clusterRole" && config.clusterRole !== "member"
            ? `clusterRole is ${JSON.stringify(config.clusterRole ?? null)}`
            : undefined,
        signal === "accessTokenMaxAge" && !isZeroDuration(config.accessTokenMaxAge)
            ? `authentication.oauthOptions.accessTokenMaxAge is ${JSON.stringify(config.accessTokenMaxAge ?? null)}, not 0 (KubeSphere 3.1/3.2 member)`
            : undefined,
        config.jwtSecret !== hostJwtSecret ? "jwtSecret is not the host's yet" : undefined,
    ].filter((field): field is string => field !== undefined);
    return pendingFields.length === 0
        ? { state: "applied" }
        : { state: "pending", detail: `kubesphere-config: ${pendingFields.join(", ")}` };
}

export interface InstallerWaitOptions {
    /** The member's cluster name, for messages. */
    member: string;
    /** The config key of the member, e.g. `members[1]`, for the fix in messages. */
    configKey: string;
    /** Reads the member's current state; rejects when the member cannot be reached. */
    read: () => Promise<MemberInstallerState>;
    hostJwtSecret: string;
    /** What shows the settings were applied; default `clusterRole` (3.3+). */
    signal?: AppliedSignal;
    timeoutMs: number;
    /** Progress messages (pulumi.log.info in the program). */
    log: (message: string) => void;
    /** Why the installer may not be running, read when a progress line is due (a pod that cannot pull its image). */
    podProblem?: () => Promise<string | undefined>;
    /** Explains a timeout or an unreachable member (the diagnosis, components/members/diagnosis.ts). Default: none. */
    explain?: (message: string) => Promise<string>;
    /** How long the member may fail to answer before we give up. Default 10 s. */
    unreachableGraceMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls the member until kubesphere-config shows the role (or, on 3.1/3.2, accessTokenMaxAge 0) and the host's
 * jwtSecret. Fails at once when the member's ks-installer no longer holds our settings (a refresh re-applies them),
 * when the member stops answering for longer than the grace period, and at the timeout, each with the fix.
 */
export function waitForMemberInstaller(options: InstallerWaitOptions): Promise<{ waitedMs: number }> {
    const prefix = `member "${options.member}"`;
    const settings =
        options.signal === "accessTokenMaxAge"
            ? "the host's jwtSecret and accessTokenMaxAge 0"
            : "the host's jwtSecret and clusterRole member";
    return pollUntilDone({
        check: async (): Promise<PollOutcome> => {
            const assessment = assessMemberInstaller(await options.read(), options.hostJwtSecret, options.signal);
            if (assessment.state === "applied") return { state: "done" };
            if (assessment.state === "pending") return assessment;
            return {
                state: "failed",
                message:
                    `${prefix}: ${assessment.detail}. Fix: run \`pulumi up --refresh\` so Pulumi sees the change and re-applies ` +
                    `its settings (or \`pulumi refresh\` then \`pulumi up\`)`,
            };
        },
        timeoutMs: options.timeoutMs,
        log: options.log,
        progress: (seconds, detail) =>
            `${prefix}: waiting for ks-installer to apply ${settings} (${seconds}s; ${detail})`,
        progressNote: options.podProblem,
        done: (seconds) => `${prefix}: ks-installer applied ${settings} after ${seconds}s`,
        timeout: (seconds, detail) =>
            `${prefix}: ks-installer did not apply ${settings} within ${seconds}s ` +
            `(${detail}). Fix: inspect the installer on the member: ` +
            `kubectl -n kubesphere-system logs -l app=ks-install --tail=200 (and kubectl -n kubesphere-system get cc ks-installer -o yaml); ` +
            `if it is still working, raise ${options.configKey}.installerTimeoutSeconds`,
        unreachable: (detail) =>
            `${prefix}: ${detail}. Fix: check that the member's API server is up and reachable from this machine ` +
            `with the kubeconfig in ${options.configKey}.kubeconfig, then run \`pulumi up\` again`,
        unreachableGraceMs: options.unreachableGraceMs,
        explain: options.explain,
        now: options.now,
        sleep: options.sleep,
    });
}
