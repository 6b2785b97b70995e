/**
 * Direct reads from a cluster with @kubernetes/client-node, for what Pulumi resources cannot do: polling a
 * member until its installer has applied our settings. Errors are described without headers or bodies, so no
 * credential can reach a message.
 */
import {
    ApiException,
    AppsV1Api,
    AuthorizationV1Api,
    CoreV1Api,
    CustomObjectsApi,
    KubeConfig,
    PatchStrategy,
    RbacAuthorizationV1Api,
    setHeaderOptions,
} from "@kubernetes/client-node";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import {
    AGENT_DEPLOYMENT_NAME,
    AgentJoinView,
    tokenOfAgentCommand,
    TOWER_NAME,
    TowerFacts,
} from "../members/agentConnection";
import type { HostRoleState } from "../host/hostInstaller";
import { checkClientCertificate } from "../members/importCredentials";
import { asString, ParsedKubeconfig, parseKubeconfig, selectedEntries } from "./kubeconfig";
import {
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KubesphereConfigLayout,
    parseKubesphereConfig,
} from "../kubesphere/kubesphereConfig";
import {
    CLUSTER_API_VERSION,
    ClusterCondition,
    CONFIG_HASH_ANNOTATION,
    HOST_CLUSTER_ANNOTATION,
    HOST_CLUSTER_LABEL,
    STACK_ANNOTATION,
    INSTALLER_API_VERSION,
    INSTALLER_NAME,
} from "../kubesphere/kubesphereObjects";
import type { MemberInstallerState } from "../members/memberInstaller";
import type { AccessCheck, ClockReading, ClusterObjectState, ImportProbe, ReachProbe } from "../members/diagnosis";
import type { ClusterFacts, ImportedCluster } from "../members/memberPreflight";

const [INSTALLER_GROUP, INSTALLER_VERSION] = INSTALLER_API_VERSION.split("/");
const [CLUSTER_GROUP, CLUSTER_VERSION] = CLUSTER_API_VERSION.split("/");

/** Every request gives up after this long, so one hung member cannot stall a wait loop. */
const REQUEST_TIMEOUT_MS = 5000;

/**
 * The client-node config of the selected context, for direct reads (this file): built from the
 * document already parsed, with the fields client-node's own loadFromString takes (its config_types.ts).
 */
