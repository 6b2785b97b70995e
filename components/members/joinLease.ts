/**
 * The join lease, the step after the pre-flight (memberCluster.ts says the order): two stacks adding the same cluster
 * at the same moment would each pass the pre-flight (each reads the host's Clusters before either has created one), so
 * before any change `pulumi up` takes a Lease on the host named for the member's kube-system UID
 * (kubesphere/joinLeases.ts), runs the checks between stacks again on a fresh list of the host's Clusters, and
 * releases the lease once its Cluster has joined (KubeSphere records the member's kube-system UID in the Cluster's
 * status only then, which is what the other stack's check reads). A lease another stack holds refuses; a stale one
 * (past its renewTime + duration: its holder crashed or was killed) is taken over. A step that fails after it (a wait
 * that timed out) releases it too (releasedAfter); a killed `up` leaves it to expire (JOIN_LEASE_SECONDS after its
 * last renewal); deleting it by hand is safe (docs/host-and-member-stacks.md).
 * Not in previews, and not for a member whose Cluster this stack already has: a no-change `up` makes no request.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS,
    DEFAULT_INSTALLER_TIMEOUT_SECONDS,
    DEFAULT_READY_TIMEOUT_SECONDS,
} from "../config/configSchema";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { asResourceError, refusal } from "../kubernetes/resourceErrors";
import type { ClusterAccess } from "../kubesphere/clusterAccess";
import type { HostFacts } from "../kubesphere/facts";
import { JOIN_LEASE_NAMESPACE, JoinLease, JoinLeaseWrite, joinLeaseName } from "../kubesphere/joinLeases";
import { MemberContext, thisStack } from "./memberContext";
import type { ClusterStatus, MemberPreflight } from "./memberClusterArgs";
import { crossStackErrors } from "./memberPreflight";

/** How long a join lease lasts without renewal; renewed every third of it while this stack's join lasts. */
export const JOIN_LEASE_SECONDS = 90;

/** What a join lease found on the host means for this stack. */
export type JoinLeaseVerdict =
    | { kind: "free" }
    | { kind: "ours" }
    | { kind: "stale"; holder: string; renewedSecondsAgo: number }
    | { kind: "held"; holder: string; ageSeconds: number; renewedSecondsAgo: number; durationSeconds: number };

/** The verdict on a lease as read (undefined: none): this stack's, another stack's and current, or past its duration. */
export function joinLeaseVerdict(lease: JoinLease | undefined, stack: string, now: Date): JoinLeaseVerdict {
    if (lease === undefined) return { kind: "free" };
    if (lease.holder === stack) return { kind: "ours" };
    const holder = lease.holder ?? "(no holderIdentity)";
    const renewed = lease.renewTime ?? lease.acquireTime;
    const durationSeconds = lease.durationSeconds ?? JOIN_LEASE_SECONDS;
    const renewedSecondsAgo = renewed === undefined ? Infinity : Math.round((now.getTime() - renewed.getTime()) / 1000);
    // Kubernetes' own rule for leases (client-go leaderelection): expired once renewTime + leaseDurationSeconds is past.
    if (lease.holder === undefined || renewedSecondsAgo > durationSeconds)
        return { kind: "stale", holder, renewedSecondsAgo };
    const acquired = lease.acquireTime ?? renewed!;
    return {
        kind: "held",
        holder,
        ageSeconds: Math.max(0, Math.round((now.getTime() - acquired.getTime()) / 1000)),
        renewedSecondsAgo: Math.max(0, renewedSecondsAgo),
        durationSeconds,
    };
}

/** Who is joining and where: what the lease's messages name. */
export interface JoinLeaseTarget {
    member: string;
    configKey: string;
    hostName: string;
    /** This stack, the lease's holderIdentity. */
    stack: string;
    kubeSystemUid: string;
}

/** The refusal while another stack holds the lease: that stack, the lease's age, and the fix. */
export function heldRefusal(target: JoinLeaseTarget, held: Extract<JoinLeaseVerdict, { kind: "held" }>): string {
    const lease = `${JOIN_LEASE_NAMESPACE}/${joinLeaseName(target.kubeSystemUid)}`;
    return (
        `member "${target.member}" (${target.configKey}): stack ${held.holder} is joining the same cluster (kube-system namespace ` +
        `UID ${target.kubeSystemUid}) to host "${target.hostName}" right now: it holds the join lease (Lease ${lease}, taken ` +
        `${held.ageSeconds}s ago, last renewed ${held.renewedSecondsAgo}s ago, for ${held.durationSeconds}s), and this stack ` +
        `${target.stack} changed nothing. Fix: keep each cluster in one stack: remove ${target.configKey} from this stack's config, or ` +
        `wait for the \`pulumi up\` of stack ${held.holder} to finish and run \`pulumi up\` again (its pre-flight then names the stack ` +
        `that has the cluster). If no \`pulumi up\` of stack ${held.holder} is running, the lease expires ${held.durationSeconds}s after ` +
        `its last renewal; deleting it is safe (kubectl -n ${JOIN_LEASE_NAMESPACE} delete lease ${joinLeaseName(target.kubeSystemUid)})`
    );
}

