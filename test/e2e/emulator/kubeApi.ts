/**
 * Small helpers around @kubernetes/client-node shared by the emulator and the sandbox. TEST ONLY.
 */
import { ApiException, ConfigurationOptions, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { describeKubeError } from "../../../components/kubeClient";

/** Request options that send a body as a JSON merge patch (RFC 7386): only the keys present are changed. */
export const MERGE_PATCH: ConfigurationOptions = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The HTTP status of a failed Kubernetes API call, or undefined for a network-level failure. */
export function httpStatus(err: unknown): number | undefined {
    return err instanceof ApiException ? err.code : undefined;
}

/** A one-line description of a failed call, safe to log (the product's own helper). */
export const describeError = describeKubeError;

/** Rejects if `promise` has not settled within `ms`, so one hung cluster cannot stall a reconcile loop. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
