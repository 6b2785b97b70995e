/**
 * BENCHMARK ONLY: one fleet federated the way users run the program — the Pulumi CLI in a copy of the repository
 * (test/e2e/harness/cliProject.ts, as the CLI e2e), running it through the Node.js language host (the test-only
 * stand-in, or a user's real one: test/e2e/tools/build.sh), with a file backend and PULUMI_HOME of its own. Next to the inline program (fleet.ts) this adds what users wait for on
 * every command: the CLI, the language host, Node.js and the program's modules starting.
 *
 * The no-change `pulumi preview` is timed in three set-ups of the same stack: as the repository ships it (compiled
 * JavaScript from bin/, Pulumi.yaml nodeargs `--require ./compile.js`), and as before that, Pulumi's ts-node on
 * index.ts with type checking and transpile-only (PULUMI_NODEJS_TRANSPILE_ONLY=true).
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CliProject, CommandResult } from "../test/e2e/harness/cliProject";
import { ApiCost, within } from "./audit";
import {
    auditRequests,
    checkWrites,
    clientCost,
    RunSettings,
    StartupTimeline,
    startupTimeline,
    TimedCost,
    withSandbox,
} from "./fleet";
import { CpuBreakdown, sampleProcessCpu } from "./processCpu";
import { ProviderMemory, sampleProviderMemory } from "./providerMemory";

const STACK = "bench";
const PROJECT = "kubesphere-federation";

/** How the CLI runs the program. */
export const CLI_SETUPS = ["compiled", "ts-node transpile-only", "ts-node type check"] as const;
export type CliSetup = (typeof CLI_SETUPS)[number];

export interface CliPreviews {
    /** Wall time of each no-change `pulumi preview`, ms. */
    ms: number[];
    /** CPU time of each one's process tree, ms (see timedCommand). */
    cpuMs?: number[];
    /** The same per role (CLI, language host, program, providers), each repetition. */
    cpu?: CpuBreakdown[];
    /** API requests of the first one. */
    cost: ApiCost;
}

export interface CliRun {
    members: number;
    reconcileDelayMs: number;
    sandboxStartMs: number;
    openApiWarmupMs: number;
    /** `npm run build` on the fresh copy (every source transpiled), before the first `up`; untimed otherwise. */
    compileFromScratchMs: number;
    /** `pulumi up --yes --skip-preview` (what the Automation API runs for `up`), compiled set-up. */
    firstUp: TimedCost & { cpuMs?: number; cpu?: CpuBreakdown };
    timeline: StartupTimeline;
    /** Per set-up that was run (`--cli-setups`; the quick run: compiled only). */
    previews: Partial<Record<CliSetup, CliPreviews>>;
    /** The environment added for the CLI's plugins (`--plugin-env`), when any. */
    pluginEnv?: Record<string, string>;
    providerMemory?: ProviderMemory;
    attributionWarning?: string;
}

/** The Pulumi CLI floor: a no-change `pulumi preview` of a program that registers nothing (ms, each repetition). */
export interface CliFloor {
    ms: number[];
    cpuMs?: number[];
    cpu?: CpuBreakdown[];
}

/** NODE_OPTIONS that make the program's process label its own requests (bench/requestLabel.js). */
function labelEnv(): Record<string, string> {
    return { NODE_OPTIONS: `--require ${path.join(__dirname, "requestLabel.js")}`, KSF_BENCH_LABEL_PROGRAM: "1" };
}

/**
 * Runs a command line, timed: wall clock, and the CPU time (user + system) of its whole process tree — the CLI, the
 * language host, Node.js running the program and the provider plugins — from bash's `time`. On a machine shared
 * with other jobs the wall clock mostly measures the others; the CPU time barely moves.
 */
