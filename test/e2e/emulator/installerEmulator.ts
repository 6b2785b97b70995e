/**
 * Emulates ks-installer (KubeSphere 3.x) on one cluster. TEST ONLY.
 *
 * The real installer re-runs whenever ClusterConfiguration `ks-installer`'s spec changes, and after a while
 * rewrites kubesphere-config and the ClusterConfiguration's status (docs/kubesphere.md §1–§2). This reproduces that with
 * a delay, so the program's waits for a member's reconfiguration are exercised. Per version (docs/kubesphere.md §9):
 * what kubesphere-config looks like (3.1/3.2 have no `clusterRole`, 3.1 no `hostClusterName`), `status.core.version`, and a run that makes the
 * cluster a host takes `hostInstallerDelayMs` (kubefed first) and, on 3.4, applies the Cluster webhook
 * configuration. On 4.x there is no ks-installer and this does nothing. The installer runs in a pod (kubelet.ts plays
 * its kubelet): while that pod's image cannot be pulled (the test switch), nothing is applied.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, V1ConfigMap } from "@kubernetes/client-node";
import { EmulatedCluster } from "./config";
import { httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    FIELD_MANAGER,
    INSTALLER,
    InstallerSpec,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
} from "./kubesphereObjects";
import { KubesphereSettings, readKubesphereYaml, renderKubesphereYamlV3 } from "./kubesphereYaml";
import { EmulatedKubelet, EmulatedWorkload } from "./kubelet";
import { ChangeLog } from "./log";
import { digest } from "./stableJson";
import { VERSION_TRAITS, VersionTraits } from "./versions";

const REQUEST_TIMEOUT_MS = 3000;

interface InstallerObject {
    spec?: InstallerSpec;
    status?: {
        core?: { status?: string; version?: string };
        multicluster?: { status?: string };
        [key: string]: unknown;
    };
}

function clusterRoleOf(spec: InstallerSpec): string {
    return spec.multicluster?.clusterRole || "none";
}

/** True when kubesphere-config already shows what this spec renders to (e.g. a freshly seeded install). */
function alreadyRendered(spec: InstallerSpec, current: KubesphereSettings, traits: VersionTraits): boolean {
    const jwtSecret = spec.authentication?.jwtSecret;
    const hostClusterName = spec.multicluster?.hostClusterName;
    // 3.1/3.2 render no clusterRole: the role shows only as `enable` (host) or nothing.
    const renderedRole = traits.rendersClusterRole ? (current.clusterRole ?? "none") : current.enable ? "host" : "none";
    const wantedRole = traits.rendersClusterRole || clusterRoleOf(spec) === "host" ? clusterRoleOf(spec) : "none";
    return (
        wantedRole === renderedRole &&
        (!jwtSecret || jwtSecret === current.jwtSecret) &&
        (!hostClusterName || hostClusterName === current.hostClusterName)
    );
}

export class InstallerEmulator {
    private readonly core: CoreV1Api;
    private readonly customObjects: CustomObjectsApi;
    /** Digest and role of the spec kubesphere-config was last rendered from; undefined until first seen. */
    private rendered?: { specDigest: string; clusterRole: string };
    /** A spec change waiting out the reconcile delay. */
    private pending?: { specDigest: string; dueAt: number };

    private readonly traits: VersionTraits;
    private readonly kubelet: EmulatedKubelet;

    constructor(
        private readonly cluster: EmulatedCluster,
        kubeConfig: KubeConfig,
        private readonly delays: { reconcileDelayMs: number; hostInstallerDelayMs: number },
        private readonly changes: ChangeLog,
        /** Called after a run that rendered the host role (3.4: applies the Cluster webhook configuration). */
        private readonly onHostRendered: () => Promise<void> = async () => undefined,
        /** The test switch of the pods this cluster runs (kubelet.ts); undefined: every pod runs. */
        podsFile?: string,
        /** Called before a run with the host role renders kubesphere-config (kubefed is installed first). */
        private readonly onHostInstall: () => Promise<void> = async () => undefined,
    ) {
        this.core = kubeConfig.makeApiClient(CoreV1Api);
        this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
        this.traits = VERSION_TRAITS[cluster.version];
        this.kubelet = new EmulatedKubelet(cluster.name, this.core, podsFile, changes);
    }

    /** ks-installer's pod, as its Deployment (ks-installer's deploy/kubesphere-installer.yaml) makes it. */
    private installerPod(): EmulatedWorkload {
        return {
            workload: "ks-installer",
            namespace: KUBESPHERE_NAMESPACE,
            labels: { app: this.traits.installerPodLabel ?? "ks-installer" },
            container: "installer",
            image: `kubesphere/ks-installer:${this.traits.release}`,
            serviceAccountName: "ks-installer",
        };
    }

    private get subject(): string {
        return `installer/${this.cluster.name}`;
    }

    private say(message: string): void {
        this.changes.report(this.subject, `cluster "${this.cluster.name}": ${message}`);
    }

