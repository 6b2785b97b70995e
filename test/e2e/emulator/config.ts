/**
 * The emulator's settings: a JSON file written by the sandbox (`--config <file>`), with flag and environment
 * overrides for the knobs a test may turn. TEST ONLY.
 */
import * as fs from "fs";
import { KubesphereVersion, parseKubesphereVersion } from "./versions";

export interface EmulatedCluster {
    name: string;
    /** What the sandbox made the cluster for; the emulator itself goes by what the cluster's objects say. */
    role: "host" | "member";
    kubeconfigPath: string;
    /** The KubeSphere release this cluster runs (docs/kubesphere.md §9); each cluster independently. */
    version: KubesphereVersion;
    /**
     * CRDs a 3.x install has that this cluster lacks (a broken install): `Workspace` is never seeded, `KubeFedCluster`
     * is not installed when the installer makes it a host (docs/kubesphere.md §12). Absent: none missing.
     */
    missingCrds?: KubesphereCrd[];
}

/** The KubeSphere 3.x CRDs a sandbox cluster can be made without. */
export type KubesphereCrd = "Workspace" | "KubeFedCluster";

/** The HTTPS endpoint on loopback where the emulator serves 3.4's Cluster admission webhook. */
export interface WebhookServing {
    port: number;
    /** PEM files: serving certificate (SAN IP 127.0.0.1), its key, and the CA that signed it (the caBundle). */
    certFile: string;
    keyFile: string;
    caFile: string;
}

/**
 * Where the emulated tower (agent connection, on the host) listens for agents on loopback, and the CA it signs its
 * serving certificates and the kubeconfigs it writes with (the real tower image bakes one in).
 */
export interface TowerServing {
    port: number;
    caCertFile: string;
    caKeyFile: string;
}

export interface EmulatorConfig {
    clusters: EmulatedCluster[];
    /** The emulated tower's listener; without it no tower runs. */
    tower?: TowerServing;
    /**
     * How long ks-installer takes to re-render kubesphere-config after its spec changes, and how long the 4.x
     * host's Helm install of ks-core on a member takes. Default 2000 ms.
     */
    reconcileDelayMs: number;
    /**
     * How long a 3.x installer run that makes a cluster a host takes (the real one Helm-installs kubefed with
     * `--wait` first, up to 30 min): kubesphere-config, and so the cluster controller, only follow after it.
     * Default: reconcileDelayMs.
     */
    hostInstallerDelayMs: number;
    /** How often each ks-installer is polled. Default 500 ms. */
    installerPollMs: number;
    /** How often every Cluster object is re-checked, like KubeSphere's periodic resync. Default 1000 ms. */
    clusterResyncMs: number;
    /** Where 3.4's Cluster webhook is served; required when a 3.4 cluster is listed. */
    webhook?: WebhookServing;
    /** File created once the first full pass is done, so the sandbox can wait for the emulator. */
    readyFile?: string;
    /** Test-only control of the certificate-expiry clock (clock.ts); absent: the wall clock. */
    clockFile?: string;
    /** Test-only switch of the pods the emulator plays the kubelet for (kubelet.ts); absent: every pod runs. */
    podsFile?: string;
}

export const DEFAULT_RECONCILE_DELAY_MS = 2000;

function parseMs(value: string, where: string): number {
    const ms = Number(value);
    if (!Number.isInteger(ms) || ms < 0) {
        throw new Error(`${where} must be a whole number of milliseconds, got "${value}"`);
    }
    return ms;
}

/**
 * Reads `--config <file>`. The reconcile delay comes from, in decreasing priority: the flag --reconcile-delay-ms N,
 * the file, KSF_EMULATOR_RECONCILE_DELAY_MS, the default; the host installer delay likewise from
 * --host-installer-delay-ms, the file, KSF_EMULATOR_HOST_INSTALLER_DELAY_MS, the reconcile delay.
 */
export function loadEmulatorConfig(argv: string[], env: NodeJS.ProcessEnv): EmulatorConfig {
    const flag = (name: string) => {
        const at = argv.indexOf(name);
        return at >= 0 ? argv[at + 1] : undefined;
    };
    const configFile = flag("--config");
    if (!configFile) {
        throw new Error(
            "usage: main.ts --config <emulator.json> [--reconcile-delay-ms N] [--host-installer-delay-ms N]",
        );
    }
    const file = JSON.parse(fs.readFileSync(configFile, "utf8")) as Partial<EmulatorConfig>;
    if (!Array.isArray(file.clusters) || file.clusters.length === 0) {
        throw new Error(`${configFile}: "clusters" must list at least one cluster`);
    }
    const clusters = file.clusters.map((cluster, i) => ({
        ...cluster,
        version: parseKubesphereVersion(String(cluster.version), `${configFile}: clusters[${i}].version`),
    }));
    const pick = (flagName: string, fromFile: number | undefined, envName: string): number | undefined => {
        const fromFlag = flag(flagName);
        if (fromFlag !== undefined) return parseMs(fromFlag, flagName);
        if (fromFile !== undefined) return fromFile;
        const fromEnv = env[envName];
        return fromEnv !== undefined ? parseMs(fromEnv, envName) : undefined;
    };
    const reconcileDelayMs =
        pick("--reconcile-delay-ms", file.reconcileDelayMs, "KSF_EMULATOR_RECONCILE_DELAY_MS") ??
        DEFAULT_RECONCILE_DELAY_MS;
    const hostInstallerDelayMs =
        pick("--host-installer-delay-ms", file.hostInstallerDelayMs, "KSF_EMULATOR_HOST_INSTALLER_DELAY_MS") ??
        reconcileDelayMs;
    if (clusters.some((cluster) => cluster.version === "3.4") && !file.webhook) {
        throw new Error(
            `${configFile}: a KubeSphere 3.4 cluster is listed, so "webhook" (port, certFile, keyFile, caFile) is required`,
        );
    }
    return {
        clusters,
        reconcileDelayMs,
        hostInstallerDelayMs,
        installerPollMs: file.installerPollMs ?? 500,
        clusterResyncMs: file.clusterResyncMs ?? 1000,
        webhook: file.webhook,
        tower: file.tower,
        readyFile: file.readyFile,
        clockFile: file.clockFile,
        podsFile: file.podsFile,
    };
}
