/**
 * KubeSphere objects: the Cluster, ks-installer and kubesphere-config as KubeSphere reads and writes them, per version;
 * the direct reads of them, as one ClusterAccess.
 */
export type { ClusterReadiness } from "./kubesphereObjects";
export type { ClusterAccess } from "./clusterAccess";
