/**
 * Names of the KubeSphere objects the emulator and the sandbox seeder work with (API notes §1–§3). TEST ONLY.
 */

export const KUBESPHERE_NAMESPACE = "kubesphere-system";
export const KUBESPHERE_CONFIG_NAME = "kubesphere-config";
export const KUBESPHERE_CONFIG_KEY = "kubesphere.yaml";

/** The emulated KubeSphere release, reported in Cluster status and ks-installer status. */
export const KUBESPHERE_VERSION = "v3.4.1";

/** `ClusterConfiguration` `kubesphere-system/ks-installer` (3.x only). */
export const INSTALLER = {
    group: "installer.kubesphere.io",
    version: "v1alpha1",
    plural: "clusterconfigurations",
    kind: "ClusterConfiguration",
    name: "ks-installer",
} as const;

/** `Cluster` objects on the host, one per member. */
export const CLUSTER = {
    group: "cluster.kubesphere.io",
    version: "v1alpha1",
    plural: "clusters",
    kind: "Cluster",
    finalizer: "finalizer.cluster.kubesphere.io",
} as const;

/** Field managers, so `kubectl get --show-managed-fields` tells the emulator's writes apart from the program's. */
export const FIELD_MANAGER = {
    installer: "ks-installer-emulator",
    controllerManager: "ks-controller-manager-emulator",
} as const;

/** A ClusterConfiguration's spec, as far as the emulated installer reads it. */
export interface InstallerSpec {
    multicluster?: { clusterRole?: string; hostClusterName?: string };
    authentication?: { jwtSecret?: string };
    [key: string]: unknown;
}

/** A Kubernetes condition as KubeSphere writes them on a Cluster. */
export interface ClusterCondition {
    type: string;
    status: "True" | "False" | "Unknown";
    lastUpdateTime?: string;
    lastTransitionTime?: string;
    reason?: string;
    message?: string;
}

export interface ClusterObject {
    apiVersion?: string;
    kind?: string;
    metadata: {
        name: string;
        resourceVersion?: string;
        deletionTimestamp?: string;
        finalizers?: string[];
        [key: string]: unknown;
    };
    spec?: {
        joinFederation?: boolean;
        connection?: { type?: string; kubeconfig?: string; kubernetesAPIEndpoint?: string; [key: string]: unknown };
        [key: string]: unknown;
    };
    status?: {
        conditions?: ClusterCondition[];
        kubernetesVersion?: string;
        kubeSphereVersion?: string;
        uid?: string;
        [key: string]: unknown;
    };
}
