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
}

/** Parent pid, command name and RSS (MB) of every process. */
function processTable(): Array<{ pid: number; ppid: number; comm: string; rssMb: number }> {
    const table = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // pid (comm) state ppid ... ; comm may hold spaces, so split after the last ")".
            const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            const rssPages = Number(fields[21]);
            table.push({ pid: Number(entry), ppid: Number(fields[1]), comm, rssMb: (rssPages * 4096) / 2 ** 20 });
        } catch {
            // The process exited while we read.
        }
    }
    return table;
}

/** Starts sampling every `intervalMs`; `stop()` returns the peaks. */
export function sampleProviderMemory(intervalMs = 500): { stop: () => ProviderMemory } {
    const peak: ProviderMemory = { peakProcesses: 0, peakTotalRssMb: 0 };
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
        peak.peakProcesses = Math.max(peak.peakProcesses, providers.length);
        peak.peakTotalRssMb = Math.max(peak.peakTotalRssMb, Math.round(providers.reduce((sum, p) => sum + p.rssMb, 0)));
    };
    const timer = setInterval(sample, intervalMs);
    return {
        stop: () => {
            clearInterval(timer);
            return peak;
        },
    };
}