    /** One poll: notice spec changes, render once the delay has passed, keep status up to date. */
    async reconcile(now = Date.now()): Promise<void> {
        if (this.traits.generation === 4) {
            this.say(`KubeSphere ${this.traits.release}: no ks-installer (ks-core is a Helm chart), nothing to do`);
            return;
        }
        const installer = await this.readInstaller();
        if (!installer) {
            this.say("no ClusterConfiguration ks-installer (not KubeSphere 3.x): nothing to do");
            return;
        }
        if (!(await this.kubelet.play(this.installerPod()))) {
            // The installer never starts: no spec change is noticed, nothing is rendered.
            this.say("ks-installer's pod cannot pull its image: the installer does not run");
            return;
        }
        const spec = installer.spec ?? {};
        const specDigest = digest(spec);
        const configMap = await this.readKubesphereConfig();
        const currentText = configMap?.data?.[KUBESPHERE_CONFIG_KEY];

        if (!this.rendered && alreadyRendered(spec, readKubesphereYaml(currentText), this.traits)) {
            // First sight of an install whose config matches its spec: nothing to re-run.
            this.rendered = { specDigest, clusterRole: clusterRoleOf(spec) };
        }
        if (this.rendered?.specDigest !== specDigest) {
            if (this.pending?.specDigest !== specDigest) {
                // Becoming a host runs the kubefed Helm install (--wait) before kubesphere-config is rendered.
                const becomesHost = clusterRoleOf(spec) === "host" && this.rendered?.clusterRole !== "host";
                const delayMs = becomesHost ? this.delays.hostInstallerDelayMs : this.delays.reconcileDelayMs;
                this.pending = { specDigest, dueAt: now + delayMs };
                this.say(
                    `ks-installer spec changed (clusterRole ${clusterRoleOf(spec)}); re-rendering kubesphere-config in ${delayMs} ms${becomesHost ? " (host: kubefed install first)" : ""}`,
                );
            }
            if (now < this.pending.dueAt) {
                return;
            }
            if (clusterRoleOf(spec) === "host") {
                await this.onHostInstall();
            }
            await this.writeKubesphereConfig(configMap, renderKubesphereYamlV3(currentText, spec, this.traits));
            this.rendered = { specDigest, clusterRole: clusterRoleOf(spec) };
            this.pending = undefined;
            const jwtSource = spec.authentication?.jwtSecret ? "from the spec" : "kept";
            this.say(
                `re-rendered kubesphere-config (${this.traits.release}): clusterRole ${clusterRoleOf(spec)}, jwtSecret ${jwtSource}`,
            );
            if (clusterRoleOf(spec) === "host") {
                await this.onHostRendered();
            }
        }
        await this.writeStatusIfNeeded(installer, this.rendered.clusterRole);
        this.say(`ks-installer in sync (clusterRole ${this.rendered.clusterRole})`);
    }

    private async readInstaller(): Promise<InstallerObject | undefined> {
        try {
            return (await withTimeout(
                this.customObjects.getNamespacedCustomObject({
                    group: INSTALLER.group,
                    version: INSTALLER.version,
                    namespace: KUBESPHERE_NAMESPACE,
                    plural: INSTALLER.plural,
                    name: INSTALLER.name,
                }),
                REQUEST_TIMEOUT_MS,
                "reading ks-installer",
            )) as InstallerObject;
        } catch (err) {
            if (httpStatus(err) === 404) {
                return undefined;
            }
            throw err;
        }
    }

    private async readKubesphereConfig(): Promise<V1ConfigMap | undefined> {
        try {
            return await withTimeout(
                this.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading kubesphere-config",
            );
        } catch (err) {
            if (httpStatus(err) === 404) {
                return undefined;
            }
            throw err;
        }
    }

    private async writeKubesphereConfig(existing: V1ConfigMap | undefined, kubesphereYaml: string): Promise<void> {
        if (existing) {
            await this.core.patchNamespacedConfigMap(
                {
                    name: KUBESPHERE_CONFIG_NAME,
                    namespace: KUBESPHERE_NAMESPACE,
                    fieldManager: FIELD_MANAGER.installer,
                    body: { data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYaml } },
                },
                MERGE_PATCH,
            );
        } else {
            await this.core.createNamespacedConfigMap({
                namespace: KUBESPHERE_NAMESPACE,
                fieldManager: FIELD_MANAGER.installer,
                body: { metadata: { name: KUBESPHERE_CONFIG_NAME }, data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYaml } },
            });
        }
    }

    /**
     * Status as the installer reports it: core enabled, plus multicluster enabled on a host. There is no status
     * subresource, so this patches the main resource; a merge patch of `status` alone leaves the spec fields
     * other managers own (the program's patch, kubectl) untouched.
     */
    private async writeStatusIfNeeded(installer: InstallerObject, clusterRole: string): Promise<void> {
        const status = installer.status ?? {};
        const coreDone = status.core?.status === "enabled" && status.core?.version === this.traits.release;
        const multiclusterDone = clusterRole !== "host" || status.multicluster?.status === "enabled";
        if (coreDone && multiclusterDone) {
            return;
        }
        const patch: InstallerObject["status"] = { core: { status: "enabled", version: this.traits.release } };
        if (clusterRole === "host") {
            patch.multicluster = { status: "enabled" };
        }
        await this.customObjects.patchNamespacedCustomObject(
            {
                group: INSTALLER.group,
                version: INSTALLER.version,
                namespace: KUBESPHERE_NAMESPACE,
                plural: INSTALLER.plural,
                name: INSTALLER.name,
                fieldManager: FIELD_MANAGER.installer,
                body: { status: patch },
            },
            MERGE_PATCH,
        );
        this.say(`ks-installer status: core enabled${clusterRole === "host" ? ", multicluster enabled" : ""}`);
    }
}
