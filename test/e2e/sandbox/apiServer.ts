/**
 * One kube-apiserver per sandbox cluster. TEST ONLY.
 *
 * Each is paired with a kube-controller-manager (controllerManager.ts) that runs only the ServiceAccount, token,
 * garbage-collector and namespace controllers; nothing else of a real control plane (no scheduler, no nodes).
 */
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { randomAlphanumeric } from "./random";
import { ClusterState } from "./state";
import { waitFor } from "./waitFor";
import { etcdClientUrl } from "./etcd";
import { CaFiles, ensureCa } from "./certificates";

/** `<dir>/clusters/`: one folder per cluster. */
export function clustersDir(dir: string): string {
    return path.join(dir, "clusters");
}

/** Files of one cluster, under `<dir>/clusters/<name>/`. */
export function clusterFiles(dir: string, name: string) {
    const clusterDir = path.join(clustersDir(dir), name);
    return {
        clusterDir,
        certDir: path.join(clusterDir, "certs"),
        /** The self-signed serving certificate kube-apiserver writes (cert, then its CA). */
        servingCert: path.join(clusterDir, "certs", "apiserver.crt"),
        tokenFile: path.join(clusterDir, "tokens.csv"),
        serviceAccountKey: path.join(clusterDir, "service-account.key"),
        /** The cluster's client CA: kube-apiserver trusts client certificates it signed; the CSR signer uses it too. */
        clientCaDir: path.join(clusterDir, "client-ca"),
    };
}

export function apiServerUrl(port: number): string {
    return `https://127.0.0.1:${port}`;
}

/**
 * Creates the cluster's admin token and ServiceAccount signing key, once; a restarted apiserver reuses them
 * (and its serving certificate), so kubeconfigs stay valid across stopApiServer/startApiServer.
 */
export function prepareClusterFiles(dir: string, name: string): void {
    const files = clusterFiles(dir, name);
    fs.mkdirSync(files.certDir, { recursive: true });
    if (!fs.existsSync(files.tokenFile)) {
        // Format: token,user,uid,"group1,group2". system:masters bypasses RBAC, like a kubeadm admin.conf.
        fs.writeFileSync(files.tokenFile, `${randomAlphanumeric(40)},sandbox-admin,sandbox-admin,"system:masters"\n`, {
            mode: 0o600,
        });
    }
    if (!fs.existsSync(files.serviceAccountKey)) {
        const { privateKey } = generateKeyPairSync("rsa", {
            modulusLength: 2048,
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs1", format: "pem" },
        });
        fs.writeFileSync(files.serviceAccountKey, privateKey, { mode: 0o600 });
    }
    ensureCa(files.clientCaDir, `${name}-client-ca`);
}

/** The cluster's client CA files (created by prepareClusterFiles). */
export function clientCa(dir: string, name: string): CaFiles {
    const caDir = clusterFiles(dir, name).clientCaDir;
    return { certFile: path.join(caDir, "ca.crt"), keyFile: path.join(caDir, "ca.key") };
}

/** The cluster's admin token. Secret: never log it. */
export function adminToken(dir: string, name: string): string {
    return fs.readFileSync(clusterFiles(dir, name).tokenFile, "utf8").split(",")[0];
}

/** `<dir>/audit-policy.yaml`: the policy of the opt-in audit log (see `auditLogArgs`). */
export function auditPolicyFile(dir: string): string {
    return path.join(dir, "audit-policy.yaml");
}

/** `<dir>/logs/<name>-audit.log`: one JSON audit event per line, when the sandbox was started with `auditLog`. */
export function auditLogFile(dir: string, name: string): string {
    return path.join(dir, "logs", `${name}-audit.log`);
}

/**
 * Opt-in (the benchmark counts API requests with it): every request at Metadata level (who, user agent, verb,
 * object, timestamps; never a request or response body, so no secret), one event per request once it completed.
 */