/** The refusal when the host's kubeconfig may not write Leases: the RBAC rule it needs. */
export function forbiddenRefusal(target: JoinLeaseTarget, detail: string): string {
    return (
        `member "${target.member}" (${target.configKey}): the host's kubeconfig may not write the join lease on host ` +
        `"${target.hostName}" (Lease ${JOIN_LEASE_NAMESPACE}/${joinLeaseName(target.kubeSystemUid)}: ${detail}), which keeps two stacks ` +
        `from joining the same cluster at once; nothing was changed. Fix: allow the host kubeconfig's identity the RBAC rule ` +
        `apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "delete"] in namespace ` +
        `${JOIN_LEASE_NAMESPACE} (a Role and RoleBinding), or use the host's admin kubeconfig (KubeSphere's own host access is cluster-admin)`
    );
}

/** A join lease this stack holds: renewed until released. */
export interface HeldJoinLease {
    /** The lease as last written. */
    current(): JoinLease;
    /** Stops renewing and deletes the lease (if it is still as this stack last wrote it). */
    release(): Promise<void>;
}

/** What taking the lease needs: the access, the host, the member, the clock and how long the join may last. */
export interface TakeJoinLeaseInput {
    access: ClusterAccess;
    hostKubeconfig: ParsedKubeconfig;
    target: JoinLeaseTarget;
    now: () => Date;
    /** Renewals stop after this long (the longest the member's waits may take), so a failed join's lease expires. */
    maxHoldMs: number;
    log?: (message: string) => void;
}

/**
 * Takes the join lease: creates it (atomic: of two creators one gets 409), or takes over this stack's own left-over
 * lease or a stale one (an update guarded by resourceVersion: of two takers one gets 409). Rejects with the refusal
 * when another stack holds it, or when the host forbids Leases.
 */
export async function takeJoinLease(input: TakeJoinLeaseInput): Promise<HeldJoinLease> {
    const { access, hostKubeconfig, target, now } = input;
    const name = joinLeaseName(target.kubeSystemUid);
    const holder = (acquireTime: Date) => ({
        holder: target.stack,
        durationSeconds: JOIN_LEASE_SECONDS,
        acquireTime,
        renewTime: now(),
    });
    let written: JoinLeaseWrite = await access.createJoinLease(hostKubeconfig, name, holder(now()));
    // A lease that disappears or changes between our read and write is read again: a few rounds settle who holds it.
    for (let round = 0; written.outcome === "taken" && round < 3; round++) {
        const found = await access.readJoinLease(hostKubeconfig, name);
        const verdict = joinLeaseVerdict(found, target.stack, now());
        if (verdict.kind === "held") throw new Error(heldRefusal(target, verdict));
        if (verdict.kind === "free") {
            written = await access.createJoinLease(hostKubeconfig, name, holder(now()));
            continue;
        }
        written = await access.replaceJoinLease(hostKubeconfig, found!, holder(now()));
        if (written.outcome === "written" && verdict.kind === "stale")
            input.log?.(
                `member "${target.member}": took over the stale join lease of stack ${verdict.holder} (last renewed ${verdict.renewedSecondsAgo}s ago)`,
            );
    }
    if (written.outcome === "forbidden") throw new Error(forbiddenRefusal(target, written.detail));
    if (written.outcome !== "written") {
        throw new Error(
            `member "${target.member}" (${target.configKey}): the join lease ${JOIN_LEASE_NAMESPACE}/${name} on host "${target.hostName}" ` +
                `kept changing while this stack tried to take it (another stack is taking it). Fix: run \`pulumi up\` again`,
        );
    }
    return heldLease(input, written.lease);
}

/** Renews the lease every third of its duration (not keeping the process alive), until released or maxHoldMs. */
function heldLease(input: TakeJoinLeaseInput, taken: JoinLease): HeldJoinLease {
    const { access, hostKubeconfig, target, now } = input;
    let lease = taken;
    const acquireTime = taken.acquireTime ?? now();
    const until = now().getTime() + input.maxHoldMs;
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(
        () => {
            if (now().getTime() > until) {
                clearInterval(timer);
                return;
            }
            renewing = access
                .replaceJoinLease(hostKubeconfig, lease, {
                    holder: target.stack,
                    durationSeconds: JOIN_LEASE_SECONDS,
                    acquireTime,
                    renewTime: now(),
                })
                .then(
                    (written) => {
                        if (written.outcome === "written") lease = written.lease;
                        else clearInterval(timer);
                    },
                    // A renewal that fails is tried again at the next tick; the lease lasts its duration meanwhile.
                    () => undefined,
                );
        },
        (JOIN_LEASE_SECONDS * 1000) / 3,
    );
    timer.unref();
    return {
        current: () => lease,
        release: async () => {
            clearInterval(timer);
            await renewing;
            await access.deleteJoinLease(hostKubeconfig, lease);
        },
    };
}

