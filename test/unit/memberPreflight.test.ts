import * as assert from "assert";
import { ClusterFacts, HostFacts, hostRoleEvidence, installOf } from "../../components/kubesphere/facts";
import { PreflightInput, preflightVerdict } from "../../components/members/memberPreflight";
import { certificateKubeconfig, daysLeftAt, tokenKubeconfig } from "../fixtures/kubeconfigs";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";
import { freshV3Facts } from "./pulumiMocks";

const HOST_SECRET = "hostSecret0123456789abcdefghijkl";
const OTHER_SECRET = "otherHostSecret0123456789abcdefg";

function hostFacts(version = "v3.4.1"): HostFacts {
    const own = freshV3Facts("host", version);
    return {
        name: "host",
        facts: {
            ...own,
            installer: { clusterRole: "host", version },
            config: {
                jwtSecret: HOST_SECRET,
                layout: "v3",
                clusterRole: "host",
                multiclusterEnable: true,
                hostClusterName: "host",
            },
        },
        clusters: [
            { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: version },
            { name: "m1", uid: "uid-m1", isHostEntry: false },
            { name: "other", uid: "uid-other", isHostEntry: false },
        ],
    };
}

function v4Host(): HostFacts {
    return {
        name: "host",
        facts: {
            kubeSystemUid: "uid-host",
            config: { jwtSecret: HOST_SECRET, layout: "v4", clusterRole: "host", hostClusterName: "host" },
            kubesphereNamespace: {},
        },
        clusters: [{ name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v4.1.3" }],
    };
}

const bare: ClusterFacts = { kubeSystemUid: "uid-m1" };

const base: PreflightInput = {
    member: "m1",
    configKey: "members[0]",
    hostMajor: "v3",
    facts: freshV3Facts("m1"),
    host: hostFacts(),
    credentials: "kubeconfig",
    importKubeconfig: parseKubeconfig(tokenKubeconfig("m1")),
};

function verdict(overrides: Partial<PreflightInput>) {
    const result = preflightVerdict({ ...base, ...overrides });
    for (const text of [...result.errors, ...result.warnings]) {
        assert.ok(
            !text.includes(HOST_SECRET) && !text.includes(OTHER_SECRET) && !text.includes("own-secret-of"),
            "no jwtSecret in a message",
        );
        assert.match(text, /member "m1"/);
        assert.match(text, /Fix: /);
    }
    return result;
}

describe("installOf / hostRoleEvidence", () => {
    it("reads the version where docs/kubesphere.md §9 says it lives", () => {
        assert.deepStrictEqual(installOf(freshV3Facts("m", "v3.2.1")), {
            kind: "v3",
            release: { major: 3, minor: 2, patch: 1, text: "v3.2.1" },
        });
        assert.deepStrictEqual(installOf({ ...freshV3Facts("m"), installer: { clusterRole: "none" } }), {
            kind: "v3",
            release: undefined,
        });
        assert.strictEqual(installOf(v4Host().facts, v4Host().clusters).kind, "v4");
        assert.strictEqual(
            (installOf(v4Host().facts, v4Host().clusters) as { release?: { text: string } }).release?.text,
            "v4.1.3",
        );
        assert.deepStrictEqual(installOf(v4Host().facts), { kind: "v4", release: undefined });
        assert.deepStrictEqual(installOf(bare), { kind: "none" });
        assert.deepStrictEqual(installOf({ kubeSystemUid: "u", config: { jwtSecret: "s", layout: "v3" } }), {
            kind: "v3",
        });
    });

    it("recognises a host by ks-installer, by kubesphere-config, and a 3.1/3.2 host by multicluster.enable", () => {
        assert.match(
            hostRoleEvidence({ ...freshV3Facts("m"), installer: { clusterRole: "host" } })!,
            /ks-installer has spec.multicluster.clusterRole: host/,
        );
        assert.match(
            hostRoleEvidence({ kubeSystemUid: "u", config: { jwtSecret: "s", layout: "v4", clusterRole: "host" } })!,
            /kubesphere-config has multicluster.clusterRole: host/,
        );
        assert.match(
            hostRoleEvidence({
                kubeSystemUid: "u",
                config: { jwtSecret: "s", layout: "v3", multiclusterEnable: true },
            })!,
            /3\.1\/3\.2 host/,
        );
        assert.strictEqual(hostRoleEvidence(freshV3Facts("m")), undefined);
        assert.strictEqual(
            hostRoleEvidence({
                kubeSystemUid: "u",
                config: { jwtSecret: "s", layout: "v3", clusterRole: "member", multiclusterEnable: false },
            }),
            undefined,
        );
    });
});

describe("preflightVerdict", () => {
    it("passes a fresh 3.x member not imported elsewhere (its own Cluster does not count), and reports its version", () => {
        const result = verdict({});
        assert.deepStrictEqual([result.errors, result.warnings], [[], []]);
        assert.deepStrictEqual(result.install, {
            kind: "v3",
            release: { major: 3, minor: 4, patch: 1, text: "v3.4.1" },
        });
    });

    it("3.x host: refuses a member without KubeSphere, saying so; a 4.x host does not need it (bare member)", () => {
        const result = verdict({ facts: bare });
        assert.strictEqual(result.errors.length, 1);
        assert.match(
            result.errors[0],
            /^KubeSphere is not installed on member "m1": ClusterConfiguration kubesphere-system\/ks-installer was not found\. Fix: install KubeSphere/,
        );
        const onV4 = verdict({
            facts: bare,
            hostMajor: "v4",
            host: v4Host(),
            credentials: "serviceAccount",
            importKubeconfig: undefined,
        });
        assert.deepStrictEqual([onV4.errors, onV4.warnings, onV4.install], [[], [], { kind: "none" }]);
    });

    it("3.x host: refuses a member whose ks-installer is gone although its kubesphere-config is left", () => {
        const result = verdict({
            facts: { kubeSystemUid: "uid-m1", config: { jwtSecret: "x", layout: "v3", clusterRole: "none" } },
        });
        assert.strictEqual(result.errors.length, 1);
        assert.match(
            result.errors[0],
            /^KubeSphere is not installed on member "m1": ClusterConfiguration kubesphere-system\/ks-installer was not found/,
        );
    });

    it("3.x host: refuses a 4.x member", () => {
        const result = verdict({
            facts: { kubeSystemUid: "uid-m1", config: { jwtSecret: "x", layout: "v4", clusterRole: "member" } },
        });
        assert.match(
            result.errors.join(),
            /^member "m1" runs KubeSphere 4\.x \(ks-core, no ks-installer\), but the host runs KubeSphere 3\.x/,
        );
    });

    it("refuses a member imported under another name", () => {
        const result = verdict({ facts: { ...base.facts, kubeSystemUid: "uid-other" } });
        assert.match(
            result.errors.join(),
            /member "m1" is already imported on the host as Cluster "other" .*MUST not import the same cluster twice.*Fix: /,
        );
    });

    it("refuses a member that is the host itself (and does not also call it a host of its own)", () => {
        const result = verdict({ facts: hostFacts().facts });
        assert.strictEqual(result.errors.length, 1);
        assert.match(
            result.errors[0],
            /^member "m1" is the host cluster "host" itself.*Fix: point members\[0\]\.kubeconfig/,
        );
    });

    it("refuses two members of one config that are the same cluster, naming both", () => {
        const result = verdict({
            otherMembers: [
                { name: "m2", configKey: "members[1]", kubeSystemUid: "uid-m1" },
                { name: "m3", configKey: "members[2]", kubeSystemUid: "uid-m3" },
            ],
        });
        assert.strictEqual(result.errors.length, 1);
        assert.match(
            result.errors[0],
            /^member "m1" \(members\[0\]\) and member "m2" \(members\[1\]\) are the same cluster .*MUST not import the same cluster twice.*Fix: remove one of the two entries/,
        );
        assert.deepStrictEqual(
            verdict({ otherMembers: [{ name: "m2", configKey: "members[1]" }] }).errors,
            [],
            "an unreadable member is not a twin",
        );
    });

    for (const [what, facts] of [
        [
            "3.x ks-installer role host",
            { ...freshV3Facts("m1"), installer: { clusterRole: "host", version: "v3.4.1" } },
        ],
        [
            "3.3+ kubesphere-config role host",
            {
                ...freshV3Facts("m1"),
                config: { jwtSecret: "x", layout: "v3" as const, clusterRole: "host", multiclusterEnable: true },
            },
        ],
        [
            "3.1/3.2 kubesphere-config enable: true",
            {
                ...freshV3Facts("m1", "v3.2.1"),
                config: { jwtSecret: "x", layout: "v3" as const, multiclusterEnable: true },
            },
        ],
    ] as const) {
        it(`refuses a member that is a host of its own (${what})`, () => {
            assert.match(
                verdict({ facts }).errors.join(),
                /^member "m1" is a KubeSphere host itself \(KubeSphere v3\.\d\.1; its .*\): making it a member would take it from the federation it hosts/,
            );
        });
    }

    it("4.x host: refuses a member that is a 4.x host", () => {
        const result = verdict({
            hostMajor: "v4",
            host: v4Host(),
            credentials: "serviceAccount",
            importKubeconfig: undefined,
            facts: {
                kubeSystemUid: "uid-m1",
                config: { jwtSecret: "x", layout: "v4", clusterRole: "host" },
                kubesphereNamespace: {},
            },
        });
        assert.match(
            result.errors.join(),
            /^member "m1" is a KubeSphere host itself \(KubeSphere 4\.x; its kubesphere-config has multicluster.clusterRole: host\)/,
        );
    });

    it("4.x host: refuses a member whose kubesphere-system names another host, accepts one naming this host", () => {
        const facts = (hostCluster: string): ClusterFacts => ({
            kubeSystemUid: "uid-m1",
            config: { jwtSecret: "x", layout: "v4", clusterRole: "member" },
            kubesphereNamespace: { hostCluster },
        });
        const input = {
            hostMajor: "v4" as const,
            host: v4Host(),
            credentials: "serviceAccount" as const,
            importKubeconfig: undefined,
        };
        assert.match(
            verdict({ ...input, facts: facts("other-host") }).errors.join(),
            /^member "m1" is managed by another host: its kubesphere-system namespace has cluster.kubesphere.io\/host-cluster: "other-host", this host is "host".*Fix: remove it from host "other-host" first/,
        );
        assert.deepStrictEqual(verdict({ ...input, facts: facts("host") }).errors, []);
    });

    it("3.x: warns about a member of another host this stack does not manage yet, never quoting a secret", () => {
        const otherMember: ClusterFacts = {
            ...freshV3Facts("m9"),
            installer: { clusterRole: "member", jwtSecret: OTHER_SECRET, version: "v3.4.1" },
        };
        const result = verdict({
            member: "m1",
            facts: { ...otherMember, kubeSystemUid: "uid-m9" },
            host: { ...hostFacts(), clusters: hostFacts().clusters.filter((c) => c.name !== "m1") },
        });
        assert.deepStrictEqual(result.errors, []);
        assert.strictEqual(result.warnings.length, 1);
        assert.match(
            result.warnings[0],
            /^member "m1" already is a member of another host: its ks-installer has clusterRole: member with a jwtSecret that is not host "host"'s/,
        );
        // Managed already (this host has its Cluster), or already this host's secret: no warning.
        assert.deepStrictEqual(verdict({ facts: { ...otherMember, kubeSystemUid: "uid-m1" } }).warnings, []);
        const ours = {
            ...otherMember,
            kubeSystemUid: "uid-m9",
            installer: { ...otherMember.installer, jwtSecret: HOST_SECRET },
        };
        assert.deepStrictEqual(verdict({ facts: ours, host: { ...hostFacts(), clusters: [] } }).warnings, []);
    });

    describe("KubeSphere 3.3.0–3.3.2 host (empty CertData)", () => {
        for (const version of ["v3.3.0", "v3.3.1", "v3.3.2"]) {
            it(`${version}: refuses serviceAccount credentials and token kubeconfigs`, () => {
                const sa = verdict({
                    host: hostFacts(version),
                    credentials: "serviceAccount",
                    importKubeconfig: undefined,
                });
                assert.match(
                    sa.errors.join(),
                    new RegExp(
                        `^member "m1" cannot join host "host" \\(KubeSphere ${version.replace(/\./g, "\\.")}\\): members\\[0\\]\\.credentials is serviceAccount \\(a token kubeconfig\\), and KubeSphere 3\\.3\\.0–3\\.3\\.2 never reports Ready`,
                    ),
                );
                const token = verdict({ host: hostFacts(version) });
                assert.match(
                    token.errors.join(),
                    /cannot join host "host" .*its kubeconfig authenticates without a client certificate.*"empty CertData".*Fix: give members\[0\]\.kubeconfig a client-certificate user/,
                );
            });
        }

        it("accepts a client-certificate kubeconfig on 3.3.2, and token credentials on 3.2 and 3.4", () => {
            assert.deepStrictEqual(
                verdict({
                    host: hostFacts("v3.3.2"),
                    importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                    now: daysLeftAt(365),
                }).errors,
                [],
            );
            assert.deepStrictEqual(
                verdict({ host: hostFacts("v3.4.0"), credentials: "serviceAccount", importKubeconfig: undefined })
                    .errors,
                [],
            );
            assert.deepStrictEqual(
                verdict({ host: hostFacts("v3.2.1"), credentials: "serviceAccount", importKubeconfig: undefined })
                    .errors,
                [],
            );
        });
    });

    it("3.x: warns when ks-apiserver does not answer through the service proxy; not on 4.x", () => {
        const result = verdict({ ksApiserverProblem: "the service proxy answered HTTP 503" });
        assert.match(
            result.warnings.join(),
            /^member "m1": its ks-apiserver does not answer through the API server's service proxy .*HTTP 503.*please make sure ks-apiserver\.kubesphere-system\.svc/,
        );
        assert.deepStrictEqual(
            verdict({
                hostMajor: "v4",
                host: v4Host(),
                facts: bare,
                credentials: "serviceAccount",
                importKubeconfig: undefined,
                ksApiserverProblem: "x",
            }).warnings,
            [],
        );
    });

    it("4.x: warns about a client certificate KubeSphere will renew, and refuses one with 7 days or less left", () => {
        const input = { hostMajor: "v4" as const, host: v4Host(), facts: bare };
        assert.match(
            verdict({
                ...input,
                importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                now: daysLeftAt(365),
            }).warnings.join(),
            /^member "m1": KubeSphere 4\.x renews the client certificate of an imported kubeconfig in place/,
        );
        assert.match(
            verdict({
                ...input,
                importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                now: daysLeftAt(5),
            }).errors.join(),
            /KubeSphere 4\.x renews the client certificate .*has [45] day\(s\).*Fix: set members\[0\]\.credentials: serviceAccount/,
        );
        assert.match(
            verdict({
                ...input,
                importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                now: daysLeftAt(-2),
            }).errors.join(),
            /client certificate expired/,
        );
    });

    it("3.x: an expired client certificate is an error, one expiring soon a warning", () => {
        assert.match(
            verdict({
                importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                now: daysLeftAt(-2),
            }).errors.join(),
            /^the kubeconfig KubeSphere gets for member "m1": its client certificate expired/,
        );
        assert.match(
            verdict({
                importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")),
                now: daysLeftAt(10),
            }).warnings.join(),
            /its client certificate expires in \d+ day/,
        );
    });

    it("4.x host: refuses a 3.x member (ks-installer found), naming both versions, why, and the fix", () => {
        const result = verdict({
            hostMajor: "v4",
            host: v4Host(),
            facts: freshV3Facts("m1", "v3.4.1"),
            credentials: "serviceAccount",
            importKubeconfig: undefined,
        });
        assert.strictEqual(result.errors.length, 1);
        assert.match(
            result.errors[0],
            /^member "m1" runs KubeSphere v3\.4\.1 \(ks-installer found\), but host "host" \(KubeSphere v4\.1\.3\) runs KubeSphere 4\.x: a 4\.x host Helm-installs ks-core 4\.x on its members, .*without KubeSphere's 3\.x→4\.x migration.*Fix: upgrade the member to KubeSphere 4\.x .*members\[0\]\.kubeconfig/,
        );
        assert.deepStrictEqual(
            verdict({
                hostMajor: "v4",
                host: v4Host(),
                facts: bare,
                credentials: "serviceAccount",
                importKubeconfig: undefined,
            }).errors,
            [],
            "a bare member joins",
        );
    });

    it('refuses a member named like KubeSphere\'s own host Cluster entry (3.1: "host" before the entry exists)', () => {
        const host31: HostFacts = { ...hostFacts("v3.1.1"), name: "prod", clusters: [] };
        const named = (member: string) =>
            preflightVerdict({ ...base, member, host: host31, facts: freshV3Facts("m1", "v3.1.1") });
        assert.match(
            named("host").errors.join(),
            /^member "host" has the name of KubeSphere's own host Cluster entry "host" on host "prod" \(KubeSphere v3\.1\.1\).*Fix: rename members\[0\]\.name/,
        );
        assert.deepStrictEqual(named("m1").errors, []);
        const withEntry = preflightVerdict({
            ...base,
            member: "main",
            host: { ...hostFacts(), clusters: [{ name: "main", uid: "uid-host", isHostEntry: true }] },
        });
        assert.match(
            withEntry.errors.join(),
            /member "main" has the name of KubeSphere's own host Cluster entry "main"/,
        );
    });

    it("3.1 member: refuses ks-installer oauthOptions without accessTokenMaxAge: 0 (3.1 renders them instead of the member's 0)", () => {
        const member31 = (oauthOptionsAccessTokenMaxAge: unknown): ClusterFacts => {
            const facts = freshV3Facts("m1", "v3.1.1");
            return { ...facts, installer: { ...facts.installer!, oauthOptionsAccessTokenMaxAge } };
        };
        const refused = verdict({ host: hostFacts("v3.1.1"), facts: member31("2h") });
        assert.match(
            refused.errors.join(),
            /^member "m1" runs KubeSphere v3\.1\.1, whose ks-installer has spec\.authentication\.oauthOptions \(accessTokenMaxAge "2h"\).*Fix: add accessTokenMaxAge: 0/,
        );
        assert.strictEqual(
            verdict({ host: hostFacts("v3.1.1"), facts: member31(null) }).errors.length,
            1,
            "oauthOptions without accessTokenMaxAge",
        );
        assert.deepStrictEqual(
            verdict({ host: hostFacts("v3.1.1"), facts: member31(0) }).errors,
            [],
            "accessTokenMaxAge: 0 is rendered as it is",
        );
        assert.deepStrictEqual(
            verdict({ host: hostFacts("v3.1.1"), facts: freshV3Facts("m1", "v3.1.1") }).errors,
            [],
            "no oauthOptions",
        );
        const member32 = freshV3Facts("m1", "v3.2.1");
        assert.deepStrictEqual(
            verdict({
                facts: { ...member32, installer: { ...member32.installer!, oauthOptionsAccessTokenMaxAge: "2h" } },
            }).errors,
            [],
            "3.2 gives members 0 anyway",
        );
    });

    it("skips the host checks when the host's kubeconfig is not available", () => {
        assert.deepStrictEqual(
            verdict({ host: undefined, facts: { ...base.facts, kubeSystemUid: "uid-other" } }).errors,
            [],
        );
    });

    describe("a member another stack manages (the stack mark on its Cluster)", () => {
        const THIS = "acme/kubesphere-federation/fleet-members-a";
        const OTHER = "acme/kubesphere-federation/fleet-members-b";
        const withClusters = (...clusters: HostFacts["clusters"]): HostFacts => ({ ...hostFacts(), clusters });
        const entry = { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" };

        it("refuses a Cluster of the member's name that another stack created, naming that stack and the fix", () => {
            const result = verdict({
                stack: THIS,
                host: withClusters(entry, { name: "m1", uid: "uid-m1", isHostEntry: false, stack: OTHER }),
            });
            assert.deepStrictEqual(result.errors.length, 1, result.errors.join("\n"));
            assert.match(
                result.errors[0],
                /^member "m1" \(members\[0\]\) belongs to another stack: host "host" already has its Cluster "m1", created by stack acme\/kubesphere-federation\/fleet-members-b \(annotation kubesphere-federation\.io\/stack\), not by this stack acme\/kubesphere-federation\/fleet-members-a\. Fix: keep each member in one stack: remove members\[0\] from this stack's config/,
            );
        });

        it("passes the stack's own Cluster on a re-run, and a member not imported yet", () => {
            for (const host of [
                withClusters(entry, { name: "m1", uid: "uid-m1", isHostEntry: false, stack: THIS }),
                withClusters(entry, { name: "m2", uid: "uid-m2", isHostEntry: false, stack: OTHER }),
            ]) {
                const result = verdict({ stack: THIS, host });
                assert.deepStrictEqual([result.errors, result.warnings], [[], []]);
            }
        });

        it("leaves KubeSphere's own host entry to the host-entry check", () => {
            const result = preflightVerdict({
                ...base,
                member: "host",
                stack: THIS,
                host: withClusters({ ...entry, stack: OTHER }),
            });
            assert.ok(!result.errors.join().includes("belongs to another stack"), result.errors.join("\n"));
            assert.match(result.errors.join(), /has the name of KubeSphere's own host Cluster entry "host"/);
        });

        it("warns about a Cluster of the member's name without a mark (made before the mark, or by hand)", () => {
            const result = verdict({
                stack: THIS,
                host: withClusters(entry, { name: "m1", uid: "uid-m1", isHostEntry: false }),
            });
            assert.deepStrictEqual(result.errors, []);
            assert.match(
                result.warnings.join(),
                /^member "m1": host "host" already has a Cluster "m1" without the program's stack mark .*`pulumi up` adds the mark; if another stack or the console did, creating it fails with "already exists"\. Fix: /,
            );
        });

        it("the same cluster under another name: names the stack that manages the other Cluster", () => {
            const result = verdict({
                stack: THIS,
                facts: { ...base.facts, kubeSystemUid: "uid-x" },
                host: withClusters(entry, { name: "x", uid: "uid-x", isHostEntry: false, stack: OTHER }),
            });
            assert.match(
                result.errors.join(),
                /^member "m1" is already imported on the host as Cluster "x", which stack acme\/kubesphere-federation\/fleet-members-b manages \(same kube-system namespace UID.*Fix: keep one of the two entries \(remove members\[0\] from this stack's config, or member "x" from stack acme\/kubesphere-federation\/fleet-members-b\)/,
            );
        });
    });
});
