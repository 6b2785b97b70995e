/**
 * BENCHMARK ONLY: the Markdown tables `npm run bench` prints and saves next to its JSON results.
 */
import type { ApiCost } from "./audit";
import { CLI_SETUPS, CliFloor, CliRun } from "./cliFleet";
import type { EvaluationResult } from "./evaluate";
import type { BaselineRun, ProgramRun } from "./fleet";
import type { ProviderMemory } from "./providerMemory";
import { median, summarizeWaits } from "./waits";

export interface FleetResult {
    members: number;
    /** The inline program (Automation API), fleet.ts. */
    program: ProgramRun[];
    /** The Pulumi CLI in a copy of the repository, cliFleet.ts. */
    cli: CliRun[];
    /** bench/baseline.sh, the documented procedure (waits for each member's kubesphere-config). */
    baseline: BaselineRun[];
    /** bench/baseline.sh BASELINE_PROCEDURE=shortcut: each Cluster created right after the member's patch. */
    shortcut: BaselineRun[];
}

export interface WaitResult {
    reconcileDelayMs: number;
    members: number;
    program: ProgramRun;
}

export interface BenchResults {
    startedAt: string;
    durationS: number;
    machine: Record<string, string | number>;
    options: Record<string, unknown>;
    fleets: FleetResult[];
    /** A no-change `pulumi preview` of an empty program through the CLI. */
    cliFloor?: CliFloor;
    waits: WaitResult[];
    evaluation: EvaluationResult[];
    errors: string[];
}

