import * as assert from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import {
    checkClientCertificate,
    clientCertificateDaysLeft,
    hasClientCertificate,
} from "../../components/kubernetes/clientCertificate";
import {
    checkImport,
    defaultImportCredentials,
    IMPORT_SERVICE_ACCOUNT,
    importTokenSecretName,
    isKubeSphereRenewal,
    serviceAccountKubeconfig,
    unreachableFromHostReason,
} from "../../components/members/direct/importCredentials";
import { parseKubeconfig, resolveKubeconfig } from "../../components/kubernetes/kubeconfig";
import {
    certificateKubeconfig as fixtureCertificateKubeconfig,
    laterCertificateKubeconfig,
    tokenKubeconfig,
} from "../fixtures/kubeconfigs";

/** A self-signed client certificate (no key: only its dates matter here). */
const certificatePem = fs.readFileSync(path.join(__dirname, "..", "fixtures", "client-certificate.pem"));
const certificate = new X509Certificate(certificatePem);
const validTo = new Date(certificate.validTo);
const certificateKubeconfig = yaml.dump({
    "current-context": "c",
    clusters: [{ name: "c", cluster: { server: "https://c:6443" } }],
    contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
    users: [
        {
            name: "u",
            user: { "client-certificate-data": certificatePem.toString("base64"), "client-key-data": "a2V5" },
        },
    ],
});
const days = (n: number) => n * 86_400_000;

