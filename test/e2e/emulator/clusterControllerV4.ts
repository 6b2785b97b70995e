/**
 * KubeSphere 4.1's cluster controller on the host (v4.1.3 pkg/controller/cluster/cluster_controller.go Reconcile,
 * helper.go, kubeconfig.go). TEST ONLY. Per Cluster, in KubeSphere's order: finalizer; skip without kubeconfig;
 * kube-system through the kubeconfig (failure: Ready=False, reason Ready, message the error); first sight writes
 * `spec.connection.kubernetesAPIEndpoint` and `status.uid`; a member (not the host itself) gets ks-core
 * Helm-installed (emulated by ksCoreInstall.ts after reconcileDelayMs) when KSCoreReady is not True or
 * `kubesphere.io/config-hash` differs from the FNV-1a hash of spec.config, then KSCoreReady=True and the hash;
 * otherwise the kubeconfig's client certificate is renewed in place when ≤ 7 days are left; Ready from ks-apiserver's
 * /version (the Service, see KS_APISERVER); versions; annotations `cluster.kubesphere.io/name` and
 * `cluster.kubesphere.io/host-cluster` on the member's kubesphere-system. Deletion: those annotations are removed
 * when the member answers (skipped when not), then the finalizer goes. No webhook (the 4.1.3 chart registers none).
 */
import { certificateClockMs } from "./clock";
import { ClusterController, HostView, nowSeconds, REQUEST_TIMEOUT_MS } from "./clusterController";
import { mergeConditions, WantedCondition } from "./conditions";
import { fnv1a64Hex } from "./fnv";
import { describeError, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    CLUSTER,
    CLUSTER_ANNOTATIONS,
    CLUSTER_LABELS,
    ClusterCondition,
    ClusterObject,
    FIELD_MANAGER,
    KS_APISERVER,
    KUBESPHERE_NAMESPACE,
} from "./kubesphereObjects";
import { KubesphereSettings } from "./kubesphereYaml";
import { installKsCore, ksCoreRegistryValues, ksCoreWorkloads, renewClientCertificate } from "./ksCoreInstall";
import { EmulatedKubelet } from "./kubelet";
import { goTimeString, MemberClients } from "./memberClient";

const SEVEN_DAYS_S = 7 * 86400;

export class ClusterControllerV4 extends ClusterController {
    /** Members whose emulated ks-core install is under way (KubeSphere's installLock). */
    private readonly installing = new Set<string>();

    /** Set by main.ts: how long the Helm install of ks-core takes. */
    installDelayMs = 2000;

    /**
     * Set by main.ts: the kubelet of each sandbox member, by name (kubelet.ts), which runs ks-core's pods once
     * installed; a Cluster without one (not a sandbox member) gets no pods.
     */
    kubelets = new Map<string, EmulatedKubelet>();

