/**
 * The one poll loop behind the program's waits on KubeSphere (components/members/memberInstaller.ts, hostInstaller.ts):
 * short, growing, bounded intervals, a progress line every 10 s, a grace period for a cluster that stops answering,
 * and a timeout. Pure: the check, clock and sleep are injected, so every branch is unit-tested with a fake clock.
 */

/** What one check found: done, still pending (with what is missing), or failed for good (with the fix). */
export type PollOutcome =
    { state: "done" } | { state: "pending"; detail: string } | { state: "failed"; message: string };

export interface PollOptions {
    /** One check; rejects when the cluster does not answer. */
    check: () => Promise<PollOutcome>;
    timeoutMs: number;
    /** Progress messages (pulumi.log.info in the program). */
    log: (message: string) => void;
    /** The progress line, given seconds elapsed and what is still missing. */
    progress: (seconds: number, detail: string) => string;
    /**
     * Something to add to a progress line, read when one is due (at most once per progress interval), e.g. a pod
     * that cannot pull its image; undefined: nothing. A rejection adds nothing.
     */
    progressNote?: () => Promise<string | undefined>;
    /** The line once done, given the seconds it took (logged only after a wait of 10 s or more). */
    done: (seconds: number) => string;
    /** The error at the timeout, given the timeout in seconds and what was still missing. */
    timeout: (seconds: number, detail: string) => string;
    /** The error once the cluster has not answered for the grace period, given why. */
    unreachable: (detail: string) => string;
    /**
     * Turns the timeout or unreachable error into the one the user sees, e.g. with a diagnosis of why (components/members/diagnosis.ts).
     * Default: as it is.
     */
    explain?: (message: string) => Promise<string>;
    /** How long the cluster may fail to answer before we give up. Default 10 s. */
    unreachableGraceMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}

const FIRST_POLL_INTERVAL_MS = 250;
// Bounded at 1 s: the benchmark showed up to 1.6 s of slack after the installer finished with a 2 s bound.
const MAX_POLL_INTERVAL_MS = 1000;
const PROGRESS_EVERY_MS = 10_000;

/** Polls until the check says done; rejects with the check's failure, the unreachable error or the timeout. */
export async function pollUntilDone(options: PollOptions): Promise<{ waitedMs: number }> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const graceMs = options.unreachableGraceMs ?? 10_000;
    const started = now();
    let interval = FIRST_POLL_INTERVAL_MS;
    let lastProgress = started;
    let unreachableSince: number | undefined;
    let lastDetail = "not read yet";
    const explain = options.explain ?? (async (message: string) => message);

    for (;;) {
        let outcome: PollOutcome | undefined;
        try {
            outcome = await options.check();
            unreachableSince = undefined;
        } catch (err) {
            unreachableSince ??= now();
            lastDetail = `the API server does not answer (${err instanceof Error ? err.message : String(err)})`;
            if (now() - unreachableSince >= graceMs) throw new Error(await explain(options.unreachable(lastDetail)));
        }
        if (outcome?.state === "done") {
            const elapsed = now() - started;
            if (elapsed >= PROGRESS_EVERY_MS) options.log(options.done(Math.round(elapsed / 1000)));
            return { waitedMs: elapsed };
        }
        if (outcome?.state === "failed") throw new Error(outcome.message);
        if (outcome) lastDetail = outcome.detail;
        const elapsed = now() - started;
        if (elapsed >= options.timeoutMs)
            throw new Error(await explain(options.timeout(Math.round(options.timeoutMs / 1000), lastDetail)));
        if (now() - lastProgress >= PROGRESS_EVERY_MS) {
            const note = await options.progressNote?.().catch(() => undefined);
            const line = options.progress(Math.round(elapsed / 1000), lastDetail);
            options.log(note === undefined ? line : `${line}; ${note}`);
            lastProgress = now();
        }
        await sleep(Math.min(interval, Math.max(0, options.timeoutMs - elapsed)));
        interval = Math.min(MAX_POLL_INTERVAL_MS, Math.round(interval * 1.5));
    }
}
