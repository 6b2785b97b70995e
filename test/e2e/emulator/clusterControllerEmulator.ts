/**
 * Emulates the part of KubeSphere 3.x's ks-controller-manager that handles `Cluster` objects on the host.
 * TEST ONLY. For every Cluster, about once a second: keep the finalizer, release it on deletion, and report
 * the member's health in status (conditions Initialized and Ready, versions, kube-system UID), as in
 * API notes §3–§4 and §7. A kubeconfig whose user needs a credential plugin (`exec`, `auth-provider`) is
 * reported as KubeSphere's pods report it ("exec: executable aws not found", §5); the plugin is never run.
 *
 * There is no status subresource and KubeSphere updates whole objects; the emulator writes JSON merge patches
 * that touch only `status` (or `metadata.finalizers`, or the empty `kubernetesAPIEndpoint`), and only when
 * something changed, so a second `pulumi up` sees no drift.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { EmulatedCluster } from "./config";
import { describeError, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    CLUSTER,
    ClusterObject,
    FIELD_MANAGER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KUBESPHERE_VERSION,
} from "./kubesphereObjects";
import { kubesphereYamlV4Member, readKubesphereYaml } from "./kubesphereYaml";
import { ChangeLog } from "./log";
import { mergeConditions } from "./conditions";
import { MemberChecker, MemberVerdict } from "./memberCheck";
import { stableJson } from "./stableJson";

const REQUEST_TIMEOUT_MS = 3000;

export interface ClusterControllerOptions {
    blockDeletionWhenUnreachable: boolean;
    /** KubeSphere 4.x hosts: how long the emulated ks-core install on a member takes. */
    reconcileDelayMs: number;
}

/** The host's own settings, read once per pass. */
interface HostSettings {
    jwtSecret?: string;
    layout: "v3" | "v4";
    hostClusterName: string;
}

export class ClusterControllerEmulator {
    private readonly core: CoreV1Api;
    private readonly customObjects: CustomObjectsApi;
    private readonly members = new MemberChecker();
    private knownClusters = new Set<string>();
    /** KubeSphere 4.x: members whose emulated ks-core install is under way. */
    private readonly installing = new Set<string>();

    constructor(
        private readonly host: EmulatedCluster,
        kubeConfig: KubeConfig,
        private readonly options: ClusterControllerOptions,
        private readonly changes: ChangeLog,
    ) {
        this.core = kubeConfig.makeApiClient(CoreV1Api);
        this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    }

    /** One pass over every Cluster object on the host. Errors are logged per Cluster and retried next pass. */
    async reconcileAll(): Promise<void> {
        const list = (await withTimeout(
            this.customObjects.listClusterCustomObject({ group: CLUSTER.group, version: CLUSTER.version, plural: CLUSTER.plural }),
            REQUEST_TIMEOUT_MS,
            `listing Clusters on host "${this.host.name}"`,
        )) as { items: ClusterObject[] };
        const host = await this.readHostSettings();
        const names = new Set(list.items.map((cluster) => cluster.metadata.name));
        for (const gone of [...this.knownClusters].filter((name) => !names.has(name))) {
            this.changes.report(this.subject(gone), `Cluster "${gone}": deleted`);
            this.changes.forget(this.subject(gone));
        }
        this.knownClusters = names;
        await Promise.all(
            list.items.map((cluster) =>
                this.reconcile(cluster, host).catch((err) =>
                    this.changes.report(this.subject(cluster.metadata.name), `Cluster "${cluster.metadata.name}": reconcile failed, will retry: ${describeError(err)}`),
                ),
            ),
        );
    }

    private subject(name: string): string {
        return `cluster/${name}`;
    }

    private async readHostSettings(): Promise<HostSettings> {
        const configMap = await withTimeout(
            this.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            REQUEST_TIMEOUT_MS,
            "reading the host's kubesphere-config",
        );
        const settings = readKubesphereYaml(configMap.data?.[KUBESPHERE_CONFIG_KEY]);
        return { jwtSecret: settings.jwtSecret, layout: settings.layout, hostClusterName: settings.hostClusterName ?? this.host.name };
    }

