/**
 * `npm run bench`: how fast a fleet federates, what it costs the API servers, how close the waits come to the real
 * moment, and how program evaluation scales. Measures and reports; never fails on a number.
 *
 *   npm run bench -- [--quick | --full] [--members 1,5,10] [--repetitions 1] [--paths inline,cli,baseline]
 *                    [--baselines documented,shortcut] [--cli-setups compiled,...] [--plugin-env GOMEMLIMIT=64MiB]
 *                    [--preview-repetitions 3]
 *                    [--reconcile-delay-ms 2000] [--wait-delays 5000,20000] [--wait-members 2]
 *                    [--eval-sizes 0,100,500] [--phases fleet,waits,eval] [--out FILE] [--keep]
 *
 * `--quick` (the default) is the run a developer makes after a change, ~10 minutes on 2 shared cores: a host and
 * 2 members (the local stack) through the CLI and by both baseline procedures, 2 no-change previews of the
 * compiled set-up and of the CLI floor, evaluation under mocks for 0 and 100 members. `--full` is the documented
 * full run: 1, 5 and 10 members by every path and set-up, the wait-precision runs, evaluation up to 500 members.
 * Any option given explicitly overrides the preset's value. `npm run bench -- --render bench/results/X.json` rewrites
 * X.md from saved results with the current tables. CPU time (every process, per role) and API requests
 * are the figures to compare; wall time is printed next to them but mostly measures the machine's other load.
 *
 * Writes bench/results/<date>.json (and the same tables as .md) and prints the Markdown tables. Every fleet runs
 * on its own sandbox (test/e2e/sandbox) with kube-apiserver audit logs on, stopped even when the run fails.
 * Nothing secret is written: results hold timings, request counts and cluster names only.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { EvaluationResult } from "./evaluate";
import { toolsBinDir } from "../test/e2e/sandbox/paths";
import { CLI_SETUPS, CliSetup, runCli, runCliFloor } from "./cliFleet";
import { BaselineProcedure, runBaseline, runProgram } from "./fleet";
import { BenchResults, markdownReport } from "./report";

const execFileAsync = promisify(execFile);
const BENCH_DIR = __dirname;
/** Measured: each sandbox cluster is a kube-apiserver (~220 MB RSS) and a kube-controller-manager (~90 MB). */
const MB_PER_CLUSTER = 320;

interface Options {
    preset: "quick" | "full";
    members: number[];
    repetitions: number;
    /** Which ways of federating each fleet runs: the inline program, the CLI, the kubectl baseline. */
    paths: Set<string>;
    /** Which baseline procedures run (bench/baseline.sh): documented (waits for each member's config), shortcut. */
    baselines: BaselineProcedure[];
    /** Which CLI set-ups the no-change previews run in (cliFleet.ts CLI_SETUPS). */
    cliSetups: CliSetup[];
    /** Environment for the CLI's plugins (`--plugin-env GOMEMLIMIT=64MiB,GOGC=50`): the provider-memory experiment. */
    pluginEnv: Record<string, string>;
    /** No-change `pulumi preview`s per CLI set-up (and of the CLI floor), for medians. */
    previewRepetitions: number;
    reconcileDelayMs: number;
    waitDelays: number[];
    waitMembers: number;
    evalSizes: number[];
    phases: Set<string>;
    out: string;
    keep: boolean;
}

/** The two presets; explicit options override them. */
const PRESETS = {
    quick: {
        members: [2],
        paths: "cli,baseline",
        previewRepetitions: 2,
        cliSetups: "compiled",
        phases: "fleet,eval",
        evalSizes: [0, 100],
    },
    full: {
        members: [1, 5, 10],
        paths: "inline,cli,baseline",
        previewRepetitions: 3,
        cliSetups: CLI_SETUPS.join(","),
        phases: "fleet,waits,eval",
        evalSizes: [0, 100, 500],
    },
};

const USAGE =
    "usage: npm run bench -- [--quick | --full] [--members 1,5,10] [--repetitions 1] [--paths inline,cli,baseline] " +
    "[--baselines documented,shortcut] [--cli-setups compiled,ts-node transpile-only,ts-node type check] [--plugin-env NAME=value,...] [--preview-repetitions 3] " +
    "[--reconcile-delay-ms 2000] [--wait-delays 5000,20000] " +
    "[--wait-members 2] [--eval-sizes 0,100,500] [--phases fleet,waits,eval] [--out FILE] [--keep]";

