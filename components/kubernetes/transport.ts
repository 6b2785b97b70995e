/**
 * Transport for the direct reads (kubesphere/reads.ts, probes.ts, towerAccess.ts): the client-node config built from a
 * parsed kubeconfig, bounded timeouts and retries, and error descriptions without headers or bodies, so no
 * credential can reach a message.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import type { ReachProbe } from "./reachProbe";
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { createHash } from "crypto";
import { asString, type ParsedKubeconfig, selectedEntries } from "./kubeconfig";

/** Every request gives up after this long, so one hung member cannot stall a wait loop. */
export const REQUEST_TIMEOUT_MS = 5000;

/**
 * The client-node config of the selected context, for direct reads (this file): built from the
 * document already parsed, with the fields client-node's own loadFromString takes (its config_types.ts).
 */
export function clientConfig(kubeconfig: ParsedKubeconfig): KubeConfig {
    const { contextName, context, clusterName, cluster, userName, user } = selectedEntries(kubeconfig.document);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
        clusters: [
            {
                name: clusterName,
                server: String(cluster.server).replace(/\/$/, ""),
                caData: asString(cluster["certificate-authority-data"]),
                caFile: asString(cluster["certificate-authority"]),
                skipTLSVerify: cluster["insecure-skip-tls-verify"] === true,
                tlsServerName: asString(cluster["tls-server-name"]),
                proxyUrl: asString(cluster["proxy-url"]),
            },
        ],
        users: [
            {
                name: userName,
                authProvider: user["auth-provider"],
                certData: asString(user["client-certificate-data"]),
                certFile: asString(user["client-certificate"]),
                exec: user.exec,
                keyData: asString(user["client-key-data"]),
                keyFile: asString(user["client-key"]),
                // A token file is read as client-node's loadFromString reads it (config_types.js findToken): a library
                // user's kubeconfig may carry one (the program's sources flatten theirs).
                token: asString(user.token) ?? tokenFromFile(asString(user.tokenFile) ?? asString(user["token-file"])),
                username: asString(user.username),
                password: asString(user.password),
                impersonateUser: asString(user.as),
            },
        ],
        contexts: [{ name: contextName, cluster: clusterName, user: userName, namespace: asString(context.namespace) }],
        currentContext: contextName,
    });
    return kubeConfig;
}

function tokenFromFile(file: string | undefined): string | undefined {
    return file === undefined ? undefined : fs.readFileSync(file, "utf8").trim();
}

/** The core and custom-objects clients of a kubeconfig, and its server (for messages). */
export function apiClients(kubeconfig: ParsedKubeconfig) {
    const kubeConfig = clientConfig(kubeconfig);
    return {
        core: kubeConfig.makeApiClient(CoreV1Api),
        custom: kubeConfig.makeApiClient(CustomObjectsApi),
        server: kubeConfig.getCurrentCluster()?.server,
    };
}

/** The metadata-only form of an object (kube-apiserver's `as=PartialObjectMetadata` content negotiation), for a rawGet. */
export const METADATA_ONLY = {
    Accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
};

/**
 * One GET with a kubeconfig's credentials, without client-node's models: the status, Date header and local times.
 * The body is discarded unread.
 */
