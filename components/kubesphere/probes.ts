/**
 * Probes that ask a cluster a question without reading an object: ks-apiserver through the service proxy, a
 * kubeconfig as KubeSphere would use it (reach, TLS, rights), and the API server's clock. Never quote a credential.
 */
import * as http from "http";
import * as https from "https";
import { ApiException, AuthorizationV1Api } from "@kubernetes/client-node";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import {
    classifyRequestError,
    clientConfig,
    describeKubeError,
    rawGet,
    REQUEST_TIMEOUT_MS,
    withTimeout,
} from "../kubernetes/transport";
import { ReachProbe } from "../kubernetes/reachProbe";
import { KUBESPHERE_NAMESPACE } from "./kubesphereConfig";

/**
 * KubeSphere's console check docs/kubesphere.md §4.3: the member's ks-apiserver answers `/kapis/version` through the API server's
 * service proxy. Returns why not, or undefined when it answers. Never rejects: the caller only warns.
 */
export async function probeKsApiserver(kubeconfig: ParsedKubeconfig): Promise<string | undefined> {
    const kubeConfig = clientConfig(kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) return "the kubeconfig names no server";
    const url = new URL(
        `${server.replace(/\/$/, "")}/api/v1/namespaces/${KUBESPHERE_NAMESPACE}/services/:ks-apiserver:/proxy/kapis/version`,
    );
    try {
        const options: https.RequestOptions = { method: "GET", timeout: REQUEST_TIMEOUT_MS, headers: {} };
        await kubeConfig.applyToHTTPSOptions(options);
        const status = await new Promise<number>((resolve, reject) => {
            const request = (url.protocol === "http:" ? http : https).request(url, options, (response) => {
                response.resume();
                resolve(response.statusCode ?? 0);
            });
            request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
            request.on("error", reject);
            request.end();
        });
        return status >= 200 && status < 300 ? undefined : `the service proxy answered HTTP ${status}`;
    } catch (err) {
        return describeKubeError(err);
    }
}

/** What KubeSphere needs to do on a member (docs/kubesphere.md §4: services/proxy; the join reads nodes and kube-system, and manages the rest). */
const NEEDED_ACCESS: Array<{
    what: string;
    attributes: { verb: string; resource: string; group?: string; namespace?: string; subresource?: string };
}> = [
    { what: "get namespaces", attributes: { verb: "get", resource: "namespaces" } },
    { what: "list nodes", attributes: { verb: "list", resource: "nodes" } },
    {
        what: "get services/proxy in kubesphere-system",
        attributes: { verb: "get", resource: "services", subresource: "proxy", namespace: KUBESPHERE_NAMESPACE },
    },
    { what: "do everything (cluster-admin)", attributes: { verb: "*", resource: "*", group: "*" } },
];

/**
 * Probes a kubeconfig as KubeSphere would use it, from this machine: GET /version (reachable, TLS name and CA,
 * credentials accepted), then SelfSubjectAccessReviews for what KubeSphere needs. Never rejects; never quotes a credential.
 * @param source where the kubeconfig came from, for the evidence
 */
export async function probeImportKubeconfig(kubeconfig: ParsedKubeconfig, source: string): Promise<ImportProbe> {
    const kubeConfig = clientConfig(kubeconfig);
    const cluster = kubeConfig.getCurrentCluster();
    const server = cluster?.server ?? "";
    const insecure = cluster?.skipTLSVerify === true;
    let reach: ReachProbe;
    let clock: ClockReading | undefined;
    try {
        const answer = await rawGet(kubeConfig, server, "/version");
        reach =
            answer.status === 401 ? { ok: false, kind: "unauthorized", detail: "HTTP 401 Unauthorized" } : { ok: true };
        clock = clockOf(answer);
    } catch (err) {
        reach = classifyRequestError(err);
    }
    if (!reach.ok) return { server, source, reach, insecure, ...(clock ? { clock } : {}) };
    const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
    const review = async ({ what, attributes }: (typeof NEEDED_ACCESS)[number]): Promise<AccessCheck> => {
        try {
            const answer = await withTimeout(() =>
                authorization.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } }),
            );
            return { what, allowed: answer.status?.allowed === true };
        } catch (err) {
            // A 403 on the review itself is as good as a denial.
            if (err instanceof ApiException && err.code === 403) return { what, allowed: false };
            throw err;
        }
    };
    // Every verb on every resource (RBAC's `*` covers subresources) implies the other rights: one review, not four,
    // for the usual cluster-admin kubeconfig (bench/RESULTS.md, requests per member); the others only when it is denied.
    const everything = NEEDED_ACCESS[NEEDED_ACCESS.length - 1];
    const access: AccessCheck[] | undefined = await review(everything)
        .then(async (all) =>
            all.allowed
                ? NEEDED_ACCESS.map(({ what }) => ({ what, allowed: true }))
                : [...(await Promise.all(NEEDED_ACCESS.slice(0, -1).map(review))), all],
        )
        .catch(() => undefined);
    return { server, source, reach, insecure, ...(access ? { access } : {}), ...(clock ? { clock } : {}) };
}

/** The cluster's clock, from the Date header of GET /version. Rejects when the cluster does not answer. */
export async function readClock(kubeconfig: ParsedKubeconfig): Promise<ClockReading> {
    const kubeConfig = clientConfig(kubeconfig);
    const clock = clockOf(await rawGet(kubeConfig, kubeConfig.getCurrentCluster()?.server ?? "", "/version"));
    if (clock === undefined) throw new Error("the API server sent no Date header");
    return clock;
}

/** The clock reading in an answer's Date header; undefined without one. */
function clockOf(answer: { date?: string; sentMs: number; receivedMs: number }): ClockReading | undefined {
    const serverMs = answer.date === undefined ? NaN : Date.parse(answer.date);
    return Number.isNaN(serverMs) ? undefined : { serverMs, sentMs: answer.sentMs, receivedMs: answer.receivedMs };
}

/** One permission KubeSphere needs on the member, as a SelfSubjectAccessReview answered it. */
export interface AccessCheck {
    /** e.g. "list nodes", "get services/proxy in kubesphere-system". */
    what: string;
    allowed: boolean;
}

/** The imported kubeconfig as probed: which server, how the request went, and what the identity may do. */
export interface ImportProbe {
    /** Where the kubeconfig points, e.g. `https://203.0.113.10:6443`. */
    server: string;
    /** Where the kubeconfig came from, for evidence: "the Cluster's spec.connection.kubeconfig" or "the kubeconfig the program will import". */
    source: string;
    reach: ReachProbe;
    /** Undefined when the server could not be reached (nothing to ask). */
    access?: AccessCheck[];
    /** The kubeconfig verifies no server certificate (`insecure-skip-tls-verify`). */
    insecure?: boolean;
    /** The server's clock from the reach request's Date header (the diagnosis's clock check reuses it). */
    clock?: ClockReading;
}

/** One API server's clock, read from the `Date` header of a response (1 s resolution), against the local clock. */
export interface ClockReading {
    /** The server's Date header, in ms since the epoch (whole seconds). */
    serverMs: number;
    /** Local time when the request was sent and when the answer came. */
    sentMs: number;
    receivedMs: number;
}
