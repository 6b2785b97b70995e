import * as assert from "assert";
import { spawn } from "child_process";
import { parseProcessStat, roleOf, sampleProcessCpu } from "../../bench/processCpu";

describe("benchmark CPU per process", () => {
    it("parses /proc/<pid>/stat, a name with spaces and parentheses included", () => {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ... starttime
        const stat =
            "4242 (pulumi (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 30 120 7 20 0 12 0 987654 1000 2000";
        assert.deepStrictEqual(parseProcessStat(stat), {
            pid: 4242,
            ppid: 17,
            comm: "pulumi (x) y",
            cpuMs: 2800,
            childrenCpuMs: 1270,
            startTicks: 987654,
        });
    });

    it("names each process of a CLI run by its place in the tree", () => {
        const cli = roleOf("pulumi", "shell");
        const languageHost = roleOf("node", cli); // the test-only language host is a Node.js script
        assert.deepStrictEqual(
            [
                roleOf("bash", undefined),
                cli,
                languageHost,
                roleOf("pulumi-language", cli),
                roleOf("node", languageHost),
                roleOf("pulumi-resource", cli),
                roleOf("kubectl", "shell"),
                roleOf("git", roleOf("node", languageHost)),
                roleOf("sleep", "shell"),
            ],
            ["shell", "cli", "language host", "language host", "program", "providers", "kubectl", "program", "other"],
        );
    });

    it("samples a process tree's CPU and keeps what no sample saw apart", async function () {
        this.timeout(10_000);
        // A shell (kept by the `; true`: bash would exec a lone command) that starts a Node.js child burning 600 ms (ticks of 10 ms: ≥ 500 is sure)
        // of CPU (by its own CPU clock: the machine may be busy) and then idling, so that samples see its total.
        const burn = "while (process.cpuUsage().user + process.cpuUsage().system < 600000); setTimeout(() => {}, 300);";
        const child = spawn("bash", ["-c", `"${process.execPath}" -e '${burn}'; true`]);
        const sampler = sampleProcessCpu(() => [child.pid as number], 50);
        await new Promise((resolve) => child.on("close", resolve));
        const cpu = sampler.stop(2000);
        assert.strictEqual(cpu.totalMs, 2000);
        assert.ok((cpu.byRoleMs.other ?? 0) >= 500, `the node child's CPU was sampled: ${JSON.stringify(cpu)}`);
        assert.strictEqual(cpu.processes.shell, 1);
        const sampled = Object.values(cpu.byRoleMs).reduce((sum, ms) => sum + (ms ?? 0), 0);
        assert.strictEqual(cpu.unsampledMs, 2000 - sampled);
    });

    it("a total below the samples (a process its parent never waited for) yields to the samples", () => {
        const sampler = sampleProcessCpu(() => [process.pid], 1000);
        // Burn some CPU in this process, then stop with a total of 0.
        const end = Date.now() + 100;
        while (Date.now() < end);
        sampler.sample();
        const cpu = sampler.stop(0);
        assert.ok(cpu.totalMs > 0);
        assert.strictEqual(cpu.unsampledMs, 0);
    });
});
