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
import { readKubesphereYaml } from "./kubesphereYaml";
import { ChangeLog } from "./log";
import { mergeConditions } from "./conditions";
import { MemberChecker, MemberVerdict } from "./memberCheck";
import { stableJson } from "./stableJson";

const REQUEST_TIMEOUT_MS = 3000;

export interface ClusterControllerOptions {
    blockDeletionWhenUnreachable: boolean;
}

export class ClusterControllerEmulator {
    private readonly core: CoreV1Api;
    private readonly customObjects: CustomObjectsApi;
    private readonly members = new MemberChecker();
    private knownClusters = new Set<string>();

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
        const hostJwtSecret = await this.readHostJwtSecret();
        const names = new Set(list.items.map((cluster) => cluster.metadata.name));
        for (const gone of [...this.knownClusters].filter((name) => !names.has(name))) {
            this.changes.report(this.subject(gone), `Cluster "${gone}": deleted`);
            this.changes.forget(this.subject(gone));
        }
        this.knownClusters = names;
        await Promise.all(
            list.items.map((cluster) =>
                this.reconcile(cluster, hostJwtSecret).catch((err) =>
                    this.changes.report(this.subject(cluster.metadata.name), `Cluster "${cluster.metadata.name}": reconcile failed, will retry: ${describeError(err)}`),
                ),
            ),
        );
    }

    private subject(name: string): string {
        return `cluster/${name}`;
    }

    private async readHostJwtSecret(): Promise<string | undefined> {
        const configMap = await withTimeout(
            this.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            REQUEST_TIMEOUT_MS,
            "reading the host's kubesphere-config",
        );
        return readKubesphereYaml(configMap.data?.[KUBESPHERE_CONFIG_KEY]).jwtSecret;
    }

    private async reconcile(cluster: ClusterObject, hostJwtSecret: string | undefined): Promise<void> {
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
        const patch: Record<string, unknown> = {};
        const status = this.desiredStatus(cluster, verdict);
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

    private desiredStatus(cluster: ClusterObject, verdict: MemberVerdict): NonNullable<ClusterObject["status"]> {
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const conditions = mergeConditions(
            cluster.status?.conditions,
            [
                { type: "Initialized", status: "True", reason: "Initialized", message: "Cluster has been initialized" },
                { type: "Ready", status: verdict.ready ? "True" : "False", reason: verdict.reason, message: verdict.message },
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
