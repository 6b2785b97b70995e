/**
 * kubesphere-emulator (test only).
 *
 * NOT PART OF THE PRODUCT. A stand-in for KubeSphere 3.x's ks-installer (every cluster) and ks-controller-manager
 * (host) that the e2e sandbox runs next to its bare kube-apiservers, so the federation program meets KubeSphere's
 * documented reconcile behaviour: delayed re-render of kubesphere-config, Cluster finalizer and Ready condition.
 *
 *   node -r ts-node/register/transpile-only test/e2e/emulator/main.ts --config <emulator.json>
 *        [--reconcile-delay-ms N] [--block-deletion-when-unreachable]
 *
 * Polls rather than watches (simpler, and robust to a member apiserver going away); logs one line per state
 * change; never logs secrets; never exits on an API error.
 */
import { KubeConfig } from "@kubernetes/client-node";
import * as fs from "fs";
import { ClusterControllerEmulator } from "./clusterControllerEmulator";
import { EmulatorConfig, loadEmulatorConfig } from "./config";
import { InstallerEmulator } from "./installerEmulator";
import { describeError } from "./kubeApi";
import { ChangeLog, log } from "./log";

function loadKubeConfig(path: string): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(path);
    return kubeConfig;
}

/** Runs `pass` forever, `intervalMs` apart (never overlapping); resolves after the first pass. */
function repeat(intervalMs: number, pass: () => Promise<void>): Promise<void> {
    return new Promise((firstPassDone) => {
        const run = async () => {
            await pass();
            firstPassDone();
            setTimeout(run, intervalMs);
        };
        void run();
    });
}

async function main(config: EmulatorConfig): Promise<void> {
    const changes = new ChangeLog();
    log(
        `starting; clusters ${config.clusters.map((c) => `${c.name} (${c.role})`).join(", ")}; ` +
            `reconcileDelayMs ${config.reconcileDelayMs}; blockDeletionWhenUnreachable ${config.blockDeletionWhenUnreachable}`,
    );
    const installers = config.clusters.map(
        (cluster) => new InstallerEmulator(cluster, loadKubeConfig(cluster.kubeconfigPath), config.reconcileDelayMs, changes),
    );
    const host = config.clusters.find((cluster) => cluster.role === "host");
    const controller = host
        ? new ClusterControllerEmulator(host, loadKubeConfig(host.kubeconfigPath), { blockDeletionWhenUnreachable: config.blockDeletionWhenUnreachable, reconcileDelayMs: config.reconcileDelayMs }, changes)
        : undefined;

    const installersReady = repeat(config.installerPollMs, async () => {
        await Promise.all(
            installers.map((installer, i) =>
                installer.reconcile().catch((err) => {
                    const name = config.clusters[i].name;
                    changes.report(`installer/${name}`, `cluster "${name}": ks-installer unreachable, will retry: ${describeError(err)}`);
                }),
            ),
        );
    });
    const controllerReady = controller
        ? repeat(config.clusterResyncMs, () =>
              controller.reconcileAll().catch((err) => changes.report("controller", `host "${host?.name}": cannot list Clusters, will retry: ${describeError(err)}`)),
          )
        : Promise.resolve();
    await Promise.all([installersReady, controllerReady]);
    if (config.readyFile) {
        fs.writeFileSync(config.readyFile, `${process.pid}\n`);
    }
    log("first pass done; running");
}

// A test helper must not die on a stray error: log it and keep reconciling.
process.on("unhandledRejection", (err) => log(`unexpected error (continuing): ${describeError(err)}`));
process.on("uncaughtException", (err) => log(`unexpected error (continuing): ${describeError(err)}`));
for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
        log(`stopping on ${signal}`);
        process.exit(0);
    });
}

function exitOnStartupFailure(err: unknown): never {
    log(`cannot start: ${describeError(err)}`);
    process.exit(2);
}

try {
    main(loadEmulatorConfig(process.argv.slice(2), process.env)).catch(exitOnStartupFailure);
} catch (err) {
    exitOnStartupFailure(err);
}
