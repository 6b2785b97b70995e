/**
 * BENCHMARK ONLY: the Markdown tables `npm run bench` prints and saves next to its JSON results.
 */
import type { ApiCost } from "./audit";
import type { EvaluationResult } from "./evaluate";
import type { BaselineRun, ProgramRun } from "./fleet";
import { median, summarizeWaits } from "./waits";

export interface FleetResult {
    members: number;
    program: ProgramRun[];
    baseline: BaselineRun[];
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

/** `total: host H + M/member, W writes` (members' requests split evenly; they are alike). */
function costCell(cost: ApiCost, members: number): string {
    return `${cost.requests}: host ${cost.hostRequests} + ${(cost.memberRequests / members).toFixed(1)}/member; ${cost.writes} writes`;
}

export function fleetTable(fleets: FleetResult[]): string {
    return table(
        ["members", "first `pulumi up`", "no-change `preview`", "no-change `up`", "baseline script", "first up / baseline"],
        fleets
            .filter((fleet) => fleet.program.length > 0)
            .map((fleet) => {
                const up = medianOf(fleet.program.map((run) => run.firstUp.ms));
                const baseline = fleet.baseline.length ? medianOf(fleet.baseline.map((run) => run.run.ms)) : undefined;
                return [
                    fleet.members,
                    seconds(up),
                    seconds(medianOf(fleet.program.map((run) => run.preview.ms))),
                    seconds(medianOf(fleet.program.map((run) => run.noChangeUp.ms))),
                    seconds(baseline),
                    baseline ? `${(up / baseline).toFixed(1)}×` : "–",
                ];
            }),
    );
}

/** Where the first `pulumi up`'s time goes, next to the member's critical path. */
export function timelineTable(fleets: FleetResult[]): string {
    return table(
        [
            "members",
            "first `up`",
            "`up` → first API request",
            "provider discovery + OpenAPI (median per cluster)",
            "start → member patch (median / max)",
            "last Cluster reported → `up` returned",
            "untimed: cold OpenAPI build, all clusters",
        ],
        fleets
            .filter((fleet) => fleet.program.length > 0)
            .map((fleet) => {
                const run = fleet.program[0];
                const patch = summarizeWaits(run.waits).startToPatchMs;
                return [
                    fleet.members,
                    seconds(run.firstUp.ms),
                    millis(run.timeline.startToFirstRequestMs),
                    millis(run.timeline.providerDiscoveryMs),
                    `${millis(patch.median)} / ${millis(patch.max)}`,
                    millis(run.timeline.lastEventToEndMs),
                    millis(run.openApiWarmupMs),
                ];
            }),
    );
}

export function apiTable(fleets: FleetResult[]): string {
    return table(
        ["members", "program: first `up`", "no-change `preview`", "no-change `up`", "baseline script"],
        fleets
            .filter((fleet) => fleet.program.length > 0)
            .map((fleet) => {
                const program = fleet.program[0];
                const baseline = fleet.baseline[0];
                return [
                    fleet.members,
                    costCell(program.firstUp.cost, fleet.members),
                    costCell(program.preview.cost, fleet.members),
                    costCell(program.noChangeUp.cost, fleet.members),
                    baseline ? costCell(baseline.run.cost, fleet.members) : "–",
                ];
            }),
    );
}

export function waitTable(fleets: FleetResult[], waits: WaitResult[]): string {
    const rows: Array<Array<string | number>> = [];
    const add = (who: string, delay: number, members: number, run: { waits: ProgramRun["waits"] }) => {
        const summary = summarizeWaits(run.waits);
        const cell = (field: keyof typeof summary) =>
            summary[field].median === undefined ? "–" : `${millis(summary[field].median)} / ${millis(summary[field].max)}`;
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
        ["run", "D", "members", "start → member patch", "patch → config written", "config → detected", "config → Cluster create", "create → Ready", "Ready → moved on"],
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
    const runs = fleets.map((fleet) => fleet.program[0]).filter((run): run is ProgramRun => run !== undefined);
    const first = runs.find((run) => run.apiServerRssMb !== undefined);
    const providers = runs
        .filter((run) => run.providerMemory)
        .map((run) => `${run.members} member${run.members === 1 ? "" : "s"}: ${run.providerMemory!.peakProcesses} processes, ${run.providerMemory!.peakTotalRssMb} MB`)
        .join("; ");
    return (
        `Memory: each sandbox cluster runs a kube-apiserver (${first?.apiServerRssMb ?? "?"} MB RSS) and a kube-controller-manager ` +
        `(${first?.controllerManagerRssMb ?? "?"} MB). Pulumi Kubernetes provider processes during the first \`up\` (one per cluster), peak: ${providers || "–"}.`
    );
}

function warnings(results: BenchResults): string[] {
    const runs = [...results.fleets.flatMap((fleet) => [...fleet.program, ...fleet.baseline]), ...results.waits.map((wait) => wait.program)];
    return runs.map((run) => run.attributionWarning).filter((warning): warning is string => warning !== undefined);
}

export function markdownReport(results: BenchResults): string {
    const m = results.machine;
    return [
        `Benchmark of ${results.startedAt} (${results.durationS} s) on ${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node.js ${m.node}; ` +
            `load average at start ${m.loadAverage}. Repetitions: ${results.options.repetitions} (medians shown).`,
        "",
        `**Fleet size** (emulator reconcile delay D = ${results.options.reconcileDelayMs} ms; baseline = documented kubectl steps, members in parallel, on a fresh sandbox):`,
        "",
        fleetTable(results.fleets),
        "",
        memoryLine(results.fleets),
        "",
        "Where the first `pulumi up` goes (first repetition):",
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
