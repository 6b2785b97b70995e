import * as assert from "assert";
import {
    checkAgent,
    checkJwtSecret,
    checkKsApiserver,
    checkKsCore,
    checkPreflight,
} from "../../components/members/diagnosis/kubesphereChecks";
import {
    checkClientCertificateFinding,
    checkClockSkew,
    checkRights,
    checkServerCertificate,
    checkServerReachable,
    parseGoDuration,
} from "../../components/members/diagnosis/connectionChecks";
import { diagnose, provesJoinFails, findingsBeforeJoin } from "../../components/members/diagnosis/diagnose";
import { DiagnosisFacts } from "../../components/members/diagnosis/findings";
import { formatDiagnosis, formatTable } from "../../components/members/diagnosis/format";
import { readDiagnosisFacts } from "../../components/members/diagnosis/readFacts";
import { ImportProbe } from "../../components/kubesphere/probes";
import { ClusterFacts, HostFacts } from "../../components/kubesphere/facts";
import { certificateKubeconfig, daysLeftAt, tokenKubeconfig } from "../fixtures/kubeconfigs";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";
import type { ClusterCondition } from "../../components/kubesphere/kubesphereObjects";
import { fakeClusterAccess, freshV3Facts } from "./pulumiMocks";

const HOST_SECRET = "hostSecret0123456789abcdefghijkl";
const OTHER_SECRET = "otherSecret0123456789abcdefghijk";

function host(): HostFacts {
    return {
        name: "host",
        facts: {
            kubeSystemUid: "uid-host",
            installer: { clusterRole: "host", version: "v3.4.1" },
            config: { jwtSecret: HOST_SECRET, layout: "v3", clusterRole: "host" },
        },
        clusters: [{ name: "host", uid: "uid-host", isHostEntry: true }],
    };
}

function joinedMember(overrides: Partial<ClusterFacts["config"]> = {}): ClusterFacts {
    return {
        kubeSystemUid: "uid-m1",
        installer: { clusterRole: "member", jwtSecret: HOST_SECRET, version: "v3.4.1" },
        config: { jwtSecret: HOST_SECRET, layout: "v3", clusterRole: "member", ...overrides },
    };
}

const okProbe: ImportProbe = {
    server: "https://203.0.113.10:6443",
    source: "the Cluster's spec.connection.kubeconfig",
    reach: { ok: true },
    access: [{ what: "list nodes", allowed: true }],
};

function facts(overrides: Partial<DiagnosisFacts> = {}): DiagnosisFacts {
    return {
        member: "m1",
        configKey: "members[0]",
        hostMajor: "v3",
        host: host(),
        memberFacts: joinedMember(),
        preflight: { errors: [], warnings: [], install: { kind: "v3" } },
        ksApiserverProblem: null,
        cluster: {
            connectionType: "direct",
            conditions: [
                {
                    type: "Ready",
                    status: "False",
                    reason: "Cluster join federation control plane failed",
                    message: "Cluster is Not Ready now",
                },
            ],
        },
        importProbe: okProbe,
        importKubeconfig: parseKubeconfig(tokenKubeconfig("m1")),
        clocks: {
            host: { serverMs: 100_000, sentMs: 100_000, receivedMs: 100_010 },
            member: { serverMs: 100_000, sentMs: 100_000, receivedMs: 100_010 },
        },
        ...overrides,
    };
}

