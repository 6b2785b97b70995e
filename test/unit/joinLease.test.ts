/** The join lease's verdicts (components/members/joinLease.ts), and taking it against a fake host's Leases. */
import * as assert from "assert";
import type { JoinLease, JoinLeaseHolder, JoinLeaseWrite } from "../../components/kubesphere/joinLeases";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";
import {
    JOIN_LEASE_SECONDS,
    JoinLeaseTarget,
    joinLeaseVerdict,
    takeJoinLease,
} from "../../components/members/joinLease";
import { tokenKubeconfig } from "../fixtures/kubeconfigs";
import { fakeClusterAccess } from "./pulumiMocks";

const NOW = new Date("2026-12-03T06:00:00Z");
const secondsBefore = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);
const OURS = "organization/kubesphere-federation/race-a";
const THEIRS = "organization/kubesphere-federation/race-b";
const NAME = "kubesphere-federation-join-uid-m1";

function lease(holder: string | undefined, takenSecondsAgo: number, renewedSecondsAgo: number): JoinLease {
    return {
        name: NAME,
        holder,
        acquireTime: secondsBefore(takenSecondsAgo),
        renewTime: secondsBefore(renewedSecondsAgo),
        durationSeconds: JOIN_LEASE_SECONDS,
        resourceVersion: "7",
    };
}

const target: JoinLeaseTarget = {
    member: "m1",
    configKey: "members[0]",
    hostName: "host",
    stack: OURS,
    kubeSystemUid: "uid-m1",
};

/** A host's Leases in memory, with the API server's rules: create fails on an existing name, updates on a stale resourceVersion. */
function fakeLeases(initial?: JoinLease, options: { forbidden?: boolean; beforeReplace?: () => void } = {}) {
    const state: { lease?: JoinLease; version: number; writes: string[] } = {
        lease: initial,
        version: Number(initial?.resourceVersion ?? 0),
        writes: [],
    };
    const store = (name: string, held: JoinLeaseHolder): JoinLeaseWrite => {
        state.version++;
        state.lease = { name, ...held, resourceVersion: String(state.version) };
        return { outcome: "written", lease: state.lease };
    };
    const access = fakeClusterAccess({
        createJoinLease: async (_kubeconfig, name, held) => {
            state.writes.push(`create:${held.holder}`);
            if (options.forbidden)
                return {
                    outcome: "forbidden",
                    detail: 'HTTP 403: leases.coordination.k8s.io is forbidden: User "viewer" cannot create resource "leases"',
                };
            if (state.lease !== undefined) return { outcome: "taken" };
            return store(name, held);
        },
        readJoinLease: async () => state.lease,
        replaceJoinLease: async (_kubeconfig, current, held) => {
            options.beforeReplace?.();
            state.writes.push(`replace:${held.holder}`);
            if (state.lease?.resourceVersion !== current.resourceVersion) return { outcome: "taken" };
            return store(current.name, held);
        },
        deleteJoinLease: async (_kubeconfig, current) => {
            state.writes.push("delete");
            if (state.lease?.resourceVersion === current.resourceVersion) state.lease = undefined;
        },
    });
    return { state, access };
}

const take = (access: ReturnType<typeof fakeClusterAccess>, log?: (message: string) => void) =>
    takeJoinLease({
        access,
        hostKubeconfig: parseKubeconfig(tokenKubeconfig("host")),
        target,
        now: () => NOW,
        maxHoldMs: 60_000,
        log,
    });

