/** Polling helpers: the sandbox waits on conditions, never on fixed sleeps. TEST ONLY. */

export interface WaitOptions {
    /** What is awaited, for the timeout message, e.g. `kube-apiserver "host" /readyz`. */
    description: string;
    /** Give up after this long. */
    timeoutMs: number;
    /** Time between attempts. Default: 200 ms. */
    intervalMs?: number;
    /** Checked before each attempt: a returned reason ends the wait at once (e.g. the awaited process died). */
    giveUpIf?: () => string | undefined;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `probe` until it returns a value other than undefined/false, and returns that value.
 * A probe that throws counts as "not yet"; its last error is quoted if the wait times out.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    let lastError = "";
    for (;;) {
        const reason = options.giveUpIf?.();
        if (reason) {
            throw new Error(`gave up waiting for ${options.description}: ${reason}`);
        }
        try {
            const result = await probe();
            if (result !== undefined && result !== false) {
                return result;
            }
            lastError = "";
        } catch (err) {
            lastError = err instanceof Error ? err.message : String(err);
        }
        if (Date.now() >= deadline) {
            throw new Error(
                `timed out after ${options.timeoutMs} ms waiting for ${options.description}` +
                    (lastError ? ` (last error: ${lastError})` : ""),
            );
        }
        await sleep(options.intervalMs ?? 200);
    }
}
