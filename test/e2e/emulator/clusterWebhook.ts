/**
 * KubeSphere 3.4's Cluster admission webhook, served for real over HTTPS on loopback (v3.4.1
 * pkg/controller/cluster/cluster_webhook.go; docs/kubesphere.md §4). TEST ONLY. For every UPDATE of a Cluster whose old
 * object has `status.uid`, kube-system is read with the kubeconfig in the new object; the update is denied when
 * that fails or the UID differs. The kube-apiserver calls it through the ValidatingWebhookConfiguration
 * `cluster.kubesphere.io` (failurePolicy Fail), which the 3.4 installer applies when it renders the host role.
 */
import { AdmissionregistrationV1Api, KubeConfig, V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import * as fs from "fs";
import * as https from "https";
import { WebhookServing } from "./config";
import { describeError, httpStatus, withTimeout } from "./kubeApi";
import { CLUSTER, CLUSTER_WEBHOOK, ClusterObject } from "./kubesphereObjects";
import { MemberClientCache } from "./memberClient";

const REQUEST_TIMEOUT_MS = 3000;

interface AdmissionReview {
    apiVersion: string;
    kind: string;
    request?: { uid: string; operation: string; object?: ClusterObject; oldObject?: ClusterObject };
}

/** The webhook's verdict: undefined to allow, else the denial message (controller-runtime admission.Denied). */
export async function reviewClusterUpdate(
    operation: string,
    newCluster: ClusterObject | undefined,
    oldCluster: ClusterObject | undefined,
    members: MemberClientCache,
): Promise<string | undefined> {
    if (operation !== "UPDATE") return undefined;
    // The cluster created for the first time has no status information.
    if (!oldCluster?.status?.uid) return undefined;
    const name = newCluster?.metadata.name ?? "";
    let clients;
    try {
        clients = members.clientsFor(newCluster?.spec?.connection?.kubeconfig ?? "");
    } catch (err) {
        return `failed to load cluster config for ${name}: ${(err as Error).message}`;
    }
    try {
        if (clients.pluginError) throw new Error(clients.pluginError);
        const kubeSystem = await withTimeout(
            clients.core.readNamespace({ name: "kube-system" }),
            REQUEST_TIMEOUT_MS,
            "reading kube-system",
        );
        if (kubeSystem.metadata?.uid !== oldCluster.status.uid) {
            return "this kubeconfig corresponds to a different cluster than the previous one, you need to make sure that kubeconfig is not from another cluster";
        }
    } catch (err) {
        return describeError(err);
    }
    return undefined;
}

/** Starts the HTTPS server; `report` gets one line per denial (never a credential). */
export function serveClusterWebhook(
    serving: WebhookServing,
    members: MemberClientCache,
    report: (line: string) => void,
): Promise<https.Server> {
    const server = https.createServer(
        { cert: fs.readFileSync(serving.certFile), key: fs.readFileSync(serving.keyFile) },
        (request, response) => {
            const chunks: Buffer[] = [];
            request.on("data", (chunk: Buffer) => chunks.push(chunk));
            request.on("end", () => {
                void (async () => {
                    if (request.method !== "POST" || !request.url?.startsWith(CLUSTER_WEBHOOK.path)) {
                        response.writeHead(404).end();
                        return;
                    }
                    const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as AdmissionReview;
                    const req = review.request;
                    const denial = req
                        ? await reviewClusterUpdate(req.operation, req.object, req.oldObject, members)
                        : "no request in the AdmissionReview";
                    if (denial)
                        report(
                            `webhook denied ${req?.operation ?? "?"} of Cluster "${req?.object?.metadata.name ?? "?"}": ${denial}`,
                        );
                    response.writeHead(200, { "Content-Type": "application/json" });
                    response.end(
                        JSON.stringify({
                            apiVersion: review.apiVersion,
                            kind: review.kind,
                            response: {
                                uid: req?.uid ?? "",
                                allowed: !denial,
                                ...(denial ? { status: { code: 403, reason: "Forbidden", message: denial } } : {}),
                            },
                        }),
                    );
                })().catch((err) => {
                    report(`webhook error: ${describeError(err)}`);
                    if (!response.headersSent) response.writeHead(500).end();
                });
            });
        },
    );
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(serving.port, "127.0.0.1", () => resolve(server));
    });
}

/** The ValidatingWebhookConfiguration as ks-installer 3.4 applies it, pointing at the emulator's loopback server. */
export function clusterWebhookConfiguration(serving: WebhookServing): V1ValidatingWebhookConfiguration {
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: CLUSTER_WEBHOOK.configurationName },
        webhooks: [
            {
                name: CLUSTER_WEBHOOK.webhookName,
                admissionReviewVersions: ["v1"],
                clientConfig: {
                    url: `https://127.0.0.1:${serving.port}${CLUSTER_WEBHOOK.path}`,
                    caBundle: fs.readFileSync(serving.caFile).toString("base64"),
                },
                failurePolicy: "Fail",
                matchPolicy: "Exact",
                rules: [
                    {
                        apiGroups: [CLUSTER.group],
                        apiVersions: [CLUSTER.version],
                        operations: ["UPDATE"],
                        resources: [CLUSTER.plural],
                        scope: "*",
                    },
                ],
                sideEffects: "None",
                timeoutSeconds: 10,
            },
        ],
    };
}

/** Creates the configuration, or replaces it (the installer re-applies its charts on every run). */
export async function applyClusterWebhookConfiguration(kubeConfig: KubeConfig, serving: WebhookServing): Promise<void> {
    const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const body = clusterWebhookConfiguration(serving);
    try {
        const current = await api.readValidatingWebhookConfiguration({ name: CLUSTER_WEBHOOK.configurationName });
        await api.replaceValidatingWebhookConfiguration({
            name: CLUSTER_WEBHOOK.configurationName,
            body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } },
        });
    } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        await api.createValidatingWebhookConfiguration({ body });
    }
}
