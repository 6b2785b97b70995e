/**
 * `state.json` in the sandbox directory: everything needed to find, restart and stop a running sandbox from
 * another process (pids, ports, options). Holds no secrets: tokens live only in the kubeconfig and token files.
 */
import * as fs from "fs";
import * as path from "path";
import { KubesphereCrd, TowerServing, WebhookServing } from "../emulator/config";
import { KubesphereVersion } from "../emulator/versions";

export type ClusterRole = "host" | "member";

export interface ClusterState {
    name: string;
    role: ClusterRole;
    /** The kube-apiserver's secure port on 127.0.0.1. */
    port: number;
    /** Keeps this cluster's objects apart from the others' in the shared etcd, e.g. `/registry-host`. */
    etcdPrefix: string;
    /** The KubeSphere version the cluster was seeded as and the emulator plays for it (docs/kubesphere.md §9). */
    version: KubesphereVersion;
    /** CRDs of its KubeSphere 3.x install left out (StartSandboxOptions.missingCrds); absent: none. */
    missingCrds?: KubesphereCrd[];
    /** Pid of its kube-apiserver; undefined while stopped with stopApiServer. */
    pid?: number;
    /** Pid of its kube-controller-manager; stopped and started together with the apiserver. */
    controllerManagerPid?: number;
}

export interface SandboxState {
    version: 2;
    dir: string;
    /** Whether the processes were started to outlive their creator (CLI) or be killed with it (tests). */
    detached: boolean;
    binDir: string;
    startedAt: string;
    /** kube-apiservers write audit logs (`<dir>/logs/<name>-audit.log`); kept across restarts. Absent: false. */
    auditLog?: boolean;
    etcd: { pid?: number; clientPort: number; peerPort: number };
    clusters: ClusterState[];
    emulator: { pid?: number; configFile: string; readyFile: string; logFile: string };
    /** Where the emulator serves 3.4's Cluster webhook (port and PEM files under `<dir>/webhook/`). */
    webhook: WebhookServing;
    /** Where the emulated tower listens for agents, and its CA (`<dir>/tower/`). Absent in older state files. */
    tower?: TowerServing;
    /** 4.x host: the tower extension was seeded. */
    towerExtension?: boolean;
}

export function stateFile(dir: string): string {
    return path.join(dir, "state.json");
}

export function writeState(state: SandboxState): void {
    const file = stateFile(state.dir);
    // Write-then-rename so a concurrent `status` never reads half a file.
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
}

/** The state of the sandbox in `dir`, or undefined when none was started there. */
export function readState(dir: string): SandboxState | undefined {
    const file = stateFile(dir);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as SandboxState;
    if (state.version !== 2) {
        throw new Error(
            `${file} has version ${String(state.version)}, expected 2. Fix: stop that sandbox by hand and delete ${state.dir}`,
        );
    }
    return state;
}
