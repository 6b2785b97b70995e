import * as assert from "assert";
import { assessHostRole, waitForHostRole } from "../../components/host/hostInstaller";
import { hostPreflightVerdict, hostWaitPreviewMessage } from "../../components/host/hostPreflight";
import type { HostFacts } from "../../components/kubesphere/facts";
import { freshV3Facts } from "./pulumiMocks";

const SECRET = "hostSecret0123456789abcdefghijkl";
const hostEntry = { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" };

function v3Host(overrides: Partial<HostFacts["facts"]> = {}, clusters = [hostEntry]): HostFacts {
    const facts = freshV3Facts("host");
    return {
        name: "host",
        facts: {
            ...facts,
            installer: { clusterRole: "host", version: "v3.4.1" },
            config: { jwtSecret: SECRET, layout: "v3", clusterRole: "host", multiclusterEnable: true },
            ...overrides,
        },
        clusters,
    };
}

function verdict(host: HostFacts, hostMajor: "v3" | "v4" = "v3") {
    const result = hostPreflightVerdict({ hostMajor, host });
    for (const text of [...result.errors, ...result.warnings]) {
        assert.match(text, /host "host"/);
        assert.match(text, /Fix: /);
        assert.ok(!text.includes(SECRET));
    }
    return result;
}

describe("hostPreflightVerdict", () => {
    it("passes a 3.x host that is a host, reporting its version", () => {
        const result = verdict(v3Host());
        assert.deepStrictEqual([result.errors, result.warnings, result.isHost], [[], [], true]);
        assert.strictEqual(result.install.kind === "v3" && result.install.release?.text, "v3.4.1");
    });

    it("a fresh 3.x install is not a host yet; neither is one whose host Cluster entry does not exist", () => {
        assert.strictEqual(verdict({ ...v3Host(), facts: freshV3Facts("host") }).isHost, false);
        assert.strictEqual(verdict(v3Host({}, [])).isHost, false);
        assert.strictEqual(
            verdict(v3Host({ config: { jwtSecret: SECRET, layout: "v3", multiclusterEnable: true } })).isHost,
            true,
            "3.1/3.2: enable without a role",
        );
    });

    it("refuses a 3.x host without ks-installer, and one that is a member of another federation", () => {
        assert.match(
            verdict({ ...v3Host(), facts: { kubeSystemUid: "u" } }).errors.join(),
            /^KubeSphere 3\.x is not installed on host "host": ClusterConfiguration kubesphere-system\/ks-installer was not found \(KubeSphere found: none\)/,
        );
        assert.match(
            verdict(v3Host({ installer: { clusterRole: "member", version: "v3.4.1" } })).errors.join(),
            /^host "host" is a member of another federation/,
        );
    });

    it("warns when ks-installer reports no version yet", () => {
        assert.match(
            verdict(v3Host({ installer: { clusterRole: "host" } })).warnings.join(),
            /^host "host": its ks-installer reports no status\.core\.version/,
        );
    });

    it("warns when host.name is not the name of KubeSphere's own host Cluster entry", () => {
        const result = verdict(v3Host({}, [{ ...hostEntry, name: "main" }]));
        assert.match(
            result.warnings.join(),
            /^host "host": KubeSphere's own host Cluster entry is named "main", not "host" \(host\.name\).*Fix: set host\.name: main/,
        );
    });

    it('3.1 (no hostClusterName option): warns before the entry exists that it will be named "host", and after, naming 3.1', () => {
        const fresh31: HostFacts = { name: "prod", facts: freshV3Facts("prod", "v3.1.1"), clusters: [] };
        const before = hostPreflightVerdict({ hostMajor: "v3", host: fresh31 });
        assert.deepStrictEqual(before.errors, []);
        assert.match(
            before.warnings.join(),
            /^host "prod": KubeSphere v3\.1\.1 has no hostClusterName option, so KubeSphere will name its own host Cluster entry "host", not "prod" \(host\.name\)\. Fix: set host\.name: host$/,
        );
        assert.deepStrictEqual(
            hostPreflightVerdict({ hostMajor: "v3", host: { ...fresh31, name: "host" } }).warnings,
            [],
            "host.name: host is what 3.1 does",
        );
        assert.deepStrictEqual(
            hostPreflightVerdict({ hostMajor: "v3", host: { ...fresh31, facts: freshV3Facts("prod", "v3.2.1") } })
                .warnings,
            [],
            "3.2 has the option",
        );
        const after = hostPreflightVerdict({
            hostMajor: "v3",
            host: { ...fresh31, clusters: [{ ...hostEntry, kubeSphereVersion: "v3.1.1" }] },
        });
        assert.match(
            after.warnings.join(),
            /^host "prod": KubeSphere's own host Cluster entry is named "host", not "prod" \(host\.name\)\. KubeSphere v3\.1\.1 has no hostClusterName option and always names it "host"\. Fix: set host\.name: host$/,
        );
    });

    it("4.x: passes a host with role host, reporting the version of its own Cluster entry; refuses any other role", () => {
        const v4: HostFacts = {
            name: "host",
            facts: { kubeSystemUid: "u", config: { jwtSecret: SECRET, layout: "v4", clusterRole: "host" } },
            clusters: [{ ...hostEntry, kubeSphereVersion: "v4.1.3" }],
        };
        const ok = verdict(v4, "v4");
        assert.deepStrictEqual(
            [ok.errors, ok.isHost, ok.install.kind === "v4" && ok.install.release?.text],
            [[], true, "v4.1.3"],
        );
        assert.match(
            verdict(
                { ...v4, facts: { ...v4.facts, config: { ...v4.facts.config!, clusterRole: "member" } } },
                "v4",
            ).errors.join(),
            /^host "host" does not run KubeSphere 4\.x as a host: its kubesphere-config has multicluster\.clusterRole "member"/,
        );
        assert.match(
            verdict({ ...v4, facts: { kubeSystemUid: "u", configProblem: "bad yaml" } }, "v4").errors.join(),
            /no readable kubesphere\.yaml \(bad yaml\)/,
        );
    });

    it("in a member stack (host from host.stackReference), every fix names the host stack's keys, not this stack's", () => {
        const hostStack = "acme/kubesphere-federation/fleet-host";
        const v4: HostFacts = {
            name: "host",
            facts: { kubeSystemUid: "u", config: { jwtSecret: SECRET, layout: "v4", clusterRole: "member" } },
            clusters: [{ ...hostEntry, kubeSphereVersion: "v4.1.3" }],
        };
        const fresh31: HostFacts = { name: "prod", facts: freshV3Facts("prod", "v3.1.1"), clusters: [] };
        const cases: Array<[HostFacts, "v3" | "v4"]> = [
            [{ ...v3Host(), facts: { kubeSystemUid: "u" } }, "v3"],
            [v3Host({ installer: { clusterRole: "member", version: "v3.4.1" } }), "v3"],
            [v3Host({}, [{ ...hostEntry, name: "main" }]), "v3"],
            [fresh31, "v3"],
            [v4, "v4"],
        ];
        const texts = cases.flatMap(([host, hostMajor]) => {
            const result = hostPreflightVerdict({ hostMajor, host, hostStack });
            return [...result.errors, ...result.warnings];
        });
        assert.strictEqual(texts.length, 5, texts.join("\n"));
        for (const text of texts) {
            assert.match(
                text,
                /^(KubeSphere 3\.x is not installed on )?host "(host|prod)" \(from stack acme\/kubesphere-federation\/fleet-host\)/,
            );
            const fix = text.slice(text.indexOf("Fix: "));
            const named = fix.replace(
                /host\.[a-zA-Z]+(: [a-z0-9]+( \(or auto\))?)? in host stack acme\/kubesphere-federation\/fleet-host/g,
                "",
            );
            assert.doesNotMatch(
                named,
                /host\.(kubeconfig|name|kubesphereMajor)/,
                `a key this stack does not have: ${fix}`,
            );
            assert.match(fix, /in host stack acme\/kubesphere-federation\/fleet-host/);
            assert.match(
                fix,
                /run `pulumi up` of stack acme\/kubesphere-federation\/fleet-host, then this stack's again$/,
            );
        }
        assert.match(
            texts[2],
            /not "host" \(host\.name of stack acme\/kubesphere-federation\/fleet-host\)\..*Fix: set host\.name: main in host stack acme/,
        );
        assert.match(
            texts[0],
            /Fix: point host\.kubeconfig in host stack acme\/kubesphere-federation\/fleet-host at the KubeSphere host, or set host\.kubesphereMajor: v4 \(or auto\) in host stack/,
        );
    });

    it("says in previews what `up` will wait for", () => {
        assert.match(
            hostWaitPreviewMessage("host", 1800),
            /^host "host": not a host yet; `pulumi up` will patch its ks-installer and wait \(up to 1800s, host\.installerTimeoutSeconds\) until .*cluster-role\.kubesphere\.io\/host.*before any member's Cluster is created$/,
        );
    });
});

describe("assessHostRole", () => {
    it("is done only with the role rendered and the host entry present", () => {
        assert.deepStrictEqual(
            assessHostRole({ config: { clusterRole: "host", multiclusterEnable: true }, hostEntry }),
            { state: "done" },
        );
        assert.deepStrictEqual(assessHostRole({ config: { multiclusterEnable: true }, hostEntry }), { state: "done" });
        assert.deepStrictEqual(
            assessHostRole({ config: { clusterRole: "none", multiclusterEnable: false }, hostEntry: undefined }),
            {
                state: "pending",
                detail: 'kubesphere-config shows clusterRole "none", multicluster.enable false; no Cluster labelled cluster-role.kubesphere.io/host yet',
            },
        );
        assert.deepStrictEqual(assessHostRole({ hostEntry }), {
            state: "pending",
            detail: "kubesphere-config has no kubesphere.yaml yet",
        });
    });

    it("also waits for kubefed's CRD (docs/kubesphere.md §12); a CRD that could not be read does not hold it", () => {
        const host = { config: { clusterRole: "host", multiclusterEnable: true }, hostEntry };
        assert.deepStrictEqual(assessHostRole({ ...host, kubefedCrd: false }), {
            state: "pending",
            detail: "no CRD kubefedclusters.core.kubefed.io (kubefed's KubeFedCluster) yet: KubeSphere joins no Cluster without it",
        });
        assert.deepStrictEqual(assessHostRole({ ...host, kubefedCrd: true }), { state: "done" });
        assert.deepStrictEqual(assessHostRole({ ...host, kubefedCrd: undefined }), { state: "done" });
    });
});

describe("waitForHostRole", () => {
    function run(states: Array<Parameters<typeof assessHostRole>[0] | Error>, timeoutMs = 60_000) {
        let time = 0;
        let reads = 0;
        const logs: string[] = [];
        const done = waitForHostRole({
            hostClusterName: "host",
            read: async () => {
                const state = states[Math.min(reads++, states.length - 1)];
                if (state instanceof Error) throw state;
                return state;
            },
            timeoutMs,
            log: (line) => logs.push(line),
            now: () => time,
            sleep: async (ms) => {
                time += ms;
            },
        });
        return { done, logs, reads: () => reads, time: () => time };
    }
    const pending = { config: { clusterRole: "none", multiclusterEnable: false } };
    const done = { config: { clusterRole: "host", multiclusterEnable: true }, hostEntry };

    it("returns at once for a host, and polls with progress lines until the installer has made it one", async () => {
        const immediate = run([done]);
        assert.deepStrictEqual(await immediate.done, { waitedMs: 0 });
        const slow = run([...Array(25).fill(pending), { config: done.config }, done]);
        const result = await slow.done;
        assert.ok(result.waitedMs > 10_000);
        assert.strictEqual(slow.reads(), 27);
        assert.ok(
            slow.logs.some((line) =>
                /^host "host": waiting for KubeSphere to make it a host before members join \(\d+s; kubesphere-config shows clusterRole "none"/.test(
                    line,
                ),
            ),
            slow.logs.join("\n"),
        );
        assert.ok(slow.logs.some((line) => /^host "host": KubeSphere is running as a host after \d+s$/.test(line)));
    });

    it("times out with what to inspect and the config key to raise", async () => {
        const slow = run([pending], 30_000);
        await assert.rejects(
            slow.done,
            /^Error: host "host": KubeSphere did not become a host within 30s \(kubesphere-config shows clusterRole "none".*\)\. Fix: inspect the installer on the host: .*raise host\.installerTimeoutSeconds/,
        );
        assert.ok(slow.time() <= 32_000);
    });

    it("says it waits for kubefed's CRD, and at the timeout names it and the fix on the first line", async () => {
        const noKubefed = { ...done, kubefedCrd: false };
        const slow = run([noKubefed], 30_000);
        await assert.rejects(slow.done, (err: Error) => {
            const [first, ...rest] = err.message.split("\n");
            assert.match(
                first,
                /^host "host": kubefed's CRD kubefedclusters\.core\.kubefed\.io is missing after 30s: KubeSphere 3\.x joins no Cluster without it .*Fix: read the host's ks-installer log \(kubectl -n kubesphere-system logs deploy\/ks-installer\) and its multicluster status \(kubectl get cc ks-installer -n kubesphere-system -o jsonpath='\{\.status\.multicluster\}'\).*raise host\.installerTimeoutSeconds$/,
            );
            assert.deepStrictEqual(rest, [
                "(still missing: no CRD kubefedclusters.core.kubefed.io (kubefed's KubeFedCluster) yet: KubeSphere joins no Cluster without it)",
            ]);
            return true;
        });
        assert.ok(
            slow.logs.some((line) =>
                /^host "host": waiting for KubeSphere to make it a host before members join \(\d+s; no CRD kubefedclusters\.core\.kubefed\.io/.test(
                    line,
                ),
            ),
            slow.logs.join("\n"),
        );
        // Found later: the wait ends.
        assert.deepStrictEqual(
            await run([noKubefed, noKubefed, { ...done, kubefedCrd: true }]).done.then(() => "done"),
            "done",
        );
    });

    it("fails naming host.kubeconfig when the host stays unreachable", async () => {
        const down = run([new Error("connect ECONNREFUSED 127.0.0.1:6443")]);
        await assert.rejects(
            down.done,
            /^Error: host "host": the API server does not answer \(connect ECONNREFUSED 127\.0\.0\.1:6443\)\. Fix: .*host\.kubeconfig/,
        );
    });
});
