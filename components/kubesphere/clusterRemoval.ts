/**
 * The host-side writes of removing a member whose API server is gone (program/removeMember.ts, docs/kubesphere.md §7):
 * the Cluster's delete and finalizer, and KubeSphere 3.4's Cluster webhook configuration, saved, removed and restored.
 * Nothing here runs in `pulumi up`.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { clientConfig, describeKubeError, notFoundAsUndefined } from "../kubernetes/transport";
import { CLUSTER_API_VERSION } from "./kubesphereObjects";
import { type ClusterItem, importedCluster } from "./reads";
import type { ImportedCluster } from "./facts";

const [CLUSTER_GROUP, CLUSTER_VERSION] = CLUSTER_API_VERSION.split("/");

/** The ValidatingWebhookConfiguration KubeSphere 3.4's ks-installer installs for Cluster updates. */
export const CLUSTER_WEBHOOK_NAME = "cluster.kubesphere.io";

/** A Cluster as removal sees it: the pre-flight's view plus its finalizers and whether its delete is pending. */
export interface ClusterForRemoval extends ImportedCluster {
    finalizers: string[];
    deleting: boolean;
}

/** The fields the API server sets on an object; a restored copy is created without them. */
const SERVER_FIELDS = ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"];

/** An object as it can be created again: its metadata without the server's fields, no status. */
export function restorable(object: Record<string, unknown>): Record<string, unknown> {
    const metadata = { ...(object.metadata as Record<string, unknown>) };
    for (const field of SERVER_FIELDS) delete metadata[field];
    const { status: _status, ...rest } = object;
    return { ...rest, metadata };
}

/** The host-side operations of a removal, one object so the command's tests give it fakes. */
export interface ClusterRemovalAccess {
    readCluster(host: ParsedKubeconfig, name: string): Promise<ClusterForRemoval | undefined>;
    deleteCluster(host: ParsedKubeconfig, name: string): Promise<void>;
    /** Drops every finalizer; false when the Cluster was already gone (KubeSphere dropped its own). */
    dropFinalizers(host: ParsedKubeconfig, name: string): Promise<boolean>;
    /** The webhook configuration as the API server returns it, or undefined when the host has none. */
    readWebhook(host: ParsedKubeconfig): Promise<Record<string, unknown> | undefined>;
    deleteWebhook(host: ParsedKubeconfig): Promise<void>;
    /** Creates the configuration from a {@link restorable} copy. */
    createWebhook(host: ParsedKubeconfig, object: Record<string, unknown>): Promise<void>;
}

/**
 * The custom-objects client serves built-in kinds too (same URL shape) and returns the JSON as the API server sent
 * it, not client-node's models: the saved webhook configuration is the object byte for byte.
 */
function clients(host: ParsedKubeconfig): { custom: CustomObjectsApi; server: string } {
    const kubeConfig = clientConfig(host);
    return {
        custom: kubeConfig.makeApiClient(CustomObjectsApi),
        server: kubeConfig.getCurrentCluster()?.server ?? "the host",
    };
}

/** ValidatingWebhookConfiguration {@link CLUSTER_WEBHOOK_NAME}, for the custom-objects client. */
const WEBHOOK = {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "validatingwebhookconfigurations",
};

/** Runs one request; its failure names what was done, on which server, and why. */
async function request<T>(what: string, server: string, run: () => Promise<T>): Promise<T> {
    try {
        return await run();
    } catch (err) {
        throw new Error(`${what} on the host (${server}) failed: ${describeKubeError(err)}`);
    }
}

/** The real host. */
export const liveClusterRemoval: ClusterRemovalAccess = {
    async readCluster(host, name) {
        const { custom, server } = clients(host);
        const item = (await request(`reading Cluster "${name}"`, server, () =>
            notFoundAsUndefined(() =>
                custom.getClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name,
                }),
            ),
        )) as (ClusterItem & { metadata?: { finalizers?: string[]; deletionTimestamp?: string } }) | undefined;
        if (item === undefined) return undefined;
        return {
            ...importedCluster(item),
            finalizers: item.metadata?.finalizers ?? [],
            deleting: Boolean(item.metadata?.deletionTimestamp),
        };
    },
    async deleteCluster(host, name) {
        const { custom, server } = clients(host);
        await request(`deleting Cluster "${name}"`, server, () =>
            notFoundAsUndefined(() =>
                custom.deleteClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name,
                    propagationPolicy: "Background",
                }),
            ),
        );
    },
    async dropFinalizers(host, name) {
        const { custom, server } = clients(host);
        const patched = await request(`dropping the finalizers of Cluster "${name}"`, server, () =>
            notFoundAsUndefined(() =>
                custom.patchClusterCustomObject(
                    {
                        group: CLUSTER_GROUP,
                        version: CLUSTER_VERSION,
                        plural: "clusters",
                        name,
                        body: { metadata: { finalizers: null } },
                    },
                    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
                ),
            ),
        );
        return patched !== undefined;
    },
    async readWebhook(host) {
        const { custom, server } = clients(host);
        return (await request(`reading ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME}`, server, () =>
            notFoundAsUndefined(() => custom.getClusterCustomObject({ ...WEBHOOK, name: CLUSTER_WEBHOOK_NAME })),
        )) as Record<string, unknown> | undefined;
    },
    async deleteWebhook(host) {
        const { custom, server } = clients(host);
        await request(`deleting ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME}`, server, () =>
            notFoundAsUndefined(() => custom.deleteClusterCustomObject({ ...WEBHOOK, name: CLUSTER_WEBHOOK_NAME })),
        );
    },
    async createWebhook(host, object) {
        const { custom, server } = clients(host);
        await request(`restoring ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME}`, server, () =>
            custom.createClusterCustomObject({ ...WEBHOOK, body: object }),
        );
    },
};
