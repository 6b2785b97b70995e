/**
 * BENCHMARK ONLY: samples the Pulumi Kubernetes provider processes this process started (through the Pulumi CLI) —
 * one per provider resource, so one per cluster — and keeps their peak count and total resident memory. Linux /proc.
 */
import * as fs from "fs";

export interface ProviderMemory {
    /** Most provider processes alive at once. */
    peakProcesses: number;
    /** Highest total RSS of those processes, MB. */
    peakTotalRssMb: number;
    /** CPU time (user + system) each provider process had used when last sampled, median over them, ms. */
    cpuMsPerProcess?: number;
    /**
     * Highest total anonymous RSS (heap, stacks: memory each process has to itself), MB. RSS also counts the pages of
     * the provider's 167 MB binary it has touched (RssFile, ~80 MB each), which the page cache holds once for all
     * provider processes: summing RSS counts them once per process.
     */
    peakTotalAnonMb?: number;
    /** Highest file-backed RSS of one provider process (its binary's pages, shared by all of them), MB. */
    peakFileMbPerProcess?: number;
}

/** RssAnon and RssFile of a process, MB (/proc/<pid>/status), or undefined when it is gone. */
function rssParts(pid: number): { anonMb: number; fileMb: number } | undefined {
    try {
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
        return { anonMb: kb("RssAnon") / 1024, fileMb: kb("RssFile") / 1024 };
    } catch {
        return undefined;
    }
}

/** Parent pid, command name and RSS (MB) of every process. */
function processTable(): Array<{ pid: number; ppid: number; comm: string; rssMb: number; cpuMs: number }> {
    const table = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // pid (comm) state ppid ... ; comm may hold spaces, so split after the last ")".
            const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            const rssPages = Number(fields[21]);
            // utime and stime, in clock ticks (100 per second on Linux).
            const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
            table.push({
                pid: Number(entry),
                ppid: Number(fields[1]),
                comm,
                rssMb: (rssPages * 4096) / 2 ** 20,
                cpuMs,
            });
        } catch {
            // The process exited while we read.
        }
    }
    return table;
}

/** Starts sampling every `intervalMs`; `stop()` returns the peaks. */
export function sampleProviderMemory(intervalMs = 500): { stop: () => ProviderMemory } {
    const peak: ProviderMemory = { peakProcesses: 0, peakTotalRssMb: 0 };
    const cpuMsByPid = new Map<number, number>();
    const sample = () => {
        const table = processTable();
        const children = new Map<number, number[]>();
        for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
        const descendants = new Set<number>();
        const queue = [process.pid];
        while (queue.length) {
            for (const child of children.get(queue.pop() as number) ?? []) {
                if (!descendants.has(child)) {
                    descendants.add(child);
                    queue.push(child);
                }
            }
        }
        // /proc/<pid>/stat truncates names to 15 characters: "pulumi-resource".
        const providers = table.filter((p) => descendants.has(p.pid) && p.comm.startsWith("pulumi-resource"));
        for (const p of providers) cpuMsByPid.set(p.pid, p.cpuMs);
        peak.peakProcesses = Math.max(peak.peakProcesses, providers.length);
        peak.peakTotalRssMb = Math.max(peak.peakTotalRssMb, Math.round(providers.reduce((sum, p) => sum + p.rssMb, 0)));
        const parts = providers.map((p) => rssParts(p.pid)).filter((part) => part !== undefined);
        if (parts.length) {
            const anon = Math.round(parts.reduce((sum, part) => sum + part.anonMb, 0));
            peak.peakTotalAnonMb = Math.max(peak.peakTotalAnonMb ?? 0, anon);
            peak.peakFileMbPerProcess = Math.max(
                peak.peakFileMbPerProcess ?? 0,
                Math.round(Math.max(...parts.map((part) => part.fileMb))),
            );
        }
    };
    const timer = setInterval(sample, intervalMs);
    return {
        stop: () => {
            clearInterval(timer);
            const cpu = [...cpuMsByPid.values()].sort((a, b) => a - b);
            if (cpu.length) peak.cpuMsPerProcess = cpu[Math.floor(cpu.length / 2)];
            return peak;
        },
    };
}
