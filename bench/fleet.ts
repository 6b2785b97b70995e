/**
 * BENCHMARK ONLY: one fleet (a host and N members) federated by the program and, on a fresh sandbox, by the
 * baseline script of documented kubectl steps. Each run has its own sandbox and stack directory, stopped and
 * removed even when the run fails.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { execFile } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";
import * as path from "path";
import { promisify } from "util";
import { createFederationStack } from "../test/e2e/harness/federationStack";
import { toolsBinDir } from "../test/e2e/sandbox/paths";
import { Sandbox, startSandbox } from "../test/e2e/sandbox/sandbox";
import { ApiCost, apiCost, ApiRequest, isWrite, readAuditLog, within } from "./audit";
import { addRole, CpuBreakdown, sampleProcessCpu, selfCpu } from "./processCpu";
import { ProviderMemory, sampleProviderMemory } from "./providerMemory";
import { asProgram } from "./requestLabel";
import { median, MemberWaits, memberWaits, readyTimesFromEmulatorLog } from "./waits";

const CLUSTER_TYPE = "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster";
const BASELINE_SCRIPT = path.join(__dirname, "baseline.sh");

export interface RunSettings {
    members: number;
    /** Where this run keeps its sandbox and stack; removed afterwards. */
    dir: string;
    /** The emulator's ks-installer delay D. */
    reconcileDelayMs: number;
    log: (message: string) => void;
    /** Keep the run's directory (audit logs, emulator log; kubeconfigs hold tokens) for inspection. Default: removed. */
    keep?: boolean;
}

export interface TimedCost {
    ms: number;
    /** API requests the program (or the script) sent during the operation. */
    cost: ApiCost;
    /** CPU of every process the operation ran, per role (processCpu.ts). */
    cpu?: CpuBreakdown;
}

export interface ProgramRun {
    members: number;
    reconcileDelayMs: number;
    sandboxStartMs: number;
    /** Building every kube-apiserver's OpenAPI documents before the timed run (see warmOpenApi). */
    openApiWarmupMs: number;
    firstUp: TimedCost;
    preview: TimedCost & { changes: Record<string, number> };
    noChangeUp: TimedCost & { changes: Record<string, number> };
    waits: MemberWaits[];
    /** Where the first `up`'s time goes (ms). */
    timeline: StartupTimeline & {
        /** Last Cluster's outputs reported → `up` returned (engine finishing, outputs, state written). */
        lastEventToEndMs?: number;
    };
    /** RSS of each kube-apiserver / kube-controller-manager after the first up, MB (median). */
    apiServerRssMb?: number;
    controllerManagerRssMb?: number;
    /** Pulumi Kubernetes provider processes during the first up (one per cluster): peak count and total RSS. */
    providerMemory?: ProviderMemory;
    /** Set when the first up's writes do not add up (see checkWrites). */
    attributionWarning?: string;
}

/**
 * The baseline's two procedures (bench/baseline.sh BASELINE_PROCEDURE): `documented` waits, after each member's
 * patch, until the member's kubesphere-config shows the host's jwtSecret and role, as the docs say; `shortcut`
 * creates each Cluster right after the patch.
 */
export type BaselineProcedure = "documented" | "shortcut";

export interface BaselineRun {
    procedure?: BaselineProcedure;
    members: number;
    reconcileDelayMs: number;
    sandboxStartMs: number;
    /** Building every kube-apiserver's OpenAPI documents before the timed run (see warmOpenApi). */
    openApiWarmupMs: number;
    run: TimedCost;
    waits: MemberWaits[];
    /** Set when the script's writes do not add up (see checkWrites). */
    attributionWarning?: string;
}

const execFileAsync = promisify(execFile);

function kubectlPath(): string {
    return path.join(toolsBinDir(), "kubectl");
}

