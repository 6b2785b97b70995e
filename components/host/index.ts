/** Host: the cluster made the KubeSphere host (pre-flight, ks-installer patch, host-role wait) and what members take from it. */
export { HostCluster } from "./hostCluster";
export type { FederationHost, HostClusterArgs, HostReadiness } from "./hostCluster";
