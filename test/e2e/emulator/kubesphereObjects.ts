/**
 * Names of the KubeSphere objects the emulator and the sandbox seeder work with (docs/kubesphere.md §1–§3). TEST ONLY.
 */

export const KUBESPHERE_NAMESPACE = "kubesphere-system";
export const KUBESPHERE_CONFIG_NAME = "kubesphere-config";
export const KUBESPHERE_CONFIG_KEY = "kubesphere.yaml";

/**
 * Service `kubesphere-system/ks-apiserver`. Sandbox processes listen on loopback, where kube-apiserver refuses to
 * proxy, so by default the emulator treats "the Service exists" as "ks-apiserver answers" and reads the release it
 * would report from the Service's `app.kubernetes.io/version` label. A member whose Service has endpoints (the
 * sandbox's test device serveKsApiserverFromNetns: an emulated ks-apiserver in a network namespace) is asked
 * through the service proxy instead, as KubeSphere asks (4.x; the 3.x controller keeps the label).
 */
export const KS_APISERVER = { name: "ks-apiserver", versionLabel: "app.kubernetes.io/version" } as const;

/** Labels and annotations KubeSphere's cluster controller reads and writes (v3.4.1 and v4.1.3 cluster_types.go). */
export const CLUSTER_LABELS = {
    /** Marks the host's own Cluster entry. */
    host: "cluster-role.kubesphere.io/host",
    managed: "kubesphere.io/managed",
} as const;

export const CLUSTER_ANNOTATIONS = {
    /** 4.x: hex FNV-1a 64 of spec.config, set when ks-core was (re)installed with it. */
    configHash: "kubesphere.io/config-hash",
    /** 4.x, on the member's kubesphere-system namespace after a join. */
    clusterName: "cluster.kubesphere.io/name",
    hostClusterName: "cluster.kubesphere.io/host-cluster",
} as const;

/** 3.4's admission webhook for Cluster updates (v3.4.1 cmd/controller-manager/app/server.go, cluster_webhook.go). */
export const CLUSTER_WEBHOOK = {
    configurationName: "cluster.kubesphere.io",
    webhookName: "validating-cluster.kubesphere.io",
    path: "/validate-cluster-kubesphere-io-v1alpha1",
} as const;

/** 4.x: Secrets of the member's `kubesphere` ServiceAccount carry this label (v4.1.3 kubeconfig.go). */
export const KUBESPHERE_SA_TOKEN_LABEL = "kubesphere.io/service-account-token";

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
    ksCoreInstaller: "ks-core-helm-emulator",
    tower: "tower-emulator",
} as const;

/** A ClusterConfiguration's spec, as far as the emulated installer reads it. */
export interface InstallerSpec {
    multicluster?: { clusterRole?: string; hostClusterName?: string };
    authentication?: { jwtSecret?: string; oauthOptions?: Record<string, unknown> };
    [key: string]: unknown;
}

/** A Kubernetes condition as KubeSphere writes them on a Cluster. */
export interface ClusterCondition {
    type: string;
    /** "" for 4.1's KubeConfigCertExpiresInSevenDays, which v4.1.3 writes without a status. */
    status: "True" | "False" | "Unknown" | "";
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
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        deletionTimestamp?: string;
        finalizers?: string[];
        [key: string]: unknown;
    };
    spec?: {
        joinFederation?: boolean;
        connection?: { type?: string; kubeconfig?: string; kubernetesAPIEndpoint?: string; [key: string]: unknown };
        /** 4.x only: base64 of the ks-core Helm values for the member. */
        config?: string;
        [key: string]: unknown;
    };
    status?: {
        conditions?: ClusterCondition[];
        kubernetesVersion?: string;
        kubeSphereVersion?: string;
        uid?: string;
        nodeCount?: number;
        [key: string]: unknown;
    };
}
