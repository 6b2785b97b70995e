/**
 * Last-resort cleanup for sandboxes started in-process (the e2e suite): if the test process exits or is
 * interrupted while a sandbox is up, its children are SIGKILLed so no etcd/kube-apiserver is left behind, and
 * registered synchronous clean-ups run (the network namespaces of netnsHost.ts are deleted).
 * Detached sandboxes (the CLI's `up`) are meant to outlive their creator and are never registered here.
 */
import { isRunning, OwnedProcess } from "./processes";

const registered = new Map<number, OwnedProcess>();
/** Synchronous clean-ups of what is not a process (the network namespaces of netnsHost.ts), by key. */
const cleanups = new Map<string, () => void>();
let installed = false;

function killAllNow(): void {
    for (const cleanup of cleanups.values()) {
        try {
            cleanup();
        } catch {
            // Best effort on the way out.
        }
    }
    cleanups.clear();
    for (const owned of registered.values()) {
        if (isRunning(owned)) {
            try {
                process.kill(owned.pid, "SIGKILL");
            } catch {
                // Already gone.
            }
        }
    }
    registered.clear();
}

function onSignal(signal: NodeJS.Signals): void {
    killAllNow();
    // Installing a handler replaced Node's default "exit on signal"; keep that behaviour.
    process.exit(signal === "SIGINT" ? 130 : 143);
}

function install(): void {
    if (!installed) {
        process.on("exit", killAllNow);
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        installed = true;
    }
}

function uninstall(): void {
    if (installed && registered.size === 0 && cleanups.size === 0) {
        process.off("exit", killAllNow);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        installed = false;
    }
}

/** Kill this process if the current Node process exits before it is stopped. */
export function killOnExit(owned: OwnedProcess): void {
    registered.set(owned.pid, owned);
    install();
}

/** The process was stopped normally: forget it. */
export function forgetOnExit(pid: number): void {
    registered.delete(pid);
    uninstall();
}

/** Run `cleanup` (synchronous) if the current Node process exits before forgetCleanupOnExit(key). */
export function cleanupOnExit(key: string, cleanup: () => void): void {
    cleanups.set(key, cleanup);
    install();
}

export function forgetCleanupOnExit(key: string): void {
    cleanups.delete(key);
    uninstall();
}
