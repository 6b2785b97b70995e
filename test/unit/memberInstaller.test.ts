import * as assert from "assert";
import { parseKubesphereRelease } from "../../components/kubesphere/kubesphereVersion";
import {
    appliedSignalFor,
    assessMemberInstaller,
    waitForMemberInstaller,
} from "../../components/members/memberInstaller";
import { MemberInstallerState } from "../../components/kubesphere/facts";

const HOST_SECRET = "hostSecret0123456789abcdefghijkl";
const applied: MemberInstallerState = {
    installer: { clusterRole: "member", jwtSecret: HOST_SECRET },
    config: { clusterRole: "member", jwtSecret: HOST_SECRET },
};
const pending: MemberInstallerState = {
    installer: applied.installer,
    config: { clusterRole: "none", jwtSecret: "own-secret" },
};

/** A fake clock: sleep advances time instantly, so waits are tested without waiting. */
function fakeClock() {
    let time = 0;
    const sleeps: number[] = [];
    return {
        now: () => time,
        sleep: async (ms: number) => {
            sleeps.push(ms);
            time += ms;
        },
        sleeps,
    };
}

function wait(
    states: Array<MemberInstallerState | Error>,
    overrides: Partial<Parameters<typeof waitForMemberInstaller>[0]> = {},
) {
    const clock = fakeClock();
    const logs: string[] = [];
    let reads = 0;
    const read = async () => {
        const state = states[Math.min(reads++, states.length - 1)];
        if (state instanceof Error) throw state;
        return state;
    };
    const done = waitForMemberInstaller({
        member: "m1",
        configKey: "members[0]",
        read,
        hostJwtSecret: HOST_SECRET,
        timeoutMs: 60_000,
        log: (message) => logs.push(message),
        now: clock.now,
        sleep: clock.sleep,
        ...overrides,
    });
    return { done, logs, clock, reads: () => reads };
}

