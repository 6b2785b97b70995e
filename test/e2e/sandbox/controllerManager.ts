/**
 * One kube-controller-manager per sandbox cluster, with only the controllers the e2e suite needs. TEST ONLY.
 *
 * - serviceaccount-token-controller: fills `token`, `ca.crt` and `namespace` into `kubernetes.io/service-account-token`
 *   Secrets (the long-lived token kubeconfigs of docs/kubesphere.md §5, EKS), signing with the apiserver's ServiceAccount key;
 * - serviceaccount-controller: the `default` ServiceAccount of every namespace;
 * - garbage-collector-controller: owner references are followed (and token Secrets go with their ServiceAccount);
 * - namespace-controller: deleting a namespace deletes its content;
 * - certificatesigningrequest-signing-controller: approved CSRs for `kubernetes.io/kube-apiserver-client` are signed
 *   with the cluster's client CA (KubeSphere 4.x renews member certificates this way, docs/kubesphere.md §9).
 *
 * Everything else (pods, nodes, workloads, CSR approval, ...) stays off: nothing runs in the sandbox. The process serves no
 * port (`--secure-port=0`) and authenticates with the cluster's admin token, from its own kubeconfig.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";
import { adminToken, apiServerUrl, clientCa, clusterFiles, servingCaData } from "./apiServer";
import { kubeconfigYaml } from "./kubeconfigFile";
import { ClusterState } from "./state";
import { waitFor } from "./waitFor";

/** The v1.33 names (`--help` lists them); the short pre-1.28 aliases still work but are deprecated. */
export const CONTROLLERS = [
    "serviceaccount-token-controller",
    "serviceaccount-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "certificatesigningrequest-signing-controller",
];

/** `<dir>/clusters/<name>/controller-manager.kubeconfig`: also the marker that identifies the process. */
export function controllerManagerKubeconfigPath(dir: string, name: string): string {
    return path.join(clusterFiles(dir, name).clusterDir, "controller-manager.kubeconfig");
}

/** Writes the controller-manager's kubeconfig (admin token, mode 0600). Needs the apiserver's serving certificate. */
export function writeControllerManagerKubeconfig(dir: string, cluster: ClusterState): string {
    const caData = servingCaData(dir, cluster.name);
    if (!caData) {
        throw new Error(`kube-apiserver "${cluster.name}" has not written its serving certificate yet`);
    }
    const file = controllerManagerKubeconfigPath(dir, cluster.name);
    fs.writeFileSync(
        file,
        kubeconfigYaml({
            name: cluster.name,
            server: apiServerUrl(cluster.port),
            caData,
            token: adminToken(dir, cluster.name),
        }),
        {
            mode: 0o600,
        },
    );
    return file;
}

export function controllerManagerArgs(dir: string, cluster: ClusterState): string[] {
    const files = clusterFiles(dir, cluster.name);
    return [
        `--kubeconfig=${controllerManagerKubeconfigPath(dir, cluster.name)}`,
        `--controllers=${CONTROLLERS.join(",")}`,
        // The key the apiserver signs and verifies ServiceAccount tokens with.
        `--service-account-private-key-file=${files.serviceAccountKey}`,
        // Becomes the token Secrets' ca.crt: the self-signed serving certificate, so a token kubeconfig verifies TLS.
        `--root-ca-file=${files.servingCert}`,
        `--cluster-signing-cert-file=${clientCa(dir, cluster.name).certFile}`,
        `--cluster-signing-key-file=${clientCa(dir, cluster.name).keyFile}`,
        // One identity (the admin token) for every controller: no per-controller ServiceAccounts to bootstrap.
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        // No serving endpoint: nothing probes it, and no serving certificate to generate.
        "--bind-address=127.0.0.1",
        "--secure-port=0",
        "--profiling=false",
    ];
}

/** Soft Go memory limit, as for the apiservers (see apiServerEnv). GOMEMLIMIT from the caller's environment wins. */
export function controllerManagerEnv(): NodeJS.ProcessEnv {
    return { ...process.env, GOMEMLIMIT: process.env.GOMEMLIMIT ?? "64MiB" };
}

/**
 * Waits until the controller-manager works: its ServiceAccount controller has created `default/default`.
 * The token controller starts with it, so token Secrets created from then on are filled in promptly.
 */
export async function waitForControllerManager(
    kubeConfig: KubeConfig,
    name: string,
    isAlive: () => boolean,
    timeoutMs = 60_000,
): Promise<void> {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitFor(
        async () => {
            await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
            return true;
        },
        {
            description: `kube-controller-manager "${name}" to create the default ServiceAccount`,
            timeoutMs,
            intervalMs: 200,
            giveUpIf: () => (isAlive() ? undefined : `kube-controller-manager "${name}" exited`),
        },
    );
}