/**
 * The lease step: `checked` once this stack holds the member's join lease and the checks between stacks passed again
 * under it (not in previews, nor for a member whose Cluster this stack has), and `releasedAfter` to release it once
 * the join is done. A refusal is a ResourceError on the MemberCluster, before any change.
 */
export function joinLease(
    ctx: MemberContext,
    checked: pulumi.Output<MemberPreflight>,
): {
    checked: pulumi.Output<MemberPreflight>;
    releasedAfter: (
        joined: pulumi.Output<ClusterStatus | undefined>,
        failing: pulumi.Output<unknown>[],
    ) => pulumi.Output<ClusterStatus | undefined>;
} {
    let held: Promise<HeldJoinLease | undefined> = Promise.resolve(undefined);
    // The kubeconfigs are secrets, the pre-flight's result is not: unsecret, or every output after the join (the
    // Cluster's status in the stack outputs) would be shown as [secret].
    const underLease = pulumi.unsecret(
        pulumi
            .all([checked, ctx.kubeconfig, ctx.hostKubeconfig])
            .apply(async ([found, memberKubeconfig, hostKubeconfig]) => {
                const stack = thisStack();
                if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined || stack === undefined) return found;
                held = leaseFor(ctx, { stack, memberKubeconfig, hostKubeconfig });
                try {
                    await held;
                } catch (err) {
                    throw asResourceError(err, ctx.component);
                }
                return found;
            }),
    );
    return {
        checked: underLease,
        releasedAfter: (joined, failing) => {
            let released: Promise<void> | undefined;
            const release = () =>
                (released ??= held.then(
                    (lease) =>
                        lease
                            ?.release()
                            .catch((err: unknown) =>
                                pulumi.log.warn(
                                    `member "${ctx.name}": releasing its join lease failed (${err instanceof Error ? err.message : String(err)}); it expires ${JOIN_LEASE_SECONDS}s after its last renewal`,
                                    ctx.component,
                                ),
                            ),
                    () => undefined,
                ));
            // A failed step (a wait that timed out) ends this run's join: another stack need not wait for the lease
            // to expire, and a process that lives on (the Automation API) stops renewing it.
            for (const step of [joined, ...failing]) whenFailed(step, release);
            return pulumi.all([joined, underLease]).apply(async ([value]) => {
                await release();
                return value;
            });
        },
    };
}

/**
 * Calls `onFailure` when `output` fails, the failure itself left as it was (the rejection is passed on, so Pulumi and
 * the Node.js runtime report it exactly as before). The Output's promise is the SDK's own (`OutputImpl.promise`, not
 * in its type declarations); without it the lease simply expires.
 */
function whenFailed(output: pulumi.Output<unknown>, onFailure: () => void): void {
    const promise = (output as unknown as { promise?: () => Promise<unknown> }).promise;
    if (typeof promise !== "function") return;
    void promise.call(output).then(undefined, (err: unknown) => {
        onFailure();
        throw err;
    });
}

async function leaseFor(
    ctx: MemberContext,
    run: { stack: string; memberKubeconfig: ParsedKubeconfig; hostKubeconfig: ParsedKubeconfig },
): Promise<HeldJoinLease | undefined> {
    const { stack, hostKubeconfig } = run;
    const hostClusterName = ctx.args.host.hostClusterName;
    // Both read once per run already (the pre-flight's): no request here.
    const [facts, host] = await Promise.all([
        ctx.reads.member(ctx.name, run.memberKubeconfig),
        ctx.reads.host(hostClusterName, hostKubeconfig),
    ]);
    // Joined before: the Cluster is this stack's, nothing to race for.
    if (host.clusters.some((cluster) => cluster.name === ctx.name && !cluster.isHostEntry && cluster.stack === stack))
        return undefined;
    const target: JoinLeaseTarget = {
        member: ctx.name,
        configKey: ctx.configKey,
        hostName: host.name,
        stack,
        kubeSystemUid: facts.kubeSystemUid,
    };
    const access = ctx.reads.access;
    const lease = await takeJoinLease({
        access,
        hostKubeconfig,
        target,
        now: () => new Date(),
        maxHoldMs:
            ((ctx.args.installerTimeoutSeconds ?? DEFAULT_INSTALLER_TIMEOUT_SECONDS) +
                (ctx.args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) +
                // A host of this stack may still be becoming a host (its installer wait).
                (ctx.args.host.readyForMembers === undefined ? 0 : DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS)) *
            1000,
        log: (message) => pulumi.log.info(message, ctx.component),
    });
    // Under the lease: the host's Clusters as they are now, where a stack that joined this cluster meanwhile shows.
    let errors: string[];
    try {
        const fresh: HostFacts = { ...host, clusters: await access.listImportedClusters(hostKubeconfig) };
        errors = crossStackErrors({ ...target, host: fresh });
    } catch (err) {
        await lease.release().catch(() => undefined);
        throw err;
    }
    if (errors.length > 0) {
        await lease.release();
        throw refusal(errors.join("\n"), ctx.component);
    }
    return lease;
}