/** The media type the Pulumi Kubernetes provider (client-go's discovery) asks /openapi/v2 for. */
const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/** GET `uri` with the sandbox kubeconfig's server, CA and token, `accept` as the media type; the body is dropped. */
function fetchRaw(kubeconfigPath: string, uri: string, accept: string): Promise<void> {
    const config = yaml.load(fs.readFileSync(kubeconfigPath, "utf8")) as {
        clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>;
        users: Array<{ user: { token: string } }>;
    };
    const { server, "certificate-authority-data": caData } = config.clusters[0].cluster;
    return new Promise((resolve, reject) => {
        const request = https.get(
            new URL(uri, server),
            {
                ca: Buffer.from(caData, "base64"),
                headers: { Authorization: `Bearer ${config.users[0].user.token}`, Accept: accept },
            },
            (response) => {
                response.resume();
                response.on("end", () =>
                    response.statusCode === 200
                        ? resolve()
                        : reject(new Error(`GET ${uri} (${accept}): HTTP ${response.statusCode}`)),
                );
            },
        );
        request.on("error", reject);
    });
}

/**
 * A fresh kube-apiserver builds its OpenAPI documents on the first request for them, and each media type on the
 * first request for that one: JSON (kubectl) and protobuf (the Pulumi provider's /openapi/v2) are built
 * separately — about 1.7 s alone, 7–9 s when eleven do it at once on two cores. Clusters that have run for a while
 * answer from a cache, so every run (program and baseline alike) starts with them built; the time it took is
 * recorded as `openApiWarmupMs`.
 */
async function warmOpenApi(sandbox: Sandbox): Promise<number> {
    const started = Date.now();
    await Promise.all(
        sandbox.clusters.flatMap((cluster) => [
            ...["/openapi/v2", "/openapi/v3"].map((uri) =>
                execFileAsync(kubectlPath(), ["--kubeconfig", cluster.kubeconfigPath, "get", "--raw", uri], {
                    maxBuffer: 256 * 1024 * 1024,
                }),
            ),
            fetchRaw(cluster.kubeconfigPath, "/openapi/v2", OPENAPI_V2_PROTOBUF),
        ]),
    );
    return Date.now() - started;
}

export async function withSandbox<T>(
    settings: RunSettings,
    name: string,
    use: (sandbox: Sandbox, startup: { sandboxStartMs: number; openApiWarmupMs: number }, runDir: string) => Promise<T>,
): Promise<T> {
    const runDir = path.join(settings.dir, name);
    const started = Date.now();
    settings.log(
        `${name}: starting a sandbox with a host and ${settings.members} member(s) (D = ${settings.reconcileDelayMs} ms) ...`,
    );
    const sandbox = await startSandbox({
        dir: path.join(runDir, "sandbox"),
        members: settings.members,
        reconcileDelayMs: settings.reconcileDelayMs,
        auditLog: true,
        detached: false,
    });
    try {
        const sandboxStartMs = Date.now() - started;
        const openApiWarmupMs = await warmOpenApi(sandbox);
        return await use(sandbox, { sandboxStartMs, openApiWarmupMs }, runDir);
    } finally {
        await sandbox.stop();
        if (settings.keep) settings.log(`${name}: kept ${runDir}`);
        else fs.rmSync(runDir, { recursive: true, force: true });
    }
}

export function auditRequests(sandbox: Sandbox): ApiRequest[] {
    return sandbox.clusters
        .flatMap((cluster) => readAuditLog(cluster.name, sandbox.auditLogFile(cluster.name) as string))
        .sort((a, b) => a.receivedMs - b.receivedMs);
}

export function clientCost(sandbox: Sandbox, client: "program" | "baseline", startMs: number, endMs: number): ApiCost {
    return apiCost(
        within(auditRequests(sandbox), startMs, endMs).filter((request) => request.client === client),
        sandbox.host.name,
    );
}

/**
 * A federation from scratch writes exactly: the host's ks-installer patch and, per member, its ks-installer patch and
 * its Cluster. Any other count means the audit attribution (User-Agents in audit.ts) no longer matches the clients.
 */
