import * as assert from "assert";
import * as http from "http";
import * as yaml from "js-yaml";
import { AddressInfo } from "net";
import { readCrdPresence } from "../../components/kubernetes/crdPresence";
import { classifyRequestError } from "../../components/kubernetes/transport";
import { hostRoleReader, readKubesphereLayout } from "../../components/kubesphere/waitReads";
import {
    listImportedClusters,
    readClusterFacts,
    readClusterObject,
    readImportedKubeconfig,
    readKsCoreConflicts,
} from "../../components/kubesphere/reads";
import { probeImportKubeconfig, probeKsApiserver, readClock } from "../../components/kubesphere/probes";
import { tokenFor, tokenKubeconfig } from "../fixtures/kubeconfigs";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";

// Port 1 on loopback: nothing listens there, so the connection is refused at once.
const unreachable = tokenKubeconfig("m9", "https://127.0.0.1:1");

describe("direct cluster reads", () => {
    for (const [what, read] of [
        ["pre-flight facts", () => readClusterFacts("m9", parseKubeconfig(unreachable))],
        ["layout detection", () => readKubesphereLayout("m9", parseKubeconfig(unreachable))],
    ] as const) {
        it(`${what}: an unreachable cluster fails naming it, its server and the fix, without credentials`, async () => {
            await assert.rejects(read(), (err: Error) => {
                assert.match(
                    err.message,
                    /^cluster "m9": the API server https:\/\/127\.0\.0\.1:1 does not answer \(.+\)\. Fix: check that it is up and reachable/,
                );
                assert.ok(!err.message.includes(tokenFor("m9")));
                return true;
            });
        });
    }

    it("ks-apiserver probe: an unreachable cluster is a reason, not a rejection", async () => {
        assert.match((await probeKsApiserver(parseKubeconfig(unreachable)))!, /ECONNREFUSED|connect/);
    });
});

/**
 * A loopback HTTP server answering the paths the program reads, as a KubeSphere cluster would (docs/kubesphere.md §1–§4, docs/kubesphere.md §9),
 * so the reads' URLs, JSON paths and 404 handling are tested for real. Records each request's path and auth header.
 */
