/**
 * BENCHMARK ONLY: the Markdown tables `npm run bench` prints and saves next to its JSON results.
 */
import { type ApiCost, classOf } from "./audit";
import { CLI_SETUPS, CliFloor, CliRun } from "./cliFleet";
import type { EvaluationResult } from "./evaluate";
import type { BaselineRun, ProgramRun } from "./fleet";
import type { CpuBreakdown, ProcessRole } from "./processCpu";
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

/** The performance targets (bench/README.md "What the numbers say"): a no-change preview within 1.5 s + 0.1 s per member, a first `up` within 1.5× the script. */
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
            "baseline, documented",
            "baseline, shortcut",
            "inline / documented",
            `CLI / documented (target ≤ ${FIRST_UP_TARGET_RATIO}×)`,
            "CLI / shortcut",
        ],
        fleets.map((fleet) => {
            const inline = medianOrUndefined(fleet.program.map((run) => run.firstUp.ms));
            const cli = medianOrUndefined(fleet.cli.map((run) => run.firstUp.ms));
            const cliCpu = medianOrUndefined(
                fleet.cli.flatMap((run) => (run.firstUp.cpuMs === undefined ? [] : [run.firstUp.cpuMs])),
            );
            const baseline = medianOrUndefined(fleet.baseline.map((run) => run.run.ms));
            const shortcut = medianOrUndefined((fleet.shortcut ?? []).map((run) => run.run.ms));
            const cpuOf = (runs: BaselineRun[]) =>
                medianOrUndefined(runs.flatMap((run) => (run.run.cpu ? [run.run.cpu.totalMs] : [])));
            const withCpu = (ms: number | undefined, cpu: number | undefined) =>
                `${seconds(ms)}${cpu === undefined ? "" : ` (CPU ${seconds(cpu)})`}`;
            return [
                fleet.members,
                seconds(inline),
                withCpu(cli, cliCpu),
                withCpu(baseline, cpuOf(fleet.baseline)),
                withCpu(shortcut, cpuOf(fleet.shortcut ?? [])),
                ratio(inline, baseline),
                ratio(cli, baseline),
                ratio(cli, shortcut),
            ];
        }),
    );
}