const seconds = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`);
const millis = (ms: number | undefined) => (ms === undefined ? "–" : `${ms} ms`);
const medianOf = (values: number[]) => median(values) as number;

function row(cells: Array<string | number>): string {
    return `| ${cells.join(" | ")} |`;
}

function table(header: string[], rows: Array<Array<string | number>>): string {
    return [row(header), row(header.map(() => "---")), ...rows.map(row)].join("\n");
}

/**
 * `total: host H + M/member; W writes, R reviews` (members' requests split evenly; they are alike). Reviews are
 * access/token reviews and dry runs: write verbs that persist nothing (audit.ts isNonPersisting).
 */
function costCell(cost: ApiCost, members: number): string {
    return `${cost.requests}: host ${cost.hostRequests} + ${(cost.memberRequests / members).toFixed(1)}/member; ${cost.writes} writes, ${cost.reviews ?? 0} reviews`;
}

/** Targets of issue 9: a no-change preview within 1.5 s + 0.1 s per member, a first `up` within 1.5× the script. */
export const PREVIEW_TARGET_MS = (members: number) => 1500 + 100 * members;
export const FIRST_UP_TARGET_RATIO = 1.5;

const medianOrUndefined = (values: number[]) => (values.length ? medianOf(values) : undefined);
const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "–" : `${(a / b).toFixed(1)}×`;

export function fleetTable(fleets: FleetResult[]): string {
    return table(
        [
            "members",
            "inline program",
            "CLI (compiled JS)",
            "baseline script",
            "inline / baseline",
            `CLI / baseline (target ≤ ${FIRST_UP_TARGET_RATIO}×)`,
        ],
        fleets.map((fleet) => {
            const inline = medianOrUndefined(fleet.program.map((run) => run.firstUp.ms));
            const cli = medianOrUndefined(fleet.cli.map((run) => run.firstUp.ms));
            const cliCpu = medianOrUndefined(
                fleet.cli.flatMap((run) => (run.firstUp.cpuMs === undefined ? [] : [run.firstUp.cpuMs])),
            );
            const baseline = medianOrUndefined(fleet.baseline.map((run) => run.run.ms));
            return [
                fleet.members,
                seconds(inline),
                `${seconds(cli)}${cliCpu === undefined ? "" : ` (CPU ${seconds(cliCpu)})`}`,
                seconds(baseline),
                ratio(inline, baseline),
                ratio(cli, baseline),
            ];
        }),
    );
}

/** No-change `pulumi preview` (and the inline no-change `up`), medians over every repetition. */
export function previewTable(fleets: FleetResult[], floor: CliFloor | undefined): string {
    // Wall clock, and in brackets the CPU time of the command's process tree (see cliFleet.ts timedCommand).
    const withCpu = (ms: number[], cpuMs: number[]) => {
        const cpu = medianOrUndefined(cpuMs);
        return `${seconds(medianOrUndefined(ms))}${cpu === undefined ? "" : ` (CPU ${seconds(cpu)})`}`;
    };
    const cliCell = (fleet: FleetResult, setup: (typeof CLI_SETUPS)[number]) =>
        withCpu(
            fleet.cli.flatMap((run) => run.previews[setup]?.ms ?? []),
            fleet.cli.flatMap((run) => run.previews[setup]?.cpuMs ?? []),
        );
    return table(
        [
            "members",
            "inline program",
            ...CLI_SETUPS.map((setup) => `CLI, ${setup === "compiled" ? "compiled JS" : setup}`),
            "target (1.5 s + 0.1 s/member)",
            "CLI floor (empty program)",
            "inline no-change `up`",
        ],
        fleets.map((fleet) => [
            fleet.members,
            seconds(medianOrUndefined(fleet.program.map((run) => run.preview.ms))),
            ...CLI_SETUPS.map((setup) => cliCell(fleet, setup)),
            seconds(PREVIEW_TARGET_MS(fleet.members)),
            floor ? withCpu(floor.ms, floor.cpuMs ?? []) : "–",
            seconds(medianOrUndefined(fleet.program.map((run) => run.noChangeUp.ms))),
        ]),
    );
}

/** Where the first `pulumi up`'s time goes, next to the member's critical path. */
export function timelineTable(fleets: FleetResult[]): string {
    const rows: Array<Array<string | number>> = [];
    const add = (members: number, path: string, run: ProgramRun | CliRun, patch: string, lastEvent: string) => {
        const t = run.timeline;
        rows.push([
            members,
            path,
            seconds(run.firstUp.ms),
            millis(t.startToFirstRequestMs),
            millis(t.providerFirstRequestToWriteMs),
            millis(t.providerDiscoveryMs),
            millis(t.openApiFetchMs),
            millis(t.openApiParseMs),
            patch,
            lastEvent,
            millis(run.openApiWarmupMs),
        ]);
    };
    for (const fleet of fleets) {
        const run = fleet.program[0];
        if (run) {
            const patch = summarizeWaits(run.waits).startToPatchMs;
            add(
                fleet.members,
                "inline",
                run,
                `${millis(patch.median)} / ${millis(patch.max)}`,
                millis(run.timeline.lastEventToEndMs),
            );
        }
        if (fleet.cli[0]) add(fleet.members, "CLI", fleet.cli[0], "–", "–");
    }
    return table(
        [
            "members",
            "path",
            "first `up`",
            "`up` → first API request",
            "provider: first request → first write",
            "provider discovery + OpenAPI requests",
            "`/openapi/v2` served",
            "`/openapi/v2` answered → provider's next request",
            "start → member patch (median / max)",
            "last Cluster reported → `up` returned",
            "untimed: cold OpenAPI build, all clusters",
        ],
        rows,
    );
}

export function apiTable(fleets: FleetResult[]): string {
    return table(
        [
            "members",
            "inline: first `up`",
            "no-change `preview`",
            "no-change `up`",
            "CLI: first `up`",
            "no-change `preview` (compiled)",
            "baseline script",
        ],
        fleets.map((fleet) => {
            const program = fleet.program[0];
            const cli = fleet.cli[0];
            const baseline = fleet.baseline[0];
            const cell = (cost: ApiCost | undefined) => (cost ? costCell(cost, fleet.members) : "–");
            return [
                fleet.members,
                cell(program?.firstUp.cost),
                cell(program?.preview.cost),
                cell(program?.noChangeUp.cost),
                cell(cli?.firstUp.cost),
                cell(cli?.previews.compiled?.cost),
                cell(baseline?.run.cost),
            ];
        }),
    );
}

export function waitTable(fleets: FleetResult[], waits: WaitResult[]): string {
    const rows: Array<Array<string | number>> = [];
    const add = (who: string, delay: number, members: number, run: { waits: ProgramRun["waits"] }) => {
        const summary = summarizeWaits(run.waits);
        const cell = (field: keyof typeof summary) =>
            summary[field].median === undefined
                ? "–"
                : `${millis(summary[field].median)} / ${millis(summary[field].max)}`;
        // The script creates the Cluster right after its patch: it has no installer wait to measure.
        const noWait = "no wait";
        rows.push([
            who,
            `${delay / 1000} s`,
            members,
            cell("startToPatchMs"),
            cell("patchToConfigMs"),
            who === "baseline" ? noWait : cell("configToDetectMs"),
            who === "baseline" ? noWait : cell("configToCreateMs"),
            cell("createToReadyMs"),
            who === "baseline" ? cell("readyToClientSawMs") : cell("readyToEngineMs"),
        ]);
    };
    for (const wait of waits) add("program", wait.reconcileDelayMs, wait.members, wait.program);
    for (const fleet of fleets) {
        if (fleet.program[0]) add("program", fleet.program[0].reconcileDelayMs, fleet.members, fleet.program[0]);
        if (fleet.baseline[0]) add("baseline", fleet.baseline[0].reconcileDelayMs, fleet.members, fleet.baseline[0]);
    }
    return table(
        [
            "run",
            "D",
            "members",
            "start → member patch",
            "patch → config written",
            "config → detected",
            "config → Cluster create",
            "create → Ready",
            "Ready → moved on",
        ],
        rows,
    );
}

export function evaluationTable(evaluation: EvaluationResult[]): string {
    const empty = evaluation.find((result) => result.members === 0);
    return table(
        ["members", "resources", "evaluation time", "per member", "peak RSS", "RSS per member"],
        evaluation.map((result) => [
            result.members,
            result.resources,
            `${result.evaluateMs} ms`,
            result.members ? `${(result.evaluateMs / result.members).toFixed(1)} ms` : "–",
            `${result.maxRssMb} MB`,
            result.members && empty ? `${((result.maxRssMb - empty.maxRssMb) / result.members).toFixed(2)} MB` : "–",
        ]),
    );
}

/** Memory of the sandbox's processes and of the provider plugins the engine starts, per fleet. */
function memoryLine(fleets: FleetResult[]): string {
    const runs: Array<{
        members: number;
        path: string;
        apiServerRssMb?: number;
        controllerManagerRssMb?: number;
        providerMemory?: ProviderMemory;
    }> = [
        ...fleets.flatMap((fleet) => (fleet.program[0] ? [{ ...fleet.program[0], path: "inline" }] : [])),
        ...fleets.flatMap((fleet) => (fleet.cli[0] ? [{ ...fleet.cli[0], path: "CLI" }] : [])),
    ];
    const first = runs.find((run) => run.apiServerRssMb !== undefined);
    const measured = runs.filter((run) => run.providerMemory && run.providerMemory.peakProcesses > 0);
    const providers = measured
        .map((run) => {
            const memory = run.providerMemory!;
            const cpu =
                memory.cpuMsPerProcess === undefined
                    ? ""
                    : `, ${(memory.cpuMsPerProcess / 1000).toFixed(1)} s CPU each (median)`;
            return `${run.path}, ${run.members} member${run.members === 1 ? "" : "s"}: ${memory.peakProcesses} processes, ${memory.peakTotalRssMb} MB${cpu}`;
        })
        .join("; ");
    // One provider process per cluster: per-cluster memory from the largest fleet measured, scaled to 25 members.
    const largest = measured.sort((a, b) => b.members - a.members)[0];
    const perCluster = largest
        ? largest.providerMemory!.peakTotalRssMb / largest.providerMemory!.peakProcesses
        : undefined;
    const scaled =
        perCluster === undefined
            ? ""
            : ` About ${Math.round(perCluster)} MB per cluster (${largest!.path}, ${largest!.members} members), so a 25-member fleet (26 clusters) needs about ${(Math.round((26 * perCluster) / 100) / 10).toFixed(1)} GB for its providers.`;
    return (
        `Memory: each sandbox cluster runs a kube-apiserver (${first?.apiServerRssMb ?? "?"} MB RSS) and a kube-controller-manager ` +
        `(${first?.controllerManagerRssMb ?? "?"} MB). Pulumi Kubernetes provider processes during the first \`up\` (one per cluster), peak: ${providers || "–"}.${scaled}`
    );
}

