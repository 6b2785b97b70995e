/**
 * BENCHMARK ONLY: tells the program's own API requests apart from the KubeSphere emulator's in the audit logs.
 *
 * The program's direct reads (components/kubeClient.ts) and the emulator both use @kubernetes/client-node, whose
 * node-fetch sends the same User-Agent. The program runs in this process (an Automation API inline program), the
 * emulator in its own, so while a stack operation runs this process relabels its node-fetch requests. The Pulumi
 * Kubernetes provider (a Go process) and kubectl send their own User-Agents already.
 */
// The module object itself (not an import namespace, whose properties are read-only getters).
import https = require("https");

/** User-Agent of the program's direct reads while labelling is on. */
export const PROGRAM_USER_AGENT = "ksf-bench-program";

const NODE_FETCH_PREFIX = "node-fetch";
let active = false;
let installed = false;

function relabel(headers: Record<string, unknown> | undefined): void {
    if (!headers) return;
    for (const key of Object.keys(headers)) {
        if (key.toLowerCase() !== "user-agent") continue;
        const value = headers[key];
        const text = Array.isArray(value) ? String(value[0]) : String(value);
        if (text.startsWith(NODE_FETCH_PREFIX)) headers[key] = PROGRAM_USER_AGENT;
    }
}

/** Wraps `https.request` once; node-fetch looks it up on every request, so the wrapper sees them all. */
function install(): void {
    if (installed) return;
    installed = true;
    const original = https.request;
    https.request = function (this: unknown, ...args: unknown[]) {
        if (active) {
            for (const arg of args) {
                if (arg && typeof arg === "object" && !(arg instanceof URL)) relabel((arg as { headers?: Record<string, unknown> }).headers);
            }
        }
        return (original as (...a: unknown[]) => ReturnType<typeof https.request>).apply(this, args);
    } as typeof https.request;
}

/** Runs `operation` with this process's node-fetch requests labelled as the program's. */
export async function asProgram<T>(operation: () => Promise<T>): Promise<T> {
    install();
    active = true;
    try {
        return await operation();
    } finally {
        active = false;
    }
}