async function timedCommand(
    project: CliProject,
    command: string,
    env: Record<string, string> = {},
): Promise<{ startMs: number; endMs: number; cpuMs: number; cpu: CpuBreakdown; result: CommandResult }> {
    const startMs = Date.now();
    const running = project.start(`TIMEFORMAT='ksf-bench-cpu %3U %3S'; time { ${command} ; }`, {
        env: { ...labelEnv(), ...env },
    });
    const shell = running.process.pid as number;
    // Per role from samples of the command's tree; the total from bash's `time` (every process, reaped ones too).
    const sampler = sampleProcessCpu(() => [shell]);
    let result: CommandResult;
    let totalMs = 0;
    try {
        result = await running.done;
    } finally {
        const cpu = [...running.output().matchAll(/ksf-bench-cpu ([\d.]+) ([\d.]+)/g)].at(-1);
        if (cpu) totalMs = Math.round((Number(cpu[1]) + Number(cpu[2])) * 1000);
    }
    const breakdown = sampler.stop(totalMs);
    const endMs = Date.now();
    if (result.code !== 0)
        throw new Error(`\`${command}\` exited ${result.code}:\n${result.output.split("\n").slice(-30).join("\n")}`);
    if (!totalMs) throw new Error(`\`${command}\`: no CPU time in its output`);
    return { startMs, endMs, cpuMs: totalMs, cpu: breakdown, result };
}

/** Rewrites the copy's Pulumi.yaml and package.json for a set-up; returns the environment it needs. */
function useSetup(
    project: CliProject,
    setup: CliSetup,
    original: { pulumiYaml: string; packageJson: string },
): Record<string, string> {
    if (setup === "compiled") {
        fs.writeFileSync(project.file("Pulumi.yaml"), original.pulumiYaml);
        fs.writeFileSync(project.file("package.json"), original.packageJson);
        return {};
    }
    // Before bin/: Pulumi's own TypeScript support runs index.ts (Pulumi.yaml main) through ts-node.
    const settings = yaml.load(original.pulumiYaml) as {
        main?: string;
        runtime: { name: string; options?: Record<string, unknown> };
    };
    settings.main = "index.ts";
    settings.runtime.options = { typescript: true };
    fs.writeFileSync(project.file("Pulumi.yaml"), yaml.dump(settings));
    fs.writeFileSync(project.file("package.json"), original.packageJson);
    return setup === "ts-node transpile-only" ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : {};
}

