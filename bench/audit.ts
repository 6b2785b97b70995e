/**
 * BENCHMARK ONLY: reads kube-apiserver audit logs (Metadata level, JSON lines; the sandbox's `auditLog` option)
 * and counts requests per client. Events carry no bodies, so nothing read here is a secret.
 */
import * as fs from "fs";
import { PROGRAM_USER_AGENT } from "./requestLabel";

export interface AuditEvent {
    verb: string;
    requestURI: string;
    userAgent?: string;
    objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
    responseStatus?: { code?: number };
    requestReceivedTimestamp: string;
    stageTimestamp: string;
}

/** One request as the benchmark uses it: cluster, client, times in epoch ms. */
export interface ApiRequest {
    cluster: string;
    client: Client;
    userAgent: string;
    verb: string;
    /** e.g. `configmaps`, `clusterconfigurations`, `clusters`; `(discovery)` for /api, /apis, /openapi, /version. */
    resource: string;
    /** The request's path and query, e.g. `/openapi/v2?timeout=32s`. */
    uri: string;
    name?: string;
    code?: number;
    receivedMs: number;
    completedMs: number;
}

export type Client = "program" | "baseline" | "emulator" | "other";

const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/**
 * Resources whose `create` only asks the API server a question and stores nothing: access reviews (authorization.k8s.io)
 * and token reviews (authentication.k8s.io). The pre-flight's rights probes send them.
 */
const REVIEW_RESOURCES = new Set([
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "subjectaccessreviews",
    "localsubjectaccessreviews",
    "tokenreviews",
    "selfsubjectreviews",
]);

/** A write verb sent with `?dryRun=All`: validated and admitted, never persisted. */
function isDryRun(uri: string): boolean {
    const query = uri.indexOf("?");
    if (query < 0) return false;
    return new URLSearchParams(uri.slice(query + 1)).getAll("dryRun").includes("All");
}

/**
 * A request that persists nothing although its verb is a write verb: a review (`create` of an access or token
 * review) or a dry run. Counted as its own class, never as a write.
 */
export function isNonPersisting(request: Pick<ApiRequest, "verb" | "resource" | "uri">): boolean {
    if (!WRITE_VERBS.has(request.verb)) return false;
    return REVIEW_RESOURCES.has(request.resource.split("/")[0]) || isDryRun(request.uri);
}

/** A request that changes what a cluster stores: a write verb that is neither a review nor a dry run. */
export function isWrite(request: Pick<ApiRequest, "verb" | "resource" | "uri">): boolean {
    return WRITE_VERBS.has(request.verb) && !isNonPersisting(request);
}

/** The class a request is counted in. */
export type RequestClass = "write" | "review" | "read" | "discovery";

export function classOf(request: Pick<ApiRequest, "verb" | "resource" | "uri">): RequestClass {
    if (isNonPersisting(request)) return "review";
    if (isWrite(request)) return "write";
    return request.resource === "(discovery)" ? "discovery" : "read";
}

/**
 * Who sent a request, by User-Agent: the Pulumi Kubernetes provider and the program's relabelled direct reads are
 * the program; kubectl is the baseline script; client-node's default (node-fetch) is the emulator.
 */
export function clientOf(userAgent = ""): Client {
    // The provider sends e.g. "pulumi-kubernetes/4.25.0 (linux/amd64) client-go/v0.33.3".
    if (userAgent.startsWith("pulumi-kubernetes") || userAgent.startsWith(PROGRAM_USER_AGENT)) return "program";
    if (userAgent.startsWith("kubectl")) return "baseline";
    if (userAgent.startsWith("node-fetch")) return "emulator";
    return "other";
}

/** Every request a cluster's kube-apiserver logged, oldest first. */
export function readAuditLog(cluster: string, file: string): ApiRequest[] {
    if (!fs.existsSync(file)) return [];
    return parseAuditLog(cluster, fs.readFileSync(file, "utf8"));
}

/** The requests in an audit log's text (JSON lines, one event each), oldest first. */
export function parseAuditLog(cluster: string, text: string): ApiRequest[] {
    const requests: ApiRequest[] = [];
    for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as AuditEvent;
        requests.push({
            cluster,
            client: clientOf(event.userAgent),
            userAgent: event.userAgent ?? "",
            verb: event.verb,
            resource: event.objectRef?.resource
                ? `${event.objectRef.resource}${event.objectRef.subresource ? `/${event.objectRef.subresource}` : ""}`
                : "(discovery)",
            uri: event.requestURI,
            name: event.objectRef?.name,
            code: event.responseStatus?.code,
            receivedMs: Date.parse(event.requestReceivedTimestamp),
            completedMs: Date.parse(event.stageTimestamp),
        });
    }
    return requests.sort((a, b) => a.receivedMs - b.receivedMs);
}

/** Requests received within [startMs, endMs]. */
export function within(requests: ApiRequest[], startMs: number, endMs: number): ApiRequest[] {
    return requests.filter((request) => request.receivedMs >= startMs && request.receivedMs <= endMs);
}

/** What an operation cost the API servers. */
export interface ApiCost {
    /** Every request (discovery included), all clusters. */
    requests: number;
    /** create/update/patch/delete that persist something. */
    writes: number;
    /** Non-persisting: access and token reviews, dry runs (write verbs that store nothing). */
    reviews: number;
    /** get/list/watch of objects. */
    reads: number;
    /** /api, /apis, /openapi, /version. */
    discovery: number;
    /** On the host / on all members together. */
    hostRequests: number;
    memberRequests: number;
    /** `<cluster role> <verb> <resource>` → count, e.g. `member get configmaps`. */
    byKind: Record<string, number>;
    /**
     * `<cluster role> <verb> <resource> <namespace/name>` (discovery: its path) → count, e.g.
     * `member get configmaps kubesphere-system/kubesphere-config`: which objects the requests were about.
     */
    byObject: Record<string, number>;
}

/** The object a request is about, for `byObject`: `namespace/name`, a name, or the discovery path. */
function objectOf(request: ApiRequest): string {
    if (request.resource === "(discovery)") return request.uri.split("?")[0];
    const match = /\/namespaces\/([^/?]+)\//.exec(request.uri);
    const namespace = match && request.resource !== "namespaces" ? `${match[1]}/` : "";
    return `${namespace}${request.name ?? "(collection)"}`;
}

export function apiCost(requests: ApiRequest[], hostName: string): ApiCost {
    const byKind: Record<string, number> = {};
    const byObject: Record<string, number> = {};
    for (const request of requests) {
        const key = `${request.cluster === hostName ? "host" : "member"} ${request.verb} ${request.resource}`;
        byKind[key] = (byKind[key] ?? 0) + 1;
        const objectKey = `${key} ${objectOf(request)}`;
        byObject[objectKey] = (byObject[objectKey] ?? 0) + 1;
    }
    const sorted = (counts: Record<string, number>) =>
        Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
    const count = (kind: RequestClass) => requests.filter((request) => classOf(request) === kind).length;
    return {
        requests: requests.length,
        writes: count("write"),
        reviews: count("review"),
        reads: count("read"),
        discovery: count("discovery"),
        hostRequests: requests.filter((request) => request.cluster === hostName).length,
        memberRequests: requests.filter((request) => request.cluster !== hostName).length,
        byKind: sorted(byKind),
        byObject: sorted(byObject),
    };
}