export function auditLogArgs(dir: string, name: string): string[] {
    const policy = auditPolicyFile(dir);
    if (!fs.existsSync(policy)) {
        // Write-then-rename: an apiserver starting meanwhile must never read a half-written policy.
        fs.writeFileSync(
            `${policy}.tmp`,
            [
                "apiVersion: audit.k8s.io/v1",
                "kind: Policy",
                "omitStages: [RequestReceived, ResponseStarted]",
                "rules:",
                "  - level: Metadata",
                "",
            ].join("\n"),
        );
        fs.renameSync(`${policy}.tmp`, policy);
    }
    // The default blocking mode writes each event before the response is sent: the log is complete when a client returns.
    return [
        `--audit-policy-file=${auditPolicyFile(dir)}`,
        `--audit-log-path=${auditLogFile(dir, name)}`,
        "--audit-log-maxsize=0",
    ];
}

export function apiServerArgs(
    dir: string,
    etcdPort: number,
    cluster: ClusterState,
    options: { auditLog?: boolean } = {},
): string[] {
    const files = clusterFiles(dir, cluster.name);
    return [
        ...(options.auditLog ? auditLogArgs(dir, cluster.name) : []),
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${cluster.port}`,
        `--etcd-servers=${etcdClientUrl(etcdPort)}`,
        `--etcd-prefix=${cluster.etcdPrefix}`,
        `--token-auth-file=${files.tokenFile}`,
        // Client certificates signed by the cluster's CA authenticate as CN (user) and O (groups), like kubeadm's.
        `--client-ca-file=${clientCa(dir, cluster.name).certFile}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${files.serviceAccountKey}`,
        `--service-account-signing-key-file=${files.serviceAccountKey}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        // Without --tls-cert-file the apiserver writes (and on restart reuses) a self-signed cert here.
        `--cert-dir=${files.certDir}`,
        // Faster start and less memory; flow control and profiling are irrelevant to a test cluster.
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        // The default reconciler publishes the advertise address in Endpoints "kubernetes", which refuses
        // loopback addresses and logs an error every 10 s; nothing in the sandbox uses that Service.
        "--endpoint-reconciler-type=none",
    ];
}

/**
 * Environment for kube-apiserver: a soft Go memory limit trims its resident size from about 260 MB to about
 * 220 MB with no visible CPU cost at sandbox load. GOMEMLIMIT from the caller's environment wins.
 */
export function apiServerEnv(): NodeJS.ProcessEnv {
    return { ...process.env, GOMEMLIMIT: process.env.GOMEMLIMIT ?? "150MiB" };
}

/** The serving certificate's CA (base64 PEM, for certificate-authority-data), or undefined before it exists. */
export function servingCaData(dir: string, name: string): string | undefined {
    const file = clusterFiles(dir, name).servingCert;
    return fs.existsSync(file) ? fs.readFileSync(file).toString("base64") : undefined;
}

function readyzOk(port: number, ca: Buffer, token: string): Promise<boolean> {
    return new Promise((resolve) => {
        const request = https.get(
            `${apiServerUrl(port)}/readyz`,
            { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 1000 },
            (response) => {
                response.resume();
                resolve(response.statusCode === 200);
            },
        );
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(false));
    });
}

/** Polls /readyz (verifying TLS against the apiserver's own CA) until it answers 200. */
export async function waitForApiServer(
    dir: string,
    cluster: ClusterState,
    isAlive: () => boolean,
    timeoutMs = 60_000,
): Promise<void> {
    const files = clusterFiles(dir, cluster.name);
    const token = adminToken(dir, cluster.name);
    await waitFor(
        async () =>
            fs.existsSync(files.servingCert) && readyzOk(cluster.port, fs.readFileSync(files.servingCert), token),
        {
            description: `kube-apiserver "${cluster.name}" (${apiServerUrl(cluster.port)}) /readyz`,
            timeoutMs,
            intervalMs: 200,
            giveUpIf: () => (isAlive() ? undefined : `kube-apiserver "${cluster.name}" exited`),
        },
    );
}

/** One /readyz probe of a running sandbox cluster (for `status`). */
export function apiServerReady(dir: string, cluster: ClusterState): Promise<boolean> {
    const files = clusterFiles(dir, cluster.name);
    if (!fs.existsSync(files.servingCert)) {
        return Promise.resolve(false);
    }
    return readyzOk(cluster.port, fs.readFileSync(files.servingCert), adminToken(dir, cluster.name));
}
