/**
 * The KubeSphere releases the emulator can play, and what differs between them (docs/kubesphere.md §9). TEST ONLY: these
 * are the emulator's own facts, read from KubeSphere's source per tag; never imported from the product.
 */

/** A sandbox cluster's KubeSphere minor version. */
export type KubesphereVersion = "3.1" | "3.2" | "3.3" | "3.4" | "4.1";

export const KUBESPHERE_VERSIONS: readonly KubesphereVersion[] = ["3.1", "3.2", "3.3", "3.4", "4.1"];

/** The version a sandbox cluster gets when none is named. */
export const DEFAULT_KUBESPHERE_VERSION: KubesphereVersion = "3.4";

export interface VersionTraits {
    /** The patch release emulated, as ks-apiserver reports it (`status.kubeSphereVersion`, ks-installer `status.core.version`). */
    release: string;
    /** 3.x is installed by ks-installer (ClusterConfiguration); 4.x by the ks-core Helm chart. */
    generation: 3 | 4;
    /**
     * 3.1/3.2's kubesphere-config template renders the `multicluster` block for hosts only, and without `clusterRole`
     * (ks-installer v3.2.1); 3.3+ always renders `clusterRole`.
     */
    rendersClusterRole: boolean;
    /**
     * ks-installer renders `multicluster.hostClusterName` on a host and the controller names its own Cluster entry
     * after it (3.2+). 3.1 has no such option: the template renders none (ks-installer v3.1.1 kubesphere-config.yaml.j2)
     * and the entry is always "host" (kubesphere v3.1.1 pkg/controller/cluster/cluster_controller.go hostCluster).
     */
    hostClusterNameOption: boolean;
    /**
     * The member's `oauthOptions`: 3.1 renders the ClusterConfiguration's `authentication.oauthOptions` when it has one
     * and `accessTokenMaxAge: 0` only otherwise (ks-installer v3.1.1 `if oauthOptions … elif member`); 3.2+ give a
     * member `accessTokenMaxAge: 0` whatever the spec says.
     */
    specOauthOptionsWinOnMembers: boolean;
    /** The Cluster CRD has `status.uid` and the controller writes it (3.3+; the 3.2 CRD has no such field). */
    writesStatusUid: boolean;
    /** On a failed federation join the controller also writes Ready=False (3.3+; 3.2 writes only Federated=False). */
    writesReadyOnJoinFailure: boolean;
    /**
     * The KubeConfigCertExpiresInSevenDays step: "strict" (3.3.x) fails on a kubeconfig without a client certificate
     * ("empty CertData") and returns before the status is written; "lenient" (3.4.x) treats it as never expiring;
     * undefined: no such step (3.2).
     */
    certificateExpiryCheck?: "strict" | "lenient";
    /** After Ready the controller writes `multicluster.clusterName` into the member's kubesphere-config (3.3, 3.4). */
    writesClusterNameIntoMemberConfig: boolean;
    /** The Cluster UPDATE validating webhook `validating-cluster.kubesphere.io` (3.4.x only). */
    clusterWebhook: boolean;
    /**
     * The label of ks-installer's Deployment and pod: `app: ks-install` in ks-installer v3.2.1's
     * deploy/kubesphere-installer.yaml (3.1 taken as 3.2), `app: ks-installer` in v3.4.1's (3.3 taken as 3.4);
     * container `installer`, image `kubesphere/ks-installer:<release>`. Undefined on 4.x (no ks-installer).
     */
    installerPodLabel?: string;
    /** tower's image (ks-installer roles/download: v0.2.1 in 3.4, v0.2.0 in 3.1–3.3; 4.1's extension: v0.2.1). */
    towerImage: string;
}

export const VERSION_TRAITS: Record<KubesphereVersion, VersionTraits> = {
    // kubesphere v3.1.1's cluster controller is v3.2.1's but for the fixed host entry name; the Cluster CRD is the same
    // file (ks-installer v3.1.1 roles/common/files/ks-crds vs v3.2.1 roles/ks-core/ks-core/files/ks-core/crds).
    "3.1": {
        release: "v3.1.1",
        generation: 3,
        installerPodLabel: "ks-install",
        rendersClusterRole: false,
        hostClusterNameOption: false,
        specOauthOptionsWinOnMembers: true,
        writesStatusUid: false,
        writesReadyOnJoinFailure: false,
        writesClusterNameIntoMemberConfig: false,
        clusterWebhook: false,
        towerImage: "kubesphere/tower:v0.2.0",
    },
    "3.2": {
        release: "v3.2.1",
        generation: 3,
        installerPodLabel: "ks-install",
        rendersClusterRole: false,
        hostClusterNameOption: true,
        specOauthOptionsWinOnMembers: false,
        writesStatusUid: false,
        writesReadyOnJoinFailure: false,
        writesClusterNameIntoMemberConfig: false,
        clusterWebhook: false,
        towerImage: "kubesphere/tower:v0.2.0",
    },
    "3.3": {
        release: "v3.3.2",
        generation: 3,
        installerPodLabel: "ks-installer",
        rendersClusterRole: true,
        hostClusterNameOption: true,
        specOauthOptionsWinOnMembers: false,
        writesStatusUid: true,
        writesReadyOnJoinFailure: true,
        certificateExpiryCheck: "strict",
        writesClusterNameIntoMemberConfig: true,
        clusterWebhook: false,
        towerImage: "kubesphere/tower:v0.2.0",
    },
    "3.4": {
        release: "v3.4.1",
        generation: 3,
        installerPodLabel: "ks-installer",
        rendersClusterRole: true,
        hostClusterNameOption: true,
        specOauthOptionsWinOnMembers: false,
        writesStatusUid: true,
        writesReadyOnJoinFailure: true,
        certificateExpiryCheck: "lenient",
        writesClusterNameIntoMemberConfig: true,
        clusterWebhook: true,
        towerImage: "kubesphere/tower:v0.2.1",
    },
    "4.1": {
        release: "v4.1.3",
        generation: 4,
        rendersClusterRole: true,
        hostClusterNameOption: true,
        specOauthOptionsWinOnMembers: false,
        writesStatusUid: true,
        writesReadyOnJoinFailure: false,
        writesClusterNameIntoMemberConfig: false,
        clusterWebhook: false,
        towerImage: "kubesphere/tower:v0.2.1",
    },
};

export function parseKubesphereVersion(value: string, where: string): KubesphereVersion {
    if ((KUBESPHERE_VERSIONS as readonly string[]).includes(value)) {
        return value as KubesphereVersion;
    }
    throw new Error(`${where} must be one of ${KUBESPHERE_VERSIONS.join(", ")}, got "${value}"`);
}