describe("join lease (pre-change, up only)", () => {
    describe("the verdict on a lease as read", () => {
        it("none: free; this stack's: ours, whatever its age", () => {
            assert.deepStrictEqual(joinLeaseVerdict(undefined, OURS, NOW), { kind: "free" });
            assert.deepStrictEqual(joinLeaseVerdict(lease(OURS, 10, 5), OURS, NOW), { kind: "ours" });
            assert.deepStrictEqual(joinLeaseVerdict(lease(OURS, 900, 900), OURS, NOW), { kind: "ours" });
        });

        it("another stack's within renewTime + duration: held, with its age and last renewal", () => {
            assert.deepStrictEqual(joinLeaseVerdict(lease(THEIRS, 42, 12), OURS, NOW), {
                kind: "held",
                holder: THEIRS,
                ageSeconds: 42,
                renewedSecondsAgo: 12,
                durationSeconds: JOIN_LEASE_SECONDS,
            });
            assert.strictEqual(joinLeaseVerdict(lease(THEIRS, 200, JOIN_LEASE_SECONDS), OURS, NOW).kind, "held");
        });

        it("another stack's past renewTime + duration, or without a holder: stale", () => {
            assert.deepStrictEqual(joinLeaseVerdict(lease(THEIRS, 300, JOIN_LEASE_SECONDS + 1), OURS, NOW), {
                kind: "stale",
                holder: THEIRS,
                renewedSecondsAgo: JOIN_LEASE_SECONDS + 1,
            });
            assert.strictEqual(joinLeaseVerdict(lease(undefined, 5, 5), OURS, NOW).kind, "stale");
        });
    });

    describe("taking it", () => {
        it("free: one create, holder this stack; release deletes it", async () => {
            const { state, access } = fakeLeases();
            const held = await take(access);
            assert.deepStrictEqual(state.writes, [`create:${OURS}`]);
            assert.strictEqual(state.lease?.holder, OURS);
            assert.strictEqual(state.lease?.durationSeconds, JOIN_LEASE_SECONDS);
            await held.release();
            assert.strictEqual(state.lease, undefined);
        });

        it("held by another stack: refused naming that stack, the lease's age and the fix; the lease is left alone", async () => {
            const { state, access } = fakeLeases(lease(THEIRS, 42, 12));
            await assert.rejects(
                () => take(access),
                (err: Error) => {
                    assert.strictEqual(
                        err.message,
                        `member "m1" (members[0]): stack ${THEIRS} is joining the same cluster (kube-system namespace UID uid-m1) to host "host" right now: ` +
                            `it holds the join lease (Lease kubesphere-system/${NAME}, taken 42s ago, last renewed 12s ago, for ${JOIN_LEASE_SECONDS}s), ` +
                            `and this stack ${OURS} changed nothing. Fix: keep each cluster in one stack: remove members[0] from this stack's config, ` +
                            `or wait for the \`pulumi up\` of stack ${THEIRS} to finish and run \`pulumi up\` again (its pre-flight then names the stack ` +
                            `that has the cluster). If no \`pulumi up\` of stack ${THEIRS} is running, the lease expires ${JOIN_LEASE_SECONDS}s after its ` +
                            `last renewal; deleting it is safe (kubectl -n kubesphere-system delete lease ${NAME})`,
                    );
                    return true;
                },
            );
            assert.deepStrictEqual(state.writes, [`create:${OURS}`]);
            assert.strictEqual(state.lease?.holder, THEIRS);
        });

        it("stale: taken over by an update guarded by its resourceVersion, and said so", async () => {
            const { state, access } = fakeLeases(lease(THEIRS, 600, 500));
            const logs: string[] = [];
            await take(access, (message) => logs.push(message));
            assert.deepStrictEqual(state.writes, [`create:${OURS}`, `replace:${OURS}`]);
            assert.strictEqual(state.lease?.holder, OURS);
            assert.strictEqual(state.lease?.acquireTime?.getTime(), NOW.getTime(), "a new hold");
            assert.deepStrictEqual(logs, [
                `member "m1": took over the stale join lease of stack ${THEIRS} (last renewed 500s ago)`,
            ]);
        });

        it("stale, and another stack takes it over first: this one's guarded update loses and it is refused naming the winner", async () => {
            const { state, access } = fakeLeases(lease(THEIRS, 600, 500), {
                // The other taker's update lands between this stack's read and its update.
                beforeReplace: () => {
                    if (state.lease?.holder === THEIRS)
                        state.lease = {
                            ...lease("organization/kubesphere-federation/race-c", 0, 0),
                            resourceVersion: "8",
                        };
                },
            });
            await assert.rejects(
                () => take(access),
                /stack organization\/kubesphere-federation\/race-c is joining the same cluster/,
            );
            assert.strictEqual(state.lease?.holder, "organization/kubesphere-federation/race-c");
        });

        it("this stack's own left-over lease (an earlier `up` that was killed): taken again, no refusal", async () => {
            const { state, access } = fakeLeases(lease(OURS, 30, 20));
            await take(access);
            assert.deepStrictEqual(state.writes, [`create:${OURS}`, `replace:${OURS}`]);
            assert.strictEqual(state.lease?.holder, OURS);
        });

        it("403: refused naming the RBAC rule the host's kubeconfig needs", async () => {
            const { access } = fakeLeases(undefined, { forbidden: true });
            await assert.rejects(
                () => take(access),
                (err: Error) => {
                    assert.match(
                        err.message,
                        /^member "m1" \(members\[0\]\): the host's kubeconfig may not write the join lease on host "host" \(Lease kubesphere-system\/kubesphere-federation-join-uid-m1: HTTP 403: .*\), which keeps two stacks from joining the same cluster at once; nothing was changed\. Fix: allow the host kubeconfig's identity the RBAC rule apiGroups: \["coordination\.k8s\.io"\], resources: \["leases"\], verbs: \["get", "create", "update", "delete"\] in namespace kubesphere-system/,
                    );
                    return true;
                },
            );
        });
    });
});
