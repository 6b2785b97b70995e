/**
 * KubeSphere 3.1 / 3.2 / 3.3 / 3.4's cluster controller on the host (v3.1.1, v3.2.1, v3.3.2, v3.4.1
 * pkg/controller/cluster/cluster_controller.go syncCluster). TEST ONLY. Per Cluster, in KubeSphere's order:
 * finalizer; skip unless `spec.joinFederation`; join the federation (reaches the member: a failure writes
 * Federated=False with the error as reason, and on 3.3+ Ready=False "Cluster join federation control plane
 * failed"); Kubernetes version, nodes, kube-system UID (3.3+; the 3.1/3.2 CRD has no status.uid); Ready=True "Cluster
 * is available now"; the kubeconfig certificate expiry step (3.3: a kubeconfig without a client certificate fails
 * with "empty CertData" and nothing is written; 3.4: never expires); then (3.3+) `multicluster.clusterName` in the
 * member's kubesphere-config. The controller never compares jwtSecret or clusterRole (docs/kubesphere.md §4).
 * The federation join creates KubeFed objects on the member and the host (kubefedJoin.ts); a failure of any step is
 * the Federated=False reason. Deletion: un-join on the host side only (the member keeps its ServiceAccount and
 * binding), then the finalizer goes (3.4's webhook may refuse that update; a failed un-join keeps it).
 */
import { V1Namespace } from "@kubernetes/client-node";
import { certificateClockMs } from "./clock";
import { ClusterController, HostView, nowSeconds, REQUEST_TIMEOUT_MS } from "./clusterController";
import { mergeConditions, WantedCondition } from "./conditions";
import { describeError, httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    CLUSTER,
    CLUSTER_LABELS,
    ClusterObject,
    FIELD_MANAGER,
    KS_APISERVER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
} from "./kubesphereObjects";
import { KubesphereSettings, readKubesphereYaml, withClusterName } from "./kubesphereYaml";
import { HostClients, joinFederation, kubefedClusterCurrent, unjoinFederationHostSide } from "./kubefedJoin";
import { goTimeString, MemberClients } from "./memberClient";
import { stableJson } from "./stableJson";

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

export class ClusterControllerV3 extends ClusterController {
    /** Per Cluster, what its last successful join was made from (kubeconfig and labels), so unchanged ones are not redone. */
    private readonly joined = new Map<string, string>();

    private get hostClients(): HostClients {
        return { core: this.core, custom: this.customObjects };
    }

    protected forgetCluster(name: string): void {
        this.joined.delete(name);
    }

    /**
     * joinFederation (kubefedJoin.ts), skipped while the Cluster's kubeconfig and labels are those of its last
     * successful join and the host's KubeFedCluster still carries them (one read instead of the join's dozen).
     */
    private async join(cluster: ClusterObject, clients: MemberClients): Promise<void> {
        const name = cluster.metadata.name;
        const target = {
            name,
            labels: cluster.metadata.labels ?? {},
            endpoint: clients.endpoint,
            caData: clients.caData,
        };
        const key = stableJson({ kubeconfig: cluster.spec?.connection?.kubeconfig, labels: target.labels });
        if (this.joined.get(name) === key && (await kubefedClusterCurrent(this.hostClients, target))) return;
        this.joined.delete(name);
        await joinFederation(this.hostClients, clients, target);
        this.say(
            name,
            "joined KubeFed: ServiceAccount and binding on the member, Secret and KubeFedCluster on the host",
        );
        this.joined.set(name, key);
    }

    protected isHost(settings: KubesphereSettings): boolean {
        return settings.enable === true;
    }

