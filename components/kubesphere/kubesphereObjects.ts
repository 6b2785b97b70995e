/**
 * Builders for the KubeSphere objects the program writes (docs/kubesphere.md §1 and docs/kubesphere.md §3). Pure data, so the
 * exact shapes are unit-tested on their own; the one resource here is ksInstallerPatch, which HostCluster and
 * MemberCluster both make.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MemberProvider } from "../config/configSchema";
import { KUBESPHERE_NAMESPACE } from "./kubesphereConfig";

export const INSTALLER_API_VERSION = "installer.kubesphere.io/v1alpha1";
export const INSTALLER_KIND = "ClusterConfiguration";
export const INSTALLER_NAME = "ks-installer";
export const CLUSTER_API_VERSION = "cluster.kubesphere.io/v1alpha1";
export const CLUSTER_KIND = "Cluster";
/** Label KubeSphere puts on the host's own Cluster entry (docs/kubesphere.md §3). */
export const HOST_CLUSTER_LABEL = "cluster-role.kubesphere.io/host";
/** 4.x: annotation a host's controller puts on a member's kubesphere-system namespace: the host's name (docs/kubesphere.md §4.5). */
export const HOST_CLUSTER_ANNOTATION = "cluster.kubesphere.io/host-cluster";
/** 4.x: annotation on a Cluster: the ks-core config hash of the last finished install on the member (docs/kubesphere.md §9). */
export const CONFIG_HASH_ANNOTATION = "kubesphere.io/config-hash";
/**
 * Annotation the program puts on every member Cluster it creates: the Pulumi stack that manages it
 * (`<organization>/<project>/<stack>`), so another stack listing the same member is refused before any change.
 */
export const STACK_ANNOTATION = "kubesphere-federation.io/stack";

/**
 * A KubeSphere workload on a member whose pods a join needs running (docs/kubesphere.md §11): read by label selector
 * for the diagnosis; `deployment` and `container` name it in the fix.
 */
export interface KubesphereWorkload {
    /** What the join needs it for, e.g. `ks-installer`. */
    name: string;
    namespace: string;
    labelSelector: string;
    deployment: string;
    /** What it does in the join, for messages: "applies the host's settings". */
    role: string;
    /**
     * Whether the program decides where its image comes from (MemberClusterArgs.imageRegistry: the agent's image,
     * 4.x ks-core's values), so a pull failure's fix is that key; otherwise the member's own installation decides.
     */
    imageFromRegistryKey?: boolean;
}

/** 3.x: ks-installer's pod applies the settings; its label is `app: ks-install` up to 3.2, `app: ks-installer` in 3.4 (docs/kubesphere.md §11). */
export const KS_INSTALLER_WORKLOAD: KubesphereWorkload = {
    name: "ks-installer",
    namespace: KUBESPHERE_NAMESPACE,
    labelSelector: "app in (ks-install,ks-installer)",
    deployment: "ks-installer",
    role: "applies the host's jwtSecret and clusterRole",
};

/** 4.x: ks-core's ks-apiserver on the member (label `app: ks-apiserver`): Ready needs its /version (docs/kubesphere.md §9, §11). */
export const KS_APISERVER_WORKLOAD: KubesphereWorkload = {
    name: "ks-apiserver",
    namespace: KUBESPHERE_NAMESPACE,
    labelSelector: "app=ks-apiserver",
    deployment: "ks-apiserver",
    role: "answers KubeSphere's API on the member (Ready needs it)",
    imageFromRegistryKey: true,
};

/** 4.x: ks-core's ks-controller-manager on the member (label `app: ks-controller-manager`, docs/kubesphere.md §11). */
export const KS_CONTROLLER_MANAGER_WORKLOAD: KubesphereWorkload = {
    name: "ks-controller-manager",
    namespace: KUBESPHERE_NAMESPACE,
    labelSelector: "app=ks-controller-manager",
    deployment: "ks-controller-manager",
    role: "runs KubeSphere's controllers on the member",
    imageFromRegistryKey: true,
};

