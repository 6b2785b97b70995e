import * as assert from "assert";
import { apiCost, classOf, parseAuditLog } from "../../bench/audit";

/** One Metadata-level audit event as kube-apiserver writes it (ResponseComplete stage), as a JSON line. */
function auditLine(
    verb: string,
    requestURI: string,
    objectRef?: { resource: string; apiGroup?: string; namespace?: string; name?: string; subresource?: string },
    userAgent = "pulumi-kubernetes/4.25.0 (linux/amd64) client-go/v0.33.3",
): string {
    return JSON.stringify({
        kind: "Event",
        apiVersion: "audit.k8s.io/v1",
        level: "Metadata",
        stage: "ResponseComplete",
        verb,
        requestURI,
        userAgent,
        ...(objectRef ? { objectRef: { apiVersion: "v1", ...objectRef } } : {}),
        responseStatus: { metadata: {}, code: verb === "create" ? 201 : 200 },
        requestReceivedTimestamp: "2026-12-02T18:00:00.000000Z",
        stageTimestamp: "2026-12-02T18:00:00.010000Z",
    });
}

const lines = {
    ssar: auditLine(
        "create",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        { resource: "selfsubjectaccessreviews", apiGroup: "authorization.k8s.io" },
        "ksf-bench-program",
    ),
    ssrr: auditLine("create", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
        resource: "selfsubjectrulesreviews",
        apiGroup: "authorization.k8s.io",
    }),
    sar: auditLine("create", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        resource: "subjectaccessreviews",
        apiGroup: "authorization.k8s.io",
    }),
    tokenReview: auditLine("create", "/apis/authentication.k8s.io/v1/tokenreviews", {
        resource: "tokenreviews",
        apiGroup: "authentication.k8s.io",
    }),
    dryRunPatch: auditLine(
        "patch",
        "/apis/installer.kubesphere.io/v1alpha1/namespaces/kubesphere-system/clusterconfigurations/ks-installer?dryRun=All&fieldManager=pulumi-kubernetes",
        {
            resource: "clusterconfigurations",
            apiGroup: "installer.kubesphere.io",
            namespace: "kubesphere-system",
            name: "ks-installer",
        },
    ),
    dryRunCreate: auditLine("create", "/apis/cluster.kubesphere.io/v1alpha1/clusters?dryRun=All", {
        resource: "clusters",
        apiGroup: "cluster.kubesphere.io",
    }),
    patch: auditLine(
        "patch",
        "/apis/installer.kubesphere.io/v1alpha1/namespaces/kubesphere-system/clusterconfigurations/ks-installer?fieldManager=pulumi-kubernetes",
        {
            resource: "clusterconfigurations",
            apiGroup: "installer.kubesphere.io",
            namespace: "kubesphere-system",
            name: "ks-installer",
        },
    ),
    create: auditLine("create", "/apis/cluster.kubesphere.io/v1alpha1/clusters", {
        resource: "clusters",
        apiGroup: "cluster.kubesphere.io",
    }),
    statusPatch: auditLine("patch", "/apis/cluster.kubesphere.io/v1alpha1/clusters/m1/status", {
        resource: "clusters",
        apiGroup: "cluster.kubesphere.io",
        name: "m1",
        subresource: "status",
    }),
    deleteNs: auditLine("delete", "/api/v1/namespaces/demo", { resource: "namespaces", name: "demo" }),
    get: auditLine("get", "/api/v1/namespaces/kubesphere-system/configmaps/kubesphere-config", {
        resource: "configmaps",
        namespace: "kubesphere-system",
        name: "kubesphere-config",
    }),
    watch: auditLine(
        "watch",
        "/apis/cluster.kubesphere.io/v1alpha1/clusters?fieldSelector=metadata.name%3Dm1&watch=true",
        {
            resource: "clusters",
            apiGroup: "cluster.kubesphere.io",
        },
    ),
    // A query that merely mentions dryRun with another value is not a dry run (the API server accepts only All).
    dryRunEmpty: auditLine("patch", "/api/v1/namespaces/kubesphere-system/configmaps/x?dryRun=", {
        resource: "configmaps",
        namespace: "kubesphere-system",
        name: "x",
    }),
    discovery: auditLine("get", "/openapi/v2?timeout=32s"),
    version: auditLine("get", "/version"),
};

const classOfLine = (line: string) => classOf(parseAuditLog("m1", line)[0]);

describe("benchmark audit-log classifier", () => {
    for (const name of ["ssar", "ssrr", "sar", "tokenReview", "dryRunPatch", "dryRunCreate"] as const) {
        it(`${name}: persists nothing, counted as a review, never as a write`, () => {
            assert.strictEqual(classOfLine(lines[name]), "review");
        });
    }
    for (const name of ["patch", "create", "statusPatch", "deleteNs", "dryRunEmpty"] as const) {
        it(`${name}: a write`, () => {
            assert.strictEqual(classOfLine(lines[name]), "write");
        });
    }
    for (const name of ["get", "watch"] as const) {
        it(`${name}: a read`, () => {
            assert.strictEqual(classOfLine(lines[name]), "read");
        });
    }
    for (const name of ["discovery", "version"] as const) {
        it(`${name}: discovery`, () => {
            assert.strictEqual(classOfLine(lines[name]), "discovery");
        });
    }

    it("a no-change preview's requests (reads and access reviews) add up to 0 writes", () => {
        const preview = [lines.discovery, lines.get, lines.ssar, lines.ssar, lines.tokenReview, lines.dryRunPatch];
        const requests = [
            ...parseAuditLog("host", preview.join("\n")),
            ...parseAuditLog("m1", `${preview.join("\n")}\n\n`),
        ];
        const cost = apiCost(requests, "host");
        assert.deepStrictEqual(
            {
                requests: cost.requests,
                writes: cost.writes,
                reviews: cost.reviews,
                reads: cost.reads,
                discovery: cost.discovery,
                hostRequests: cost.hostRequests,
                memberRequests: cost.memberRequests,
            },
            { requests: 12, writes: 0, reviews: 8, reads: 2, discovery: 2, hostRequests: 6, memberRequests: 6 },
        );
        assert.strictEqual(cost.byKind["member create selfsubjectaccessreviews"], 2);
        assert.strictEqual(cost.byObject["member get configmaps kubesphere-system/kubesphere-config"], 1);
        assert.strictEqual(cost.byObject["host get (discovery) /openapi/v2"], 1);
    });

    it("a first up's patches and creates are writes, its reviews are not", () => {
        const requests = parseAuditLog("host", [lines.patch, lines.create, lines.ssar, lines.get].join("\n"));
        const cost = apiCost(requests, "host");
        assert.strictEqual(cost.writes, 2);
        assert.strictEqual(cost.reviews, 1);
        assert.strictEqual(cost.requests, cost.writes + cost.reviews + cost.reads + cost.discovery);
    });

    it("reads the client from the User-Agent", () => {
        const [request] = parseAuditLog("m1", lines.ssar);
        assert.strictEqual(request.client, "program");
        assert.strictEqual(request.resource, "selfsubjectaccessreviews");
    });
});
