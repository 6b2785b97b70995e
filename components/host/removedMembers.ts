/**
 * Members removed from the config whose API server no longer answers: `pulumi up` would delete their Cluster, and on
 * a 3.4 host that delete hangs (docs/kubesphere.md §7: the Cluster webhook refuses the finalizer's update). Checked
 * before anything changes, from the host's Cluster list the pre-flight already read (federationReads.ts) and one TCP
 * connection per removed member; the fix is `npm run remove-member` (docs/removing-members.md).
 */
import type { EndpointProbe } from "../kubernetes/endpointProbe";
import type { ImportedCluster } from "../kubesphere/facts";
import type { KubesphereInstall } from "../kubesphere/kubesphereVersion";

/**
 * The provider's own opt-in for resources whose cluster does not answer (@pulumi/kubernetes: drops them from the
 * state instead of failing their delete). Set, the user has chosen that path: the 3.4 refusal becomes a warning.
 */
export const DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE";

/** A Cluster of this stack whose member is no longer in the config, and what a connection to its API server found. */
export interface RemovedMember {
    cluster: ImportedCluster;
    /** Undefined for a proxy (agent) Cluster, which the host does not dial: its Ready condition tells instead. */
    probe?: EndpointProbe;
}

/** What the check says. */
export interface RemovedMembersVerdict {
    errors: string[];
    warnings: string[];
}

/**
 * The Clusters `pulumi up` is about to delete: this stack's (its mark), not the host's own entry, not in the config.
 * @param stack this stack, `<organization>/<project>/<stack>`
 */
export function removedClusters(clusters: ImportedCluster[], stack: string, configured: string[]): ImportedCluster[] {
    return clusters.filter(
        (cluster) => !cluster.isHostEntry && cluster.stack === stack && !configured.includes(cluster.name),
    );
}

/** The command that removes a member that is gone, as docs/removing-members.md gives it. */
export function removeMemberCommand(stackName: string, member: string): string {
    return `npm run remove-member -- --stack ${stackName} --member ${member}`;
}

/**
 * The verdict on the removed members: none that does not answer → nothing; one that does not answer on a 3.4 host
 * (whose webhook holds the delete) → an error unless {@link DELETE_UNREACHABLE_ENV} is set; elsewhere a warning.
 * @param stackName the stack's short name, for the command in the fix
 */
export function removedMembersVerdict(input: {
    hostName: string;
    hostInstall: KubesphereInstall;
    stackName: string;
    removed: RemovedMember[];
    deleteUnreachable: boolean;
}): RemovedMembersVerdict {
    const verdict: RemovedMembersVerdict = { errors: [], warnings: [] };
    const release = input.hostInstall.kind === "v3" ? input.hostInstall.release : undefined;
    const webhookHolds = release?.major === 3 && release.minor === 4;
    for (const { cluster, probe } of input.removed) {
        const gone =
            probe === undefined
                ? cluster.ready !== true && `its agent is not connected (Cluster not Ready)`
                : !probe.answers &&
                  `its API server ${cluster.endpoint} does not answer from this machine (${probe.detail})`;
        if (!gone) continue;
        const fix = `Fix: \`${removeMemberCommand(input.stackName, cluster.name)}\` removes its Cluster and drops its resources from this stack's state`;
        if (webhookHolds && probe !== undefined && !input.deleteUnreachable) {
            verdict.errors.push(
                `member "${cluster.name}" was removed from the config, and ${gone}: host "${input.hostName}" runs KubeSphere ` +
                    `${release?.text}, whose Cluster webhook refuses every update of that Cluster, so its delete ` +
                    `would hang; nothing was changed. ${fix}, or set ${DELETE_UNREACHABLE_ENV}=true to delete it with \`pulumi up\` ` +
                    `and follow docs/removing-members.md "By hand" while it waits`,
            );
        } else {
            const optedIn = input.deleteUnreachable
                ? `${DELETE_UNREACHABLE_ENV} is set: \`pulumi up\` drops its resources on the member from the state` +
                  (webhookHolds && probe !== undefined
                      ? `, and its Cluster's delete waits until the steps of docs/removing-members.md "By hand" are done`
                      : "")
                : `its resources on the member cannot be deleted`;
            verdict.warnings.push(
                `member "${cluster.name}" was removed from the config, and ${gone}: ${optedIn}. ${fix}` +
                    (input.deleteUnreachable ? "" : `; or run \`${DELETE_UNREACHABLE_ENV}=true pulumi up\``),
            );
        }
    }
    return verdict;
}

/**
 * Reads what the verdict needs: of the host's Clusters (as the pre-flight read them), this stack's that the config no
 * longer lists, each probed with one TCP connection to its API server (proxy Clusters: none, the host does not dial).
 * Nothing is read when no member was removed.
 */
export async function readRemovedMembers(
    clusters: ImportedCluster[],
    stack: string,
    configured: string[],
    probe: (server: string) => Promise<EndpointProbe>,
): Promise<RemovedMember[]> {
    return Promise.all(
        removedClusters(clusters, stack, configured).map(async (cluster) => ({
            cluster,
            ...(cluster.connectionType === "proxy" || cluster.endpoint === undefined
                ? {}
                : { probe: await probe(cluster.endpoint) }),
        })),
    );
}