export function checkWrites(
    who: string,
    cost: ApiCost,
    members: number,
    log: (message: string) => void,
): string | undefined {
    const expected = 1 + 2 * members;
    if (cost.writes === expected) return undefined;
    const warning = `${who}: the audit logs attribute ${cost.writes} writes to it, expected ${expected}; check the User-Agents in bench/audit.ts`;
    log(`WARNING ${warning}`);
    return warning;
}

function rssMb(pid: number): number | undefined {
    try {
        const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return match ? Math.round(Number(match[1]) / 1024) : undefined;
    } catch {
        return undefined;
    }
}

function medianRss(sandbox: Sandbox, prefix: string): number | undefined {
    const values = sandbox
        .processes()
        .filter((p) => p.name.startsWith(prefix))
        .map((p) => rssMb(p.pid))
        .filter((v): v is number => v !== undefined)
        .sort((a, b) => a - b);
    return values.length ? values[Math.floor(values.length / 2)] : undefined;
}

function changesOf(summary: Record<string, number> | undefined): Record<string, number> {
    return Object.fromEntries(
        Object.entries(summary ?? {}).filter(([op, count]) => op !== "same" && op !== "read" && count > 0),
    );
}

/** Where an operation's start-up goes, from its requests (ms; medians over the clusters where per cluster). */
export interface StartupTimeline {
    /** The operation's start → the program's first API request (CLI, engine and program start-up). */
    startToFirstRequestMs?: number;
    /** The provider's discovery + OpenAPI requests, first sent → last answered. */
    providerDiscoveryMs?: number;
    /** GET /openapi/v2 received → answered (the API server serving the document; built before the clock starts). */
    openApiFetchMs?: number;
    /** /openapi/v2 answered → the provider's next request (parsing the document, then its first Check/Diff). */
    openApiParseMs?: number;
    /** The provider's first request → its first write on that cluster. */
    providerFirstRequestToWriteMs?: number;
}

export function startupTimeline(sandbox: Sandbox, requests: ApiRequest[], startMs: number): StartupTimeline {
    const programRequests = requests.filter((request) => request.client === "program");
    const perCluster = sandbox.clusters
        .map((cluster) =>
            programRequests.filter(
                (request) => request.cluster === cluster.name && request.userAgent.startsWith("pulumi-kubernetes"),
            ),
        )
        .filter((provider) => provider.length > 0);
    const medianOver = (measure: (provider: ApiRequest[]) => number | undefined) => {
        const values = perCluster
            .map(measure)
            .filter((value): value is number => value !== undefined && Number.isFinite(value));
        return median(values.map(Math.round));
    };
    return {
        startToFirstRequestMs: programRequests.length ? Math.round(programRequests[0].receivedMs - startMs) : undefined,
        providerDiscoveryMs: medianOver((provider) => {
            const discovery = provider.filter((request) => request.resource === "(discovery)");
            return discovery.length
                ? Math.max(...discovery.map((request) => request.completedMs)) - discovery[0].receivedMs
                : undefined;
        }),
        openApiFetchMs: medianOver((provider) => {
            const openApi = provider.find((request) => request.uri.startsWith("/openapi/v2"));
            return openApi ? openApi.completedMs - openApi.receivedMs : undefined;
        }),
        openApiParseMs: medianOver((provider) => {
            const at = provider.findIndex((request) => request.uri.startsWith("/openapi/v2"));
            return at >= 0 && provider[at + 1] ? provider[at + 1].receivedMs - provider[at].completedMs : undefined;
        }),
        providerFirstRequestToWriteMs: medianOver((provider) => {
            const write = provider.find(isWrite);
            return write ? write.receivedMs - provider[0].receivedMs : undefined;
        }),
    };
}

