/**
 * kubesphere-emulator (test only).
 *
 * NOT PART OF THE PRODUCT. A stand-in for KubeSphere's ks-installer (3.x clusters), ks-controller-manager's
 * cluster controller (the host, per version: clusterControllerV3.ts / clusterControllerV4.ts), 3.4's Cluster
 * admission webhook (clusterWebhook.ts) and 4.x's Helm install of ks-core on members (ksCoreInstall.ts), which the
 * e2e sandbox runs next to its bare kube-apiservers. Each cluster has its own KubeSphere version (versions.ts);
 * only what that version's source shows is reproduced (docs/kubesphere.md §3, §4, §6, §9).
 *
 *   node -r ts-node/register/transpile-only test/e2e/emulator/main.ts --config <emulator.json>
 *        [--reconcile-delay-ms N] [--host-installer-delay-ms N]
 *
 * Polls rather than watches (simpler, and robust to a member apiserver going away); logs one line per state
 * change; never logs secrets; never exits on an API error.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import * as fs from "fs";
import { useClockFile } from "./clock";
import { ClusterController } from "./clusterController";
import { ClusterControllerV3 } from "./clusterControllerV3";
import { ClusterControllerV4 } from "./clusterControllerV4";
import { applyClusterWebhookConfiguration, serveClusterWebhook } from "./clusterWebhook";
import { EmulatedCluster, EmulatorConfig, loadEmulatorConfig } from "./config";
import { installCrds, KUBEFED_CRD_FILE } from "../sandbox/crds";
import { KUBEFED } from "./kubefedJoin";
import { InstallerEmulator } from "./installerEmulator";
import { EmulatedKubelet } from "./kubelet";
import { describeError, httpStatus } from "./kubeApi";
import { ChangeLog, log } from "./log";
import { MemberClientCache } from "./memberClient";
import { VERSION_TRAITS } from "./versions";
import { AgentEmulator } from "./agent";
import { applyTowerObjects, TowerEmulator } from "./tower";

/**
 * kubefed as ks-installer 3.x installs it on a host (docs/kubesphere.md §12): namespace kube-federation-system and the
 * KubeFedCluster CRD, unless the cluster is made without it (EmulatedCluster.missingCrds). Idempotent.
 */
async function installKubefed(cluster: EmulatedCluster, kubeConfig: KubeConfig): Promise<void> {
    try {
        await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: KUBEFED.namespace } } });
    } catch (err) {
        if (httpStatus(err) !== 409) throw err;
    }
    if ((cluster.missingCrds ?? []).includes("KubeFedCluster")) {
        log(`cluster "${cluster.name}": kubefed's KubeFedCluster CRD left out (the sandbox's missingCrds)`);
        return;
    }
    await installCrds(cluster.name, kubeConfig, [KUBEFED_CRD_FILE]);
}

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
    useClockFile(config.clockFile);
    log(
        `starting; clusters ${config.clusters.map((c) => `${c.name} (${c.role}, KubeSphere ${VERSION_TRAITS[c.version].release})`).join(", ")}; ` +
            `reconcileDelayMs ${config.reconcileDelayMs}; hostInstallerDelayMs ${config.hostInstallerDelayMs}`,
    );
    if (config.webhook) {
        await serveClusterWebhook(config.webhook, new MemberClientCache(), log);
        log(`3.4 Cluster webhook served on https://127.0.0.1:${config.webhook.port}`);
    }
    const webhook = config.webhook;
    const installers = config.clusters.map((cluster) => {
        const kubeConfig = loadKubeConfig(cluster.kubeconfigPath);
        const onHostRendered = async () => {
            if (VERSION_TRAITS[cluster.version].clusterWebhook && webhook) {
                await applyClusterWebhookConfiguration(kubeConfig, webhook);
                log(`cluster "${cluster.name}": ValidatingWebhookConfiguration cluster.kubesphere.io applied`);
            }
            // roles/ks-multicluster applies tower.yaml with the host role (docs/kubesphere.md §10.1).
            await applyTowerObjects(kubeConfig, VERSION_TRAITS[cluster.version].towerImage);
            log(`cluster "${cluster.name}": tower Deployment and Service applied (ks-multicluster role)`);
        };
        // ks-installer's host run Helm-installs kubefed (its CRDs and namespace) before kubesphere-config is rendered.
        const onHostInstall = async () => {
            await installKubefed(cluster, kubeConfig);
        };
        return new InstallerEmulator(
            cluster,
            kubeConfig,
            config,
            changes,
            onHostRendered,
            config.podsFile,
            onHostInstall,
        );
    });
    const host = config.clusters.find((cluster) => cluster.role === "host");
    let controller: ClusterController | undefined;
    if (host) {
        if (VERSION_TRAITS[host.version].generation === 4) {
            const v4 = new ClusterControllerV4(host, loadKubeConfig(host.kubeconfigPath), changes);
            v4.installDelayMs = config.reconcileDelayMs;
            for (const member of config.clusters.filter((cluster) => cluster.role === "member")) {
                const core = loadKubeConfig(member.kubeconfigPath).makeApiClient(CoreV1Api);
                v4.kubelets.set(member.name, new EmulatedKubelet(member.name, core, config.podsFile, changes));
            }
            controller = v4;
        } else {
            controller = new ClusterControllerV3(host, loadKubeConfig(host.kubeconfigPath), changes);
        }
    }

    const installersReady = repeat(config.installerPollMs, async () => {
        await Promise.all(
            installers.map((installer, i) =>
                installer.reconcile().catch((err) => {
                    const name = config.clusters[i].name;
                    changes.report(
                        `installer/${name}`,
                        `cluster "${name}": ks-installer unreachable, will retry: ${describeError(err)}`,
                    );
                }),
            ),
        );
    });
    const tower =
        host && config.tower
            ? new TowerEmulator(host, loadKubeConfig(host.kubeconfigPath), config.tower, changes)
            : undefined;
    const running = controller;
    // tower and the cluster controller take turns: both write the Cluster's conditions.
    const controllerReady = running
        ? repeat(config.clusterResyncMs, async () => {
              await tower
                  ?.reconcileAll()
                  .catch((err) =>
                      changes.report(
                          "tower",
                          `host "${host?.name}": tower pass failed, will retry: ${describeError(err)}`,
                      ),
                  );
              await running
                  .reconcileAll()
                  .catch((err) =>
                      changes.report(
                          "controller",
                          `host "${host?.name}": cannot list Clusters, will retry: ${describeError(err)}`,
                      ),
                  );
          })
        : Promise.resolve();
    const agents = config.clusters
        .filter((cluster) => cluster.role === "member")
        .map((cluster) => new AgentEmulator(cluster, loadKubeConfig(cluster.kubeconfigPath), changes, config.podsFile));
    const agentsReady = repeat(config.installerPollMs, async () => {
        await Promise.all(
            agents.map((agent, i) =>
                agent
                    .reconcile()
                    .catch((err) =>
                        changes.report(
                            `agent/${i}`,
                            `agent: cannot read its Deployment, will retry: ${describeError(err)}`,
                        ),
                    ),
            ),
        );
    });
    await Promise.all([installersReady, controllerReady, agentsReady]);
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