describe("diagnosis: why a join is stuck", () => {
    it("finds nothing wrong in a healthy join, and formats the wait's own message first", () => {
        const diagnosis = diagnose(facts());
        assert.strictEqual(
            diagnosis.cause,
            undefined,
            JSON.stringify(diagnosis.findings.filter((found) => found.verdict !== "ok")),
        );
        const message = formatDiagnosis(diagnosis, 'member "m1": the Cluster on the host was not Ready within 600s.');
        assert.match(message.split("\n")[0], /was not Ready within 600s.*found no cause/);
    });

    it("jwtSecret: says the member's differs from the host's, never printing either", () => {
        const found = checkJwtSecret(facts({ memberFacts: joinedMember({ jwtSecret: OTHER_SECRET }) }));
        assert.strictEqual(found.verdict, "fail");
        assert.match(
            found.evidence,
            /differs from host "host"'s \(its ks-installer spec has the host's: the installer has not applied it\)/,
        );
        const text = JSON.stringify(found);
        assert.ok(!text.includes(HOST_SECRET) && !text.includes(OTHER_SECRET));
        assert.match(
            found.fix!,
            /re-run it \(kubectl -n kubesphere-system rollout restart deploy\/ks-installer\)/,
            "the installer has the host's: re-run it",
        );
        const lost = checkJwtSecret(
            facts({
                memberFacts: {
                    ...joinedMember({ jwtSecret: OTHER_SECRET }),
                    installer: { clusterRole: "member", jwtSecret: OTHER_SECRET },
                },
            }),
        );
        assert.match(lost.fix!, /pulumi up --refresh/, "the installer lost it: re-apply");
    });

    it("jwtSecret: a role other than member fails; 3.1/3.2 (no role rendered) pass on the secret alone", () => {
        assert.match(
            checkJwtSecret(facts({ memberFacts: joinedMember({ clusterRole: "none" }) })).evidence,
            /clusterRole: none, not member/,
        );
        assert.strictEqual(
            checkJwtSecret(facts({ memberFacts: joinedMember({ clusterRole: undefined }) })).verdict,
            "ok",
        );
        assert.strictEqual(
            checkJwtSecret(facts({ memberFacts: undefined, memberProblem: "no answer" })).verdict,
            "skip",
        );
    });

    it("server reachable: a refused connection fails with the server and the apiServerEndpoint fix", () => {
        const found = checkServerReachable(
            facts({
                importProbe: {
                    ...okProbe,
                    server: "https://127.0.0.1:1",
                    reach: { ok: false, kind: "refused", detail: "connection refused" },
                },
            }),
        );
        assert.strictEqual(found.verdict, "fail");
        assert.match(
            found.evidence,
            /points at https:\/\/127\.0\.0\.1:1, which does not answer from the machine running Pulumi \(connection refused\)/,
        );
        assert.match(found.fix!, /members\[0\]\.apiServerEndpoint/);
    });

    it("server certificate: a name outside the SANs fails with the SAN fix; insecure kubeconfigs warn", () => {
        const san = checkServerCertificate(
            facts({
                importProbe: {
                    ...okProbe,
                    reach: { ok: false, kind: "san", detail: "the server certificate does not cover the server name" },
                },
            }),
        );
        assert.strictEqual(san.verdict, "fail");
        assert.match(san.fix!, /SANs/);
        assert.strictEqual(
            checkServerCertificate(facts({ importProbe: { ...okProbe, insecure: true } })).verdict,
            "warn",
        );
        assert.strictEqual(
            checkServerCertificate(
                facts({ importProbe: { ...okProbe, reach: { ok: false, kind: "refused", detail: "x" } } }),
            ).verdict,
            "skip",
        );
    });

    it("client certificate: expired fails, expiring within 30 days warns, none is fine", () => {
        const expired = checkClientCertificateFinding(
            facts({ importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")), now: daysLeftAt(-2) }),
        );
        assert.strictEqual(expired.verdict, "fail");
        assert.match(expired.evidence, /expired/);
        assert.strictEqual(
            checkClientCertificateFinding(
                facts({ importKubeconfig: parseKubeconfig(certificateKubeconfig("m1")), now: daysLeftAt(5) }),
            ).verdict,
            "warn",
        );
        assert.strictEqual(checkClientCertificateFinding(facts()).verdict, "ok");
    });

    it("rights: a denied SelfSubjectAccessReview or a 401 fails", () => {
        const denied = checkRights(
            facts({
                importProbe: {
                    ...okProbe,
                    access: [
                        { what: "list nodes", allowed: false },
                        { what: "get namespaces", allowed: true },
                    ],
                },
            }),
        );
        assert.strictEqual(denied.verdict, "fail");
        assert.match(denied.evidence, /may not list nodes/);
        assert.match(denied.fix!, /cluster-admin/);
        assert.match(
            checkRights(
                facts({
                    importProbe: {
                        ...okProbe,
                        reach: { ok: false, kind: "unauthorized", detail: "HTTP 401 Unauthorized" },
                    },
                }),
            ).evidence,
            /rejects the credentials/,
        );
    });

    it("ks-apiserver: the service proxy's answer is the evidence", () => {
        const found = checkKsApiserver(facts({ ksApiserverProblem: "the service proxy answered HTTP 503" }));
        assert.strictEqual(found.verdict, "warn", "3.x: only the console's validation needs it");
        assert.match(
            found.evidence,
            /services\/:ks-apiserver:\/proxy\/kapis\/version: the service proxy answered HTTP 503/,
        );
        assert.strictEqual(checkKsApiserver(facts()).verdict, "ok");
        const v4 = facts({ hostMajor: "v4", ksApiserverProblem: "the service proxy answered HTTP 503" });
        assert.strictEqual(checkKsApiserver(v4).verdict, "fail", "4.x: Ready needs it");
        assert.strictEqual(
            checkKsApiserver({ ...v4, cluster: { conditions: [{ type: "Ready", status: "True" }] } }).verdict,
            "ok",
            "a Ready 4.x Cluster got an answer",
        );
    });

    it("jwtSecret: a 3.x member not joined yet (no Cluster, ks-installer without the host's secret) is not a failure", () => {
        const fresh: ClusterFacts = { ...freshV3Facts("m1") };
        assert.strictEqual(checkJwtSecret(facts({ cluster: undefined, memberFacts: fresh })).verdict, "skip");
        assert.strictEqual(
            checkJwtSecret(facts({ memberFacts: fresh })).verdict,
            "fail",
            "with a Cluster on the host it is",
        );
    });

    it("agent: a proxy Cluster without AgentAvailable says the agent never connected; direct Clusters skip", () => {
        const never = checkAgent(facts({ cluster: { connectionType: "proxy", conditions: [] } }));
        assert.strictEqual(never.verdict, "fail");
        assert.match(
            never.evidence,
            /connection\.type: proxy and no AgentAvailable condition \(not Initialized either\): the agent never connected/,
        );
        const down = checkAgent(
            facts({
                cluster: {
                    connectionType: "proxy",
                    conditions: [
                        { type: "Initialized", status: "True" },
                        { type: "AgentAvailable", status: "False", message: "Cluster agent is not available now" },
                    ],
                },
            }),
        );
        assert.match(down.evidence, /AgentAvailable=False: Cluster agent is not available now/);
        assert.strictEqual(
            checkAgent(
                facts({
                    cluster: { connectionType: "proxy", conditions: [{ type: "AgentAvailable", status: "True" }] },
                }),
            ).verdict,
            "ok",
        );
        assert.strictEqual(checkAgent(facts()).verdict, "skip");
    });

    it("ks-core (4.x): no KSCoreReady after the Cluster exists means the install failed", () => {
        const found = checkKsCore(
            facts({
                hostMajor: "v4",
                cluster: { connectionType: "direct", conditions: [{ type: "Ready", status: "False" }] },
            }),
        );
        assert.strictEqual(found.verdict, "fail");
        assert.match(found.evidence, /no KSCoreReady condition/);
        assert.strictEqual(
            checkKsCore(facts({ hostMajor: "v4", cluster: { conditions: [{ type: "KSCoreReady", status: "True" }] } }))
                .verdict,
            "ok",
        );
        assert.strictEqual(checkKsCore(facts()).verdict, "skip", "3.x has no ks-core install");
    });

    it("ks-core (4.x): chart objects Helm will not adopt fail the check, before the Cluster exists (refused) and after", () => {
        const conflicts = ["ClusterRoleBinding kubesphere (not label app.kubernetes.io/managed-by=Helm)"];
        const before = checkKsCore(facts({ hostMajor: "v4", cluster: undefined, ksCoreConflicts: conflicts }));
        assert.strictEqual(before.verdict, "fail");
        assert.match(
            before.evidence,
            /^on the member, ClusterRoleBinding kubesphere \(not label app\.kubernetes\.io\/managed-by=Helm\) exist\(s\) without Helm's ownership metadata for release ks-core, so Helm refuses to adopt it and the host's ks-core install fails \("invalid ownership metadata"\)$/,
        );
        assert.match(before.fix!, /^delete it on the member .*meta\.helm\.sh\/release-name=ks-core/);
        const refused = findingsBeforeJoin(
            diagnose(facts({ hostMajor: "v4", cluster: undefined, ksCoreConflicts: conflicts })),
        );
        assert.strictEqual(refused.errors.length, 1);
        assert.match(
            refused.errors[0],
            /^member "m1": ks-core install on the member \(4\.x\): on the member, ClusterRoleBinding kubesphere/,
        );
        const after = checkKsCore(
            facts({
                hostMajor: "v4",
                cluster: { conditions: [{ type: "Ready", status: "False" }] },
                ksCoreConflicts: conflicts,
            }),
        );
        assert.match(
            after.evidence,
            /^the Cluster has no KSCoreReady condition: on the member, ClusterRoleBinding kubesphere/,
        );
        assert.strictEqual(
            checkKsCore(facts({ hostMajor: "v4", cluster: undefined, ksCoreConflicts: [] })).verdict,
            "skip",
            "nothing in the way: not checkable before the Cluster exists",
        );
    });

    it("clock skew: the host ahead of the member by more than maximumClockSkew (+ the Date headers' 1 s) fails", () => {
        const reading = (serverMs: number) => ({ serverMs, sentMs: 100_000, receivedMs: 100_020 });
        const ahead = checkClockSkew(facts({ clocks: { host: reading(130_000), member: reading(100_000) } }));
        assert.strictEqual(ahead.verdict, "fail");
        assert.match(
            ahead.evidence,
            /host's clock is 30s ahead of the member's \(±2s, from the API servers' Date headers\), more than the member's maximumClockSkew 10s \(KubeSphere's default\)/,
        );
        assert.match(ahead.evidence, /token used before issued/);
        assert.strictEqual(
            checkClockSkew(facts({ clocks: { host: reading(111_000), member: reading(100_000) } })).verdict,
            "ok",
            "within 10 s + the resolution",
        );
        assert.strictEqual(
            checkClockSkew(facts({ clocks: { host: reading(100_000), member: reading(130_000) } })).verdict,
            "warn",
            "member ahead",
        );
        const configured = facts({
            memberFacts: joinedMember({ maximumClockSkew: "1m" }),
            clocks: { host: reading(130_000), member: reading(100_000) },
        });
        assert.strictEqual(checkClockSkew(configured).verdict, "ok", "the member's own maximumClockSkew is used");
        assert.deepStrictEqual(["10s", "1m30s", "500ms", "0", "x"].map(parseGoDuration), [
            10_000,
            90_000,
            500,
            0,
            undefined,
        ]);
    });

    it("versions: the pre-flight's refusal (docs/kubesphere.md §9) is the cause, with its own fix", () => {
        const found = checkPreflight(
            facts({
                preflight: {
                    errors: [
                        'member "m1" cannot join host "host" (KubeSphere v3.3.1): …. Fix: upgrade the host to KubeSphere 3.4',
                    ],
                    warnings: [],
                    install: { kind: "v3" },
                },
            }),
        );
        assert.strictEqual(found.verdict, "fail");
        assert.strictEqual(found.fix, "upgrade the host to KubeSphere 3.4");
    });

    it("names the most likely cause on the first line, then the wait, then every check", () => {
        const diagnosis = diagnose(
            facts({
                memberFacts: joinedMember({ jwtSecret: OTHER_SECRET }),
                importProbe: { ...okProbe, reach: { ok: false, kind: "refused", detail: "connection refused" } },
            }),
        );
        assert.strictEqual(diagnosis.cause?.check, "jwtSecret", "jwtSecret before reachability");
        const lines = formatDiagnosis(diagnosis, 'member "m1": timed out').split("\n");
        assert.match(lines[0], /^member "m1": member jwtSecret and role: the jwtSecret .* differs .* Fix: /);
        assert.strictEqual(lines[1], '(member "m1": timed out)');
        assert.ok(lines.some((line) => /FAIL\s+kubeconfig KubeSphere got: server reachable/.test(line)));
        assert.ok(!lines.join("\n").includes(HOST_SECRET) && !lines.join("\n").includes(OTHER_SECRET));
    });

    it("proves a join fails only when KubeSphere reports a failure and a blocking check explains it", () => {
        const unreachable = facts({
            importProbe: { ...okProbe, reach: { ok: false, kind: "refused", detail: "connection refused" } },
        });
        assert.strictEqual(provesJoinFails(diagnose(unreachable), unreachable.cluster), true);
        assert.strictEqual(
            provesJoinFails(diagnose(unreachable), { conditions: [] }),
            false,
            "no condition yet: keep waiting",
        );
        const skewOnly = facts({
            clocks: {
                host: { serverMs: 200_000, sentMs: 100_000, receivedMs: 100_000 },
                member: { serverMs: 100_000, sentMs: 100_000, receivedMs: 100_000 },
            },
        });
        assert.strictEqual(
            provesJoinFails(diagnose(skewOnly), skewOnly.cluster),
            false,
            "the clock does not stop Ready",
        );
    });

    it("before the join: certificate and rights failures refuse, an unreachable server and the clock warn", () => {
        const before = findingsBeforeJoin(
            diagnose(
                facts({
                    cluster: undefined,
                    importProbe: {
                        ...okProbe,
                        reach: {
                            ok: false,
                            kind: "san",
                            detail: "the server certificate does not cover the server name",
                        },
                    },
                }),
            ),
        );
        assert.strictEqual(before.errors.length, 1);
        assert.match(before.errors[0], /^member "m1": kubeconfig KubeSphere got: server certificate: TLS to/);
        const unreachable = findingsBeforeJoin(
            diagnose(
                facts({
                    cluster: undefined,
                    importProbe: { ...okProbe, reach: { ok: false, kind: "refused", detail: "connection refused" } },
                }),
            ),
        );
        assert.deepStrictEqual([unreachable.errors.length, unreachable.warnings.length], [0, 1]);
    });

    it("prints the doctor's table: one row per member and check", () => {
        const table = formatTable([diagnose(facts())]).split("\n");
        assert.match(table[0], /^MEMBER\s+CHECK\s+VERDICT\s+EVIDENCE$/);
        assert.strictEqual(table.length, 13);
        assert.ok(table.slice(1).every((row) => row.startsWith("m1 ")));
    });

    /**
     * Reads the diagnosis facts of m1 through a fake ClusterAccess whose Cluster on the host has `cluster` and its
     * kubeconfig pointing at `server`, which does not resolve; returns what was probed and what was read.
     */
    async function readWithCluster(
        cluster: { connectionType: string; conditions: ClusterCondition[] },
        server: string,
    ) {
        const probed: string[] = [];
        const access = fakeClusterAccess({
            readClusterFacts: async (name) => (name === "host" ? host().facts : joinedMember()),
            readClusterObject: async () => ({ ...cluster, kubeconfig: parseKubeconfig(tokenKubeconfig("m1", server)) }),
            probeImportKubeconfig: async (_kubeconfig, source) => {
                probed.push(source);
                return {
                    server,
                    source,
                    reach: { ok: false, kind: "dns", detail: "the name does not resolve (ENOTFOUND)" },
                };
            },
        });
        const read = await readDiagnosisFacts(
            {
                member: "m1",
                configKey: "members[0]",
                hostMajor: "v3",
                hostClusterName: "host",
                memberKubeconfig: parseKubeconfig(tokenKubeconfig("m1")),
                hostKubeconfig: parseKubeconfig(tokenKubeconfig("host")),
                credentials: "kubeconfig",
            },
            access,
        );
        return { probed, read };
    }

    it("reads through ClusterAccess: the Cluster's own kubeconfig is probed, and nothing is written", async () => {
        const { probed, read } = await readWithCluster(
            { connectionType: "direct", conditions: [] },
            "https://m1.internal:6443",
        );
        assert.deepStrictEqual(probed, ["the Cluster's spec.connection.kubeconfig"]);
        assert.strictEqual(diagnose(read).cause?.check, "serverReachable");
        assert.strictEqual(read.ksApiserverProblem, null);
    });

    it("agent members: tower's kubeconfig (a host-internal Service) is not probed from here, so the agent is the cause", async () => {
        const { probed, read } = await readWithCluster(
            {
                connectionType: "proxy",
                conditions: [
                    {
                        type: "Initialized",
                        status: "True",
                        reason: "Initialized",
                        message: "Cluster has been initialized",
                    },
                ],
            },
            "https://mc-m1.kubesphere-system.svc:6443",
        );
        assert.deepStrictEqual(probed, []);
        const diagnosis = diagnose(read);
        assert.strictEqual(diagnosis.cause?.check, "agent");
        assert.match(
            formatDiagnosis(diagnosis, 'member "m1": not joined through the agent after 20s').split("\n")[0],
            /^member "m1": agent connection \(proxy\): .*the agent never connected/,
        );
    });
});
