/**
 * What KubeSphere's cluster controller shares across versions, on the host. TEST ONLY.
 *
 * The controller runs only on a host (3.x: the rendered kubesphere-config has `multicluster.enable: true`, v3.4.1
 * cmd/controller-manager/app/controllers.go; 4.x: `clusterRole: host`), so members' Clusters created before that sit
 * without status (docs/kubesphere.md §9). Once running it creates the host's own Cluster entry, labelled
 * `cluster-role.kubesphere.io/host` and named `hostClusterName` as read at that moment, and every second (the
 * resync) reconciles every Cluster. Per-version reconcile: clusterControllerV3.ts, clusterControllerV4.ts.
 *
 * There is no status subresource and KubeSphere updates whole objects; the emulator writes JSON merge patches
 * that touch only what KubeSphere changes, and only when something changed, so a second `pulumi up` sees no drift
 * (KubeSphere itself rewrites the condition timestamps on every sync; the emulator keeps them while a condition
 * is unchanged). Every write is an UPDATE to the API server, so 3.4's admission webhook sees it.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import * as fs from "fs";
import { EmulatedCluster } from "./config";
import { describeError, httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    CLUSTER,
    CLUSTER_LABELS,
    ClusterObject,
    FIELD_MANAGER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
} from "./kubesphereObjects";
import { KubesphereSettings, readKubesphereYaml } from "./kubesphereYaml";
import { ChangeLog } from "./log";
import { MemberClientCache } from "./memberClient";
import { stableJson } from "./stableJson";
import { VERSION_TRAITS, VersionTraits } from "./versions";

export const REQUEST_TIMEOUT_MS = 3000;

/** The host as one pass sees it. `jwtSecret` is secret material: compared and passed on, never logged. */
export interface HostView {
    settings: KubesphereSettings;
    hostClusterName: string;
    kubeSystemUid: string;
}

export abstract class ClusterController {
    protected readonly core: CoreV1Api;
    protected readonly customObjects: CustomObjectsApi;
    protected readonly members = new MemberClientCache();
    protected readonly traits: VersionTraits;
    private knownClusters = new Set<string>();

    constructor(
        protected readonly host: EmulatedCluster,
        kubeConfig: KubeConfig,
        protected readonly changes: ChangeLog,
    ) {
        this.core = kubeConfig.makeApiClient(CoreV1Api);
        this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
        this.traits = VERSION_TRAITS[host.version];
    }

    /** Whether ks-controller-manager runs the cluster controller with this kubesphere-config. */
    protected abstract isHost(settings: KubesphereSettings): boolean;

    /** The host's own Cluster entry as KubeSphere creates it (v3.4.1 / v4.1.3 cluster_controller.go hostCluster). */
    protected abstract hostEntry(name: string, kubeconfigBase64: string): ClusterObject;

    protected abstract reconcile(cluster: ClusterObject, host: HostView): Promise<void>;

    /** One pass: is the controller running; the host entry; every Cluster. Errors are logged per Cluster and retried. */
    async reconcileAll(): Promise<void> {
        const settings = await this.readHostSettings();
        if (!settings || !this.isHost(settings)) {
            this.changes.report(
                "controller",
                `host "${this.host.name}" (${this.traits.release}): cluster controller not running yet (kubesphere-config does not make it a host)`,
            );
            return;
        }
        const kubeSystem = await withTimeout(
            this.core.readNamespace({ name: "kube-system" }),
            REQUEST_TIMEOUT_MS,
            "reading the host's kube-system",
        );
        const host: HostView = {
            settings,
            // 3.1: always "host" (no hostClusterName option, VersionTraits.hostClusterNameOption).
            hostClusterName: (this.traits.hostClusterNameOption ? settings.hostClusterName : undefined) ?? "host",
            kubeSystemUid: kubeSystem.metadata?.uid ?? "",
        };
        let clusters = await this.listClusters();
        if (await this.ensureHostEntry(clusters, host)) {
            clusters = await this.listClusters();
        }
        this.changes.report(
            "controller",
            `host "${this.host.name}" (${this.traits.release}): cluster controller running, host entry "${host.hostClusterName}"`,
        );
        const names = new Set(clusters.map((cluster) => cluster.metadata.name));
        for (const gone of [...this.knownClusters].filter((name) => !names.has(name))) {
            this.changes.report(this.subject(gone), `Cluster "${gone}": deleted`);
            this.changes.forget(this.subject(gone));
            this.forgetCluster(gone);
        }
        this.knownClusters = names;
        await Promise.all(
            clusters.map((cluster) =>
                this.reconcile(cluster, host).catch((err) =>
                    this.say(cluster.metadata.name, `reconcile failed, will retry: ${describeError(err)}`),
                ),
            ),
        );
    }

    /** Drops what a version's reconcile remembers of a Cluster that is gone. */
    protected forgetCluster(_name: string): void {}

    protected subject(name: string): string {
        return `cluster/${name}`;
    }

    protected say(name: string, message: string): void {
        this.changes.report(this.subject(name), `Cluster "${name}": ${message}`);
    }

    protected isHostEntry(cluster: ClusterObject): boolean {
        return cluster.metadata.labels?.[CLUSTER_LABELS.host] !== undefined;
    }

