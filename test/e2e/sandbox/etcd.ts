/**
 * The sandbox's single etcd. Every kube-apiserver stores under its own `--etcd-prefix`, so one etcd holds
 * several independent clusters. TEST ONLY: fsync is off for speed.
 */
import * as http from "http";
import * as path from "path";
import { waitFor } from "./waitFor";

export function etcdDataDir(dir: string): string {
    return path.join(dir, "etcd");
}

export function etcdClientUrl(clientPort: number): string {
    return `http://127.0.0.1:${clientPort}`;
}

export function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
    const clientUrl = etcdClientUrl(clientPort);
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    return [
        "--name=default",
        `--data-dir=${etcdDataDir(dir)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Throwaway data: durability is not worth the fsync latency on a test machine.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ];
}

function etcdHealthy(clientPort: number): Promise<boolean> {
    return new Promise((resolve) => {
        const request = http.get(`${etcdClientUrl(clientPort)}/health`, { timeout: 1000 }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () => resolve(response.statusCode === 200 && body.includes('"health":"true"')));
        });
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(false));
    });
}

/** Waits until etcd answers /health; `isAlive` stops the wait early if the process died. */
export async function waitForEtcd(clientPort: number, isAlive: () => boolean, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => etcdHealthy(clientPort), {
        description: `etcd on port ${clientPort} to report healthy`,
        timeoutMs,
        intervalMs: 100,
        giveUpIf: () => (isAlive() ? undefined : "etcd exited"),
    });
}
