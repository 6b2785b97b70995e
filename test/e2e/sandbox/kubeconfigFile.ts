/** Kubeconfig files of the sandbox clusters: `<dir>/kubeconfigs/<name>.yaml`. TEST ONLY. */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

export function kubeconfigPath(dir: string, name: string): string {
    return path.join(dir, "kubeconfigs", `${name}.yaml`);
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