function clientConfig(kubeconfig: ParsedKubeconfig): KubeConfig {
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

function apiClients(kubeconfig: ParsedKubeconfig) {
    const kubeConfig = clientConfig(kubeconfig);
    return {
        core: kubeConfig.makeApiClient(CoreV1Api),
        custom: kubeConfig.makeApiClient(CustomObjectsApi),
        server: kubeConfig.getCurrentCluster()?.server,
    };
}

/** ClusterConfiguration kubesphere-system/ks-installer (3.x); undefined when it does not exist. */
function readInstallerObject(custom: CustomObjectsApi): Promise<object | undefined> {
    return notFoundAsUndefined(() =>
        custom.getNamespacedCustomObject({
            group: INSTALLER_GROUP,
            version: INSTALLER_VERSION,
            plural: "clusterconfigurations",
            namespace: KUBESPHERE_NAMESPACE,
            name: INSTALLER_NAME,
        }),
    );
}

/**
 * Reads what pre-flight needs from a cluster (docs/kubesphere.md §9: where each fact lives): its kube-system UID, its
 * ks-installer (role, jwtSecret, `status.core.version`), its kubesphere-config and its kubesphere-system namespace.
 * Rejects, naming the cluster and its server, when it does not answer. The jwtSecrets read stay in memory, for
 * comparisons only.
 * @param cluster the cluster's name, for messages
 */
export async function readClusterFacts(cluster: string, kubeconfig: ParsedKubeconfig): Promise<ClusterFacts> {
    const { core, custom, server } = apiClients(kubeconfig);
    try {
        const [kubeSystem, installer, configMap, namespace] = await Promise.all([
            withTimeout(() => core.readNamespace({ name: "kube-system" })),
            readInstallerObject(custom),
            notFoundAsUndefined(() =>
                core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
            notFoundAsUndefined(() => core.readNamespace({ name: KUBESPHERE_NAMESPACE })),
        ]);
        const installerObject = installer as
            | {
                  spec?: {
                      authentication?: { jwtSecret?: string; oauthOptions?: { accessTokenMaxAge?: unknown } };
                      multicluster?: { clusterRole?: string };
                  };
                  status?: { core?: { version?: unknown } };
              }
            | undefined;
        let config: ClusterFacts["config"];
        let configProblem: string | undefined;
        if (configMap?.data?.[KUBESPHERE_CONFIG_KEY] !== undefined) {
            try {
                config = parseKubesphereConfig(cluster, configMap.data);
            } catch (err) {
                // parseKubesphereConfig never quotes the secret.
                configProblem = err instanceof Error ? err.message : String(err);
            }
        }
        const version = installerObject?.status?.core?.version;
        return {
            kubeSystemUid: kubeSystem.metadata?.uid ?? "",
            installer:
                installerObject === undefined
                    ? undefined
                    : {
                          clusterRole: installerObject.spec?.multicluster?.clusterRole,
                          jwtSecret: installerObject.spec?.authentication?.jwtSecret || undefined,
                          version: typeof version === "string" && version !== "" ? version : undefined,
                          ...(installerObject.spec?.authentication?.oauthOptions === undefined
                              ? {}
                              : {
                                    oauthOptionsAccessTokenMaxAge:
                                        installerObject.spec.authentication.oauthOptions.accessTokenMaxAge ?? null,
                                }),
                      },
            config,
            configProblem,
            kubesphereNamespace:
                namespace === undefined
                    ? undefined
                    : { hostCluster: namespace.metadata?.annotations?.[HOST_CLUSTER_ANNOTATION] },
        };
    } catch (err) {
        throw new Error(unreachableMessage(cluster, server, err, kubeconfig));
    }
}

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

/** One GET with a kubeconfig's credentials, without client-node's models: the status, Date header and local times. */
async function rawGet(
    kubeConfig: KubeConfig,
    server: string,
    urlPath: string,
): Promise<{ status: number; date?: string; sentMs: number; receivedMs: number }> {
    const url = new URL(`${server.replace(/\/$/, "")}${urlPath}`);
    const options: https.RequestOptions = { method: "GET", timeout: REQUEST_TIMEOUT_MS, headers: {} };
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

/** Sorts a failed request into the causes the diagnosis knows (components/members/diagnosis.ts ReachProbe). */
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
    try {
        const answer = await rawGet(kubeConfig, server, "/version");
        reach =
            answer.status === 401 ? { ok: false, kind: "unauthorized", detail: "HTTP 401 Unauthorized" } : { ok: true };
    } catch (err) {
        reach = classifyRequestError(err);
    }
    if (!reach.ok) return { server, source, reach, insecure };
    const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
    const access: AccessCheck[] = await Promise.all(
        NEEDED_ACCESS.map(async ({ what, attributes }) => {
            try {
                const review = await withTimeout(() =>
                    authorization.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } }),
                );
                return { what, allowed: review.status?.allowed === true };
            } catch (err) {
                // A 403 on the review itself is as good as a denial.
                if (err instanceof ApiException && err.code === 403) return { what, allowed: false };
                throw err;
            }
        }),
    ).catch(() => undefined as unknown as AccessCheck[]);
    return { server, source, reach, insecure, ...(access ? { access } : {}) };
}

/** The cluster's clock, from the Date header of GET /version. Rejects when the cluster does not answer. */
export async function readClock(kubeconfig: ParsedKubeconfig): Promise<ClockReading> {
    const kubeConfig = clientConfig(kubeconfig);
    const answer = await rawGet(kubeConfig, kubeConfig.getCurrentCluster()?.server ?? "", "/version");
    const serverMs = answer.date === undefined ? NaN : Date.parse(answer.date);
    if (Number.isNaN(serverMs)) throw new Error("the API server sent no Date header");
    return { serverMs, sentMs: answer.sentMs, receivedMs: answer.receivedMs };
}

