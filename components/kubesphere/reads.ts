/**
 * Reads of KubeSphere's objects on a cluster with @kubernetes/client-node, for what Pulumi resources cannot do: the
 * pre-flight facts, the installer and host-role waits, the Cluster objects on a host. Reads only; the shapes they
 * return live in facts.ts and here.
 */
import * as yaml from "js-yaml";
import { ApiException, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { checkClientCertificate } from "../kubernetes/clientCertificate";
import { type ParsedKubeconfig, parseKubeconfig } from "../kubernetes/kubeconfig";
import { apiClients, clientConfig, describeKubeError, notFoundAsUndefined, withTimeout } from "../kubernetes/transport";
import { ClusterFacts, ImportedCluster } from "./facts";
import {
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    parseKubesphereConfig,
} from "./kubesphereConfig";
import {
    CLUSTER_API_VERSION,
    type ClusterCondition,
    CONFIG_HASH_ANNOTATION,
    HOST_CLUSTER_ANNOTATION,
    HOST_CLUSTER_LABEL,
    INSTALLER_API_VERSION,
    INSTALLER_NAME,
    STACK_ANNOTATION,
} from "./kubesphereObjects";

const [INSTALLER_GROUP, INSTALLER_VERSION] = INSTALLER_API_VERSION.split("/");
const [CLUSTER_GROUP, CLUSTER_VERSION] = CLUSTER_API_VERSION.split("/");

/**
 * ClusterConfiguration kubesphere-system/ks-installer (3.x); undefined when it does not exist.
 * @internal
 */
export function readInstallerObject(custom: CustomObjectsApi): Promise<object | undefined> {
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
export function unreachableMessage(
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

/** A Cluster as listed on the host, the fields read. */
export type ClusterItem = {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { connection?: { type?: string; kubernetesAPIEndpoint?: string; kubeconfig?: string } };
    status?: { uid?: string; kubeSphereVersion?: string; conditions?: { type?: string; status?: string }[] };
};

/**
 * The member API server a Cluster's connection names: `kubernetesAPIEndpoint`, else the server of its kubeconfig
 * (decoded here, only the URL kept: the rest is a credential). Undefined for a proxy Cluster or an unreadable kubeconfig.
 */
export function connectionEndpoint(connection: NonNullable<ClusterItem["spec"]>["connection"]): string | undefined {
    if (connection?.kubernetesAPIEndpoint) return connection.kubernetesAPIEndpoint;
    if (!connection?.kubeconfig) return undefined;
    try {
        const parsed = yaml.load(Buffer.from(connection.kubeconfig, "base64").toString("utf8")) as {
            clusters?: Array<{ cluster?: { server?: unknown } }>;
        };
        const server = parsed?.clusters?.[0]?.cluster?.server;
        return typeof server === "string" && server !== "" ? server : undefined;
    } catch {
        return undefined;
    }
}

/** The items of a Cluster list (none when the list is absent). */
export function clusterItems(list: unknown): ClusterItem[] {
    return (list as { items?: ClusterItem[] } | undefined)?.items ?? [];
}

/** A Cluster on the host as the pre-flight sees it: name, the member's kube-system UID, host entry, version, stack mark. */
export function importedCluster(item: ClusterItem): ImportedCluster {
    const endpoint = connectionEndpoint(item.spec?.connection);
    return {
        name: item.metadata?.name ?? "",
        uid: item.status?.uid || undefined,
        isHostEntry: item.metadata?.labels?.[HOST_CLUSTER_LABEL] !== undefined,
        kubeSphereVersion: item.status?.kubeSphereVersion || undefined,
        ...(item.status?.conditions?.some((found) => found.type === "Ready" && found.status === "True")
            ? { ready: true }
            : {}),
        ...(item.metadata?.annotations?.[STACK_ANNOTATION]
            ? { stack: item.metadata.annotations[STACK_ANNOTATION] }
            : {}),
        ...(item.spec?.connection?.type ? { connectionType: item.spec.connection.type } : {}),
        ...(endpoint === undefined ? {} : { endpoint }),
    };
}

/** The member's Cluster object on the host, as far as the diagnosis needs it. */
export interface ClusterObjectState {
    /** `spec.connection.type`: `direct` or `proxy`. */
    connectionType?: string;
    conditions: ClusterCondition[];
    /** Annotation `kubesphere.io/config-hash` (4.x). */
    configHash?: string;
}