function warnings(results: BenchResults): string[] {
    const runs = [
        ...results.fleets.flatMap((fleet) => [...fleet.program, ...fleet.cli, ...fleet.baseline]),
        ...results.waits.map((wait) => wait.program),
    ];
    return runs.map((run) => run.attributionWarning).filter((warning): warning is string => warning !== undefined);
}

export function markdownReport(results: BenchResults): string {
    const m = results.machine;
    return [
        `Benchmark of ${results.startedAt} (${results.durationS} s) on ${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node.js ${m.node}; ` +
            `load average at start ${m.loadAverage}. Repetitions: ${results.options.repetitions} (medians shown).`,
        "",
        `**First \`pulumi up\`** of a fresh fleet (emulator reconcile delay D = ${results.options.reconcileDelayMs} ms; each path on its own fresh sandbox; ` +
            "inline = Automation API inline program; CLI = `pulumi up --yes --skip-preview` in a copy of the repository; baseline = documented kubectl steps, members in parallel):",
        "",
        fleetTable(results.fleets),
        "",
        `**No-change \`pulumi preview\`** (medians of ${results.options.previewRepetitions} per CLI set-up): CLI compiled JS = as the repository ships (bin/, compiled by compile.js); ` +
            "ts-node = Pulumi running index.ts itself, as before (Pulumi.yaml `typescript: true`). The floor is a program that registers nothing. " +
            "In brackets: CPU time (user + system) of the command's whole process tree, which other jobs on the machine barely change.",
        "",
        previewTable(results.fleets, results.cliFloor),
        "",
        memoryLine(results.fleets),
        "",
        "Where the first `pulumi up` goes (first repetition; provider columns are medians over the clusters, from the audit logs):",
        "",
        timelineTable(results.fleets),
        "",
        "**API cost**: requests the program (Pulumi Kubernetes provider + the program's own reads) or the script (kubectl) sent, all clusters, " +
            "from the kube-apiservers' audit logs, discovery and OpenAPI included. The minimum is 1 read on the host and, per member, 1 patch + 1 create, plus polling.",
        "",
        apiTable(results.fleets),
        "",
        "**Wait precision**, per member, median / max over the members. D = the emulated ks-installer's delay; \"config\" = the member's " +
            "kubesphere-config written with the host's jwtSecret; \"detected\" = the program's first read that saw it; " +
            "\"moved on\" = program: the engine reported the Cluster's outputs (Automation API event), baseline: `kubectl wait`'s watch closed.",
        "",
        waitTable(results.fleets, results.waits),
        "",
        "**Program evaluation** under Pulumi mocks (no cluster; each size in its own process):",
        "",
        evaluationTable(results.evaluation),
        ...(results.errors.length ? ["", "**Errors:**", "", ...results.errors.map((error) => `- ${error}`)] : []),
        ...warnings(results).map((warning) => `\n**Warning:** ${warning}`),
        "",
    ].join("\n");
}
