/** Kubeconfig files of the sandbox clusters: `<dir>/kubeconfigs/<name>.yaml` and `<name>-exec.yaml`. TEST ONLY. */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

export function kubeconfigPath(dir: string, name: string): string {
    return path.join(dir, "kubeconfigs", `${name}.yaml`);
}

/** `<dir>/kubeconfigs/<name>-exec.yaml`: the exec-plugin variant (see execCredential.ts). */
export function execKubeconfigPath(dir: string, name: string): string {
    return path.join(dir, "kubeconfigs", `${name}-exec.yaml`);
}

export interface KubeconfigParts {
    /** Cluster, context and user are all named after the cluster, e.g. `member1`. */
    name: string;
    server: string;
    /** base64 PEM of the CA that signed the serving certificate. */
    caData: string;
    token: string;
}

/** A single-cluster, token-authenticated kubeconfig, like the ones users export from their clusters. */
export function kubeconfigYaml(parts: KubeconfigParts): string {
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": parts.name,
        clusters: [{ name: parts.name, cluster: { server: parts.server, "certificate-authority-data": parts.caData } }],
        contexts: [{ name: parts.name, context: { cluster: parts.name, user: `${parts.name}-admin` } }],
        users: [{ name: `${parts.name}-admin`, user: { token: parts.token } }],
    });
}

/** Writes the kubeconfig (mode 0600: it holds a token) and returns its path. */
export function writeKubeconfig(dir: string, parts: KubeconfigParts): string {
    const file = kubeconfigPath(dir, parts.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, kubeconfigYaml(parts), { mode: 0o600 });
    return file;
}

export interface ExecKubeconfigParts {
    /** The cluster entry is named after the cluster; context and user are `<name>-exec`. */
    name: string;
    server: string;
    caData: string;
    /** Absolute path of the credential plugin. */
    command: string;
    args: string[];
}

/** A kubeconfig whose user runs a credential plugin, in the shape `aws eks update-kubeconfig` writes. No token inside. */
export function execKubeconfigYaml(parts: ExecKubeconfigParts): string {
    const context = `${parts.name}-exec`;
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": context,
        clusters: [{ name: parts.name, cluster: { server: parts.server, "certificate-authority-data": parts.caData } }],
        contexts: [{ name: context, context: { cluster: parts.name, user: context } }],
        users: [
            {
                name: context,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: parts.command,
                        args: parts.args,
                        interactiveMode: "Never",
                    },
                },
            },
        ],
    });
}

/** Writes the exec kubeconfig and returns its path (mode 0600 like the others, though it holds no token). */
export function writeExecKubeconfig(dir: string, parts: ExecKubeconfigParts): string {
    const file = execKubeconfigPath(dir, parts.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, execKubeconfigYaml(parts), { mode: 0o600 });
    return file;
}

export interface CertificateKubeconfigParts {
    /** Cluster and context are named after the cluster; the user after `userName`. */
    name: string;
    userName: string;
    server: string;
    caData: string;
    /** PEM of the client certificate and its key. */
    certPem: string;
    keyPem: string;
}

/** A kubeconfig that authenticates with a client certificate, like kubeadm's admin.conf. Holds a private key. */
export function certificateKubeconfigYaml(parts: CertificateKubeconfigParts): string {
    return yaml.dump({
        apiVersion: "v1",
        kind: "Config",
        "current-context": parts.name,
        clusters: [{ name: parts.name, cluster: { server: parts.server, "certificate-authority-data": parts.caData } }],
        contexts: [{ name: parts.name, context: { cluster: parts.name, user: parts.userName } }],
        users: [
            {
                name: parts.userName,
                user: {
                    "client-certificate-data": Buffer.from(parts.certPem).toString("base64"),
                    "client-key-data": Buffer.from(parts.keyPem).toString("base64"),
                },
            },
        ],
    });
}
