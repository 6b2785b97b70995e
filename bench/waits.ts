/**
 * BENCHMARK ONLY: how close the waits come to the real moment. Per member, from the audit logs (request times), the
 * emulator's log (when it set Ready) and the engine's events (when Pulumi reported the Cluster's outputs).
 */
import * as fs from "fs";
import { ApiRequest } from "./audit";
import { PROGRAM_USER_AGENT } from "./requestLabel";

/** Milliseconds; undefined when the moment was not found (the member failed, or a log line is missing). */
export interface MemberWaits {
    member: string;
    /** Start of the operation (`pulumi up`, or the script) → the member's ks-installer patch sent. */
    startToPatchMs?: number;
    /** Member ks-installer patch sent → emulator finished writing the member's kubesphere-config (≈ D). */
    patchToConfigMs?: number;
    /** kubesphere-config written → the first read that saw it (the installer wait's poll interval at that moment). */
    configToDetectMs?: number;
    /** kubesphere-config written → Cluster create request on the host: the installer wait's whole slack. */
    configToCreateMs?: number;
    /**
     * Cluster create → the emulator's status patch setting Ready=True completed (KubeSphere's own latency: its 1 s
     * resync; for the baseline also the installer delay, as it creates the Cluster without waiting).
     */
    createToReadyMs?: number;
    /** Ready=True written → kubectl's watch of that Cluster closed (baseline only; the provider's watch is shared). */
    readyToClientSawMs?: number;
    /** Ready=True written → the engine reported the Cluster's outputs (onEvent; includes the Automation API's 200 ms event polling). */
    readyToEngineMs?: number;
}

/** `Cluster "<name>": Ready=True` lines of emulator.log after `sinceMs`: member → time of the first. */
export function readyTimesFromEmulatorLog(file: string, sinceMs: number): Map<string, number> {
    const times = new Map<string, number>();
    if (!fs.existsSync(file)) return times;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const match = /^(\S+) .*?: Cluster "([^"]+)": Ready=True/.exec(line);
        if (!match) continue;
        const at = Date.parse(match[1]);
        if (at >= sinceMs && !times.has(match[2])) times.set(match[2], at);
    }
    return times;
}

function first<T>(items: T[]): T | undefined {
    return items[0];
}

function difference(later: number | undefined, earlier: number | undefined): number | undefined {
    return later === undefined || earlier === undefined ? undefined : Math.round(later - earlier);
}

/**
 * The waits of one federation run.
 * @param requests audit events of all clusters within the run, oldest first
 * @param client whose run it was ("program" or "baseline")
 * @param readyAt member → when the emulator set Ready=True
 * @param engineSawAt member → when the engine reported the Cluster's outputs (program only)
 * @param startMs when the operation started
 */
export function memberWaits(
    startMs: number,
    member: string,
    hostName: string,
    requests: ApiRequest[],
    client: "program" | "baseline",
    readyAt: Map<string, number>,
    engineSawAt: Map<string, number> = new Map(),
): MemberWaits {
    const onMember = requests.filter((request) => request.cluster === member);
    const isConfigMap = (request: ApiRequest) =>
        request.resource === "configmaps" && request.name === "kubesphere-config";
    const patch = first(
        onMember.filter((r) => r.client === client && r.verb === "patch" && r.resource === "clusterconfigurations"),
    );
    const configWrite = first(
        onMember.filter(
            (r) =>
                r.client === "emulator" &&
                (r.verb === "patch" || r.verb === "create") &&
                isConfigMap(r) &&
                patch !== undefined &&
                r.receivedMs >= patch.receivedMs,
        ),
    );
    const detect =
        client === "program" && configWrite
            ? first(
                  onMember.filter(
                      (r) =>
                          r.userAgent.startsWith(PROGRAM_USER_AGENT) &&
                          r.verb === "get" &&
                          isConfigMap(r) &&
                          r.receivedMs >= configWrite.completedMs,
                  ),
              )
            : undefined;
    const onHost = requests.filter((r) => r.cluster === hostName && r.client === client && r.resource === "clusters");
    // kubectl creates; the provider creates by server-side apply (a patch answered 201 Created).
    const create = first(
        onHost.filter((r) => r.name === member && (r.verb === "create" || (r.verb === "patch" && r.code === 201))),
    );
    // The emulator logs Ready=True after its status patch returned; that patch's completion is the precise moment.
    const readyLogged = readyAt.get(member);
    const readyPatch =
        readyLogged === undefined
            ? undefined
            : requests
                  .filter(
                      (r) =>
                          r.cluster === hostName &&
                          r.client === "emulator" &&
                          r.verb === "patch" &&
                          r.resource === "clusters" &&
                          r.name === member &&
                          r.receivedMs <= readyLogged,
                  )
                  .at(-1);
    const ready = readyPatch?.completedMs ?? readyLogged;
    // The wait that saw Ready: kubectl watches the named Cluster; the provider watches all Clusters (one watch per
    // awaited member), so take the first of its watches started after this create that ended once it was Ready.
    // kubectl watches the named Cluster. The provider watches all Clusters with one watch shared by every awaited
    // member, so its close says nothing per member: for the program, the engine event is the moment.
    const sawReady =
        create && ready !== undefined
            ? onHost
                  .filter(
                      (r) =>
                          r.name === member &&
                          r.verb === "watch" &&
                          r.receivedMs >= create.receivedMs &&
                          r.completedMs >= ready,
                  )
                  .sort((a, b) => a.completedMs - b.completedMs)[0]
            : undefined;
    return {
        member,
        startToPatchMs: difference(patch?.receivedMs, startMs),
        patchToConfigMs: difference(configWrite?.completedMs, patch?.receivedMs),
        configToDetectMs: difference(detect?.completedMs, configWrite?.completedMs),
        configToCreateMs: difference(create?.receivedMs, configWrite?.completedMs),
        createToReadyMs: difference(ready, create?.receivedMs),
        readyToClientSawMs: difference(sawReady?.completedMs, ready),
        readyToEngineMs: difference(engineSawAt.get(member), ready),
    };
}

/** Median and maximum of each field over the members. */
export function summarizeWaits(waits: MemberWaits[]): Record<string, { median?: number; max?: number }> {
    const fields = [
        "startToPatchMs",
        "patchToConfigMs",
        "configToDetectMs",
        "configToCreateMs",
        "createToReadyMs",
        "readyToClientSawMs",
        "readyToEngineMs",
    ] as const;
    return Object.fromEntries(
        fields.map((field) => {
            const values = waits.map((wait) => wait[field]).filter((value): value is number => value !== undefined);
            return [field, { median: median(values), max: values.length ? Math.max(...values) : undefined }];
        }),
    );
}

export function median(values: number[]): number | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}
