/** Host: the cluster made the KubeSphere host (pre-flight, ks-installer patch, host-role wait) and what members take from it. */
export { HostCluster } from "./hostCluster";
export type { HostClusterArgs } from "./hostCluster";
export { federationHost } from "./federationHost";
export type { FederationHost, FederationHostArgs } from "./federationHost";
export { FederationReads } from "./federationReads";
