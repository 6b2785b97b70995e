/**
 * X.509 material for the sandbox, made with the `openssl` CLI (Node.js can parse certificates but not write them).
 * TEST ONLY. Per cluster a client CA (`--client-ca-file`, and the signer of its kube-controller-manager's CSR
 * controller) so kubeconfigs can authenticate with client certificates like kubeadm's admin.conf; one CA and a
 * loopback serving certificate for the emulator's admission webhook. Keys are written mode 0600 and never logged.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

function openssl(args: string[], input?: string): string {
    try {
        return execFileSync("openssl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? "";
        throw new Error(
            `openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}. Fix: install openssl (the sandbox needs it to mint certificates)`,
        );
    }
}

export interface CaFiles {
    certFile: string;
    keyFile: string;
}

/** Creates a self-signed CA in `dir` (ca.crt, ca.key) unless it exists; returns its files. */
export function ensureCa(dir: string, commonName: string): CaFiles {
    const files = { certFile: path.join(dir, "ca.crt"), keyFile: path.join(dir, "ca.key") };
    if (!fs.existsSync(files.certFile) || !fs.existsSync(files.keyFile)) {
        fs.mkdirSync(dir, { recursive: true });
        openssl([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            files.keyFile,
            "-out",
            files.certFile,
            "-days",
            "3650",
            "-subj",
            `/CN=${commonName}`,
        ]);
        fs.chmodSync(files.keyFile, 0o600);
    }
    return files;
}

export interface IssueOptions {
    commonName: string;
    /** Subject O= entries: Kubernetes groups for a client certificate (e.g. system:masters). */
    organizations?: string[];
    /** Validity in whole days from now (KubeSphere 4.x renews at 7 or fewer). */
    days: number;
    /** "client" (clientAuth) or "server" with IP SANs. */
    usage: { kind: "client" } | { kind: "server"; ipAddresses: string[] };
}

/** A certificate signed by `ca`, with its new RSA key; both PEM. */
export function issueCertificate(ca: CaFiles, options: IssueOptions): { certPem: string; keyPem: string } {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-cert-"));
    try {
        const keyFile = path.join(work, "key.pem");
        const csrFile = path.join(work, "req.csr");
        const extFile = path.join(work, "ext.cnf");
        const subject = [`/CN=${options.commonName}`, ...(options.organizations ?? []).map((o) => `/O=${o}`)].join("");
        openssl([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            keyFile,
            "-out",
            csrFile,
            "-subj",
            subject,
        ]);
        const extensions =
            options.usage.kind === "client"
                ? [
                      "basicConstraints=CA:FALSE",
                      "keyUsage=critical,digitalSignature,keyEncipherment",
                      "extendedKeyUsage=clientAuth",
                  ]
                : [
                      "basicConstraints=CA:FALSE",
                      "keyUsage=critical,digitalSignature,keyEncipherment",
                      "extendedKeyUsage=serverAuth",
                      `subjectAltName=${options.usage.ipAddresses.map((ip) => `IP:${ip}`).join(",")}`,
                  ];
        fs.writeFileSync(extFile, extensions.join("\n") + "\n");
        const certPem = openssl([
            "x509",
            "-req",
            "-in",
            csrFile,
            "-CA",
            ca.certFile,
            "-CAkey",
            ca.keyFile,
            "-CAcreateserial",
            "-days",
            String(options.days),
            "-extfile",
            extFile,
            "-sha256",
        ]);
        return { certPem, keyPem: fs.readFileSync(keyFile, "utf8") };
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
