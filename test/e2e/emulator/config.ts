/**
 * The emulator's settings: a JSON file written by the sandbox (`--config <file>`), with flag and environment
 * overrides for the knobs a test may turn. TEST ONLY.
 */
import * as fs from "fs";

export interface EmulatedCluster {
    name: string;
    role: "host" | "member";
    kubeconfigPath: string;
}

export interface EmulatorConfig {
    clusters: EmulatedCluster[];
    /** How long ks-installer takes to re-render kubesphere-config after its spec changes. Default 2000 ms. */
    reconcileDelayMs: number;
    /**
     * Emulate KubeSphere's documented hang (API notes §7): a Cluster being deleted keeps its finalizer while its
     * member is unreachable. Default false.
     */
    blockDeletionWhenUnreachable: boolean;
    /** How often each ks-installer is polled. Default 500 ms. */
    installerPollMs: number;
    /** How often every Cluster object is re-checked, like KubeSphere's periodic health check. Default 1000 ms. */
    clusterResyncMs: number;
    /** File created once the first full pass is done, so the sandbox can wait for the emulator. */
    readyFile?: string;
}

export const DEFAULT_RECONCILE_DELAY_MS = 2000;

function parseMs(value: string, where: string): number {
    const ms = Number(value);
    if (!Number.isInteger(ms) || ms < 0) {
        throw new Error(`${where} must be a whole number of milliseconds, got "${value}"`);
    }
    return ms;
}

function isTrue(value: string | undefined): boolean {
    return value === "1" || value === "true";
}

/**
 * Reads `--config <file>`. Each setting comes from, in decreasing priority: a flag (--reconcile-delay-ms N,
 * --block-deletion-when-unreachable), the file, the environment (KSF_EMULATOR_RECONCILE_DELAY_MS,
 * KSF_EMULATOR_BLOCK_DELETION_WHEN_UNREACHABLE=1), the default.
 */
export function loadEmulatorConfig(argv: string[], env: NodeJS.ProcessEnv): EmulatorConfig {
    const flag = (name: string) => {
        const at = argv.indexOf(name);
        return at >= 0 ? argv[at + 1] : undefined;
    };
    const configFile = flag("--config");
    if (!configFile) {
        throw new Error("usage: main.ts --config <emulator.json> [--reconcile-delay-ms N] [--block-deletion-when-unreachable]");
    }
    const file = JSON.parse(fs.readFileSync(configFile, "utf8")) as Partial<EmulatorConfig>;
    if (!Array.isArray(file.clusters) || file.clusters.length === 0) {
        throw new Error(`${configFile}: "clusters" must list at least one cluster`);
    }
    const delayFlag = flag("--reconcile-delay-ms");
    const delayEnv = env.KSF_EMULATOR_RECONCILE_DELAY_MS;
    return {
        clusters: file.clusters,
        reconcileDelayMs:
            delayFlag !== undefined
                ? parseMs(delayFlag, "--reconcile-delay-ms")
                : (file.reconcileDelayMs ??
                  (delayEnv !== undefined ? parseMs(delayEnv, "KSF_EMULATOR_RECONCILE_DELAY_MS") : DEFAULT_RECONCILE_DELAY_MS)),
        blockDeletionWhenUnreachable:
            argv.includes("--block-deletion-when-unreachable") ||
            (file.blockDeletionWhenUnreachable ?? isTrue(env.KSF_EMULATOR_BLOCK_DELETION_WHEN_UNREACHABLE)),
        installerPollMs: file.installerPollMs ?? 500,
        clusterResyncMs: file.clusterResyncMs ?? 1000,
        readyFile: file.readyFile,
    };
}
