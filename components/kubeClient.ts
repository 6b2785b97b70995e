/**
 * Direct reads from a cluster with @kubernetes/client-node, for what Pulumi resources cannot do: polling a
 * member until its installer has applied our settings. Errors are described without headers or bodies, so no
 * credential can reach a message.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { KUBESPHERE_CONFIG_KEY, KUBESPHERE_CONFIG_NAME, KUBESPHERE_NAMESPACE, KubesphereConfigLayout, parseKubesphereConfig } from "./kubesphereConfig";
import { INSTALLER_API_VERSION, INSTALLER_NAME } from "./kubesphereObjects";
import type { MemberInstallerState } from "./memberInstaller";
import type { ImportedCluster, MemberFacts } from "./memberPreflight";

const [INSTALLER_GROUP, INSTALLER_VERSION] = INSTALLER_API_VERSION.split("/");

/** Every request gives up after this long, so one hung member cannot stall a wait loop. */
const REQUEST_TIMEOUT_MS = 5000;

function apiClients(kubeconfigYaml: string) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigYaml);
    return { core: kubeConfig.makeApiClient(CoreV1Api), custom: kubeConfig.makeApiClient(CustomObjectsApi), server: kubeConfig.getCurrentCluster()?.server };
}

/**
 * Reads what pre-flight needs from a cluster. Rejects, naming the cluster and its server, when it does not answer.
 * @param cluster the cluster's name, for messages
 */
export async function readClusterFacts(cluster: string, kubeconfigYaml: string): Promise<MemberFacts> {
    const { core, custom, server } = apiClients(kubeconfigYaml);
    try {
        const [kubeSystem, installer] = await Promise.all([
            withTimeout(() => core.readNamespace({ name: "kube-system" })),
            notFoundAsUndefined(() =>
                custom.getNamespacedCustomObject({ group: INSTALLER_GROUP, version: INSTALLER_VERSION, plural: "clusterconfigurations", namespace: KUBESPHERE_NAMESPACE, name: INSTALLER_NAME }),
            ),
        ]);
        return { kubeSystemUid: kubeSystem.metadata?.uid ?? "", installerExists: installer !== undefined };
    } catch (err) {
        throw new Error(unreachableMessage(cluster, server, err));
    }
}

/** Why a cluster could not be read, and what to check. */
function unreachableMessage(cluster: string, server: string | undefined, err: unknown): string {
    return (
        `cluster "${cluster}": the API server ${server} does not answer (${describeKubeError(err)}). ` +
        `Fix: check that it is up and reachable from the machine running Pulumi with the kubeconfig the stack config gives for it, then run \`pulumi up\` again`
    );
}

/** The Cluster objects on a host, with the kube-system UID KubeSphere recorded for each. */
export async function listImportedClusters(hostKubeconfigYaml: string): Promise<ImportedCluster[]> {
    const { custom } = apiClients(hostKubeconfigYaml);
    const list = await notFoundAsUndefined(() => custom.listClusterCustomObject({ group: "cluster.kubesphere.io", version: "v1alpha1", plural: "clusters" }));
    const items = (list as { items?: Array<{ metadata?: { name?: string }; status?: { uid?: string } }> } | undefined)?.items ?? [];
    return items.map((item) => ({ name: item.metadata?.name ?? "", uid: item.status?.uid }));
}

/** Which kubesphere-config layout a cluster has (3.x or 4.x), for `kubesphereVersion: auto`. */
export async function readKubesphereLayout(cluster: string, kubeconfigYaml: string): Promise<KubesphereConfigLayout> {
    const { core, server } = apiClients(kubeconfigYaml);
    let configMap;
    try {
        configMap = await notFoundAsUndefined(() => core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }));
    } catch (err) {
        throw new Error(unreachableMessage(cluster, server, err));
    }
    return parseKubesphereConfig(cluster, configMap?.data).layout;
}

/**
 * Returns a function that reads a member's ks-installer and kubesphere-config. ks-installer is read on the first
 * call only (the drift check): later polls read kubesphere-config alone, halving the requests of a long wait.
 */
export function memberInstallerReader(member: string, kubeconfigYaml: string): () => Promise<MemberInstallerState> {
    const { core, custom } = apiClients(kubeconfigYaml);
    let installerState: Promise<MemberInstallerState["installer"]> | undefined;
    const readInstaller = async () => {
        const installer = await notFoundAsUndefined(() =>
            custom.getNamespacedCustomObject({
                group: INSTALLER_GROUP,
                version: INSTALLER_VERSION,
                plural: "clusterconfigurations",
                namespace: KUBESPHERE_NAMESPACE,
                name: INSTALLER_NAME,
            }),
        );
        const spec = (installer as { spec?: { authentication?: { jwtSecret?: string }; multicluster?: { clusterRole?: string } } } | undefined)?.spec;
        return installer === undefined ? undefined : { clusterRole: spec?.multicluster?.clusterRole, jwtSecret: spec?.authentication?.jwtSecret };
    };
    return async () => {
        // A failed first read is retried on the next poll.
        installerState ??= readInstaller().catch((err) => {
            installerState = undefined;
            throw err;
        });
        const [installer, configMap] = await Promise.all([
            installerState,
            notFoundAsUndefined(() => core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE })),
        ]);
        const settings = configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined ? undefined : parseOrUndefined(member, configMap.data);
        return {
            installer,
            config: settings === undefined ? undefined : { clusterRole: settings.clusterRole, jwtSecret: settings.jwtSecret },
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

/** Gives up on a read after REQUEST_TIMEOUT_MS. */
async function withTimeout<T>(read: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)), REQUEST_TIMEOUT_MS);
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
        const message = body && typeof body === "object" && "message" in body ? String((body as { message: unknown }).message) : "";
        return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
    }
    if (err instanceof Error) {
        const cause = (err as Error & { cause?: unknown }).cause;
        return cause instanceof Error && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
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

/** The direct cluster reads the program makes; injectable so graph tests run without clusters. */
export interface ClusterAccess {
    readClusterFacts: typeof readClusterFacts;
    listImportedClusters: typeof listImportedClusters;
    memberInstallerReader: typeof memberInstallerReader;
    readKubesphereLayout: typeof readKubesphereLayout;
}

/** Reads real clusters. */
export const liveClusterAccess: ClusterAccess = { readClusterFacts, listImportedClusters, memberInstallerReader, readKubesphereLayout };
