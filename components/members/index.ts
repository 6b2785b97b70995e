/**
 * Members: each member's pre-flight, its KubeSphere settings (3.x), the credentials KubeSphere gets, the Cluster on the
 * host (direct or agent connection), the join wait and, when a wait fails, the diagnosis.
 */
export { MemberCluster } from "./memberCluster";
export type { ClusterStatus, MemberClusterArgs, MemberPreflight } from "./memberClusterArgs";
export { defaultImportCredentials } from "./direct/importCredentials";
