/**
 * Starting, recognising and stopping the sandbox's processes (etcd, kube-apiservers, the emulator). TEST ONLY.
 * Processes are identified by pid plus a marker string in their command line, so a recycled pid that now belongs
 * to something else is never signalled.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { waitFor } from "./waitFor";

export interface SpawnOptions {
    /** File that receives the process's stdout and stderr (appended). */
    logFile: string;
    /**
     * true: the process gets its own session and outlives the caller (the CLI's `up`).
     * false: it stays in the caller's process group, so Ctrl-C reaches it too.
     */
    detached: boolean;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
}

/** How children started by spawnLogged in this Node process ended, by pid: "exit code 2", "signal SIGKILL". */
const endings = new Map<number, string>();

/**
 * How a child started by spawnLogged in this process ended ("exit code 2", "signal SIGKILL"), or undefined while
 * it runs (or when another process started it). For error messages: a process that dies without a line in its
 * log is otherwise a mystery.
 */
export function endingOf(pid: number): string | undefined {
    return endings.get(pid);
}

/** Starts a process with its output in a log file and returns its pid; throws if it could not be started. */
export function spawnLogged(command: string, args: string[], options: SpawnOptions): Promise<number> {
    const logFd = fs.openSync(options.logFile, "a");
    try {
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: options.env ?? process.env,
            detached: options.detached,
            stdio: ["ignore", logFd, logFd],
        });
        return new Promise((resolve, reject) => {
            child.once("error", (err) => reject(new Error(`could not start ${command}: ${err.message}`)));
            child.once("exit", (code, signal) => {
                if (child.pid !== undefined) endings.set(child.pid, signal ? `signal ${signal}` : `exit code ${code}`);
            });
            child.once("spawn", () => {
                if (options.detached) {
                    // Let the caller exit while the process keeps running.
                    child.unref();
                }
                resolve(child.pid as number);
            });
        });
    } finally {
        // The child has its own copy of the descriptor.
        fs.closeSync(logFd);
    }
}

/** A process the sandbox started: `marker` must appear in its command line (e.g. the sandbox directory). */
export interface OwnedProcess {
    name: string;
    pid: number;
    marker: string;
}

/** True when the pid runs and is still the process we started (not a zombie, not a recycled pid). */
export function isRunning(owned: OwnedProcess): boolean {
    try {
        process.kill(owned.pid, 0);
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
    try {
        // Field 3 of /proc/<pid>/stat is the state; Z = exited but not yet reaped.
        const stat = fs.readFileSync(`/proc/${owned.pid}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) {
            return false;
        }
        return fs.readFileSync(`/proc/${owned.pid}/cmdline`, "utf8").includes(owned.marker);
    } catch {
        // No /proc (not Linux) or the process just exited: trust the signal probe.
        return fs.existsSync("/proc") ? false : true;
    }
}

function signal(owned: OwnedProcess, name: NodeJS.Signals): void {
    if (!isRunning(owned)) {
        return;
    }
    try {
        process.kill(owned.pid, name);
    } catch {
        // It exited between the check and the signal.
    }
}

/**
 * Stops processes: SIGTERM, then SIGKILL for any still running after `graceMs`. Resolves once all have exited;
 * throws naming any that survived SIGKILL.
 */
export async function terminate(processes: OwnedProcess[], graceMs = 10_000): Promise<void> {
    processes.forEach((owned) => signal(owned, "SIGTERM"));
    const allExited = async () => processes.every((owned) => !isRunning(owned));
    try {
        await waitFor(allExited, {
            description: "processes to exit after SIGTERM",
            timeoutMs: graceMs,
            intervalMs: 100,
        });
        return;
    } catch {
        processes.forEach((owned) => signal(owned, "SIGKILL"));
    }
    try {
        await waitFor(allExited, { description: "processes to exit after SIGKILL", timeoutMs: 5_000, intervalMs: 100 });
    } catch {
        const survivors = processes.filter(isRunning).map((owned) => `${owned.name} (pid ${owned.pid})`);
        throw new Error(
            `these sandbox processes did not exit even after SIGKILL: ${survivors.join(", ")}. Fix: kill them by pid`,
        );
    }
}