/** Display text KubeSphere's console shows for a member (`spec.provider` is free text). */
export const PROVIDER_DISPLAY_NAMES: Record<MemberProvider, string> = {
    ack: "Alibaba Cloud ACK",
    eks: "AWS EKS",
    kubeadm: "kubeadm",
    generic: "Kubernetes",
};

/** Metadata of the `ks-installer` ClusterConfiguration, patched on host and members. */
export const installerMetadata = { name: INSTALLER_NAME, namespace: KUBESPHERE_NAMESPACE };

/**
 * Annotations for our server-side-apply patches of ks-installer. `patchForce` because the installer object was
 * created by `kubectl apply`/edits, whose managers own these fields: without force every first apply conflicts.
 */
export const installerPatchAnnotations = { "pulumi.com/patchForce": "true" };

/**
 * The server-side-apply patch of a 3.x cluster's ks-installer, owning only the fields `spec` sets. Kept on delete:
 * deleting a patch relinquishes its fields, which would strip the host role from a live host (and break every other
 * member), or a member's jwtSecret and role (and settings someone else made before we forced ownership); removing
 * the host or a member from Pulumi leaves its ks-installer as it is (docs/removing-members.md). The patch's
 * outputs are the whole live object, whose spec may hold the jwtSecret: secret.
 * @internal
 */