    private async listClusters(): Promise<ClusterObject[]> {
        const list = (await withTimeout(
            this.customObjects.listClusterCustomObject({
                group: CLUSTER.group,
                version: CLUSTER.version,
                plural: CLUSTER.plural,
            }),
            REQUEST_TIMEOUT_MS,
            `listing Clusters on host "${this.host.name}"`,
        )) as { items: ClusterObject[] };
        return list.items;
    }

    private async readHostSettings(): Promise<KubesphereSettings | undefined> {
        try {
            const configMap = await withTimeout(
                this.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading the host's kubesphere-config",
            );
            return readKubesphereYaml(configMap.data?.[KUBESPHERE_CONFIG_KEY]);
        } catch (err) {
            if (httpStatus(err) === 404) return undefined;
            throw err;
        }
    }

    /**
     * 3.x: creates the entry when no Cluster carries the host label (a later hostClusterName change is ignored);
     * 4.x: looks it up by hostClusterName and (re)labels it. Returns true when it wrote something.
     */
    protected async ensureHostEntry(clusters: ClusterObject[], host: HostView): Promise<boolean> {
        if (clusters.some((cluster) => this.isHostEntry(cluster))) {
            return false;
        }
        const kubeconfig = Buffer.from(fs.readFileSync(this.host.kubeconfigPath)).toString("base64");
        const existing = clusters.find((cluster) => cluster.metadata.name === host.hostClusterName);
        if (existing) {
            if (this.traits.generation === 3) {
                // 3.x creates a new entry and fails on the name clash; it never takes over an existing Cluster.
                this.changes.report(
                    "controller",
                    `host entry: a Cluster "${host.hostClusterName}" without the host label exists; KubeSphere 3.x cannot create its own entry`,
                );
                return false;
            }
            await this.patchCluster(host.hostClusterName, { metadata: { labels: { [CLUSTER_LABELS.host]: "" } } });
            return true;
        }
        await withTimeout(
            this.customObjects.createClusterCustomObject({
                group: CLUSTER.group,
                version: CLUSTER.version,
                plural: CLUSTER.plural,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: this.hostEntry(host.hostClusterName, kubeconfig),
            }),
            REQUEST_TIMEOUT_MS,
            "creating the host's own Cluster entry",
        );
        this.say(host.hostClusterName, `created: the host's own entry, labelled ${CLUSTER_LABELS.host}`);
        return true;
    }

    /** A merge patch as KubeSphere's update; a refusal (e.g. by 3.4's webhook) is thrown to the caller. */
    protected async patchCluster(name: string, body: Record<string, unknown>): Promise<ClusterObject> {
        return (await withTimeout(
            this.customObjects.patchClusterCustomObject(
                {
                    group: CLUSTER.group,
                    version: CLUSTER.version,
                    plural: CLUSTER.plural,
                    name,
                    fieldManager: FIELD_MANAGER.controllerManager,
                    body,
                },
                MERGE_PATCH,
            ),
            // Longer than a request: the API server may be waiting on 3.4's webhook, which reads the member.
            3 * REQUEST_TIMEOUT_MS,
            `updating Cluster "${name}"`,
        )) as ClusterObject;
    }

    /** Finalizer handling shared by all versions; returns the (possibly updated) object, or undefined to stop here. */
    protected async ensureFinalizer(cluster: ClusterObject): Promise<ClusterObject> {
        const finalizers = cluster.metadata.finalizers ?? [];
        if (finalizers.includes(CLUSTER.finalizer)) return cluster;
        // resourceVersion makes this a compare-and-swap: a concurrent finalizer change is never overwritten.
        const updated = await this.patchCluster(cluster.metadata.name, {
            metadata: {
                resourceVersion: cluster.metadata.resourceVersion,
                finalizers: [...finalizers, CLUSTER.finalizer],
            },
        });
        this.say(cluster.metadata.name, "finalizer added");
        return updated;
    }

    protected async removeFinalizer(cluster: ClusterObject, what: string): Promise<void> {
        const finalizers = cluster.metadata.finalizers ?? [];
        try {
            await this.patchCluster(cluster.metadata.name, {
                metadata: {
                    resourceVersion: cluster.metadata.resourceVersion,
                    finalizers: finalizers.filter((f) => f !== CLUSTER.finalizer),
                },
            });
            this.say(cluster.metadata.name, `being deleted: ${what}, finalizer removed`);
        } catch (err) {
            this.say(
                cluster.metadata.name,
                `being deleted: removing the finalizer was refused, will retry: ${describeError(err)}`,
            );
        }
    }

    /** Writes `status` (and optionally spec fields) when different from what the object has; logs a refusal. */
    protected async writeIfChanged(
        cluster: ClusterObject,
        status: ClusterObject["status"],
        extra: Record<string, unknown> = {},
    ): Promise<ClusterObject | undefined> {
        const patch: Record<string, unknown> = { ...extra };
        if (stableJson(status ?? {}) !== stableJson(cluster.status ?? {})) patch.status = status;
        if (Object.keys(patch).length === 0) return cluster;
        try {
            return await this.patchCluster(cluster.metadata.name, patch);
        } catch (err) {
            this.say(cluster.metadata.name, `status update refused, will retry: ${describeError(err)}`);
            return undefined;
        }
    }
}

/** Now, at the second (KubeSphere's metav1.Time has second precision). */
export function nowSeconds(): string {
    return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}