function parseOptions(argv: string[]): Options {
    const value = (name: string) => {
        const at = argv.indexOf(name);
        if (at < 0) return undefined;
        const text = argv[at + 1];
        if (text === undefined || text.startsWith("--")) throw new Error(`${name} needs a value. ${USAGE}`);
        return text;
    };
    const numbers = (name: string, fallback: number[], min: number) => {
        const text = value(name);
        if (text === undefined) return fallback;
        const list = text.split(",").map((part) => Number(part.trim()));
        if (list.some((n) => !Number.isInteger(n) || n < min))
            throw new Error(`${name} takes whole numbers >= ${min} separated by commas, got "${text}". ${USAGE}`);
        return list;
    };
    const known = new Set([
        "--quick",
        "--full",
        "--baselines",
        "--cli-setups",
        "--plugin-env",
        "--members",
        "--repetitions",
        "--paths",
        "--preview-repetitions",
        "--reconcile-delay-ms",
        "--wait-delays",
        "--wait-members",
        "--eval-sizes",
        "--phases",
        "--out",
        "--keep",
    ]);
    const unknown = argv.filter((arg) => arg.startsWith("--") && !known.has(arg));
    if (unknown.length) throw new Error(`unknown option ${unknown.join(", ")}. ${USAGE}`);
    if (argv.includes("--quick") && argv.includes("--full")) throw new Error(`--quick or --full, not both. ${USAGE}`);
    const preset = argv.includes("--full") ? "full" : "quick";
    const defaults = PRESETS[preset];
    const phases = new Set((value("--phases") ?? defaults.phases).split(","));
    const badPhase = [...phases].find((phase) => !["fleet", "waits", "eval"].includes(phase));
    if (badPhase) throw new Error(`--phases takes fleet, waits and eval, got "${badPhase}". ${USAGE}`);
    const paths = new Set((value("--paths") ?? defaults.paths).split(","));
    const badPath = [...paths].find((name) => !["inline", "cli", "baseline"].includes(name));
    if (badPath) throw new Error(`--paths takes inline, cli and baseline, got "${badPath}". ${USAGE}`);
    const baselines = (value("--baselines") ?? "documented,shortcut").split(",") as BaselineProcedure[];
    const badBaseline = baselines.find((name) => !["documented", "shortcut"].includes(name));
    if (badBaseline) throw new Error(`--baselines takes documented and shortcut, got "${badBaseline}". ${USAGE}`);
    const cliSetups = (value("--cli-setups") ?? defaults.cliSetups).split(",") as CliSetup[];
    const badSetup = cliSetups.find((name) => !(CLI_SETUPS as readonly string[]).includes(name));
    if (badSetup) throw new Error(`--cli-setups takes ${CLI_SETUPS.join(", ")}, got "${badSetup}". ${USAGE}`);
    const stamp = new Date().toISOString().slice(0, 16).replace(":", "");
    const pluginEnv: Record<string, string> = {};
    for (const pair of (value("--plugin-env") ?? "").split(",").filter(Boolean)) {
        const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
        if (!match) throw new Error(`--plugin-env takes NAME=value pairs separated by commas, got "${pair}". ${USAGE}`);
        pluginEnv[match[1]] = match[2];
    }
    return {
        preset,
        pluginEnv,
        members: numbers("--members", defaults.members, 1),
        repetitions: numbers("--repetitions", [1], 1)[0],
        paths,
        baselines,
        cliSetups,
        previewRepetitions: numbers("--preview-repetitions", [defaults.previewRepetitions], 1)[0],
        reconcileDelayMs: numbers("--reconcile-delay-ms", [2000], 0)[0],
        waitDelays: numbers("--wait-delays", [5000, 20000], 0),
        waitMembers: numbers("--wait-members", [2], 1)[0],
        evalSizes: numbers("--eval-sizes", defaults.evalSizes, 0),
        phases,
        out: path.resolve(value("--out") ?? path.join(BENCH_DIR, "results", `${stamp}Z.json`)),
        keep: argv.includes("--keep"),
    };
}

function log(message: string): void {
    console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** The commit measured (with `+changes` when the work tree differs from it). */
function commit(): string {
    try {
        const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: BENCH_DIR, encoding: "utf8" }).trim();
        const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
            cwd: BENCH_DIR,
            encoding: "utf8",
        }).trim();
        return dirty ? `${head}+changes` : head;
    } catch {
        return "unknown";
    }
}

function machine(): Record<string, string | number> {
    const cpus = os.cpus();
    return {
        commit: commit(),
        cpus: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? "unknown",
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
        node: process.version,
        loadAverage: os
            .loadavg()
            .map((load) => load.toFixed(2))
            .join(" "),
    };
}

/** Refuses a fleet that would not fit in memory, before starting anything. */
function checkMemory(members: number): void {
    const neededMb = (members + 1) * MB_PER_CLUSTER;
    const availableMb = os.freemem() / 2 ** 20;
    if (neededMb > availableMb * 0.8) {
        throw new Error(
            `a host and ${members} members need about ${neededMb} MB (${MB_PER_CLUSTER} MB per cluster); only ${Math.round(availableMb)} MB are free. Fix: lower --members`,
        );
    }
}

async function evaluateSize(members: number): Promise<EvaluationResult> {
    const { stdout } = await execFileAsync(
        process.execPath,
        [
            "-r",
            require.resolve("ts-node/register/transpile-only"),
            path.join(BENCH_DIR, "evaluate.ts"),
            String(members),
        ],
        {
            maxBuffer: 1024 * 1024,
            timeout: 10 * 60_000,
        },
    );
    return JSON.parse(stdout.trim().split("\n").at(-1) as string) as EvaluationResult;
}