export async function rawGet(
    kubeConfig: KubeConfig,
    server: string,
    urlPath: string,
    headers: Record<string, string> = {},
): Promise<{ status: number; date?: string; sentMs: number; receivedMs: number }> {
    const url = new URL(`${server.replace(/\/$/, "")}${urlPath}`);
    const options: https.RequestOptions = { method: "GET", timeout: REQUEST_TIMEOUT_MS, headers: { ...headers } };
    await kubeConfig.applyToHTTPSOptions(options);
    const sentMs = Date.now();
    return new Promise((resolve, reject) => {
        const request = (url.protocol === "http:" ? http : https).request(url, options, (response) => {
            response.resume();
            resolve({ status: response.statusCode ?? 0, date: response.headers.date, sentMs, receivedMs: Date.now() });
        });
        request.on("timeout", () =>
            request.destroy(
                Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`), { code: "ETIMEDOUT" }),
            ),
        );
        request.on("error", reject);
        request.end();
    });
}

/** Sorts a failed request into the causes the diagnosis knows (reachProbe.ts). */
export function classifyRequestError(err: unknown): ReachProbe {
    const code = String((err as { code?: unknown })?.code ?? "");
    const detail =
        err instanceof Error ? `${err.message}${code && !err.message.includes(code) ? ` (${code})` : ""}` : String(err);
    if (code === "ECONNREFUSED") return { ok: false, kind: "refused", detail: `connection refused` };
    if (code === "ETIMEDOUT" || code === "ECONNRESET" || code === "EHOSTUNREACH" || code === "ENETUNREACH")
        return { ok: false, kind: "timeout", detail };
    if (code === "ENOTFOUND" || code === "EAI_AGAIN")
        return { ok: false, kind: "dns", detail: `the name does not resolve (${code})` };
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
        return {
            ok: false,
            kind: "san",
            detail: `the server certificate does not cover the server name (${err instanceof Error ? err.message : code})`,
        };
    if (
        [
            "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            "SELF_SIGNED_CERT_IN_CHAIN",
            "DEPTH_ZERO_SELF_SIGNED_CERT",
            "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
            "UNABLE_TO_GET_ISSUER_CERT",
        ].includes(code)
    ) {
        return {
            ok: false,
            kind: "ca",
            detail: `the server certificate is not signed by the kubeconfig's CA (${code})`,
        };
    }
    if (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || code === "CERT_HAS_EXPIRED" || code === "EPROTO")
        return { ok: false, kind: "tls", detail };
    return { ok: false, kind: "other", detail };
}

/** Runs a read with a timeout; a 404 is "not there", any other failure is described safely and rethrown. */
export async function notFoundAsUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
        return await withTimeout(read);
    } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw new Error(describeKubeError(err));
    }
}

/** How often a read answered "429 Too Many Requests" is tried again, and how long apart. */
const THROTTLED_RETRIES = 10;

const THROTTLED_RETRY_MS = 1000;

/** How often a read that got no answer within REQUEST_TIMEOUT_MS is tried again (a busy API server, not a down one). */
const SLOW_RETRIES = 2;

/**
 * Gives up on a read after REQUEST_TIMEOUT_MS, twice more for a slow server (a refused connection fails at once).
 * A 429 is retried for up to ~10 s: API Priority and Fairness throttling, and an API server whose watch cache for a
 * resource is still filling ("storage is (re)initializing", e.g. right after a CRD was installed), both answer 429
 * and mean "ask again shortly".
 */
export async function withTimeout<T>(read: () => Promise<T>): Promise<T> {
    let slow = 0;
    for (let attempt = 1; ; attempt++) {
        try {
            return await withTimeoutOnce(read);
        } catch (err) {
            if (err instanceof NoAnswerError && slow++ < SLOW_RETRIES) continue;
            if (!(err instanceof ApiException && err.code === 429) || attempt >= THROTTLED_RETRIES) throw err;
            await new Promise((resolve) => setTimeout(resolve, THROTTLED_RETRY_MS));
        }
    }
}

class NoAnswerError extends Error {}

async function withTimeoutOnce<T>(read: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new NoAnswerError(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)),
            REQUEST_TIMEOUT_MS,
        );
    });
    try {
        return await Promise.race([read(), timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** A one-line description of a failed API call: the Status message or the network error, nothing else. */
export function describeKubeError(err: unknown): string {
    if (err instanceof ApiException) {
        const body: unknown = typeof err.body === "string" ? safeJson(err.body) : err.body;
        const message =
            body && typeof body === "object" && "message" in body ? String((body as { message: unknown }).message) : "";
        return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
    }
    if (err instanceof Error) {
        const cause = (err as Error & { cause?: unknown }).cause;
        return cause instanceof Error && !err.message.includes(cause.message)
            ? `${err.message}: ${cause.message}`
            : err.message;
    }
    return String(err);
}

function safeJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/** A digest of a (secret) value, to notice that it changed without keeping it. */
export function digestOf(value: string | undefined): string {
    return createHash("sha256")
        .update(value ?? "")
        .digest("hex");
}
