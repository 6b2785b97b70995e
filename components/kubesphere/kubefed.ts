/**
 * What KubeSphere 3.x's federation join needs besides the Cluster (docs/kubesphere.md §12): kubefed's KubeFedCluster
 * CRD on the host (ks-installer installs kubefed with the host role) and KubeSphere's Workspace CRD on every member
 * (the join lists the member's Workspaces). Without them KubeSphere reports `Federated=False` with client-go's words and
 * the Cluster never becomes Ready. The names, how to tell the two failures apart in a reason, and their fixes, in one
 * place for the host-ready wait, the member pre-flight and the diagnosis.
 */

/** kubefed's CRD on the host (v3.4.1 pkg/controller/cluster/join.go createKubeFedCluster). */
export const KUBEFED_CLUSTER_CRD = "kubefedclusters.core.kubefed.io";

/** KubeSphere's Workspace CRD on a member (v3.4.1 join.go checkWorkspaces). */
export const WORKSPACE_CRD = "workspaces.tenant.kubesphere.io";

/** How to find out why a host has no kubefed: its installer's log and its multicluster status. */
export const KUBEFED_FIX =
    "read the host's ks-installer log (kubectl -n kubesphere-system logs deploy/ks-installer) and its multicluster status " +
    "(kubectl get cc ks-installer -n kubesphere-system -o jsonpath='{.status.multicluster}'): ks-installer installs kubefed " +
    "with the host role, and a failed kubefed install leaves the CRD out; re-run the installer once fixed " +
    "(kubectl -n kubesphere-system rollout restart deploy/ks-installer), then `pulumi up` again";

/** A member without the Workspace CRD has a broken KubeSphere install. */
export function workspaceFix(member: string): string {
    return (
        `repair KubeSphere's install on member "${member}": its CRD ${WORKSPACE_CRD} (part of ks-core) is missing ` +
        `(kubectl get crd ${WORKSPACE_CRD}; the installer's log: kubectl -n kubesphere-system logs deploy/ks-installer), ` +
        `then \`pulumi up\` again`
    );
}

/**
 * Which CRD a `Federated=False` reason says is missing: the host's KubeFedCluster (controller-runtime's `no matches for
 * kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"`), the member's Workspace (client-go's `the server could
 * not find the requested resource (get workspaces.tenant.kubesphere.io)`), or neither.
 */
export function missingJoinCrd(reason: string | undefined): "KubeFedCluster" | "Workspace" | undefined {
    if (reason === undefined) return undefined;
    if (/KubeFedCluster/.test(reason)) return "KubeFedCluster";
    if (/\bworkspaces\b/i.test(reason)) return "Workspace";
    return undefined;
}