    protected hostEntry(name: string, kubeconfigBase64: string): ClusterObject {
        return {
            apiVersion: `${CLUSTER.group}/${CLUSTER.version}`,
            kind: CLUSTER.kind,
            metadata: {
                name,
                annotations: {
                    "kubesphere.io/description":
                        "The description was created by KubeSphere automatically. It is recommended that you use the Host Cluster to manage clusters only and deploy workloads on Member Clusters.",
                },
                labels: { [CLUSTER_LABELS.host]: "", [CLUSTER_LABELS.managed]: "true" },
            },
            spec: {
                joinFederation: true,
                enable: true,
                provider: "kubesphere",
                connection: { type: "direct", kubeconfig: kubeconfigBase64 },
            },
        };
    }

    protected async reconcile(cluster: ClusterObject, _host: HostView): Promise<void> {
        const name = cluster.metadata.name;
        if (cluster.metadata.deletionTimestamp) {
            if ((cluster.metadata.finalizers ?? []).includes(CLUSTER.finalizer)) {
                // unJoinFederation(nil, name): host-side KubeFed objects only, so an unreachable member does not block it.
                try {
                    await unjoinFederationHostSide(this.hostClients, name);
                } catch (err) {
                    this.say(name, `being deleted: Failed to unjoin federation, will retry: ${describeError(err)}`);
                    return;
                }
                this.joined.delete(name);
                await this.removeFinalizer(cluster, "un-joined from the federation (host side)");
            }
            return;
        }
        cluster = await this.ensureFinalizer(cluster);
        if (cluster.spec?.joinFederation !== true) {
            this.say(name, 'skipped: spec.joinFederation is not true ("it is not expected to join")');
            return;
        }
        const kubeconfig = cluster.spec?.connection?.kubeconfig;
        if (!kubeconfig) {
            this.say(name, "skipped: the kubeconfig is empty");
            return;
        }
        let clients: MemberClients;
        try {
            clients = this.members.clientsFor(kubeconfig);
        } catch (err) {
            this.say(name, `failed to create cluster config for ${name}: ${(err as Error).message}`);
            return;
        }

        // joinFederation creates KubeFed objects on the member and the host: it fails when the member cannot be
        // reached, or a CRD it needs is missing (kubefedJoin.ts).
        let kubeSystem: V1Namespace;
        try {
            if (clients.pluginError) throw new Error(clients.pluginError);
            await this.join(cluster, clients);
            kubeSystem = await withTimeout(
                clients.core.readNamespace({ name: "kube-system" }),
                REQUEST_TIMEOUT_MS,
                "request to the member",
            );
        } catch (err) {
            const reason = describeError(err);
            const wanted: WantedCondition[] = [
                {
                    type: "Federated",
                    status: "False",
                    reason,
                    message: "Cluster can not join federation control plane",
                },
            ];
            if (this.traits.writesReadyOnJoinFailure) {
                wanted.push({
                    type: "Ready",
                    status: "False",
                    reason: "Cluster join federation control plane failed",
                    message: "Cluster is Not Ready now",
                });
            }
            if (
                await this.writeIfChanged(cluster, {
                    ...cluster.status,
                    conditions: mergeConditions(cluster.status?.conditions, wanted, nowSeconds()),
                })
            ) {
                this.say(name, `Federated=False (${reason})`);
            }
            return;
        }
        const wanted: WantedCondition[] = [
            {
                type: "Federated",
                status: "True",
                reason: "",
                message: "Cluster has joined federation control plane successfully",
            },
        ];
        let kubernetesVersion: string;
        let nodeCount: number;
        try {
            kubernetesVersion = (
                await withTimeout(clients.version.getCode(), REQUEST_TIMEOUT_MS, "reading the member's version")
            ).gitVersion;
            nodeCount = (await withTimeout(clients.core.listNode(), REQUEST_TIMEOUT_MS, "listing the member's nodes"))
                .items.length;
        } catch (err) {
            this.say(name, `failed to read the member, nothing written: ${describeError(err)}`);
            return;
        }
        const kubeSphereVersion = await this.memberKubeSphereVersion(clients);
        wanted.push({ type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" });

        if (!this.isHostEntry(cluster) && this.traits.certificateExpiryCheck) {
            const certificate = clients.certificate;
            if (!certificate) {
                if (this.traits.certificateExpiryCheck === "strict") {
                    // v3.3.2 parseKubeConfigExpirationDate: the error returns from syncCluster before the update.
                    this.say(
                        name,
                        "sync KubeConfig expiration date failed: empty CertData; status not written (KubeSphere 3.3, issues 5395/5664)",
                    );
                    return;
                }
                wanted.push({
                    type: "KubeConfigCertExpiresInSevenDays",
                    status: "False",
                    reason: "KubeConfigCertExpiresInSevenDays",
                    message: "",
                });
            } else {
                const notAfter = new Date(certificate.validTo);
                const soon = certificateClockMs() + SEVEN_DAYS_MS > notAfter.getTime();
                wanted.push({
                    type: "KubeConfigCertExpiresInSevenDays",
                    status: soon ? "True" : "False",
                    reason: "KubeConfigCertExpiresInSevenDays",
                    message: goTimeString(notAfter),
                });
            }
        }

        const status: NonNullable<ClusterObject["status"]> = {
            ...cluster.status,
            conditions: mergeConditions(cluster.status?.conditions, wanted, nowSeconds()),
            kubernetesVersion,
            nodeCount,
            ...(kubeSphereVersion ? { kubeSphereVersion } : {}),
            ...(this.traits.writesStatusUid ? { uid: kubeSystem.metadata?.uid ?? "" } : {}),
        };
        const extra = cluster.spec?.connection?.kubernetesAPIEndpoint
            ? {}
            : { spec: { connection: { kubernetesAPIEndpoint: clients.endpoint } } };
        const written = await this.writeIfChanged(cluster, status, extra);
        if (!written) return;
        this.say(name, "Ready=True (Cluster is available now)");
        if (this.traits.writesClusterNameIntoMemberConfig) {
            await this.setClusterNameInMemberConfig(name, clients);
        }
    }

    /**
     * What ks-apiserver's /kapis/version says through the member's service proxy: the emulator reads the
     * ks-apiserver Service's version label (kubesphereObjects.ts KS_APISERVER); undefined when it does not answer
     * (KubeSphere then logs and keeps the previous value).
     */
    private async memberKubeSphereVersion(clients: MemberClients): Promise<string | undefined> {
        try {
            const service = await withTimeout(
                clients.core.readNamespacedService({ name: KS_APISERVER.name, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "ks-apiserver",
            );
            return service.metadata?.labels?.[KS_APISERVER.versionLabel];
        } catch {
            return undefined;
        }
    }

    /** v3.3+ setClusterNameInConfigMap: `multicluster.clusterName: <Cluster name>` on the member; errors are retried. */
    private async setClusterNameInMemberConfig(name: string, clients: MemberClients): Promise<void> {
        try {
            const configMap = await withTimeout(
                clients.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading the member's kubesphere-config",
            );
            const text = configMap.data?.[KUBESPHERE_CONFIG_KEY] ?? "";
            if (readKubesphereYaml(text).clusterName === name) return;
            await withTimeout(
                clients.core.patchNamespacedConfigMap(
                    {
                        name: KUBESPHERE_CONFIG_NAME,
                        namespace: KUBESPHERE_NAMESPACE,
                        fieldManager: FIELD_MANAGER.controllerManager,
                        body: {
                            metadata: { resourceVersion: configMap.metadata?.resourceVersion },
                            data: { [KUBESPHERE_CONFIG_KEY]: withClusterName(text, name) },
                        },
                    },
                    MERGE_PATCH,
                ),
                REQUEST_TIMEOUT_MS,
                "writing the member's kubesphere-config",
            );
            this.say(name, "multicluster.clusterName written into the member's kubesphere-config");
        } catch (err) {
            if (httpStatus(err) !== 409)
                this.say(
                    name,
                    `setting clusterName in the member's kubesphere-config failed, will retry: ${describeError(err)}`,
                );
        }
    }
}