/** `--render FILE.json`: rewrites FILE.md from saved results with the current tables (e.g. after adding a column). */
function render(file: string): void {
    const results = JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults;
    for (const fleet of results.fleets) fleet.shortcut ??= [];
    const report = markdownReport(results);
    fs.writeFileSync(file.replace(/\.json$/, "") + ".md", report);
    console.log(report);
}

async function main(): Promise<void> {
    const renderAt = process.argv.indexOf("--render");
    if (renderAt >= 0) {
        const file = process.argv[renderAt + 1];
        if (!file?.endsWith(".json")) throw new Error(`--render takes a results file (.json). ${USAGE}`);
        return render(path.resolve(file));
    }
    const options = parseOptions(process.argv.slice(2));
    if (
        (options.phases.has("fleet") || options.phases.has("waits")) &&
        !fs.existsSync(path.join(toolsBinDir(), "kubectl"))
    ) {
        throw new Error(
            `kubectl not found in ${toolsBinDir()}. Fix: bash test/e2e/tools/build.sh kubectl (or npm run bench, which builds it)`,
        );
    }
    const started = Date.now();
    const results: BenchResults = {
        startedAt: new Date(started).toISOString(),
        durationS: 0,
        machine: machine(),
        options: {
            ...options,
            phases: [...options.phases],
            paths: [...options.paths],
            out: path.relative(process.cwd(), options.out),
            /** The command line as given, to repeat the run. */
            argv: process.argv.slice(2).join(" "),
        },
        fleets: [],
        waits: [],
        evaluation: [],
        errors: [],
    };
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-bench-"));
    const settings = (members: number, reconcileDelayMs: number) => ({
        members,
        dir: workDir,
        reconcileDelayMs,
        log,
        keep: options.keep,
    });
    const attempt = async (what: string, run: () => Promise<void>) => {
        try {
            await run();
        } catch (err) {
            const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
            log(`FAILED ${message}`);
            results.errors.push(message);
        }
    };

    try {
        if (options.phases.has("eval")) {
            for (const size of options.evalSizes) {
                await attempt(`evaluation of ${size} members`, async () => {
                    log(`evaluating the program for ${size} members under mocks ...`);
                    const result = await evaluateSize(size);
                    log(`  ${result.resources} resources in ${result.evaluateMs} ms, peak RSS ${result.maxRssMb} MB`);
                    results.evaluation.push(result);
                });
            }
        }
        if (options.phases.has("fleet")) {
            if (options.paths.has("cli")) {
                await attempt("CLI floor", async () => {
                    log(`CLI floor: no-change pulumi preview of an empty program ×${options.previewRepetitions} ...`);
                    results.cliFloor = await runCliFloor(workDir, options.previewRepetitions);
                });
            }
            for (const members of options.members) {
                const fleet: BenchResults["fleets"][number] = {
                    members,
                    program: [],
                    cli: [],
                    baseline: [],
                    shortcut: [],
                };
                results.fleets.push(fleet);
                for (let repetition = 1; repetition <= options.repetitions; repetition++) {
                    if (options.paths.has("inline")) {
                        await attempt(`program, ${members} members, repetition ${repetition}`, async () => {
                            checkMemory(members);
                            fleet.program.push(await runProgram(settings(members, options.reconcileDelayMs)));
                        });
                    }
                    if (options.paths.has("cli")) {
                        await attempt(`CLI, ${members} members, repetition ${repetition}`, async () => {
                            checkMemory(members);
                            fleet.cli.push(
                                await runCli({
                                    ...settings(members, options.reconcileDelayMs),
                                    previewRepetitions: options.previewRepetitions,
                                    setups: options.cliSetups,
                                    pluginEnv: options.pluginEnv,
                                }),
                            );
                        });
                    }
                    for (const procedure of options.paths.has("baseline") ? options.baselines : []) {
                        await attempt(
                            `baseline (${procedure}), ${members} members, repetition ${repetition}`,
                            async () => {
                                checkMemory(members);
                                const run = await runBaseline(settings(members, options.reconcileDelayMs), procedure);
                                (procedure === "documented" ? fleet.baseline : fleet.shortcut).push(run);
                            },
                        );
                    }
                }
            }
        }
        if (options.phases.has("waits")) {
            for (const delay of options.waitDelays) {
                await attempt(`wait precision, D = ${delay} ms`, async () => {
                    results.waits.push({
                        reconcileDelayMs: delay,
                        members: options.waitMembers,
                        program: await runProgram(settings(options.waitMembers, delay)),
                    });
                });
            }
        }
    } finally {
        if (!options.keep) fs.rmSync(workDir, { recursive: true, force: true });
    }

    results.durationS = Math.round((Date.now() - started) / 1000);
    const report = markdownReport(results);
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, JSON.stringify(results, null, 1) + "\n");
    fs.writeFileSync(options.out.replace(/\.json$/, "") + ".md", report);
    console.log(`\n${report}`);
    log(
        `results: ${path.relative(process.cwd(), options.out)} (and .md)${results.errors.length ? `; ${results.errors.length} run(s) failed, see above` : ""}`,
    );
    // Numbers never fail the run; a run that could not measure anything does.
    if (results.errors.length) process.exitCode = 1;
}

main().catch((err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