/** Helm's ownership metadata for the ks-core release the 4.x host installs (v4.1.3 pkg/controller/cluster/helper.go releaseName). */
const KS_CORE_RELEASE = { name: "ks-core", namespace: KUBESPHERE_NAMESPACE };

/**
 * 4.x members: objects of the ks-core chart (v4.1.3 config/ks-core/templates: kubesphere-config, serviceaccount.yaml,
 * services.yaml) that exist on the member without Helm's ownership metadata for release ks-core, which Helm refuses
 * to adopt ("invalid ownership metadata", helm v3.16 pkg/action/validate.go), so the host's install fails. E.g.
 * `ClusterRoleBinding kubesphere (no label app.kubernetes.io/managed-by=Helm)`. Rejects when the member does not answer.
 */
export async function readKsCoreConflicts(kubeconfig: ParsedKubeconfig): Promise<string[]> {
    const kubeConfig = clientConfig(kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const namespace = KS_CORE_RELEASE.namespace;
    const objects: Array<[string, () => Promise<{ metadata?: { labels?: object; annotations?: object } }>]> = [
        [
            `ConfigMap ${namespace}/${KUBESPHERE_CONFIG_NAME}`,
            () => core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace }),
        ],
        [
            `ServiceAccount ${namespace}/kubesphere`,
            () => core.readNamespacedServiceAccount({ name: "kubesphere", namespace }),
        ],
        [
            `Secret ${namespace}/kubesphere-sa-token`,
            () => core.readNamespacedSecret({ name: "kubesphere-sa-token", namespace }),
        ],
        ["ClusterRoleBinding kubesphere", () => rbac.readClusterRoleBinding({ name: "kubesphere" })],
        [`Service ${namespace}/ks-apiserver`, () => core.readNamespacedService({ name: "ks-apiserver", namespace })],
    ];
    const found = await Promise.all(
        objects.map(async ([what, read]) => {
            const object = await withTimeout(read).catch((err: unknown) => {
                if (err instanceof ApiException && err.code === 404) return undefined;
                throw new Error(`reading ${what}: ${describeKubeError(err)}`);
            });
            if (object === undefined) return undefined;
            const labels = (object.metadata?.labels ?? {}) as Record<string, string>;
            const annotations = (object.metadata?.annotations ?? {}) as Record<string, string>;
            const wrong = [
                labels["app.kubernetes.io/managed-by"] !== "Helm" && "label app.kubernetes.io/managed-by=Helm",
                annotations["meta.helm.sh/release-name"] !== KS_CORE_RELEASE.name &&
                    `annotation meta.helm.sh/release-name=${KS_CORE_RELEASE.name}`,
                annotations["meta.helm.sh/release-namespace"] !== KS_CORE_RELEASE.namespace &&
                    `annotation meta.helm.sh/release-namespace=${KS_CORE_RELEASE.namespace}`,
            ].filter((entry): entry is string => typeof entry === "string");
            return wrong.length === 0 ? undefined : `${what} (not ${wrong.join(", ")})`;
        }),
    );
    return found.filter((entry): entry is string => entry !== undefined);
}

/**
 * The member's Cluster on the host: connection type, conditions, config hash, and the kubeconfig KubeSphere got
 * (secret: for probing only). Undefined when there is no such Cluster.
 */
export async function readClusterObject(
    hostKubeconfig: ParsedKubeconfig,
    name: string,
): Promise<
    | (ClusterObjectState & { kubeconfig?: ParsedKubeconfig; kubernetesVersion?: string; kubeSphereVersion?: string })
    | undefined