/** `pulumi up`, a no-change `pulumi preview` and a no-change `pulumi up` of the program on a fresh fleet. */
export async function runProgram(settings: RunSettings): Promise<ProgramRun> {
    return withSandbox(
        settings,
        `program-${settings.members}`,
        async (sandbox, { sandboxStartMs, openApiWarmupMs }, runDir) => {
            const stack = await createFederationStack("bench", path.join(runDir, "stack"));
            await stack.setFederationConfig({
                host: { name: sandbox.host.name, kubeconfig: { path: sandbox.host.kubeconfigPath } },
                members: sandbox.members.map((member) => ({
                    name: member.name,
                    provider: "generic",
                    kubeconfig: { path: member.kubeconfigPath },
                })),
            });
            const engineSawAt = new Map<string, number>();
            let providerMemory: ProviderMemory | undefined;
            const onEvent = (event: EngineEvent) => {
                const outputs = event.resOutputsEvent?.metadata;
                if (outputs?.type === CLUSTER_TYPE)
                    engineSawAt.set(outputs.urn.split("::").at(-1) as string, Date.now());
            };
            const timed = async <T>(what: string, operation: () => Promise<T>) => {
                settings.log(`program-${settings.members}: ${what} ...`);
                // The program runs in this process; the engine is the `pulumi` CLI the Automation API starts (with
                // the providers under it). The sandbox's processes are this process's children too: left out.
                const sampler = sampleProcessCpu((table) =>
                    table.filter((p) => p.ppid === process.pid && p.comm === "pulumi").map((p) => p.pid),
                );
                const before = selfCpu();
                const startMs = Date.now();
                const result = await asProgram(operation);
                const endMs = Date.now();
                const after = selfCpu();
                const cpu = addRole(
                    sampler.stop(after.childrenMs - before.childrenMs),
                    "program",
                    after.ownMs - before.ownMs,
                );
                settings.log(
                    `program-${settings.members}: ${what} took ${((endMs - startMs) / 1000).toFixed(1)} s, CPU ${(cpu.totalMs / 1000).toFixed(1)} s`,
                );
                return { startMs, endMs, ms: endMs - startMs, result, cpu };
            };

            const sampler = sampleProviderMemory();
            const up = await timed("pulumi up", () => stack.up({ onEvent })).finally(
                () => (providerMemory = sampler.stop()),
            );
            if (up.result.summary.result !== "succeeded")
                throw new Error(`program-${settings.members}: pulumi up ${up.result.summary.result}`);
            const exported = up.result.outputs.members?.value as Record<string, { ready: boolean }>;
            const notReady = sandbox.members
                .filter((member) => exported?.[member.name]?.ready !== true)
                .map((member) => member.name);
            if (notReady.length > 0)
                throw new Error(`program-${settings.members}: not Ready after pulumi up: ${notReady.join(", ")}`);
            const apiServerRssMb = medianRss(sandbox, "kube-apiserver ");
            const controllerManagerRssMb = medianRss(sandbox, "kube-controller-manager ");

            const preview = await timed("no-change pulumi preview", () => stack.preview());
            const again = await timed("no-change pulumi up", () => stack.up());

            const requests = auditRequests(sandbox);
            const upRequests = within(requests, up.startMs, up.endMs);
            const readyAt = readyTimesFromEmulatorLog(sandbox.logFile("emulator"), up.startMs);
            const lastEvent = engineSawAt.size ? Math.max(...engineSawAt.values()) : undefined;
            const firstUpCost = clientCost(sandbox, "program", up.startMs, up.endMs);
            const attributionWarning = checkWrites(
                `program-${settings.members}`,
                firstUpCost,
                settings.members,
                settings.log,
            );
            return {
                members: settings.members,
                reconcileDelayMs: settings.reconcileDelayMs,
                sandboxStartMs,
                openApiWarmupMs,
                timeline: {
                    ...startupTimeline(sandbox, upRequests, up.startMs),
                    lastEventToEndMs: lastEvent === undefined ? undefined : up.endMs - lastEvent,
                },
                firstUp: { ms: up.ms, cost: firstUpCost, cpu: up.cpu },
                preview: {
                    ms: preview.ms,
                    cpu: preview.cpu,
                    cost: clientCost(sandbox, "program", preview.startMs, preview.endMs),
                    changes: changesOf(preview.result.changeSummary),
                },
                noChangeUp: {
                    ms: again.ms,
                    cpu: again.cpu,
                    cost: clientCost(sandbox, "program", again.startMs, again.endMs),
                    changes: changesOf(again.result.summary.resourceChanges),
                },
                waits: sandbox.members.map((member) =>
                    memberWaits(
                        up.startMs,
                        member.name,
                        sandbox.host.name,
                        upRequests,
                        "program",
                        readyAt,
                        engineSawAt,
                    ),
                ),
                apiServerRssMb,
                controllerManagerRssMb,
                providerMemory,
                ...(attributionWarning ? { attributionWarning } : {}),
            };
        },
    );
}