    protected isHost(settings: KubesphereSettings): boolean {
        return settings.clusterRole === "host";
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
                    "kubesphere.io/creator": "admin",
                },
                labels: { [CLUSTER_LABELS.host]: "", [CLUSTER_LABELS.managed]: "true" },
            },
            spec: { provider: "kubesphere", connection: { type: "direct", kubeconfig: kubeconfigBase64 } },
        };
    }

    protected async reconcile(cluster: ClusterObject, host: HostView): Promise<void> {
        const name = cluster.metadata.name;
        if (cluster.metadata.deletionTimestamp) {
            if ((cluster.metadata.finalizers ?? []).includes(CLUSTER.finalizer)) {
                await this.cleanup(cluster);
                await this.removeFinalizer(cluster, "cleaned up");
            }
            return;
        }
        cluster = await this.ensureFinalizer(cluster);
        const kubeconfig = cluster.spec?.connection?.kubeconfig;
        if (!kubeconfig) {
            this.say(name, "skipped: the kubeconfig is empty");
            return;
        }
        let clients: MemberClients;
        try {
            clients = this.members.clientsFor(kubeconfig);
        } catch (err) {
            await this.writeReady(cluster, `failed to get cluster client for ${name}: ${(err as Error).message}`);
            return;
        }
        let uid: string;
        try {
            if (clients.pluginError) throw new Error(clients.pluginError);
            const kubeSystem = await withTimeout(
                clients.core.readNamespace({ name: "kube-system" }),
                REQUEST_TIMEOUT_MS,
                "request to the member",
            );
            uid = kubeSystem.metadata?.uid ?? "";
        } catch (err) {
            await this.writeReady(cluster, `failed to get kube-system namespace for ${name}: ${describeError(err)}`);
            return;
        }
        if (!cluster.spec?.connection?.kubernetesAPIEndpoint || cluster.status?.uid !== uid) {
            cluster = await this.patchCluster(name, {
                spec: { connection: { kubernetesAPIEndpoint: clients.endpoint } },
                status: { uid },
            });
            this.say(name, "kubernetesAPIEndpoint and status.uid written");
        }

        let conditions = cluster.status?.conditions ?? [];
        let renewedKubeconfig: string | undefined;
        if (uid !== host.kubeSystemUid) {
            const configBytes = Buffer.from(cluster.spec?.config ?? "", "base64");
            const configHash = fnv1a64Hex(configBytes);
            const ksCoreReady = conditions.some(
                (condition) => condition.type === "KSCoreReady" && condition.status === "True",
            );
            if (!ksCoreReady || cluster.metadata.annotations?.[CLUSTER_ANNOTATIONS.configHash] !== configHash) {
                this.startKsCoreInstall(cluster, clients, host, configBytes, configHash);
                // Helm's install blocks this reconcile in KubeSphere; nothing else is written meanwhile.
                return;
            }
            const expiry = await this.certificateExpiry(cluster, clients);
            conditions = expiry.conditions;
            renewedKubeconfig = expiry.renewedKubeconfig;
        }

        // ks-core's pods on the member; a ks-apiserver whose container does not run leaves its Service without
        // ready endpoints, which the service proxy answers with 503 "no endpoints available for service".
        const kubelet = uid !== host.kubeSystemUid ? this.kubelets.get(name) : undefined;
        const ksApiserverRuns =
            kubelet === undefined
                ? true
                : (
                      await Promise.all(
                          ksCoreWorkloads(
                              this.traits.release,
                              // What the install rendered: the values it was given (it ran for this spec.config).
                              ksCoreRegistryValues(Buffer.from(cluster.spec?.config ?? "", "base64")),
                          ).map((workload) =>
                              // A pod the kubelet could not write this pass (its ServiceAccount not there yet): the
                              // next pass writes it; the join goes on as if it ran.
                              kubelet.play(workload).catch((err: unknown) => {
                                  this.say(name, `ks-core pod ${workload.workload} not written: ${describeError(err)}`);
                                  return true;
                              }),
                          ),
                      )
                  )[0];
        const kubeSphereVersion = ksApiserverRuns
            ? await this.fetchKubeSphereVersion(clients)
            : { error: `no endpoints available for service "${KS_APISERVER.name}"` };
        const ready: WantedCondition =
            "error" in kubeSphereVersion
                ? { type: "Ready", status: "False", reason: "Ready", message: kubeSphereVersion.error }
                : { type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" };
        let nodeCount = cluster.status?.nodeCount ?? 0;
        let kubernetesVersion = cluster.status?.kubernetesVersion;
        try {
            kubernetesVersion = (
                await withTimeout(clients.version.getCode(), REQUEST_TIMEOUT_MS, "reading the member's version")
            ).gitVersion;
            nodeCount = (await withTimeout(clients.core.listNode(), REQUEST_TIMEOUT_MS, "listing the member's nodes"))
                .items.length;
        } catch (err) {
            this.say(name, `failed to read the member's versions: ${describeError(err)}`);
        }
        const status: NonNullable<ClusterObject["status"]> = {
            ...cluster.status,
            conditions: mergeConditions(conditions, [ready], nowSeconds()),
            ...("error" in kubeSphereVersion ? {} : { kubeSphereVersion: kubeSphereVersion.version }),
            ...(kubernetesVersion ? { kubernetesVersion } : {}),
            nodeCount,
        };
        const written = await this.writeIfChanged(
            cluster,
            status,
            renewedKubeconfig ? { spec: { connection: { kubeconfig: renewedKubeconfig } } } : {},
        );
        if (!written) return;
        if (renewedKubeconfig)
            this.say(
                name,
                "kubeconfig renewed in spec.connection.kubeconfig (client certificate had 7 days or less left)",
            );
        this.say(name, `Ready=${ready.status} (${ready.message})`);
        if (ready.status === "True") await this.syncClusterName(name, clients, host);
    }

    private async writeReady(cluster: ClusterObject, message: string): Promise<void> {
        const conditions = mergeConditions(
            cluster.status?.conditions,
            [{ type: "Ready", status: "False", reason: "Ready", message }],
            nowSeconds(),
        );
        if (await this.writeIfChanged(cluster, { ...cluster.status, conditions })) {
            this.say(cluster.metadata.name, `Ready=False (${message})`);
        }
    }

    private startKsCoreInstall(
        cluster: ClusterObject,
        clients: MemberClients,
        host: HostView,
        configBytes: Buffer,
        configHash: string,
    ): void {
        const name = cluster.metadata.name;
        if (this.installing.has(name)) return;
        const jwtSecret = host.settings.jwtSecret;
        if (!jwtSecret) {
            this.say(
                name,
                "failed to install KS Core: the host's kubesphere-config has no authentication.issuer.jwtSecret",
            );
            return;
        }
        this.installing.add(name);
        this.say(name, `installing KS Core on the member (Helm, ${this.installDelayMs} ms)`);
        setTimeout(() => {
            installKsCore(clients, { jwtSecret, release: this.traits.release, values: configBytes })
                .then(async () => {
                    const fresh = (await this.customObjects.getClusterCustomObject({
                        group: CLUSTER.group,
                        version: CLUSTER.version,
                        plural: CLUSTER.plural,
                        name,
                    })) as ClusterObject;
                    const conditions = mergeConditions(
                        fresh.status?.conditions,
                        [
                            {
                                type: "KSCoreReady",
                                status: "True",
                                reason: "KSCoreReady",
                                message: "KS Core is available now",
                            },
                        ],
                        nowSeconds(),
                    );
                    await this.patchCluster(name, {
                        metadata: { annotations: { [CLUSTER_ANNOTATIONS.configHash]: configHash } },
                        status: { ...fresh.status, conditions },
                    });
                    this.say(
                        name,
                        `KS Core installed; KSCoreReady=True, ${CLUSTER_ANNOTATIONS.configHash} ${configHash}`,
                    );
                })
                .catch((err) => this.say(name, `failed to install KS Core, will retry: ${describeError(err)}`))
                .finally(() => this.installing.delete(name));
        }, this.installDelayMs);
    }

    /**
     * updateKubeConfigExpirationDateCondition: no client certificate → the condition is dropped; otherwise it is
     * written (v4.1.3 sets no status on it), after renewing a certificate with ≤ 7 days left (renewClientCertificate).
     */
    private async certificateExpiry(
        cluster: ClusterObject,
        clients: MemberClients,
    ): Promise<{ conditions: ClusterCondition[]; renewedKubeconfig?: string }> {
        const conditions = (cluster.status?.conditions ?? []).filter(
            (condition) => condition.type !== "KubeConfigCertExpiresInSevenDays",
        );
        const certificate = clients.certificate;
        if (!certificate) return { conditions };
        const notAfter = new Date(certificate.validTo);
        let renewedKubeconfig: string | undefined;
        // The certificate clock: the wall clock unless a test moved it (clock.ts).
        if ((notAfter.getTime() - certificateClockMs()) / 1000 <= SEVEN_DAYS_S) {
            try {
                renewedKubeconfig = await renewClientCertificate(cluster.spec!.connection!.kubeconfig!, clients);
            } catch (err) {
                this.say(cluster.metadata.name, `renewing the kubeconfig failed: ${describeError(err)}`);
            }
        }
        const previous = (cluster.status?.conditions ?? []).find(
            (condition) => condition.type === "KubeConfigCertExpiresInSevenDays",
        );
        const message = goTimeString(notAfter);
        const condition: ClusterCondition =
            previous && previous.message === message
                ? previous
                : {
                      type: "KubeConfigCertExpiresInSevenDays",
                      status: "",
                      lastUpdateTime: nowSeconds(),
                      lastTransitionTime: nowSeconds(),
                      reason: "KubeConfigCertExpiresInSevenDays",
                      message,
                  };
        return { conditions: [...conditions, condition], renewedKubeconfig };
    }

    /**
     * tryFetchKubeSphereVersion: ks-apiserver's /version through the member's service proxy (ProxyGet http
     * ks-apiserver:80 /version), its gitVersion; an error is Ready=False with the error's text. Asked through the proxy
     * when the Service has endpoints (the sandbox's netns ks-apiserver, see KS_APISERVER); without endpoints the
     * Service's existence stands for the answer.
     */
    private async fetchKubeSphereVersion(clients: MemberClients): Promise<{ version: string } | { error: string }> {
        try {
            const service = await withTimeout(
                clients.core.readNamespacedService({ name: KS_APISERVER.name, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "ks-apiserver",
            );
            const endpoints = await withTimeout(
                clients.core.readNamespacedEndpoints({ name: KS_APISERVER.name, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "ks-apiserver endpoints",
            ).catch(() => undefined);
            if (!endpoints?.subsets?.some((subset) => (subset.addresses ?? []).length > 0))
                return { version: service.metadata?.labels?.[KS_APISERVER.versionLabel] ?? "unknown" };
            const body = await withTimeout(
                clients.core.connectGetNamespacedServiceProxyWithPath({
                    name: `http:${KS_APISERVER.name}:80`,
                    namespace: KUBESPHERE_NAMESPACE,
                    path: "version",
                }),
                REQUEST_TIMEOUT_MS,
                "ks-apiserver /version through the service proxy",
            );
            const info = (typeof body === "string" ? JSON.parse(body) : body) as { gitVersion?: string };
            if (info.gitVersion === "v0.0.0") return { version: "v3.0.0" };
            return { version: info.gitVersion || "unknown" };
        } catch (err) {
            return { error: describeError(err) };
        }
    }

    private async syncClusterName(name: string, clients: MemberClients, host: HostView): Promise<void> {
        try {
            const namespace = await withTimeout(
                clients.core.readNamespace({ name: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading kubesphere-system",
            );
            const annotations = namespace.metadata?.annotations ?? {};
            if (
                annotations[CLUSTER_ANNOTATIONS.clusterName] === name &&
                annotations[CLUSTER_ANNOTATIONS.hostClusterName] === host.hostClusterName
            )
                return;
            await withTimeout(
                clients.core.patchNamespace(
                    {
                        name: KUBESPHERE_NAMESPACE,
                        fieldManager: FIELD_MANAGER.controllerManager,
                        body: {
                            metadata: {
                                annotations: {
                                    [CLUSTER_ANNOTATIONS.clusterName]: name,
                                    [CLUSTER_ANNOTATIONS.hostClusterName]: host.hostClusterName,
                                },
                            },
                        },
                    },
                    MERGE_PATCH,
                ),
                REQUEST_TIMEOUT_MS,
                "annotating kubesphere-system",
            );
            this.say(
                name,
                `annotated the member's kubesphere-system: ${CLUSTER_ANNOTATIONS.hostClusterName}=${host.hostClusterName}`,
            );
        } catch (err) {
            this.say(name, `failed to sync cluster name, will retry: ${describeError(err)}`);
        }
    }

    /** cleanup(): only for a Ready Cluster whose member answers; a failure to reach it skips the cleanup. */
    private async cleanup(cluster: ClusterObject): Promise<void> {
        const ready = cluster.status?.conditions?.some(
            (condition) => condition.type === "Ready" && condition.status === "True",
        );
        const kubeconfig = cluster.spec?.connection?.kubeconfig;
        if (!ready || !kubeconfig) return;
        try {
            const clients = this.members.clientsFor(kubeconfig);
            if (clients.pluginError) throw new Error(clients.pluginError);
            await withTimeout(
                clients.core.readNamespace({ name: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading kubesphere-system",
            );
            await withTimeout(
                clients.core.patchNamespace(
                    {
                        name: KUBESPHERE_NAMESPACE,
                        body: {
                            metadata: {
                                annotations: {
                                    [CLUSTER_ANNOTATIONS.clusterName]: null,
                                    [CLUSTER_ANNOTATIONS.hostClusterName]: null,
                                },
                            },
                        },
                    },
                    MERGE_PATCH,
                ),
                REQUEST_TIMEOUT_MS,
                "removing the annotations",
            );
        } catch (err) {
            this.say(
                cluster.metadata.name,
                `it seems the cluster is not ready, skipping cleanup: ${describeError(err)}`,
            );
        }
    }
}