/** No-change `pulumi preview` (and the inline no-change `up`), medians over every repetition. */
export function previewTable(fleets: FleetResult[], floor: CliFloor | undefined): string {
    // Wall clock, and in brackets the CPU time of the command's process tree (see cliFleet.ts timedCommand).
    const withCpu = (ms: number[], cpuMs: number[], breakdowns: Array<CpuBreakdown | undefined> = []) => {
        // The repetition whose total is the median, as in the CPU table (its roles add up); else the median.
        const cpu = medianBreakdown(breakdowns)?.totalMs ?? medianOrUndefined(cpuMs);
        return `${seconds(medianOrUndefined(ms))}${cpu === undefined ? "" : ` (CPU ${seconds(cpu)})`}`;
    };
    const cliCell = (fleet: FleetResult, setup: (typeof CLI_SETUPS)[number]) =>
        withCpu(
            fleet.cli.flatMap((run) => run.previews[setup]?.ms ?? []),
            fleet.cli.flatMap((run) => run.previews[setup]?.cpuMs ?? []),
            fleet.cli.flatMap((run) => run.previews[setup]?.cpu ?? []),
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
            floor ? withCpu(floor.ms, floor.cpuMs ?? [], floor.cpu) : "–",
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
            "baseline, documented",
            "baseline, shortcut",
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
                cell(fleet.shortcut?.[0]?.run.cost),
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
        // The shortcut creates the Cluster right after its patch: it has no installer wait to measure.
        const noWait = "no wait";
        const baselineRun = who.startsWith("baseline");
        rows.push([
            who,
            `${delay / 1000} s`,
            members,
            cell("startToPatchMs"),
            cell("patchToConfigMs"),
            who === "baseline, shortcut" ? noWait : cell("configToDetectMs"),
            who === "baseline, shortcut" ? noWait : cell("configToCreateMs"),
            cell("createToReadyMs"),
            baselineRun ? cell("readyToClientSawMs") : cell("readyToEngineMs"),
        ]);
    };
    for (const wait of waits) add("program", wait.reconcileDelayMs, wait.members, wait.program);
    for (const fleet of fleets) {
        if (fleet.program[0]) add("program", fleet.program[0].reconcileDelayMs, fleet.members, fleet.program[0]);
        if (fleet.baseline[0])
            add("baseline, documented", fleet.baseline[0].reconcileDelayMs, fleet.members, fleet.baseline[0]);
        if (fleet.shortcut?.[0])
            add("baseline, shortcut", fleet.shortcut[0].reconcileDelayMs, fleet.members, fleet.shortcut[0]);
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
        [
            "members",
            "resources",
            "evaluation time",
            "per member",
            "CPU",
            "CPU per member",
            "peak RSS",
            "RSS per member",
        ],
        evaluation.map((result) => [
            result.members,
            result.resources,
            `${result.evaluateMs} ms`,
            result.members ? `${(result.evaluateMs / result.members).toFixed(1)} ms` : "–",
            result.evaluateCpuMs === undefined ? "–" : `${result.evaluateCpuMs} ms`,
            result.members && result.evaluateCpuMs !== undefined
                ? `${(result.evaluateCpuMs / result.members).toFixed(1)} ms`
                : "–",
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
            const anon =
                memory.peakTotalAnonMb === undefined
                    ? ""
                    : ` (${memory.peakTotalAnonMb} MB of it anonymous; each also maps ${memory.peakFileMbPerProcess} MB of the binary, shared)`;
            return `${run.path}, ${run.members} member${run.members === 1 ? "" : "s"}: ${memory.peakProcesses} processes, ${memory.peakTotalRssMb} MB${anon}${cpu}`;
        })
        .join("; ");
    // One provider process per cluster: per-cluster memory from the largest fleet measured, scaled to 25 members.
    const largest = measured.sort((a, b) => b.members - a.members)[0];
    const perCluster = largest
        ? largest.providerMemory!.peakTotalRssMb / largest.providerMemory!.peakProcesses
        : undefined;
    const largestMemory = largest?.providerMemory;
    const anonPerCluster =
        largestMemory?.peakTotalAnonMb === undefined
            ? undefined
            : largestMemory.peakTotalAnonMb / largestMemory.peakProcesses;
    const scaled =
        perCluster === undefined
            ? ""
            : anonPerCluster === undefined
              ? ` About ${Math.round(perCluster)} MB of RSS per cluster (${largest!.path}, ${largest!.members} members).`
              : ` About ${Math.round(perCluster)} MB of RSS per cluster (${largest!.path}, ${largest!.members} members), but only ${Math.round(anonPerCluster)} MB of it the process's own: ` +
                `a 25-member fleet (26 clusters) needs about ${Math.round(26 * anonPerCluster + (largestMemory?.peakFileMbPerProcess ?? 0))} MB for its providers, not ${(Math.round((26 * perCluster) / 100) / 10).toFixed(1)} GB.`;
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

/** The CPU and request targets, computed within one run: see cpuTargetsTable. */
export const PREVIEW_CPU_TARGET_MS = (members: number) => 1000 + 100 * members;
export const PREVIEW_REQUESTS_PER_MEMBER_TARGET = 8;
export const FIRST_UP_CPU_TARGET_RATIO = 1.3;

/** The breakdown whose total is the median of several repetitions (so its roles add up to what is shown). */
function medianBreakdown(breakdowns: Array<CpuBreakdown | undefined>): CpuBreakdown | undefined {
    const present = breakdowns.filter((b): b is CpuBreakdown => b !== undefined).sort((a, b) => a.totalMs - b.totalMs);
    return present.length ? present[Math.floor((present.length - 1) / 2)] : undefined;
}

const ROLE_COLUMNS: Array<{ title: string; roles: ProcessRole[] }> = [
    { title: "CLI", roles: ["cli"] },
    { title: "language host", roles: ["language host"] },
    { title: "program", roles: ["program"] },
    { title: "providers", roles: ["providers"] },
    { title: "kubectl + shell", roles: ["kubectl", "shell"] },
    { title: "other", roles: ["other"] },
];

interface Operation {
    members: number;
    path: string;
    phase: string;
    ms: number[];
    cpu: Array<CpuBreakdown | undefined>;
    cost?: ApiCost;
}

/** Every timed operation of the run, by path and phase. */
function operations(results: BenchResults): Operation[] {
    const list: Operation[] = [];
    if (results.cliFloor) {
        list.push({
            members: 0,
            path: "CLI floor (empty program)",
            phase: "no-change preview",
            ms: results.cliFloor.ms,
            cpu: results.cliFloor.cpu ?? [],
        });
    }
    for (const fleet of results.fleets) {
        const n = fleet.members;
        for (const run of fleet.cli.slice(0, 1)) {
            list.push({
                members: n,
                path: "CLI",
                phase: "first up",
                ms: [run.firstUp.ms],
                cpu: [run.firstUp.cpu],
                cost: run.firstUp.cost,
            });
            for (const setup of CLI_SETUPS) {
                const preview = run.previews[setup];
                if (!preview) continue;
                list.push({
                    members: n,
                    path: `CLI (${setup === "compiled" ? "compiled JS" : setup})`,
                    phase: "no-change preview",
                    ms: preview.ms,
                    cpu: preview.cpu ?? [],
                    cost: preview.cost,
                });
            }
        }
        for (const run of fleet.program.slice(0, 1)) {
            list.push({
                members: n,
                path: "inline",
                phase: "first up",
                ms: [run.firstUp.ms],
                cpu: [run.firstUp.cpu],
                cost: run.firstUp.cost,
            });
            list.push({
                members: n,
                path: "inline",
                phase: "no-change preview",
                ms: [run.preview.ms],
                cpu: [run.preview.cpu],
                cost: run.preview.cost,
            });
            list.push({
                members: n,
                path: "inline",
                phase: "no-change up",
                ms: [run.noChangeUp.ms],
                cpu: [run.noChangeUp.cpu],
                cost: run.noChangeUp.cost,
            });
        }
        for (const [label, runs] of [
            ["baseline, documented", fleet.baseline],
            ["baseline, shortcut", fleet.shortcut ?? []],
        ] as const) {
            for (const run of runs.slice(0, 1)) {
                list.push({
                    members: n,
                    path: label,
                    phase: "first up",
                    ms: [run.run.ms],
                    cpu: [run.run.cpu],
                    cost: run.run.cost,
                });
            }
        }
    }
    return list;
}

/** CPU seconds of every process per role and API requests, next to wall time, per phase and path. */
export function cpuTable(results: BenchResults): string {
    return table(
        [
            "members",
            "path",
            "phase",
            "wall",
            "CPU, all processes",
            ...ROLE_COLUMNS.map((column) => column.title),
            "unsampled",
            "API requests",
        ],
        operations(results).map((op) => {
            const cpu = medianBreakdown(op.cpu);
            const role = (roles: ProcessRole[]) => {
                if (!cpu) return "–";
                const present = roles.filter((r) => cpu.byRoleMs[r] !== undefined);
                return present.length ? seconds(present.reduce((sum, r) => sum + (cpu.byRoleMs[r] ?? 0), 0)) : "–";
            };
            return [
                op.members || "–",
                op.path,
                op.phase,
                seconds(medianOrUndefined(op.ms)),
                cpu ? `**${seconds(cpu.totalMs)}**` : "–",
                ...ROLE_COLUMNS.map((column) => role(column.roles)),
                cpu ? seconds(cpu.unsampledMs) : "–",
                op.cost ? costCell(op.cost, op.members) : "–",
            ];
        }),
    );
}

/** The targets, from CPU and requests of this one run; misses are shown, never hidden. */
export function cpuTargetsTable(results: BenchResults): string {
    const floor = medianBreakdown(results.cliFloor?.cpu ?? [])?.totalMs;
    const rows: Array<Array<string | number>> = [];
    const mark = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? " ✓" : " ✗");
    for (const fleet of results.fleets) {
        const n = fleet.members;
        const cli = fleet.cli[0];
        const preview = cli?.previews.compiled;
        const previewCpu = medianBreakdown(preview?.cpu ?? [])?.totalMs;
        if (preview) {
            const above = previewCpu !== undefined && floor !== undefined ? previewCpu - floor : undefined;
            const perMember = preview.cost.memberRequests / n;
            rows.push([
                n,
                "no-change `pulumi preview` (CLI, compiled JS): CPU above the floor",
                `${seconds(above)} (${seconds(previewCpu)} − floor ${seconds(floor)})`,
                `≤ ${seconds(PREVIEW_CPU_TARGET_MS(n))}${mark(above === undefined ? undefined : above <= PREVIEW_CPU_TARGET_MS(n))}`,
            ]);
            rows.push([
                n,
                "no-change `pulumi preview`: requests per member; writes",
                `${perMember.toFixed(1)}/member; ${preview.cost.writes} writes (${preview.cost.reviews} reviews)`,
                `≤ ${PREVIEW_REQUESTS_PER_MEMBER_TARGET}/member${mark(perMember <= PREVIEW_REQUESTS_PER_MEMBER_TARGET)}, 0 writes${mark(preview.cost.writes === 0)}`,
            ]);
        }
        const upCpu = cli?.firstUp.cpu?.totalMs;
        for (const [label, runs] of [
            ["documented procedure", fleet.baseline],
            ["shortcut", fleet.shortcut ?? []],
        ] as const) {
            const baseline = runs[0];
            if (!cli || !baseline) continue;
            const cpuRatio = upCpu !== undefined && baseline.run.cpu ? upCpu / baseline.run.cpu.totalMs : undefined;
            const wallRatio = cli.firstUp.ms / baseline.run.ms;
            rows.push([
                n,
                `first \`up\` (CLI) / baseline, ${label}: CPU of all processes; wall`,
                `${cpuRatio === undefined ? "–" : `${cpuRatio.toFixed(2)}×`} (${seconds(upCpu)} / ${seconds(baseline.run.cpu?.totalMs)}); ${wallRatio.toFixed(2)}× (${seconds(cli.firstUp.ms)} / ${seconds(baseline.run.ms)})`,
                label === "documented procedure"
                    ? `CPU ≤ ${FIRST_UP_CPU_TARGET_RATIO}×${mark(cpuRatio === undefined ? undefined : cpuRatio <= FIRST_UP_CPU_TARGET_RATIO)}, wall ≤ ${FIRST_UP_TARGET_RATIO}×${mark(wallRatio <= FIRST_UP_TARGET_RATIO)}`
                    : "(for comparison)",
            ]);
        }
        const memory = cli?.providerMemory;
        if (memory && memory.peakProcesses > 0) {
            const perCluster = memory.peakTotalRssMb / memory.peakProcesses;
            const env = cli?.pluginEnv
                ? `, with ${Object.entries(cli.pluginEnv)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(" ")}`
                : "";
            rows.push([
                n,
                `provider RSS per cluster (first \`up\`, peak total / processes)${env}`,
                `${Math.round(perCluster)} MB (${memory.peakTotalRssMb} MB / ${memory.peakProcesses})`,
                `≤ 80 MB${mark(perCluster <= 80)}`,
            ]);
            if (memory.peakTotalAnonMb !== undefined) {
                const anonPerCluster = memory.peakTotalAnonMb / memory.peakProcesses;
                rows.push([
                    n,
                    "of which each provider's own (anonymous RSS), and its binary's pages (file RSS, shared by all)",
                    `${Math.round(anonPerCluster)} MB own per cluster (${memory.peakTotalAnonMb} MB / ${memory.peakProcesses}); ${memory.peakFileMbPerProcess} MB file, once`,
                    `≤ 80 MB own${mark(anonPerCluster <= 80)}`,
                ]);
            }
        }
    }
    return table(["members", "measure", "this run", "target"], rows);
}

/**
 * What a no-change preview asks each member, per request (member requests ÷ members) and class: the basis for
 * deciding which probes could be answered once per run or cached.
 */
export function previewRequestsTable(results: BenchResults): string {
    const rows: Array<Array<string | number>> = [];
    for (const fleet of results.fleets) {
        const cost = fleet.cli[0]?.previews.compiled?.cost ?? fleet.program[0]?.preview.cost;
        if (!cost?.byObject) continue;
        for (const [key, count] of Object.entries(cost.byObject)) {
            const [role, verb, resource, ...object] = key.split(" ");
            rows.push([
                fleet.members,
                role,
                `${verb} ${resource} ${object.join(" ")}`,
                role === "member" ? (count / fleet.members).toFixed(1) : count,
                classOf({ verb, resource, uri: object.join(" ") }),
            ]);
        }
    }
    return table(["members", "cluster", "request", "count (member: per member)", "class"], rows);
}

export function markdownReport(results: BenchResults): string {
    const m = results.machine;
    return [
        `Benchmark of ${results.startedAt} (${results.durationS} s, \`npm run bench -- ${results.options.argv ?? `--${results.options.preset ?? "full"}`}\`) on ${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node.js ${m.node}; ` +
            `load average at start ${m.loadAverage}${m.commit ? `; commit ${m.commit}` : ""}. Repetitions: ${results.options.repetitions} (medians shown).`,
        "",
        "**CPU and API requests** per phase and path: user + system CPU of every process the operation started " +
            "(CLI = `pulumi`, language host, program = the Node.js program — for the inline path the benchmark's own process —, " +
            "providers = `pulumi-resource-kubernetes`, kubectl + shell = the baseline script), from /proc samples every 100 ms; " +
            'the total is complete (resource usage of the reaped tree), "unsampled" is what no sample saw (exit tails, short-lived processes). ' +
            "Requests from the audit logs; reviews = access/token reviews and dry runs, which persist nothing. Wall time mostly measures the machine's other load.",
        "",
        cpuTable(results),
        "",
        "**Targets**, computed from CPU and requests within this run:",
        "",
        cpuTargetsTable(results),
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
        "**What a no-change preview asks** (CLI, compiled JS; member requests ÷ members):",
        "",
        previewRequestsTable(results),
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