> {
    const { custom } = apiClients(hostKubeconfig);
    const object = (await notFoundAsUndefined(() =>
        custom.getClusterCustomObject({ group: CLUSTER_GROUP, version: CLUSTER_VERSION, plural: "clusters", name }),
    )) as
        | {
              metadata?: { annotations?: Record<string, string> };
              spec?: { connection?: { type?: string; kubeconfig?: string } };
              status?: {
                  conditions?: ClusterObjectState["conditions"];
                  kubernetesVersion?: string;
                  kubeSphereVersion?: string;
              };
          }
        | undefined;
    if (object === undefined) return undefined;
    const encoded = object.spec?.connection?.kubeconfig;
    return {
        connectionType: object.spec?.connection?.type,
        conditions: object.status?.conditions ?? [],
        configHash: object.metadata?.annotations?.[CONFIG_HASH_ANNOTATION],
        kubernetesVersion: object.status?.kubernetesVersion,
        kubeSphereVersion: object.status?.kubeSphereVersion,
        ...(encoded ? { kubeconfig: parsedOrUndefined(Buffer.from(encoded, "base64").toString("utf8")) } : {}),
    };
}

/** The kubeconfig KubeSphere keeps in a Cluster, parsed once as it is read; undefined when it is not one (nothing to probe). */
function parsedOrUndefined(text: string): ParsedKubeconfig | undefined {
    try {
        return parseKubeconfig(text, "the Cluster's spec.connection.kubeconfig");
    } catch {
        return undefined;
    }
}

/** Why a cluster could not be read, and what to check. */
function unreachableMessage(
    cluster: string,
    server: string | undefined,
    err: unknown,
    kubeconfig?: ParsedKubeconfig,
): string {
    // notFoundAsUndefined keeps only the description ("HTTP 401: …").
    const code =
        err instanceof ApiException
            ? err.code
            : Number(/^HTTP (\d{3})/.exec(err instanceof Error ? err.message : "")?.[1]);
    if (code === 401 || code === 403) {
        const certificate = kubeconfig === undefined ? undefined : checkClientCertificate(kubeconfig);
        const why =
            certificate !== undefined && certificate.level !== "ok"
                ? ` (the kubeconfig's client certificate: ${certificate.message.replace(/^its client certificate /, "")})`
                : "";
        return (
            `cluster "${cluster}": the API server ${server} ${code === 401 ? "rejects the kubeconfig's credentials" : "forbids the kubeconfig's identity the pre-flight's reads"}${why} ` +
            `(${describeKubeError(err)}). Fix: ${code === 401 ? "renew the credentials (certificate or token) in the kubeconfig the stack config gives for it" : "bind that identity to cluster-admin on the cluster (KubeSphere manages the whole cluster), or use an admin kubeconfig"}, then run \`pulumi up\` again`
        );
    }
    return (
        `cluster "${cluster}": the API server ${server} does not answer (${describeKubeError(err)}). ` +
        `Fix: check that it is up and reachable from the machine running Pulumi with the kubeconfig the stack config gives for it, then run \`pulumi up\` again`
    );
}

/** The Cluster objects on a host: kube-system UID KubeSphere recorded, whether it is the host's own entry, version. */
export async function listImportedClusters(hostKubeconfig: ParsedKubeconfig): Promise<ImportedCluster[]> {
    const { custom } = apiClients(hostKubeconfig);
    const list = await notFoundAsUndefined(() =>
        custom.listClusterCustomObject({ group: CLUSTER_GROUP, version: CLUSTER_VERSION, plural: "clusters" }),
    );
    return clusterItems(list).map(importedCluster);
}

/**
 * The kubeconfig in the host's Cluster `name` (`spec.connection.kubeconfig`, decoded), as KubeSphere keeps it now:
 * 4.x may have renewed it in place (docs/kubesphere.md §9). Undefined when the Cluster does not exist yet. Secret: compared only.
 */