export function ksInstallerPatch(
    name: string,
    spec: pulumi.Input<Record<string, unknown>>,
    opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResourcePatch {
    return new k8s.apiextensions.CustomResourcePatch(
        `${name}-ks-installer`,
        {
            apiVersion: INSTALLER_API_VERSION,
            kind: INSTALLER_KIND,
            metadata: { ...installerMetadata, annotations: installerPatchAnnotations },
            spec,
        },
        { ...opts, retainOnDelete: true, additionalSecretOutputs: ["spec"] },
    );
}

/**
 * `spec` fields that make a cluster the host. `hostClusterName` only where KubeSphere has the option (3.2+, seed 002;
 * 3.1 has none, see hasHostClusterNameOption): pass undefined to leave it out.
 */
export function hostInstallerSpec(hostClusterName: string | undefined, proxyPublishAddress?: string) {
    // proxyPublishAddress: where agents dial tower; ks-installer renders it into kubesphere-config (docs/kubesphere.md §10.1).
    return {
        multicluster: {
            clusterRole: "host",
            ...(hostClusterName === undefined ? {} : { hostClusterName }),
            ...(proxyPublishAddress === undefined ? {} : { proxyPublishAddress }),
        },
    };
}

/** `spec` fields that make a cluster a member of the host that issued `jwtSecret`. */
export function memberInstallerSpec<T>(jwtSecret: T) {
    return { authentication: { jwtSecret }, multicluster: { clusterRole: "member" } };
}

/** What describes a member's Cluster object on the host. */
export interface ClusterObjectArgs<T> {
    name: string;
    provider: MemberProvider;
    /** base64 of the kubeconfig KubeSphere uses to reach the member (secret); direct connection only. */
    kubeconfigBase64?: T;
    /**
     * Agent connection: the token tower compares with the agent's (secret). The Cluster is then a proxy Cluster
     * (`connection.type: proxy`, no kubeconfig: tower writes it once the agent connects) and the program waits for
     * the join itself (components/members/agentConnection.ts), so the Ready annotations are left out.
     */
    agentToken?: T;
    description?: string;
    group?: string;
    readyTimeoutSeconds: number;
    /** KubeSphere 4.x only: base64 of the Helm values for ks-core on the member (`spec.config`). */
    configBase64?: string;
    /**
     * KubeSphere 4.x: the ks-core config hash of `configBase64`'s bytes ({@link ksCoreConfigHash}). The host reports
     * `KSCoreReady` once it has installed ks-core on the member, and writes this hash when an install (also a
     * reinstall after a `spec.config` change) is done, so the wait includes both. Undefined on 3.x.
     */
    ksCoreConfigHash?: string;
    /**
     * The program waits for the join itself (components/members/memberJoin.ts), so the provider must not: `pulumi.com/skipAwait`.
     * Default false: the provider waits (`pulumi.com/waitFor`), for a host the program cannot read (from another stack).
     */
    programWaits?: boolean;
    /** The Pulumi stack that manages this Cluster (`<organization>/<project>/<stack>`), as {@link STACK_ANNOTATION}. */
    stack?: string;
}

/**
 * The `Cluster` a member is imported as, the direct-connection shape KubeSphere's console posts (docs/kubesphere.md §3;
 * docs/kubesphere.md §6 for 4.x, where this object alone joins the member).
 * The program waits for the join itself when it can read the host (`programWaits`), else annotations make the provider wait; background deletion because a Cluster owns no dependents and
 * foreground deletion would wait on the garbage collector for nothing.
 */
export function clusterObject<T>(args: ClusterObjectArgs<T>) {
    const proxy = args.agentToken !== undefined;
    return {
        apiVersion: CLUSTER_API_VERSION,
        kind: CLUSTER_KIND,
        metadata: {
            name: args.name,
            annotations: {
                ...(args.description !== undefined ? { "kubesphere.io/description": args.description } : {}),
                ...(args.stack !== undefined ? { [STACK_ANNOTATION]: args.stack } : {}),
                ...(proxy ? {} : args.programWaits ? { "pulumi.com/skipAwait": "true" } : providerWait(args)),
                "pulumi.com/deletionPropagationPolicy": "background",
            },
            ...(args.group !== undefined ? { labels: { "cluster.kubesphere.io/group": args.group } } : {}),
        },
        spec: {
            provider: PROVIDER_DISPLAY_NAMES[args.provider],
            // 3.x: the cluster controller skips clusters without joinFederation; tower (3.x and 4.1) ignores proxy Clusters without it.
            joinFederation: true,
            connection: proxy
                ? { type: "proxy", token: args.agentToken }
                : { type: "direct", kubeconfig: args.kubeconfigBase64 },
            ...(args.configBase64 !== undefined ? { config: args.configBase64 } : {}),
        },
    };
}

/** The provider's wait for the join: Ready (4.x: KSCoreReady and the config hash too), with the member's timeout. */
function providerWait<T>(args: ClusterObjectArgs<T>): Record<string, string> {
    return {
        "pulumi.com/waitFor":
            args.ksCoreConfigHash === undefined
                ? "condition=Ready"
                : JSON.stringify([
                      "condition=Ready",
                      "condition=KSCoreReady",
                      // pulumi-kubernetes 4.25 parses RFC 9535 JSONPath (provider/pkg/jsonpath): a key with dots is a quoted name.
                      `jsonpath={.metadata.annotations['${CONFIG_HASH_ANNOTATION}']}=${args.ksCoreConfigHash}`,
                  ]),
        "pulumi.com/timeoutSeconds": String(args.readyTimeoutSeconds),
    };
}

/** One condition of a Cluster's status (docs/kubesphere.md §3). */
export interface ClusterCondition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
}

/** The part of a Cluster's status we report. */
export interface ClusterReadiness {
    ready: boolean;
    reason: string;
    message: string;
}

/** Summarises a Cluster's `Ready` condition for exports and logs. */
export function clusterReadiness(status: { conditions?: ClusterCondition[] } | undefined): ClusterReadiness {
    const ready = status?.conditions?.find((condition) => condition.type === "Ready");
    if (ready === undefined) {
        return {
            ready: false,
            reason: "NoReadyCondition",
            message: "KubeSphere has not reported a Ready condition yet",
        };
    }
    return { ready: ready.status === "True", reason: ready.reason ?? "", message: ready.message ?? "" };
}
