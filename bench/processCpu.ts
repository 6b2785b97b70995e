/**
 * BENCHMARK ONLY: CPU time of every process a benchmarked command starts, per role — the Pulumi CLI, the language
 * host, the Node.js program, the provider plugins, kubectl — from /proc/<pid>/stat (Linux).
 *
 * Two sources, because neither alone is both complete and itemised:
 * - The total is the command's resource usage as its parent sees it once every process has been waited for
 *   (bash's `time`, or this process's cutime/cstime): a reaped process's CPU, and that of everything it reaped,
 *   accrues to its parent's cutime/cstime, so nothing is missed however short-lived it was.
 * - The roles come from sampling the process tree every `intervalMs` (a process's own utime + stime, never its
 *   cutime, so nothing is counted twice). A process's last `intervalMs` before it exits, and processes that live
 *   shorter than that, escape the samples: that remainder is reported as `unsampledMs`, not spread over the roles.
 */
import * as fs from "fs";

export const PROCESS_ROLES = ["cli", "language host", "program", "providers", "kubectl", "shell", "other"] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/** CPU seconds of one command's process tree. */
export interface CpuBreakdown {
    /** User + system CPU of the whole tree, from resource usage (complete), ms. */
    totalMs: number;
    /** Sampled CPU per role, ms; roles with no process are left out. */
    byRoleMs: Partial<Record<ProcessRole, number>>;
    /** Processes seen per role. */
    processes: Partial<Record<ProcessRole, number>>;
    /** totalMs minus the sampled roles: exit tails and processes shorter than a sample interval (≥ 0). */
    unsampledMs: number;
}

export interface ProcessStat {
    pid: number;
    ppid: number;
    comm: string;
    /** Own user + system time, ms. */
    cpuMs: number;
    /** Reaped children's user + system time, ms. */
    childrenCpuMs: number;
    /** Start time after boot, clock ticks: with the pid, names one process even when pids are reused. */
    startTicks: number;
}

/** Clock ticks per second: 100 on every Linux this runs on (USER_HZ). */
const TICK_MS = 10;

/** One process's /proc/<pid>/stat, or undefined when it is gone. */
export function readProcessStat(pid: number | "self"): ProcessStat | undefined {
    try {
        return parseProcessStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return undefined;
    }
}

/** Parses a /proc/<pid>/stat line (proc(5)): comm may hold spaces and parentheses, so fields start after the last ")". */
export function parseProcessStat(stat: string): ProcessStat {
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
        pid: Number(stat.slice(0, stat.indexOf(" "))),
        ppid: Number(fields[1]),
        comm,
        cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
        childrenCpuMs: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
        startTicks: Number(fields[19]),
    };
}

function allProcesses(): ProcessStat[] {
    const table: ProcessStat[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = readProcessStat(Number(entry));
        if (stat) table.push(stat);
    }
    return table;
}

/**
 * A process's role from its name and its parent's role. /proc truncates names to 15 characters
 * ("pulumi-resource", "pulumi-language"); the test-only language host is a Node.js script, so its name is "node".
 */
export function roleOf(comm: string, parentRole: ProcessRole | undefined): ProcessRole {
    if (comm === "pulumi") return "cli";
    if (comm.startsWith("pulumi-resource")) return "providers";
    if (comm.startsWith("pulumi-language")) return "language host";
    if (comm === "kubectl") return "kubectl";
    if (comm === "node" && parentRole === "cli") return "language host";
    if (comm === "node" && (parentRole === "language host" || parentRole === "program")) return "program";
    if (comm === "bash" || comm === "sh") return "shell";
    // Whatever a program or a provider starts is theirs.
    return parentRole === "program" || parentRole === "providers" ? parentRole : "other";
}

/**
 * Samples the process trees under `roots(table)` (pids, chosen from the process table at each sample) every `intervalMs` until `stop`, which
 * takes the tree's complete total (see the module comment) and returns the breakdown.
 */
export function sampleProcessCpu(
    roots: (table: ProcessStat[]) => number[],
    intervalMs = 100,
): { stop: (totalMs: number) => CpuBreakdown; sample: () => void } {
    const seen = new Map<string, { role: ProcessRole; cpuMs: number }>();
    const sample = () => {
        const table = allProcesses();
        const children = new Map<number, ProcessStat[]>();
        for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
        const byPid = new Map(table.map((p) => [p.pid, p]));
        const visit = (p: ProcessStat, parentRole: ProcessRole | undefined) => {
            const key = `${p.pid}@${p.startTicks}`;
            // The role is fixed when first seen: an exec (bash -c running pulumi) keeps the pid and changes the name.
            const role = roleOf(p.comm, parentRole);
            const known = seen.get(key);
            seen.set(key, { role: known && known.role !== "shell" ? known.role : role, cpuMs: p.cpuMs });
            for (const child of children.get(p.pid) ?? []) visit(child, role);
        };
        for (const root of roots(table)) {
            const p = byPid.get(root);
            if (p) visit(p, undefined);
        }
    };
    sample();
    const timer = setInterval(sample, intervalMs);
    return {
        sample,
        stop: (totalMs: number) => {
            clearInterval(timer);
            const byRoleMs: Partial<Record<ProcessRole, number>> = {};
            const processes: Partial<Record<ProcessRole, number>> = {};
            for (const { role, cpuMs } of seen.values()) {
                byRoleMs[role] = (byRoleMs[role] ?? 0) + cpuMs;
                processes[role] = (processes[role] ?? 0) + 1;
            }
            const sampled = Object.values(byRoleMs).reduce((sum, ms) => sum + (ms ?? 0), 0);
            // A process its parent never waited for is not in the total; then the samples are the better figure.
            const total = Math.max(totalMs, sampled);
            return { totalMs: total, byRoleMs, processes, unsampledMs: total - sampled };
        },
    };
}

/** This process's own CPU and its reaped children's, ms (for the inline program: it runs in this process). */
export function selfCpu(): { ownMs: number; childrenMs: number } {
    const stat = readProcessStat("self") as ProcessStat;
    return { ownMs: stat.cpuMs, childrenMs: stat.childrenCpuMs };
}

/** Sum of two breakdowns' roles (e.g. an inline run: the bench process as the program plus the engine's tree). */
export function addRole(breakdown: CpuBreakdown, role: ProcessRole, ms: number): CpuBreakdown {
    return {
        ...breakdown,
        totalMs: breakdown.totalMs + ms,
        byRoleMs: { ...breakdown.byRoleMs, [role]: (breakdown.byRoleMs[role] ?? 0) + ms },
        processes: { ...breakdown.processes, [role]: (breakdown.processes[role] ?? 0) + 1 },
    };
}