describe("import credentials", () => {
    it("defaults to a ServiceAccount for exec plugins and auth-providers on 3.x", () => {
        assert.strictEqual(defaultImportCredentials("exec"), "serviceAccount");
        assert.strictEqual(defaultImportCredentials("authProvider", "v3"), "serviceAccount");
        for (const method of ["token", "clientCertificate", "basic", "none"] as const)
            assert.strictEqual(defaultImportCredentials(method, "v3"), "kubeconfig");
    });

    it("on 4.x also for client certificates, which 4.x would renew inside the Cluster", () => {
        assert.deepStrictEqual(
            (["exec", "authProvider", "clientCertificate", "token", "basic", "none"] as const).map((method) =>
                defaultImportCredentials(method, "v4"),
            ),
            ["serviceAccount", "serviceAccount", "serviceAccount", "kubeconfig", "kubeconfig", "kubeconfig"],
        );
    });

    it("puts the import ServiceAccount in kube-system, which exists before ks-core and is never deleted with it", () => {
        assert.deepStrictEqual(IMPORT_SERVICE_ACCOUNT, { name: "kubesphere-multicluster", namespace: "kube-system" });
    });

    it("tells a client-certificate user from a token user, and counts the certificate's days", () => {
        assert.strictEqual(hasClientCertificate(parseKubeconfig(certificateKubeconfig)), true);
        assert.strictEqual(hasClientCertificate(parseKubeconfig(tokenKubeconfig("m1"))), false);
        assert.strictEqual(
            clientCertificateDaysLeft(
                parseKubeconfig(certificateKubeconfig),
                new Date(validTo.getTime() - days(10) - 1000),
            ),
            10,
        );
        assert.strictEqual(clientCertificateDaysLeft(parseKubeconfig(tokenKubeconfig("m1"))), undefined);
    });

    it("names the token Secret after the revision, so a new revision mints a new token", () => {
        assert.strictEqual(importTokenSecretName(1), "kubesphere-multicluster-token-r1");
        assert.notStrictEqual(importTokenSecretName(2), importTokenSecretName(1));
    });

    it("builds a static token kubeconfig that the kubeconfig validator accepts", () => {
        const text = serviceAccountKubeconfig({
            member: "eks1",
            server: "https://eks1:443",
            token: "sa-token",
            caData: "Q0E=",
        });
        const resolved = resolveKubeconfig(text, undefined, { key: "k", description: "d", baseDir: "/" }, () =>
            Buffer.from(""),
        );
        assert.strictEqual(resolved.server, "https://eks1:443");
        assert.strictEqual(resolved.authMethod, "token");
        const doc = yaml.load(text) as any;
        assert.strictEqual(doc.users[0].user.token, "sa-token");
        assert.strictEqual(doc.clusters[0].cluster["certificate-authority-data"], "Q0E=");
        assert.strictEqual("insecure-skip-tls-verify" in doc.clusters[0].cluster, false);
    });

    it("reads server and CA from a minified kubeconfig", () => {
        const cluster = parseKubeconfig(tokenKubeconfig("m1"));
        assert.strictEqual(cluster.server, "https://m1.example.com:6443");
        assert.strictEqual(cluster.caData, Buffer.from("ca-of-m1").toString("base64"));
    });

    it("flags servers the host's pods probably cannot reach", () => {
        assert.match(unreachableFromHostReason("https://127.0.0.1:6443")!, /loopback/);
        assert.match(unreachableFromHostReason("https://localhost:6443")!, /loopback/);
        assert.match(unreachableFromHostReason("https://[::1]:6443")!, /loopback/);
        assert.match(unreachableFromHostReason("https://lb.kubesphere.local:6443")!, /\*\.local/);
        assert.match(unreachableFromHostReason("https://kubernetes.default.svc:443")!, /in-cluster service name/);
        assert.strictEqual(unreachableFromHostReason("https://203.0.113.10:6443"), undefined);
        assert.strictEqual(unreachableFromHostReason("https://ack-prod.example.com"), undefined);
    });

    it("refuses credential plugins unless a ServiceAccount is used, and warns about unreachable-looking servers", () => {
        const args = { member: "eks1", configKey: "members[3]", server: "https://eks1.example.com" };
        const refused = checkImport({ ...args, credentials: "kubeconfig", authMethod: "exec" });
        assert.match(
            refused.error!,
            /member "eks1": its kubeconfig authenticates with an exec plugin.*Fix: set members\[3\]\.credentials: serviceAccount/,
        );
        assert.match(
            checkImport({ ...args, credentials: "kubeconfig", authMethod: "authProvider" }).error!,
            /auth-provider/,
        );
        assert.deepStrictEqual(checkImport({ ...args, credentials: "serviceAccount", authMethod: "exec" }), {});
        assert.deepStrictEqual(checkImport({ ...args, credentials: "kubeconfig", authMethod: "token" }), {});
        const local = checkImport({
            ...args,
            server: "https://lb.kubesphere.local:6443",
            credentials: "kubeconfig",
            authMethod: "clientCertificate",
        });
        assert.strictEqual(local.error, undefined);
        assert.match(
            local.warning!,
            /KubeSphere will connect to https:\/\/lb\.kubesphere\.local:6443.*Fix: set members\[3\]\.apiServerEndpoint/,
        );
    });

    it("errors on an expired client certificate, warns under 30 days, accepts otherwise", () => {
        const expired = checkClientCertificate(
            parseKubeconfig(certificateKubeconfig),
            new Date(validTo.getTime() + days(1)),
        );
        assert.strictEqual(expired.level, "error");
        assert.match((expired as { message: string }).message, /expired on 2036-/);
        const soon = checkClientCertificate(
            parseKubeconfig(certificateKubeconfig),
            new Date(validTo.getTime() - days(10)),
        );
        assert.strictEqual(soon.level, "warn");
        assert.match((soon as { message: string }).message, /expires in 9 day\(s\)|expires in 10 day\(s\)/);
        assert.deepStrictEqual(
            checkClientCertificate(parseKubeconfig(certificateKubeconfig), new Date(validTo.getTime() - days(31))),
            {
                level: "ok",
            },
        );
        assert.deepStrictEqual(
            checkClientCertificate(parseKubeconfig(tokenKubeconfig("m1"))),
            { level: "ok" },
            "tokens have nothing to check",
        );
    });

    it("errors on client-certificate-data that is not a certificate", () => {
        const broken = certificateKubeconfig.replace(
            certificatePem.toString("base64"),
            Buffer.from("nope").toString("base64"),
        );
        assert.strictEqual(checkClientCertificate(parseKubeconfig(broken)).level, "error");
    });

    describe("isKubeSphereRenewal (4.x renews an imported client certificate in place)", () => {
        const ours = fixtureCertificateKubeconfig("m1");
        const swappedToToken = tokenKubeconfig("m1");
        const renewedCertificate = laterCertificateKubeconfig("m1");

        it("keeps a token or a later-expiring certificate that KubeSphere put in the Cluster for the same server", () => {
            assert.strictEqual(
                isKubeSphereRenewal(parseKubeconfig(ours), swappedToToken),
                true,
                "system:masters: the kubesphere ServiceAccount's token",
            );
            assert.strictEqual(
                isKubeSphereRenewal(parseKubeconfig(ours), renewedCertificate),
                true,
                "any other user: a new certificate",
            );
        });

        it("does not keep anything else", () => {
            assert.strictEqual(isKubeSphereRenewal(parseKubeconfig(ours), undefined), false, "no Cluster yet");
            assert.strictEqual(isKubeSphereRenewal(parseKubeconfig(ours), ours), false, "unchanged");
            assert.strictEqual(
                isKubeSphereRenewal(parseKubeconfig(renewedCertificate), ours),
                false,
                "the user renewed theirs: it expires later than the kept one",
            );
            assert.strictEqual(
                isKubeSphereRenewal(parseKubeconfig(ours), tokenKubeconfig("m1", "https://elsewhere.example.com:6443")),
                false,
                "another server",
            );
            assert.strictEqual(
                isKubeSphereRenewal(parseKubeconfig(tokenKubeconfig("m1")), renewedCertificate),
                false,
                "ours has no certificate: nothing to renew",
            );
            assert.strictEqual(isKubeSphereRenewal(parseKubeconfig(ours), "not: [a kubeconfig"), false, "unreadable");
        });
    });
});