function fakeApiServer(objects: Record<string, unknown>, proxyStatus = 200, throttledAnswers = 0) {
    const requests: Array<{ path: string; authorization?: string }> = [];
    let throttled = 0;
    const server = http.createServer((request, response) => {
        requests.push({ path: request.url ?? "", authorization: request.headers.authorization });
        if (throttled < throttledAnswers) {
            throttled++;
            response
                .writeHead(429, { "content-type": "application/json" })
                .end(JSON.stringify({ kind: "Status", code: 429, message: "storage is (re)initializing" }));
            return;
        }
        const url = new URL(request.url ?? "/", "http://x");
        const key =
            url.pathname +
            (url.searchParams.get("labelSelector") ? `?labelSelector=${url.searchParams.get("labelSelector")}` : "");
        if (url.pathname === "/api/v1/namespaces/kubesphere-system/services/:ks-apiserver:/proxy/kapis/version") {
            response.writeHead(proxyStatus, { "content-type": "application/json" }).end("{}");
            return;
        }
        const body = objects[key];
        if (body === undefined) {
            response
                .writeHead(404, { "content-type": "application/json" })
                .end(JSON.stringify({ kind: "Status", code: 404, message: "not found" }));
            return;
        }
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    return {
        requests,
        start: () =>
            new Promise<string>((resolve) =>
                server.listen(0, "127.0.0.1", () =>
                    resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
                ),
            ),
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

/** A token kubeconfig for the plain-HTTP loopback server (client-node allows http only without TLS verification). */
function loopbackKubeconfig(cluster: string, server: string): string {
    const doc = yaml.load(tokenKubeconfig(cluster, server)) as {
        clusters: Array<{ cluster: Record<string, unknown> }>;
    };
    doc.clusters[0].cluster = { server, "insecure-skip-tls-verify": true };
    return yaml.dump(doc);
}

const KUBESPHERE_YAML_33_MEMBER =
    "authentication:\n  jwtSecret: secret-of-host\n  oauthOptions:\n    accessTokenMaxAge: 0\nmulticluster:\n  clusterRole: member\n  enable: false\n";
const CLUSTERS = "/apis/cluster.kubesphere.io/v1alpha1/clusters";

describe("direct cluster reads against a loopback API server", () => {
    it("reads a 3.x member's facts: kube-system UID, ks-installer role, secret and version, kubesphere-config, namespace annotation", async () => {
        const api = fakeApiServer({
            "/api/v1/namespaces/kube-system": { metadata: { name: "kube-system", uid: "uid-m1" } },
            "/apis/installer.kubesphere.io/v1alpha1/namespaces/kubesphere-system/clusterconfigurations/ks-installer": {
                spec: {
                    multicluster: { clusterRole: "member" },
                    authentication: { jwtSecret: "secret-of-host", oauthOptions: { accessTokenMaxAge: "1h" } },
                },
                status: { core: { status: "enabled", version: "v3.3.2" } },
            },
            "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config": {
                data: { "kubesphere.yaml": KUBESPHERE_YAML_33_MEMBER },
            },
            "/api/v1/namespaces/kubesphere-system": {
                metadata: { name: "kubesphere-system", annotations: { "cluster.kubesphere.io/host-cluster": "host" } },
            },
        });
        const server = await api.start();
        try {
            const facts = await readClusterFacts("m1", parseKubeconfig(loopbackKubeconfig("m1", server)));
            assert.deepStrictEqual(facts, {
                kubeSystemUid: "uid-m1",
                installer: {
                    clusterRole: "member",
                    jwtSecret: "secret-of-host",
                    version: "v3.3.2",
                    oauthOptionsAccessTokenMaxAge: "1h",
                },
                config: {
                    jwtSecret: "secret-of-host",
                    layout: "v3",
                    clusterRole: "member",
                    multiclusterEnable: false,
                    accessTokenMaxAge: 0,
                    hostClusterName: undefined,
                },
                configProblem: undefined,
                kubesphereNamespace: { hostCluster: "host" },
            });
            assert.ok(api.requests.every((request) => request.authorization === `Bearer ${tokenFor("m1")}`));
        } finally {
            await api.stop();
        }
    });

    it("reads a bare 4.x member: no ks-installer, no kubesphere-config, no kubesphere-system", async () => {
        const api = fakeApiServer({ "/api/v1/namespaces/kube-system": { metadata: { uid: "uid-bare" } } });
        const server = await api.start();
        try {
            assert.deepStrictEqual(
                await readClusterFacts("bare", parseKubeconfig(loopbackKubeconfig("bare", server))),
                {
                    kubeSystemUid: "uid-bare",
                    installer: undefined,
                    config: undefined,
                    configProblem: undefined,
                    kubesphereNamespace: undefined,
                },
            );
        } finally {
            await api.stop();
        }
    });

    it("reports an unreadable kubesphere-config as a problem without its content", async () => {
        const api = fakeApiServer({
            "/api/v1/namespaces/kube-system": { metadata: { uid: "u" } },
            "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config": {
                data: { "kubesphere.yaml": "multicluster:\n  clusterRole: host\n" },
            },
        });
        const server = await api.start();
        try {
            const facts = await readClusterFacts("h", parseKubeconfig(loopbackKubeconfig("h", server)));
            assert.strictEqual(facts.config, undefined);
            assert.match(facts.configProblem!, /has no jwtSecret/);
        } finally {
            await api.stop();
        }
    });

    it("lists the host's Clusters with their UID, host label, version and stack mark, and reads whether the host is a host", async () => {
        const hostEntry = {
            metadata: { name: "host", labels: { "cluster-role.kubesphere.io/host": "" } },
            status: { uid: "uid-host", kubeSphereVersion: "v3.4.1" },
        };
        const api = fakeApiServer({
            [CLUSTERS]: {
                items: [
                    hostEntry,
                    { metadata: { name: "m1" }, status: {} },
                    {
                        metadata: { name: "m2", annotations: { "kubesphere-federation.io/stack": "acme/p/members-b" } },
                        status: { uid: "uid-m2" },
                    },
                ],
            },
            [`${CLUSTERS}?labelSelector=cluster-role.kubesphere.io/host`]: { items: [hostEntry] },
            "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config": {
                data: {
                    "kubesphere.yaml":
                        "authentication:\n  jwtSecret: s\nmulticluster:\n  clusterRole: host\n  enable: true\n",
                },
            },
        });
        const server = await api.start();
        try {
            const kubeconfig = loopbackKubeconfig("host", server);
            assert.deepStrictEqual(await listImportedClusters(parseKubeconfig(kubeconfig)), [
                { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                { name: "m1", uid: undefined, isHostEntry: false, kubeSphereVersion: undefined },
                {
                    name: "m2",
                    uid: "uid-m2",
                    isHostEntry: false,
                    kubeSphereVersion: undefined,
                    stack: "acme/p/members-b",
                },
            ]);
            assert.deepStrictEqual(await hostRoleReader("host", parseKubeconfig(kubeconfig))(), {
                config: { clusterRole: "host", multiclusterEnable: true },
                hostEntry: { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                // kubefed's CRD is not served by this fake API server: missing.
                kubefedCrd: false,
            });
        } finally {
            await api.stop();
        }
    });

    it("reads whether a CRD exists by name, metadata only (the host wait's kubefed CRD, the pre-flight's Workspace CRD)", async () => {
        const crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        const api = fakeApiServer({
            [`${crds}/kubefedclusters.core.kubefed.io`]: { metadata: { name: "kubefedclusters.core.kubefed.io" } },
            [CLUSTERS]: { items: [] },
            [`${CLUSTERS}?labelSelector=cluster-role.kubesphere.io/host`]: { items: [] },
        });
        const server = await api.start();
        try {
            const kubeconfig = parseKubeconfig(loopbackKubeconfig("m", server));
            assert.deepStrictEqual(await readCrdPresence(kubeconfig, "kubefedclusters.core.kubefed.io"), {
                name: "kubefedclusters.core.kubefed.io",
                found: true,
            });
            assert.deepStrictEqual(await readCrdPresence(kubeconfig, "workspaces.tenant.kubesphere.io"), {
                name: "workspaces.tenant.kubesphere.io",
                found: false,
            });
            // The host wait reads the CRD until it is found, then no more.
            const read = hostRoleReader("host", kubeconfig);
            assert.strictEqual((await read()).kubefedCrd, true);
            assert.strictEqual((await read()).kubefedCrd, true);
            assert.strictEqual(
                api.requests.filter((request) => request.path === `${crds}/kubefedclusters.core.kubefed.io`).length,
                2,
                "one read by readCrdPresence, one by the wait's first poll",
            );
        } finally {
            await api.stop();
        }
        const closed = await readCrdPresence(
            parseKubeconfig(loopbackKubeconfig("m", "http://127.0.0.1:9")),
            "workspaces.tenant.kubesphere.io",
        );
        assert.strictEqual(closed.found, undefined);
        assert.ok(closed.problem, "an unreachable cluster is a problem, not a rejection");
    });

    it("reads the kubeconfig a Cluster on the host holds now (decoded), undefined for a Cluster that does not exist", async () => {
        const kept = tokenKubeconfig("m1");
        const api = fakeApiServer({
            [`${CLUSTERS}/m1`]: {
                metadata: { name: "m1" },
                spec: { connection: { type: "direct", kubeconfig: Buffer.from(kept).toString("base64") } },
            },
        });
        const server = await api.start();
        try {
            const kubeconfig = loopbackKubeconfig("host", server);
            assert.strictEqual(await readImportedKubeconfig(parseKubeconfig(kubeconfig), "m1"), kept);
            assert.strictEqual(await readImportedKubeconfig(parseKubeconfig(kubeconfig), "m2"), undefined);
        } finally {
            await api.stop();
        }
        await assert.rejects(readImportedKubeconfig(parseKubeconfig(unreachable), "m1"), (err: Error) => {
            assert.match(
                err.message,
                /^reading Cluster "m1" on the host \(https:\/\/127\.0\.0\.1:1\) failed: .+\. Fix: /,
            );
            assert.ok(!err.message.includes(tokenFor("m9")));
            return true;
        });
    });

    it("probes ks-apiserver through the service proxy path of docs/kubesphere.md §4.3, with the kubeconfig's credentials", async () => {
        for (const [status, expected] of [
            [200, undefined],
            [503, "the service proxy answered HTTP 503"],
        ] as const) {
            const api = fakeApiServer({}, status);
            const server = await api.start();
            try {
                assert.strictEqual(await probeKsApiserver(parseKubeconfig(loopbackKubeconfig("m1", server))), expected);
                assert.deepStrictEqual(api.requests, [
                    {
                        path: "/api/v1/namespaces/kubesphere-system/services/:ks-apiserver:/proxy/kapis/version",
                        authorization: `Bearer ${tokenFor("m1")}`,
                    },
                ]);
            } finally {
                await api.stop();
            }
        }
    });

    it("asks again after a 429 (watch cache still filling, or API Priority and Fairness throttling)", async function () {
        this.timeout(10_000);
        const api = fakeApiServer({ [CLUSTERS]: { items: [] } }, 200, 2);
        const server = await api.start();
        try {
            assert.deepStrictEqual(await listImportedClusters(parseKubeconfig(loopbackKubeconfig("host", server))), []);
            assert.strictEqual(api.requests.length, 3);
        } finally {
            await api.stop();
        }
    });
});

describe("diagnosis reads (components/kubesphere/reads.ts, probes.ts)", () => {
    /**
     * Answers /version (or 401), SelfSubjectAccessReviews (allowed unless the verb is "*", or all with
     * `clusterAdmin`; counted in `reviews`), and one Cluster.
     */
    function diagnosisServer(options: { unauthorized?: boolean; clusterAdmin?: boolean; reviews?: string[] } = {}) {
        const server = http.createServer((request, response) => {
            const url = new URL(request.url ?? "/", "http://x");
            if (options.unauthorized) {
                response
                    .writeHead(401, { "content-type": "application/json" })
                    .end(JSON.stringify({ kind: "Status", code: 401, message: "Unauthorized" }));
                return;
            }
            if (url.pathname === "/version") {
                response
                    .writeHead(200, { "content-type": "application/json", date: "Tue, 01 Dec 2026 10:00:00 GMT" })
                    .end(JSON.stringify({ gitVersion: "v1.33.13" }));
                return;
            }
            if (url.pathname === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
                let body = "";
                request.on("data", (chunk) => (body += chunk));
                request.on("end", () => {
                    const review = JSON.parse(body) as {
                        spec: { resourceAttributes: { verb: string; resource: string } };
                    };
                    const { verb, resource } = review.spec.resourceAttributes;
                    options.reviews?.push(`${verb} ${resource}`);
                    response.writeHead(201, { "content-type": "application/json" }).end(
                        JSON.stringify({
                            ...review,
                            status: { allowed: options.clusterAdmin === true || verb !== "*" },
                        }),
                    );
                });
                return;
            }
            // 4.x member: a ClusterRoleBinding made with kubectl, and a ks-core ServiceAccount Helm owns.
            if (url.pathname === "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubesphere") {
                response
                    .writeHead(200, { "content-type": "application/json" })
                    .end(JSON.stringify({ metadata: { name: "kubesphere" }, roleRef: {}, subjects: [] }));
                return;
            }
            if (url.pathname === "/api/v1/namespaces/kubesphere-system/serviceaccounts/kubesphere") {
                response.writeHead(200, { "content-type": "application/json" }).end(
                    JSON.stringify({
                        metadata: {
                            name: "kubesphere",
                            labels: { "app.kubernetes.io/managed-by": "Helm" },
                            annotations: {
                                "meta.helm.sh/release-name": "ks-core",
                                "meta.helm.sh/release-namespace": "kubesphere-system",
                            },
                        },
                    }),
                );
                return;
            }
            if (url.pathname === "/apis/cluster.kubesphere.io/v1alpha1/clusters/m1") {
                response.writeHead(200, { "content-type": "application/json" }).end(
                    JSON.stringify({
                        metadata: { name: "m1", annotations: { "kubesphere.io/config-hash": "abc" } },
                        spec: {
                            connection: {
                                type: "proxy",
                                kubeconfig: Buffer.from(tokenKubeconfig("m1", "https://m1.internal:6443")).toString(
                                    "base64",
                                ),
                            },
                        },
                        status: {
                            conditions: [{ type: "Ready", status: "False", message: "Cluster is Not Ready now" }],
                        },
                    }),
                );
                return;
            }
            response
                .writeHead(404, { "content-type": "application/json" })
                .end(JSON.stringify({ kind: "Status", code: 404 }));
        });
        return {
            start: () =>
                new Promise<string>((resolve) =>
                    server.listen(0, "127.0.0.1", () =>
                        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
                    ),
                ),
            stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
        };
    }

    it("asks one review for a cluster-admin identity: every verb on every resource implies the other rights", async () => {
        const reviews: string[] = [];
        const api = diagnosisServer({ clusterAdmin: true, reviews });
        const server = await api.start();
        try {
            const probe = await probeImportKubeconfig(parseKubeconfig(loopbackKubeconfig("m1", server)), "x");
            assert.deepStrictEqual(reviews, ["* *"]);
            // Its GET /version is the member's clock reading too (readFacts.ts uses it instead of a second request).
            assert.strictEqual(probe.clock?.serverMs, Date.parse("Tue, 01 Dec 2026 10:00:00 GMT"));
            assert.deepStrictEqual(
                probe.access?.map((check) => `${check.what}: ${check.allowed}`),
                [
                    "get namespaces: true",
                    "list nodes: true",
                    "get services/proxy in kubesphere-system: true",
                    "do everything (cluster-admin): true",
                ],
            );
        } finally {
            await api.stop();
        }
    });

    it("probes an imported kubeconfig: reachable, and which of KubeSphere's permissions the identity has", async () => {
        const api = diagnosisServer();
        const server = await api.start();
        try {
            const probe = await probeImportKubeconfig(
                parseKubeconfig(loopbackKubeconfig("m1", server)),
                "the kubeconfig the program will import",
            );
            assert.deepStrictEqual(probe.reach, { ok: true });
            assert.deepStrictEqual(
                probe.access?.map((check) => `${check.what}: ${check.allowed}`),
                [
                    "get namespaces: true",
                    "list nodes: true",
                    "get services/proxy in kubesphere-system: true",
                    "do everything (cluster-admin): false",
                ],
            );
            assert.strictEqual(probe.insecure, true);
        } finally {
            await api.stop();
        }
    });

    it("probes an imported kubeconfig: a closed port is refused, a 401 is unauthorized", async () => {
        assert.deepStrictEqual((await probeImportKubeconfig(parseKubeconfig(unreachable), "x")).reach, {
            ok: false,
            kind: "refused",
            detail: "connection refused",
        });
        const api = diagnosisServer({ unauthorized: true });
        const server = await api.start();
        try {
            assert.strictEqual(
                (await probeImportKubeconfig(parseKubeconfig(loopbackKubeconfig("m1", server)), "x")).reach.ok,
                false,
            );
            assert.match(
                JSON.stringify(
                    (await probeImportKubeconfig(parseKubeconfig(loopbackKubeconfig("m1", server)), "x")).reach,
                ),
                /"kind":"unauthorized"/,
            );
        } finally {
            await api.stop();
        }
    });

    it("reads a cluster's clock from the Date header, and the member's Cluster with the kubeconfig KubeSphere got", async () => {
        const api = diagnosisServer();
        const server = await api.start();
        try {
            const clock = await readClock(parseKubeconfig(loopbackKubeconfig("host", server)));
            assert.strictEqual(clock.serverMs, Date.parse("Tue, 01 Dec 2026 10:00:00 GMT"));
            assert.ok(clock.receivedMs >= clock.sentMs);
            const cluster = await readClusterObject(parseKubeconfig(loopbackKubeconfig("host", server)), "m1");
            // The kubeconfig KubeSphere got is parsed once, as it is read.
            assert.strictEqual(cluster?.kubeconfig?.server, "https://m1.internal:6443");
            assert.strictEqual(cluster?.kubeconfig?.authMethod, "token");
            assert.deepStrictEqual(cluster, {
                connectionType: "proxy",
                conditions: [{ type: "Ready", status: "False", message: "Cluster is Not Ready now" }],
                configHash: "abc",
                kubernetesVersion: undefined,
                kubeSphereVersion: undefined,
                kubeconfig: cluster?.kubeconfig,
            });
            assert.strictEqual(
                await readClusterObject(parseKubeconfig(loopbackKubeconfig("host", server)), "absent"),
                undefined,
            );
        } finally {
            await api.stop();
        }
    });

    it("names the ks-core chart objects on a 4.x member that Helm would not adopt (missing ones and owned ones are fine)", async () => {
        const api = diagnosisServer();
        const server = await api.start();
        try {
            assert.deepStrictEqual(await readKsCoreConflicts(parseKubeconfig(loopbackKubeconfig("m1", server))), [
                "ClusterRoleBinding kubesphere (not label app.kubernetes.io/managed-by=Helm, annotation meta.helm.sh/release-name=ks-core, annotation meta.helm.sh/release-namespace=kubesphere-system)",
            ]);
        } finally {
            await api.stop();
        }
        await assert.rejects(
            readKsCoreConflicts(parseKubeconfig(unreachable)),
            /reading ConfigMap kubesphere-system\/kubesphere-config/,
        );
    });

    it("sorts request errors into the diagnosis' causes", () => {
        const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
        assert.deepStrictEqual(
            [
                "ECONNREFUSED",
                "ETIMEDOUT",
                "ENOTFOUND",
                "ERR_TLS_CERT_ALTNAME_INVALID",
                "SELF_SIGNED_CERT_IN_CHAIN",
                "CERT_HAS_EXPIRED",
                "EWHATEVER",
            ].map((code) => {
                const probe = classifyRequestError(coded(code));
                return probe.ok ? "ok" : probe.kind;
            }),
            ["refused", "timeout", "dns", "san", "ca", "tls", "other"],
        );
    });

    it("the pre-flight names a rejected kubeconfig (401) instead of 'does not answer'", async () => {
        const api = diagnosisServer({ unauthorized: true });
        const server = await api.start();
        try {
            await assert.rejects(
                readClusterFacts("m1", parseKubeconfig(loopbackKubeconfig("m1", server))),
                /^Error: cluster "m1": the API server http:\/\/127\.0\.0\.1:\d+ rejects the kubeconfig's credentials \(HTTP 401/,
            );
        } finally {
            await api.stop();
        }
    });
});
