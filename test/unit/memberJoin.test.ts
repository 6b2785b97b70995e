import * as assert from "assert";
import { Diagnosis } from "../../components/members/diagnosis/findings";
import { assessClusterJoin, ClusterJoinState, waitForClusterJoin } from "../../components/members/direct/memberJoin";

const ready: ClusterJoinState = {
    conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" }],
};
const notReady: ClusterJoinState = {
    conditions: [
        {
            type: "Federated",
            status: "False",
            reason: "connect ECONNREFUSED 127.0.0.1:1",
            message: "Cluster can not join federation control plane",
        },
        {
            type: "Ready",
            status: "False",
            reason: "Cluster join federation control plane failed",
            message: "Cluster is Not Ready now",
        },
    ],
};
const unreachable: Diagnosis = {
    member: "m1",
    findings: [
        {
            check: "serverReachable",
            title: "kubeconfig KubeSphere got: server reachable",
            verdict: "fail",
            evidence: "it points at https://127.0.0.1:1",
            fix: "set members[0].apiServerEndpoint",
        },
    ],
    cause: {
        check: "serverReachable",
        title: "kubeconfig KubeSphere got: server reachable",
        verdict: "fail",
        evidence: "it points at https://127.0.0.1:1",
        fix: "set members[0].apiServerEndpoint",
    },
};
const nothing: Diagnosis = { member: "m1", findings: [] };

function run(
    states: Array<ClusterJoinState | undefined>,
    diagnosis: Diagnosis,
    extra: { ksCoreConfigHash?: string } = {},
) {
    let time = 0;
    let reads = 0;
    let diagnoses = 0;
    const done = waitForClusterJoin({
        member: "m1",
        configKey: "members[0]",
        read: async () => states[Math.min(reads++, states.length - 1)],
        diagnose: async () => {
            diagnoses++;
            return diagnosis;
        },
        timeoutMs: 60_000,
        log: () => undefined,
        now: () => time,
        sleep: async (ms) => {
            time += ms;
        },
        ...extra,
    });
    return { done, counts: () => ({ reads, diagnoses, time }) };
}

describe("member join wait (the program's own wait for Ready)", () => {
    it("assesses Ready, and on 4.x KSCoreReady and the config hash", () => {
        assert.deepStrictEqual(assessClusterJoin(ready), { state: "joined" });
        assert.strictEqual(assessClusterJoin(undefined).state, "pending");
        assert.deepStrictEqual(assessClusterJoin({ conditions: [] }), {
            state: "pending",
            detail: "no Ready condition yet",
            failing: false,
        });
        const failing = assessClusterJoin(notReady);
        assert.ok(
            failing.state === "pending" &&
                failing.failing &&
                /Ready=False \(Cluster is Not Ready now/.test(failing.detail),
        );
        const ksCore = {
            conditions: [...ready.conditions, { type: "KSCoreReady", status: "True" }],
            configHash: "old",
        };
        assert.strictEqual(assessClusterJoin(ksCore, "new").state, "pending", "reinstall not done");
        assert.strictEqual(assessClusterJoin({ ...ksCore, configHash: "new" }, "new").state, "joined");
    });

    it("returns the Cluster once Ready", async () => {
        const { done } = run([{ conditions: [] }, ready], nothing);
        assert.deepStrictEqual((await done).cluster, ready);
    });

    it("fails at once when KubeSphere reports a failure a blocking check explains, cause first", async () => {
        const { done, counts } = run([notReady], unreachable);
        await assert.rejects(done, (err: Error) => {
            assert.match(
                err.message.split("\n")[0],
                /^member "m1": kubeconfig KubeSphere got: server reachable: it points at https:\/\/127\.0\.0\.1:1\. Fix: /,
            );
            assert.match(err.message, /stopped waiting/);
            return true;
        });
        assert.ok(counts().time < 60_000, "before the timeout");
    });

    it("diagnoses at most every 15 s while nothing explains the failure, and at the timeout", async () => {
        const { done, counts } = run([notReady], nothing);
        await assert.rejects(done, /was not Ready within 60s .*found no cause/);
        assert.ok(counts().diagnoses <= 60 / 15 + 2, `diagnosed ${counts().diagnoses} times`);
    });
});