    private async reconcile(cluster: ClusterObject, host: HostSettings): Promise<void> {
        const hostJwtSecret = host.jwtSecret;
        const name = cluster.metadata.name;
        const say = (message: string) => this.changes.report(this.subject(name), `Cluster "${name}": ${message}`);
        const finalizers = cluster.metadata.finalizers ?? [];

        if (cluster.metadata.deletionTimestamp) {
            if (!finalizers.includes(CLUSTER.finalizer)) {
                return;
            }
            if (this.options.blockDeletionWhenUnreachable) {
                const verdict = await this.members.check(cluster, hostJwtSecret);
                if (verdict.reason === "Unreachable") {
                    say("deletion blocked: member unreachable, finalizer kept (blockDeletionWhenUnreachable, KubeSphere issues 2306/6154)");
                    return;
                }
            }
            await this.patchCluster(name, {
                metadata: { resourceVersion: cluster.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== CLUSTER.finalizer) },
            });
            say("being deleted: unjoined, finalizer removed");
            return;
        }

        if (!finalizers.includes(CLUSTER.finalizer)) {
            // resourceVersion makes this a compare-and-swap: a concurrent finalizer change is never overwritten.
            cluster = await this.patchCluster(name, {
                metadata: { resourceVersion: cluster.metadata.resourceVersion, finalizers: [...finalizers, CLUSTER.finalizer] },
            });
            say("finalizer added");
        }

        if (cluster.spec?.joinFederation !== true) {
            // KubeSphere 3.x skips such clusters ("it is not expected to join").
            say("skipped: spec.joinFederation is not true");
            return;
        }

        const verdict = await this.members.check(cluster, hostJwtSecret);
        if (host.layout === "v4" && verdict.facts && !verdict.ready) {
            this.installKsCore(cluster, host, say);
        }
        const patch: Record<string, unknown> = {};
        const status = this.desiredStatus(cluster, verdict, host.layout);
        if (stableJson(status) !== stableJson(cluster.status ?? {})) {
            patch.status = status;
        }
        if (verdict.endpoint && !cluster.spec?.connection?.kubernetesAPIEndpoint) {
            patch.spec = { connection: { kubernetesAPIEndpoint: verdict.endpoint } };
        }
        if (Object.keys(patch).length > 0) {
            await this.patchCluster(name, patch);
        }
        say(`Ready=${verdict.ready ? "True" : "False"} (${verdict.reason}: ${verdict.message})`);
    }

    /**
     * KubeSphere 4.x: the host installs ks-core on the member with role member and its jwtSecret; emulated as a
     * delayed write of the member's kubesphere-config, once per member until it is Ready.
     */
    private installKsCore(cluster: ClusterObject, host: HostSettings, say: (message: string) => void): void {
        const name = cluster.metadata.name;
        if (this.installing.has(name) || !host.jwtSecret) return;
        this.installing.add(name);
        say(`installing ks-core on the member (KubeSphere 4.x) in ${this.options.reconcileDelayMs} ms`);
        const jwtSecret = host.jwtSecret;
        setTimeout(() => {
            this.members
                .installKsCore(cluster, kubesphereYamlV4Member(jwtSecret, host.hostClusterName))
                .then(() => say("ks-core installed on the member"))
                .catch((err) => say(`ks-core install failed, will retry: ${describeError(err)}`))
                .finally(() => this.installing.delete(name));
        }, this.options.reconcileDelayMs);
    }

    private desiredStatus(cluster: ClusterObject, verdict: MemberVerdict, layout: "v3" | "v4"): NonNullable<ClusterObject["status"]> {
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const conditions = mergeConditions(
            cluster.status?.conditions,
            [
                { type: "Initialized", status: "True", reason: "Initialized", message: "Cluster has been initialized" },
                { type: "Ready", status: verdict.ready ? "True" : "False", reason: verdict.reason, message: verdict.message },
                // 4.x reports the ks-core install on the member separately (API notes §3, §6).
                ...(layout === "v4"
                    ? [{ type: "KSCoreReady", status: verdict.ready ? ("True" as const) : ("False" as const), reason: verdict.ready ? "Installed" : "Installing", message: verdict.ready ? "ks-core is ready" : "installing ks-core on the member" }]
                    : []),
            ],
            now,
        );
        // Like KubeSphere, keep the last known versions and UID while the member is unreachable.
        return {
            ...cluster.status,
            conditions,
            ...(verdict.facts ? { kubernetesVersion: verdict.facts.kubernetesVersion, uid: verdict.facts.uid, kubeSphereVersion: KUBESPHERE_VERSION } : {}),
        };
    }

    private async patchCluster(name: string, body: Record<string, unknown>): Promise<ClusterObject> {
        return (await withTimeout(
            this.customObjects.patchClusterCustomObject(
                { group: CLUSTER.group, version: CLUSTER.version, plural: CLUSTER.plural, name, fieldManager: FIELD_MANAGER.controllerManager, body },
                MERGE_PATCH,
            ),
            REQUEST_TIMEOUT_MS,
            `patching Cluster "${name}"`,
        )) as ClusterObject;
    }
}