/** First `pulumi up` and no-change `pulumi preview`s through the CLI, on a fresh fleet. */
export async function runCli(
    settings: RunSettings & {
        previewRepetitions: number;
        setups?: readonly CliSetup[];
        /** Added to the `pulumi` commands' environment, which the CLI passes to its plugins (e.g. GOMEMLIMIT). */
        pluginEnv?: Record<string, string>;
    },
): Promise<CliRun> {
    return withSandbox(settings, `cli-${settings.members}`, async (sandbox, { sandboxStartMs, openApiWarmupMs }) => {
        const project = CliProject.create(sandbox.dir);
        try {
            await project.ok(`pulumi stack init ${STACK}`);
            // The stack file, as a user would write it (stackConfigDir: stacks); stack init may have added a salt.
            const stackFile = project.file(`stacks/Pulumi.${STACK}.yaml`);
            const stackSettings = (
                fs.existsSync(stackFile) ? yaml.load(fs.readFileSync(stackFile, "utf8")) : {}
            ) as Record<string, unknown>;
            stackSettings.config = {
                [`${PROJECT}:host`]: { name: sandbox.host.name, kubeconfig: { path: sandbox.host.kubeconfigPath } },
                [`${PROJECT}:members`]: sandbox.members.map((member) => ({
                    name: member.name,
                    provider: "generic",
                    kubeconfig: { path: member.kubeconfigPath },
                })),
            };
            fs.writeFileSync(stackFile, yaml.dump(stackSettings));
            const original = {
                pulumiYaml: fs.readFileSync(project.file("Pulumi.yaml"), "utf8"),
                packageJson: fs.readFileSync(project.file("package.json"), "utf8"),
            };

            const compileStart = Date.now();
            await project.ok("npm run build --silent");
            const compileFromScratchMs = Date.now() - compileStart;

            const log = (what: string, ms: number) =>
                settings.log(`cli-${settings.members}: ${what} took ${(ms / 1000).toFixed(1)} s`);
            settings.log(`cli-${settings.members}: pulumi up ...`);
            const sampler = sampleProviderMemory();
            let providerMemory: ProviderMemory | undefined;
            const pluginEnv = settings.pluginEnv ?? {};
            const up = await timedCommand(
                project,
                "pulumi up --yes --skip-preview --non-interactive",
                pluginEnv,
            ).finally(() => (providerMemory = sampler.stop()));
            log("pulumi up", up.endMs - up.startMs);
            const outputs = await project.ok(`pulumi stack output members --json`);
            const exported = JSON.parse(outputs.stdout) as Record<string, { ready?: boolean }>;
            const notReady = sandbox.members
                .filter((member) => exported?.[member.name]?.ready !== true)
                .map((member) => member.name);
            if (notReady.length > 0)
                throw new Error(`cli-${settings.members}: not Ready after pulumi up: ${notReady.join(", ")}`);

            const previews: Partial<Record<CliSetup, CliPreviews>> = {};
            for (const setup of settings.setups ?? CLI_SETUPS) {
                const env = useSetup(project, setup, original);
                const runs = [];
                for (let repetition = 0; repetition < settings.previewRepetitions; repetition++) {
                    runs.push(
                        await timedCommand(project, "pulumi preview --expect-no-changes --non-interactive", {
                            ...pluginEnv,
                            ...env,
                        }),
                    );
                }
                const ms = runs.map((run) => run.endMs - run.startMs);
                log(
                    `no-change pulumi preview (${setup}) ×${ms.length}`,
                    ms.reduce((a, b) => a + b, 0),
                );
                previews[setup] = {
                    ms,
                    cpuMs: runs.map((run) => run.cpuMs),
                    cpu: runs.map((run) => run.cpu),
                    cost: clientCost(sandbox, "program", runs[0].startMs, runs[0].endMs),
                };
            }
            useSetup(project, "compiled", original);

            const firstUpCost = clientCost(sandbox, "program", up.startMs, up.endMs);
            const attributionWarning = checkWrites(
                `cli-${settings.members}`,
                firstUpCost,
                settings.members,
                settings.log,
            );
            return {
                members: settings.members,
                reconcileDelayMs: settings.reconcileDelayMs,
                sandboxStartMs,
                openApiWarmupMs,
                compileFromScratchMs,
                firstUp: { ms: up.endMs - up.startMs, cpuMs: up.cpuMs, cpu: up.cpu, cost: firstUpCost },
                timeline: startupTimeline(sandbox, within(auditRequests(sandbox), up.startMs, up.endMs), up.startMs),
                previews,
                ...(Object.keys(pluginEnv).length ? { pluginEnv } : {}),
                providerMemory,
                ...(attributionWarning ? { attributionWarning } : {}),
            };
        } finally {
            project.dispose();
        }
    });
}

/**
 * The fixed cost of any `pulumi preview` here: the CLI, the language host and Node.js with Pulumi's SDK, for a
 * program that registers nothing but its stack (after one `up`, so the preview has no change). No cluster involved.
 */
export async function runCliFloor(dir: string, repetitions: number): Promise<CliFloor> {
    // No cluster: `.sandbox` in the copy points at a directory that does not exist, and nothing reads it.
    const project = CliProject.create(path.join(dir, "no-sandbox"));
    try {
        fs.writeFileSync(
            project.file("Pulumi.yaml"),
            yaml.dump({
                name: "cli-floor",
                runtime: { name: "nodejs", options: { typescript: false } },
                main: "floor.js",
            }),
        );
        fs.writeFileSync(
            project.file("floor.js"),
            '// Loads the SDK as any program does and registers nothing.\nrequire("@pulumi/pulumi");\n',
        );
        await project.ok(`pulumi stack init floor`);
        await project.ok(`pulumi up --yes --skip-preview --non-interactive`);
        const ms: number[] = [];
        const cpuMs: number[] = [];
        const cpu: CpuBreakdown[] = [];
        for (let repetition = 0; repetition < repetitions; repetition++) {
            const run = await timedCommand(project, "pulumi preview --expect-no-changes --non-interactive");
            ms.push(run.endMs - run.startMs);
            cpuMs.push(run.cpuMs);
            cpu.push(run.cpu);
        }
        return { ms, cpuMs, cpu };
    } finally {
        project.dispose();
    }
}