/** The baseline script (bench/baseline.sh) on a fresh fleet, by the documented procedure or the shortcut. */
export async function runBaseline(
    settings: RunSettings,
    procedure: BaselineProcedure = "documented",
): Promise<BaselineRun> {
    const name = `baseline-${procedure}-${settings.members}`;
    return withSandbox(settings, name, async (sandbox, { sandboxStartMs, openApiWarmupMs }, runDir) => {
        settings.log(`${name}: kubectl script ...`);
        const startMs = Date.now();
        // bash's `time` around the script: every kubectl it ran, reaped, is in the total (processCpu.ts).
        let sampler: ReturnType<typeof sampleProcessCpu> | undefined;
        const stderr = await new Promise<string>((resolve, reject) => {
            const child = execFile(
                "bash",
                [
                    "-c",
                    `TIMEFORMAT='ksf-bench-cpu %3U %3S'; time bash "$0" "$@"`,
                    BASELINE_SCRIPT,
                    ...sandbox.members.map((member) => `${member.name}=${member.kubeconfigPath}`),
                ],
                {
                    env: {
                        ...process.env,
                        KUBECTL: kubectlPath(),
                        HOST_KUBECONFIG: sandbox.host.kubeconfigPath,
                        HOST_NAME: sandbox.host.name,
                        WORK_DIR: path.join(runDir, "baseline"),
                        BASELINE_PROCEDURE: procedure,
                    },
                    timeout: 15 * 60_000,
                },
                (error, _stdout, stderr) =>
                    error
                        ? reject(new Error(`baseline script failed: ${stderr.trim() || error.message}`))
                        : resolve(stderr),
            );
            const shell = child.pid as number;
            sampler = sampleProcessCpu(() => [shell]);
        }).catch((err: unknown) => {
            sampler?.stop(0);
            throw err;
        });
        const times = [...stderr.matchAll(/ksf-bench-cpu ([\d.]+) ([\d.]+)/g)].at(-1);
        const cpu = (sampler as ReturnType<typeof sampleProcessCpu>).stop(
            times ? Math.round((Number(times[1]) + Number(times[2])) * 1000) : 0,
        );
        const endMs = Date.now();
        settings.log(
            `${name}: took ${((endMs - startMs) / 1000).toFixed(1)} s, CPU ${(cpu.totalMs / 1000).toFixed(1)} s`,
        );
        const requests = within(auditRequests(sandbox), startMs, endMs);
        const readyAt = readyTimesFromEmulatorLog(sandbox.logFile("emulator"), startMs);
        const cost = apiCost(
            requests.filter((request) => request.client === "baseline"),
            sandbox.host.name,
        );
        const attributionWarning = checkWrites(name, cost, settings.members, settings.log);
        return {
            procedure,
            members: settings.members,
            reconcileDelayMs: settings.reconcileDelayMs,
            sandboxStartMs,
            openApiWarmupMs,
            run: { ms: endMs - startMs, cost, cpu },
            waits: sandbox.members.map((member) =>
                memberWaits(startMs, member.name, sandbox.host.name, requests, "baseline", readyAt),
            ),
            ...(attributionWarning ? { attributionWarning } : {}),
        };
    });
}