describe("assessMemberInstaller", () => {
    it("is applied when kubesphere-config shows the role and the host's secret", () => {
        assert.deepStrictEqual(assessMemberInstaller(applied, HOST_SECRET), { state: "applied" });
    });

    it("is pending while kubesphere-config still shows the old values", () => {
        const assessment = assessMemberInstaller(pending, HOST_SECRET);
        assert.strictEqual(assessment.state, "pending");
        assert.match(
            (assessment as { detail: string }).detail,
            /clusterRole is "none", jwtSecret is not the host's yet/,
        );
        assert.strictEqual(assessMemberInstaller({ installer: applied.installer }, HOST_SECRET).state, "pending");
    });

    it("is drifted when ks-installer no longer holds our settings, or is gone", () => {
        const drifted = assessMemberInstaller(
            { ...applied, installer: { clusterRole: "member", jwtSecret: "edited" } },
            HOST_SECRET,
        );
        assert.strictEqual(drifted.state, "drifted");
        assert.match((drifted as { detail: string }).detail, /jwtSecret differs from the host's/);
        assert.strictEqual(assessMemberInstaller({ config: applied.config }, HOST_SECRET).state, "drifted");
    });
});

describe("assessMemberInstaller on KubeSphere 3.1/3.2 (no multicluster block on members)", () => {
    const legacyApplied: MemberInstallerState = {
        installer: applied.installer,
        config: { jwtSecret: HOST_SECRET, accessTokenMaxAge: 0 },
    };

    it("takes the host's jwtSecret and accessTokenMaxAge 0 as applied, without a clusterRole", () => {
        assert.deepStrictEqual(assessMemberInstaller(legacyApplied, HOST_SECRET, "accessTokenMaxAge"), {
            state: "applied",
        });
        assert.deepStrictEqual(
            assessMemberInstaller(
                { ...legacyApplied, config: { jwtSecret: HOST_SECRET, accessTokenMaxAge: "0s" } },
                HOST_SECRET,
                "accessTokenMaxAge",
            ),
            { state: "applied" },
        );
        assert.strictEqual(
            assessMemberInstaller(legacyApplied, HOST_SECRET, "clusterRole").state,
            "pending",
            "3.3+ needs the role",
        );
    });

    it("is pending while accessTokenMaxAge is not 0 or the secret is not the host's", () => {
        const pendingLegacy = assessMemberInstaller(
            { installer: applied.installer, config: { jwtSecret: HOST_SECRET, accessTokenMaxAge: "2h" } },
            HOST_SECRET,
            "accessTokenMaxAge",
        );
        assert.deepStrictEqual(pendingLegacy, {
            state: "pending",
            detail: 'kubesphere-config: authentication.oauthOptions.accessTokenMaxAge is "2h", not 0 (KubeSphere 3.1/3.2 member)',
        });
        assert.strictEqual(
            assessMemberInstaller(
                { ...legacyApplied, config: { jwtSecret: "own", accessTokenMaxAge: 0 } },
                HOST_SECRET,
                "accessTokenMaxAge",
            ).state,
            "pending",
        );
    });

    it("picks the signal from the member's release", () => {
        assert.deepStrictEqual(
            ["v3.1.1", "v3.2.1", "v3.3.2", "v3.4.1"].map((v) => appliedSignalFor(parseKubesphereRelease(v))),
            ["accessTokenMaxAge", "accessTokenMaxAge", "clusterRole", "clusterRole"],
        );
        assert.strictEqual(appliedSignalFor(undefined), "clusterRole");
    });

    it("waits on 3.2 until the signal shows, saying what it waits for", async () => {
        const run = wait(
            [...Array(20).fill({ installer: applied.installer, config: { jwtSecret: "own" } }), legacyApplied],
            { signal: "accessTokenMaxAge" },
        );
        await run.done;
        assert.ok(
            run.logs.some((line) =>
                /waiting for ks-installer to apply the host's jwtSecret and accessTokenMaxAge 0/.test(line),
            ),
            run.logs.join("\n"),
        );
    });
});

describe("waitForMemberInstaller", () => {
    it("returns at the first poll when the member is already applied", async () => {
        const run = wait([applied]);
        await run.done;
        assert.strictEqual(run.reads(), 1);
        assert.deepStrictEqual(run.clock.sleeps, []);
    });

    it("polls with short, growing, bounded intervals until applied", async () => {
        const run = wait([pending, pending, pending, pending, pending, pending, pending, pending, applied]);
        await run.done;
        assert.strictEqual(run.reads(), 9);
        assert.strictEqual(run.clock.sleeps[0], 250);
        assert.ok(
            run.clock.sleeps.every((ms) => ms <= 1000),
            `intervals ${run.clock.sleeps}`,
        );
        assert.ok(run.clock.sleeps[3] > run.clock.sleeps[0]);
    });

    it("reports progress while it waits", async () => {
        const run = wait([...Array(20).fill(pending), applied]);
        await run.done;
        assert.ok(
            run.logs.some((line) => /member "m1": waiting for ks-installer .*clusterRole is "none"/.test(line)),
            run.logs.join("\n"),
        );
        assert.ok(run.logs.some((line) => /applied the host's jwtSecret and clusterRole member after \d+s/.test(line)));
    });

    it("times out with how to inspect the installer", async () => {
        const run = wait([pending], { timeoutMs: 30_000 });
        await assert.rejects(run.done, (err: Error) => {
            assert.match(
                err.message,
                /member "m1": ks-installer did not apply .* within 30s \(kubesphere-config: clusterRole is "none"/,
            );
            assert.match(err.message, /kubectl -n kubesphere-system logs -l app=ks-install/);
            assert.match(err.message, /members\[0\]\.installerTimeoutSeconds/);
            return true;
        });
        assert.ok(run.clock.now() <= 30_000 + 2000);
    });

    it("fails at once, with the refresh fix, when ks-installer was changed outside Pulumi", async () => {
        const run = wait([{ ...applied, installer: { clusterRole: "none", jwtSecret: HOST_SECRET } }]);
        await assert.rejects(
            run.done,
            /member "m1": ks-installer spec.multicluster.clusterRole is "none" \(changed outside Pulumi\)\. Fix: run `pulumi up --refresh`/,
        );
        assert.strictEqual(run.reads(), 1);
    });

    it("rides out a short outage but fails clearly when the member stays unreachable", async () => {
        const outage = new Error("connect ECONNREFUSED 127.0.0.1:6443");
        const recovered = wait([outage, outage, applied]);
        await recovered.done;
        const down = wait([outage], { unreachableGraceMs: 5000 });
        await assert.rejects(down.done, (err: Error) => {
            assert.match(
                err.message,
                /member "m1": the API server does not answer \(connect ECONNREFUSED 127\.0\.0\.1:6443\)/,
            );
            assert.match(err.message, /members\[0\]\.kubeconfig/);
            return true;
        });
        assert.ok(down.clock.now() < 10_000, "gives up after the grace period, not the full timeout");
    });

    it("never puts a jwtSecret in a message", async () => {
        const run = wait(
            [{ installer: applied.installer, config: { clusterRole: "member", jwtSecret: "member-own-secret-value" } }],
            { timeoutMs: 15_000 },
        );
        await assert.rejects(
            run.done,
            (err: Error) => !err.message.includes(HOST_SECRET) && !err.message.includes("member-own-secret-value"),
        );
        assert.ok(run.logs.every((line) => !line.includes(HOST_SECRET) && !line.includes("member-own-secret-value")));
    });
});