export async function readImportedKubeconfig(
    hostKubeconfig: ParsedKubeconfig,
    name: string,
): Promise<string | undefined> {
    const { custom, server } = apiClients(hostKubeconfig);
    let cluster: { spec?: { connection?: { kubeconfig?: string } } } | undefined;
    try {
        cluster = (await notFoundAsUndefined(() =>
            custom.getClusterCustomObject({ group: CLUSTER_GROUP, version: CLUSTER_VERSION, plural: "clusters", name }),
        )) as typeof cluster;
    } catch (err) {
        throw new Error(
            `reading Cluster "${name}" on the host (${server}) failed: ${describeKubeError(err)}. Fix: check that the host answers, then run \`pulumi up\` again`,
        );
    }
    const base64 = cluster?.spec?.connection?.kubeconfig;
    return base64 ? Buffer.from(base64, "base64").toString("utf8") : undefined;
}

type ClusterItem = {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    status?: { uid?: string; kubeSphereVersion?: string };
};

function clusterItems(list: unknown): ClusterItem[] {
    return (list as { items?: ClusterItem[] } | undefined)?.items ?? [];
}

function importedCluster(item: ClusterItem): ImportedCluster {
    return {
        name: item.metadata?.name ?? "",
        uid: item.status?.uid || undefined,
        isHostEntry: item.metadata?.labels?.[HOST_CLUSTER_LABEL] !== undefined,
        kubeSphereVersion: item.status?.kubeSphereVersion || undefined,
        ...(item.metadata?.annotations?.[STACK_ANNOTATION]
            ? { stack: item.metadata.annotations[STACK_ANNOTATION] }
            : {}),
    };
}

/**
 * Returns a function that reads whether a 3.x host is a host yet (docs/kubesphere.md §9, "When a host is really a host"):
 * its kubesphere-config and the Cluster entry KubeSphere labels `cluster-role.kubesphere.io/host`.
 */
export function hostRoleReader(host: string, kubeconfig: ParsedKubeconfig): () => Promise<HostRoleState> {
    const { core, custom } = apiClients(kubeconfig);
    return async () => {
        const [configMap, entries] = await Promise.all([
            notFoundAsUndefined(() =>
                core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
            notFoundAsUndefined(() =>
                custom.listClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    labelSelector: HOST_CLUSTER_LABEL,
                }),
            ),
        ]);
        const settings =
            configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined ? undefined : parseOrUndefined(host, configMap.data);
        return {
            config:
                settings === undefined
                    ? undefined
                    : { clusterRole: settings.clusterRole, multiclusterEnable: settings.multiclusterEnable },
            hostEntry: clusterItems(entries).map(importedCluster)[0],
        };
    };
}

/** Which kubesphere-config layout a cluster has (3.x or 4.x), for `kubesphereVersion: auto`. */
export async function readKubesphereLayout(
    cluster: string,
    kubeconfig: ParsedKubeconfig,
): Promise<KubesphereConfigLayout> {
    const { core, server } = apiClients(kubeconfig);
    let configMap;
    try {
        configMap = await notFoundAsUndefined(() =>
            core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
        );
    } catch (err) {
        throw new Error(unreachableMessage(cluster, server, err));
    }
    return parseKubesphereConfig(cluster, configMap?.data).layout;
}

/**
 * Returns a function that reads a member's ks-installer and kubesphere-config. ks-installer is read on the first
 * call only (the drift check): later polls read kubesphere-config alone, halving the requests of a long wait.
 */
