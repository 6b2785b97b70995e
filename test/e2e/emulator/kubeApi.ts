/**
 * Small helpers around @kubernetes/client-node shared by the emulator and the sandbox. TEST ONLY (the emulator
 * never imports the product, so it has its own error description).
 */
import { ApiException, ConfigurationOptions, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

/** Request options that send a body as a JSON merge patch (RFC 7386): only the keys present are changed. */
export const MERGE_PATCH: ConfigurationOptions = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The HTTP status of a failed Kubernetes API call, or undefined for a network-level failure. */
export function httpStatus(err: unknown): number | undefined {
    return err instanceof ApiException ? err.code : undefined;
}

/**
 * A one-line description of a failed call, safe to log: the API server's Status message when there is one,
 * else the network error (`connect ECONNREFUSED 127.0.0.1:1234`). Never the request, so never a credential.
 */
export function describeError(err: unknown): string {
    if (err instanceof ApiException) {
        const body = err.body as unknown;
        let message: string | undefined;
        if (typeof body === "string") {
            try {
                message = (JSON.parse(body) as { message?: string }).message;
            } catch {
                message = undefined;
            }
        } else if (body && typeof body === "object") {
            message = (body as { message?: string }).message;
        }
        return message ?? `HTTP ${err.code}`;
    }
    if (err instanceof Error) {
        const code = (err as NodeJS.ErrnoException).code;
        const cause = (err as { cause?: unknown }).cause;
        if (cause instanceof Error && cause.message && !err.message.includes(cause.message)) {
            return `${err.message}: ${cause.message}`;
        }
        return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
    }
    return String(err);
}

/** Rejects if `promise` has not settled within `ms`, so one hung cluster cannot stall a reconcile loop. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
