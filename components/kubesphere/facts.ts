/**
 * What the reads find on a cluster before and during a join (docs/kubesphere.md §9: where each fact lives): its
 * KubeSphere install, the Clusters a host has imported, the host role and the member installer's state. Plain data.
 */
import type { KubesphereSettings } from "./kubesphereConfig";
import { KubesphereInstall, parseKubesphereRelease } from "./kubesphereVersion";

/** What a cluster says about itself (read by reads.ts readClusterFacts). */
export interface ClusterFacts {
    /** UID of the cluster's kube-system namespace: KubeSphere's identity of a cluster. */
    kubeSystemUid: string;
    /** ClusterConfiguration kubesphere-system/ks-installer (KubeSphere 3.x); undefined when it does not exist. */
    installer?: {
        /** `spec.multicluster.clusterRole`. */
        clusterRole?: string;
        /** `spec.authentication.jwtSecret` (secret; compared only); undefined when empty. */
        jwtSecret?: string;
        /** `status.core.version`, e.g. `v3.4.1`: where 3.x keeps its version. */
        version?: string;
        /**
         * `spec.authentication.oauthOptions.accessTokenMaxAge` when the spec has `oauthOptions` (null: without that key);
         * absent when it has none. KubeSphere 3.1 renders those options instead of a member's `accessTokenMaxAge: 0`.
         */
        oauthOptionsAccessTokenMaxAge?: unknown;
    };
    /** kubesphere-config's kubesphere.yaml; undefined when absent or unreadable. */
    config?: KubesphereSettings;
    /** Why kubesphere.yaml could not be read, when it exists but does not parse. */
    configProblem?: string;
    /** Namespace kubesphere-system; undefined when it does not exist (a bare 4.x member). */
    kubesphereNamespace?: {
        /** 4.x: annotation `cluster.kubesphere.io/host-cluster`, the host that manages this cluster. */
        hostCluster?: string;
    };
}

/** A Cluster object already on the host. */
export interface ImportedCluster {
    name: string;
    /** status.uid: the imported cluster's kube-system UID, once KubeSphere has connected to it. */
    uid?: string;
    /** Whether this is the host's own entry (label `cluster-role.kubesphere.io/host`). */
    isHostEntry: boolean;
    /** status.kubeSphereVersion; on 4.x the host's own entry is where the host's version lives. */
    kubeSphereVersion?: string;
    /** Its Ready condition is True (as KubeSphere last wrote it). */
    ready?: boolean;
    /** The Pulumi stack that created it, from the program's annotation (kubesphereObjects.ts STACK_ANNOTATION); absent without one. */
    stack?: string;
    /** `spec.connection.type`: `direct` or `proxy`. */
    connectionType?: string;
    /** The member API server KubeSphere dials (direct connection; reads.ts connectionEndpoint); never a credential. */
    endpoint?: string;
}

/** What the program knows about the host, read once per run (components/host/hostCluster.ts sharedHostFacts). */
export interface HostFacts {
    /** The host's name in the program (`host.name`). */
    name: string;
    facts: ClusterFacts;
    clusters: ImportedCluster[];
}

/** Another member of the same config, for the "same cluster twice" check. */
export interface FleetMember {
    name: string;
    configKey: string;
    /** Undefined when that member could not be read (its own pre-flight reports why). */
    kubeSystemUid?: string;
}

/**
 * Every member of a federation passed its pre-flight, with what each found. Changes to any cluster of the
 * federation (the host's patch, every member's) wait for it, so a refused member leaves every cluster unchanged.
 */
export interface FleetChecked {
    members: Array<{ name: string; kubesphere: string }>;
}

/** How a cluster's KubeSphere looks before the join (docs/kubesphere.md §9, "where the version is"). */
export function installOf(facts: ClusterFacts, clusters: ImportedCluster[] = []): KubesphereInstall {
    if (facts.installer !== undefined) return { kind: "v3", release: parseKubesphereRelease(facts.installer.version) };
    if (facts.config?.layout === "v4") {
        return {
            kind: "v4",
            release: parseKubesphereRelease(clusters.find((cluster) => cluster.isHostEntry)?.kubeSphereVersion),
        };
    }
    // A 3.x kubesphere-config without ks-installer: KubeSphere 3.x always installs both.
    if (facts.config !== undefined) return { kind: "v3" };
    return { kind: "none" };
}

/** The host's own Cluster entry, which KubeSphere creates under `hostClusterName`. */
export function hostEntryOf(clusters: ImportedCluster[]): ImportedCluster | undefined {
    return clusters.find((cluster) => cluster.isHostEntry);
}

/**
 * Why a cluster is a KubeSphere host, or undefined: 3.x `clusterRole: host` in ks-installer's spec or in
 * kubesphere-config, 3.1/3.2's `multicluster.enable: true` without a role, a 4.x `clusterRole: host`.
 */
export function hostRoleEvidence(facts: ClusterFacts): string | undefined {
    if (facts.installer?.clusterRole === "host") return "its ks-installer has spec.multicluster.clusterRole: host";
    if (facts.config?.clusterRole === "host") return "its kubesphere-config has multicluster.clusterRole: host";
    if (facts.config?.clusterRole === undefined && facts.config?.multiclusterEnable === true) {
        return "its kubesphere-config has multicluster.enable: true (a KubeSphere 3.1/3.2 host)";
    }
    return undefined;
}

/** What the host shows; undefined parts could not be found. */
export interface HostRoleState {
    /** kubesphere-config's multicluster settings; undefined when the ConfigMap or its key does not exist. */
    config?: { clusterRole?: string; multiclusterEnable?: boolean };
    /** The Cluster labelled `cluster-role.kubesphere.io/host`, once KubeSphere has created it. */
    hostEntry?: ImportedCluster;
    /**
     * kubefed's CRD kubefedclusters.core.kubefed.io (kubefed.ts), which every 3.x join needs: found, missing, or
     * undefined when it could not be told (then the wait does not hold on it).
     */
    kubefedCrd?: boolean;
}

/** What the member says about itself; undefined parts could not be found. */
export interface MemberInstallerState {
    /** `spec` values of ks-installer; undefined when the object does not exist. */
    installer?: { clusterRole?: string; jwtSecret?: string };
    /** kubesphere-config values; undefined when the ConfigMap or its key does not exist. */
    config?: { clusterRole?: string; jwtSecret?: string; accessTokenMaxAge?: number | string };
}