export function memberInstallerReader(
    member: string,
    kubeconfig: ParsedKubeconfig,
): () => Promise<MemberInstallerState> {
    const { core, custom } = apiClients(kubeconfig);
    let installerState: Promise<MemberInstallerState["installer"]> | undefined;
    const readInstaller = async () => {
        const installer = await readInstallerObject(custom);
        const spec = (
            installer as
                | { spec?: { authentication?: { jwtSecret?: string }; multicluster?: { clusterRole?: string } } }
                | undefined
        )?.spec;
        return installer === undefined
            ? undefined
            : { clusterRole: spec?.multicluster?.clusterRole, jwtSecret: spec?.authentication?.jwtSecret };
    };
    return async () => {
        // A failed first read is retried on the next poll.
        installerState ??= readInstaller().catch((err) => {
            installerState = undefined;
            throw err;
        });
        const [installer, configMap] = await Promise.all([
            installerState,
            notFoundAsUndefined(() =>
                core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const settings =
            configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined
                ? undefined
                : parseOrUndefined(member, configMap.data);
        return {
            installer,
            config:
                settings === undefined
                    ? undefined
                    : {
                          clusterRole: settings.clusterRole,
                          jwtSecret: settings.jwtSecret,
                          accessTokenMaxAge: settings.accessTokenMaxAge,
                      },
        };
    };
}

/** While the installer rewrites kubesphere-config it may be incomplete: that is "not applied yet", not an error. */
function parseOrUndefined(member: string, data: Record<string, string>) {
    try {
        return parseKubesphereConfig(member, data);
    } catch {
        return undefined;
    }
}

/** Runs a read with a timeout; a 404 is "not there", any other failure is described safely and rethrown. */
async function notFoundAsUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
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
async function withTimeout<T>(read: () => Promise<T>): Promise<T> {
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

/**
 * The host's tower (docs/kubesphere.md §10.1, §10.4): whether Deployment kubesphere-system/tower exists, and its Service's type
 * and load-balancer address (`http://<ingress IP, else hostname>:<first port>`, KubeSphere's rule).
 */
export async function readTower(host: string, hostKubeconfig: ParsedKubeconfig): Promise<TowerFacts> {
    const kubeConfig = clientConfig(hostKubeconfig);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    try {
        const [deployment, service] = await Promise.all([
            notFoundAsUndefined(() =>
                apps.readNamespacedDeployment({ name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
            notFoundAsUndefined(() =>
                core.readNamespacedService({ name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const ingress = service?.status?.loadBalancer?.ingress?.[0];
        const ingressHost = ingress?.ip || ingress?.hostname;
        const port = service?.spec?.ports?.[0]?.port;
        return {
            deployment: deployment !== undefined,
            service:
                service === undefined
                    ? undefined
                    : {
                          type: service.spec?.type,
                          loadBalancerAddress: ingressHost && port ? `http://${ingressHost}:${port}` : undefined,
                      },
        };
    } catch (err) {
        throw new Error(unreachableMessage(host, kubeConfig.getCurrentCluster()?.server, err));
    }
}

/** What the agent join wait reads per poll, plus the status fields the program reports. */
export type AgentJoinRead = AgentJoinView & {
    status?: { conditions?: ClusterCondition[]; kubernetesVersion?: string; kubeSphereVersion?: string };
};

/**
 * Returns a function that reads the member's Cluster on the host and the agent Deployment on the member (its
 * `--token`, compared in memory only).
 */
export function agentJoinReader(
    member: string,
    hostKubeconfig: ParsedKubeconfig,
    memberKubeconfig: ParsedKubeconfig,
): () => Promise<AgentJoinRead> {
    const { custom } = apiClients(hostKubeconfig);
    const apps = clientConfig(memberKubeconfig).makeApiClient(AppsV1Api);
    return async () => {
        const [cluster, deployment] = await Promise.all([
            notFoundAsUndefined(() =>
                custom.getClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name: member,
                }),
            ),
            notFoundAsUndefined(() =>
                apps.readNamespacedDeployment({ name: AGENT_DEPLOYMENT_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const object = cluster as
            | {
                  metadata?: { annotations?: Record<string, string> };
                  spec?: { connection?: { token?: string; kubeconfig?: string } };
                  status?: AgentJoinRead["status"];
              }
            | undefined;
        const container = deployment?.spec?.template?.spec?.containers?.find((candidate) => candidate.name === "agent");
        return {
            cluster:
                object === undefined
                    ? undefined
                    : {
                          token: object.spec?.connection?.token,
                          conditions: object.status?.conditions,
                          annotations: object.metadata?.annotations,
                          kubeconfigDigest: digestOf(object.spec?.connection?.kubeconfig),
                      },
            agent: deployment === undefined ? undefined : { token: tokenOfAgentCommand(container?.command) },
            status: object?.status,
        };
    };
}

/**
 * Token rotation of an agent member, step one: writes the new token into the live proxy Cluster on the host (when
 * it exists and holds another one), so tower accepts the agent restarted with it. Returns whether it wrote.
 */
export async function writeClusterAgentToken(
    member: string,
    hostKubeconfig: ParsedKubeconfig,
    token: string,
): Promise<{ written: boolean; kubeconfigDigest?: string }> {
    const { custom } = apiClients(hostKubeconfig);
    const cluster = (await notFoundAsUndefined(() =>
        custom.getClusterCustomObject({
            group: CLUSTER_GROUP,
            version: CLUSTER_VERSION,
            plural: "clusters",
            name: member,
        }),
    )) as { spec?: { connection?: { type?: string; token?: string; kubeconfig?: string } } } | undefined;
    if (cluster?.spec?.connection?.type !== "proxy" || cluster.spec.connection.token === token)
        return { written: false };
    const kubeconfigDigest = digestOf(cluster.spec.connection.kubeconfig);
    try {
        await withTimeout(() =>
            custom.patchClusterCustomObject(
                {
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name: member,
                    fieldManager: "kubesphere-federation",
                    body: { spec: { connection: { token } } },
                },
                setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
            ),
        );
    } catch (err) {
        throw new Error(
            `member "${member}": writing the rotated agent token into its Cluster on the host failed (${describeKubeError(err)}). Fix: check the host answers, then run \`pulumi up\` again`,
        );
    }
    return { written: true, kubeconfigDigest };
}

/** A digest of a (secret) value, to notice that it changed without keeping it. */
function digestOf(value: string | undefined): string {
    return createHash("sha256")
        .update(value ?? "")
        .digest("hex");
}

/** The direct cluster reads the program makes; injectable so graph tests run without clusters. */
export interface ClusterAccess {
    readClusterFacts: typeof readClusterFacts;
    listImportedClusters: typeof listImportedClusters;
    probeKsApiserver: typeof probeKsApiserver;
    memberInstallerReader: typeof memberInstallerReader;
    hostRoleReader: typeof hostRoleReader;
    readKubesphereLayout: typeof readKubesphereLayout;
    readImportedKubeconfig: typeof readImportedKubeconfig;
    readTower: typeof readTower;
    agentJoinReader: typeof agentJoinReader;
    writeClusterAgentToken: typeof writeClusterAgentToken;
    readClusterObject: typeof readClusterObject;
    probeImportKubeconfig: typeof probeImportKubeconfig;
    readClock: typeof readClock;
    readKsCoreConflicts: typeof readKsCoreConflicts;
}

/** Reads real clusters. */
export const liveClusterAccess: ClusterAccess = {
    readClusterFacts,
    listImportedClusters,
    probeKsApiserver,
    memberInstallerReader,
    hostRoleReader,
    readKubesphereLayout,
    readImportedKubeconfig,
    readTower,
    agentJoinReader,
    writeClusterAgentToken,
    readClusterObject,
    probeImportKubeconfig,
    readClock,
    readKsCoreConflicts,
};

let clusterAccessInUse: ClusterAccess = liveClusterAccess;

/**
 * How components built from now on read clusters directly (pre-flight, waits): the real clusters unless a test
 * swapped them with {@link useClusterAccess}. Each component reads it once, in its constructor.
 * @internal
 */
export function currentClusterAccess(): ClusterAccess {
    return clusterAccessInUse;
}

/**
 * Test seam: components constructed after this call read clusters through `access`. Returns the function that
 * puts the previous access back. Not part of the public API (graph tests and the example's mock run use it).
 * @internal
 */
export function useClusterAccess(access: ClusterAccess): () => void {
    const previous = clusterAccessInUse;
    clusterAccessInUse = access;
    return () => {
        clusterAccessInUse = previous;
    };
}
