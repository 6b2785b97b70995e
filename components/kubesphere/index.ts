/** KubeSphere objects: the Cluster, ks-installer and kubesphere-config as KubeSphere reads and writes them, per version. */
export type { ClusterReadiness } from "./kubesphereObjects";
