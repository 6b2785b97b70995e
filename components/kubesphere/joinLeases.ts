/**
 * The join lease on a host: a `coordination.k8s.io/v1` Lease the program takes before it creates a member's Cluster,
 * so two stacks joining the same cluster at the same moment cannot both pass the cross-stack checks
 * (members/joinLease.ts decides; docs/host-and-member-stacks.md says what the object is). Writes only this Lease.
 *
 * Why kubesphere-system: the lease belongs with the federation KubeSphere keeps there (kubesphere-config, ks-installer
 * on 3.x), the namespace exists on every KubeSphere host (3.x and 4.x), and it goes with KubeSphere when KubeSphere is
 * uninstalled; kube-system is Kubernetes' own components' (their leader-election Leases).
 */
import { ApiException, CoordinationV1Api, V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { clientConfig, describeKubeError, withTimeout } from "../kubernetes/transport";
import { KUBESPHERE_NAMESPACE } from "./kubesphereConfig";

/** Where the program keeps its join leases on the host. */
export const JOIN_LEASE_NAMESPACE = KUBESPHERE_NAMESPACE;

/** The join lease of the cluster whose kube-system namespace has this UID (one per cluster, whatever its member name). */
export function joinLeaseName(kubeSystemUid: string): string {
    return `kubesphere-federation-join-${kubeSystemUid}`;
}

/** A join lease as read from the host. */
export interface JoinLease {
    name: string;
    /** `spec.holderIdentity`: the stack holding it (`<organization>/<project>/<stack>`). */
    holder?: string;
    acquireTime?: Date;
    renewTime?: Date;
    durationSeconds?: number;
    /** What an update or delete is guarded by, so two writers cannot both win. */
    resourceVersion: string;
}

/** What a lease write found: written; `taken` (create: it exists; update: it changed since it was read); `forbidden`. */
export type JoinLeaseWrite =
    { outcome: "written"; lease: JoinLease } | { outcome: "taken" } | { outcome: "forbidden"; detail: string };

/** The lease's holder and times as written. */
export interface JoinLeaseHolder {
    holder: string;
    durationSeconds: number;
    /** When it was first taken by this holder. */
    acquireTime: Date;
    renewTime: Date;
}

function coordination(hostKubeconfig: ParsedKubeconfig): CoordinationV1Api {
    return clientConfig(hostKubeconfig).makeApiClient(CoordinationV1Api);
}

function leaseBody(name: string, held: JoinLeaseHolder, resourceVersion?: string): V1Lease {
    return {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
            name,
            namespace: JOIN_LEASE_NAMESPACE,
            ...(resourceVersion === undefined ? {} : { resourceVersion }),
            labels: { "app.kubernetes.io/managed-by": "kubesphere-federation" },
        },
        spec: {
            holderIdentity: held.holder,
            leaseDurationSeconds: held.durationSeconds,
            // MicroTime: the API server parses exactly six fractional digits (a Date's JSON has three).
            acquireTime: new V1MicroTime(held.acquireTime.getTime()),
            renewTime: new V1MicroTime(held.renewTime.getTime()),
        },
    };
}

function joinLeaseOf(lease: V1Lease): JoinLease {
    const time = (value: unknown) => (value === undefined || value === null ? undefined : new Date(value as string));
    return {
        name: lease.metadata?.name ?? "",
        holder: lease.spec?.holderIdentity || undefined,
        acquireTime: time(lease.spec?.acquireTime),
        renewTime: time(lease.spec?.renewTime),
        durationSeconds: lease.spec?.leaseDurationSeconds,
        resourceVersion: lease.metadata?.resourceVersion ?? "",
    };
}

/** A write's answer: 409 is "someone else's" (AlreadyExists on create, Conflict on a guarded update), 403 forbidden. */
function writeOutcome(err: unknown, name: string): JoinLeaseWrite {
    if (err instanceof ApiException && err.code === 409) return { outcome: "taken" };
    if (err instanceof ApiException && err.code === 403)
        return { outcome: "forbidden", detail: describeKubeError(err) };
    throw new Error(`writing Lease ${JOIN_LEASE_NAMESPACE}/${name} on the host: ${describeKubeError(err)}`);
}

/** Creates the lease; atomic on the API server, so of two creators exactly one gets `written`, the other `taken`. */
export async function createJoinLease(
    hostKubeconfig: ParsedKubeconfig,
    name: string,
    held: JoinLeaseHolder,
): Promise<JoinLeaseWrite> {
    try {
        const lease = await withTimeout(() =>
            coordination(hostKubeconfig).createNamespacedLease({
                namespace: JOIN_LEASE_NAMESPACE,
                body: leaseBody(name, held),
            }),
        );
        return { outcome: "written", lease: joinLeaseOf(lease) };
    } catch (err) {
        return writeOutcome(err, name);
    }
}

/** The lease as it is now; undefined when there is none. */
export async function readJoinLease(hostKubeconfig: ParsedKubeconfig, name: string): Promise<JoinLease | undefined> {
    try {
        return joinLeaseOf(
            await withTimeout(() =>
                coordination(hostKubeconfig).readNamespacedLease({ name, namespace: JOIN_LEASE_NAMESPACE }),
            ),
        );
    } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw new Error(`reading Lease ${JOIN_LEASE_NAMESPACE}/${name}: ${describeKubeError(err)}`);
    }
}

/**
 * Rewrites the lease read as `current` (a renewal, or taking over a stale one), guarded by its resourceVersion: when
 * someone else wrote it since, `taken`.
 */
export async function replaceJoinLease(
    hostKubeconfig: ParsedKubeconfig,
    current: JoinLease,
    held: JoinLeaseHolder,
): Promise<JoinLeaseWrite> {
    try {
        const lease = await withTimeout(() =>
            coordination(hostKubeconfig).replaceNamespacedLease({
                name: current.name,
                namespace: JOIN_LEASE_NAMESPACE,
                body: leaseBody(current.name, held, current.resourceVersion),
            }),
        );
        return { outcome: "written", lease: joinLeaseOf(lease) };
    } catch (err) {
        return writeOutcome(err, current.name);
    }
}

/** Deletes the lease if it is still as last written (resourceVersion precondition); gone or rewritten: nothing to do. */
export async function deleteJoinLease(hostKubeconfig: ParsedKubeconfig, lease: JoinLease): Promise<void> {
    try {
        await withTimeout(() =>
            coordination(hostKubeconfig).deleteNamespacedLease({
                name: lease.name,
                namespace: JOIN_LEASE_NAMESPACE,
                body: { preconditions: { resourceVersion: lease.resourceVersion } },
            }),
        );
    } catch (err) {
        if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return;
        throw new Error(`deleting Lease ${JOIN_LEASE_NAMESPACE}/${lease.name}: ${describeKubeError(err)}`);
    }
}
