/**
 * tower on the host (KubeSphere 3.x: applied by ks-installer with the host role; 4.1: the `tower` extension), for
 * agent (proxy) connections. TEST ONLY. From tower v0.2.1 pkg/proxy/proxy.go and proxy_server.go (docs/kubesphere.md §10.2):
 *
 * - It runs while Deployment kubesphere-system/tower exists on the host (the sandbox has no kubelet), listening for
 *   agents on the loopback port of the sandbox (real: :8080 behind the LoadBalancer Service `tower`).
 * - addCluster, per Cluster on every pass: ignored (and `mc-<name>` deleted) unless joinFederation is true and the
 *   type is proxy; a Cluster with Initialized=True only refreshes the cache (name → token, port); otherwise it picks a
 *   port P in [6000,7000], sets kubernetesAPIServerPort=P, kubesphereAPIServerPort=P+10000, a 64-hex token only if
 *   empty, creates Service kubesphere-system/mc-<name> (ports kubernetes 6443→P, kubesphere 80→P+10000), sets the
 *   endpoints and Initialized=True ("Cluster has been initialized").
 * - An agent whose name is not in the cache or whose token differs is answered "Unauthorized agent"; otherwise tower
 *   listens on P (TLS, a serving certificate from its CA) and proxies every request through the tunnel to the
 *   member's API server with `Authorization` replaced by the agent's ServiceAccount token (client certificates are
 *   not verified). Then it writes spec.connection.kubeconfig (user kubernetes-admin, O=system:masters, signed by the
 *   tower CA, a new certificate on every connect) and AgentAvailable=True ("Agent has connected to proxy
 *   successfully."); when the last connection is gone, AgentAvailable=False ("Agent has not connected to proxy."),
 *   the kubeconfig kept. Writes are UPDATEs, so 3.4's webhook sees them (it can refuse the disconnect update).
 * - On the Cluster's deletion, `mc-<name>` is deleted; live sessions and listeners are not closed (inferred).
 *
 * Sandbox deviations: the kubeconfig's server and kubernetesAPIEndpoint are tower's loopback listener
 * `https://127.0.0.1:P` (there is no kube-proxy to make the mc Service's ClusterIP:6443 reach it); P is a free port
 * in [6000,7000] (real tower picks at random and its collision check is broken); P+10000 is not served (nothing in
 * the sandbox calls ks-apiserver through it); tower's own Cluster type wiping status fields is not reproduced.
 * The tunnel is tunnel.ts (a simpler multiplexed tunnel, not WebSocket + SSH).
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";
import * as yaml from "js-yaml";
import { issueCertificate } from "../sandbox/certificates";
import { nowSeconds } from "./clusterController";
import { mergeConditions, WantedCondition } from "./conditions";
import { EmulatedCluster, TowerServing } from "./config";
import { describeError, httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import { CLUSTER, ClusterObject, FIELD_MANAGER, KUBESPHERE_NAMESPACE } from "./kubesphereObjects";
import { ChangeLog } from "./log";
import { AgentConfig, FrameType, Tunnel, TUNNEL_PROTOCOL } from "./tunnel";

const REQUEST_TIMEOUT_MS = 3000;
export const TOWER_NAME = "tower";
const TOWER_LABELS = { app: "tower", "app.kubernetes.io/name": "tower" };

/** One connected agent. */
interface Session {
    tunnel: Tunnel;
    config: AgentConfig;
}

/** Deployment and Service `kubesphere-system/tower` as ks-installer's tower.yaml.j2 (3.4.1) and the extension's chart render them. */
export async function applyTowerObjects(kubeConfig: KubeConfig, image: string): Promise<void> {
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const ignoreConflict = async (create: () => Promise<unknown>) => {
        try {
            await create();
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
        }
    };
    await ignoreConflict(() =>
        apps.createNamespacedDeployment({
            namespace: KUBESPHERE_NAMESPACE,
            body: {
                metadata: { name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE, labels: TOWER_LABELS },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: TOWER_LABELS },
                    template: {
                        metadata: { labels: TOWER_LABELS },
                        spec: {
                            serviceAccountName: "kubesphere",
                            containers: [
                                {
                                    name: "tower",
                                    image,
                                    command: ["/proxy", "--ca-cert=/ca.crt", "--ca-key=/ca.key", "--v=4"],
                                    ports: [{ containerPort: 8080 }],
                                },
                            ],
                        },
                    },
                },
            },
        }),
    );
    await ignoreConflict(() =>
        core.createNamespacedService({
            namespace: KUBESPHERE_NAMESPACE,
            body: {
                metadata: { name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE, labels: TOWER_LABELS },
                // No load balancer in the sandbox: EXTERNAL-IP stays pending, as on a cluster without one.
                spec: {
                    type: "LoadBalancer",
                    externalTrafficPolicy: "Cluster",
                    selector: { app: "tower" },
                    ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }],
                },
            },
        }),
    );
}

export class TowerEmulator {
    private readonly apps: AppsV1Api;
    private readonly core: CoreV1Api;
    private readonly customObjects: CustomObjectsApi;
    private agentServer?: http.Server;
    /** Initialized proxy Clusters: what an agent is checked against. */
    private readonly cache = new Map<string, { token: string; port: number }>();
    private readonly sessions = new Map<string, Set<Session>>();
    private readonly listeners = new Map<string, https.Server>();
    /** Per Cluster: connects so far, and the connect whose kubeconfig was written. */
    private readonly connects = new Map<string, number>();
    private readonly written = new Map<string, number>();
    private readonly known = new Set<string>();
    private serving?: { certPem: string; keyPem: string };

    constructor(
        private readonly host: EmulatedCluster,
        kubeConfig: KubeConfig,
        private readonly towerServing: TowerServing,
        private readonly changes: ChangeLog,
    ) {
        this.apps = kubeConfig.makeApiClient(AppsV1Api);
        this.core = kubeConfig.makeApiClient(CoreV1Api);
        this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    }

    private say(subject: string, message: string): void {
        this.changes.report(`tower/${subject}`, `tower on host "${this.host.name}": ${message}`);
    }

    /** One pass: run while the Deployment exists; addCluster for every Cluster; connection state into each Cluster. */
    async reconcileAll(): Promise<void> {
        if (!(await this.deploymentExists())) {
            this.say("server", `not running (no Deployment ${KUBESPHERE_NAMESPACE}/${TOWER_NAME})`);
            this.stopAgentServer();
            return;
        }
        await this.startAgentServer();
        const list = (await withTimeout(
            this.customObjects.listClusterCustomObject({
                group: CLUSTER.group,
                version: CLUSTER.version,
                plural: CLUSTER.plural,
            }),
            REQUEST_TIMEOUT_MS,
            "listing Clusters",
        )) as { items: ClusterObject[] };
        const names = new Set(list.items.map((cluster) => cluster.metadata.name));
        for (const gone of [...this.known].filter((name) => !names.has(name))) {
            // The Delete event: mc-<name> goes; the session (if any) is left running.
            this.known.delete(gone);
            this.cache.delete(gone);
            await this.deleteMcService(gone);
        }
        for (const cluster of list.items) {
            try {
                await this.addCluster(cluster);
            } catch (err) {
                this.say(
                    cluster.metadata.name,
                    `Cluster "${cluster.metadata.name}": failed, will retry: ${describeError(err)}`,
                );
            }
        }
    }

    private async addCluster(cluster: ClusterObject): Promise<void> {
        const name = cluster.metadata.name;
        const connection = cluster.spec?.connection ?? {};
        if (cluster.spec?.joinFederation !== true || connection.type !== "proxy") {
            if (this.known.has(name)) {
                this.known.delete(name);
                this.cache.delete(name);
                await this.deleteMcService(name);
            }
            return;
        }
        this.known.add(name);
        const initialized = cluster.status?.conditions?.some(
            (condition) => condition.type === "Initialized" && condition.status === "True",
        );
        if (initialized) {
            this.cache.set(name, {
                token: String(connection.token ?? ""),
                port: Number(connection.kubernetesAPIServerPort),
            });
            await this.syncConnection(cluster);
            return;
        }
        const port = await freePortInRange(6000, 7000);
        const token = connection.token ? String(connection.token) : randomBytes(32).toString("hex");
        const clusterIp = await this.ensureMcService(name, port);
        const conditions = mergeConditions(
            cluster.status?.conditions,
            [{ type: "Initialized", status: "True", reason: "Initialized", message: "Cluster has been initialized" }],
            nowSeconds(),
        );
        await this.patchCluster(name, {
            spec: {
                connection: {
                    kubernetesAPIServerPort: port,
                    kubesphereAPIServerPort: port + 10000,
                    ...(connection.token ? {} : { token }),
                    kubernetesAPIEndpoint: `https://127.0.0.1:${port}`,
                    kubesphereAPIEndpoint: `http://${clusterIp}:80`,
                },
            },
            status: { conditions },
        });
        this.cache.set(name, { token, port });
        this.say(
            name,
            `Cluster "${name}": initialized (port ${port}, Service ${KUBESPHERE_NAMESPACE}/mc-${name}${connection.token ? ", token set in advance kept" : ", token generated"})`,
        );
    }

    /** Update(connected): the kubeconfig and AgentAvailable, as the sessions are. */
    private async syncConnection(cluster: ClusterObject): Promise<void> {
        const name = cluster.metadata.name;
        const connected = (this.sessions.get(name)?.size ?? 0) > 0;
        const available = cluster.status?.conditions?.find((condition) => condition.type === "AgentAvailable");
        const generation = this.connects.get(name) ?? 0;
        if (connected && (this.written.get(name) !== generation || available?.status !== "True")) {
            const wanted: WantedCondition = {
                type: "AgentAvailable",
                status: "True",
                reason: "",
                message: "Agent has connected to proxy successfully.",
            };
            const kubeconfig =
                this.written.get(name) === generation && cluster.spec?.connection?.kubeconfig
                    ? undefined
                    : this.kubeconfigFor(Number(cluster.spec?.connection?.kubernetesAPIServerPort));
            try {
                await this.patchCluster(name, {
                    ...(kubeconfig ? { spec: { connection: { kubeconfig } } } : {}),
                    status: { conditions: mergeConditions(cluster.status?.conditions, [wanted], nowSeconds()) },
                });
                this.written.set(name, generation);
                this.say(
                    name,
                    `Cluster "${name}": agent connected; kubeconfig written (server: tower's listener), AgentAvailable=True`,
                );
            } catch (err) {
                this.say(name, `Cluster "${name}": update refused, will retry: ${describeError(err)}`);
            }
        } else if (!connected && available?.status === "True") {
            const wanted: WantedCondition = {
                type: "AgentAvailable",
                status: "False",
                reason: "",
                message: "Agent has not connected to proxy.",
            };
            try {
                await this.patchCluster(name, {
                    status: { conditions: mergeConditions(cluster.status?.conditions, [wanted], nowSeconds()) },
                });
                this.say(name, `Cluster "${name}": no agent connected, AgentAvailable=False`);
            } catch (err) {
                // 3.4: the webhook reads kube-system through the kubeconfig, which needs the tunnel that is gone.
                this.say(
                    name,
                    `Cluster "${name}": disconnect update refused (AgentAvailable stays True): ${describeError(err)}`,
                );
            }
        }
    }

    /** A kubeconfig for tower's listener: user kubernetes-admin (O=system:masters), a new certificate from the tower CA. */
    private kubeconfigFor(port: number): string {
        const ca = { certFile: this.towerServing.caCertFile, keyFile: this.towerServing.caKeyFile };
        const client = issueCertificate(ca, {
            commonName: "kubernetes-admin",
            organizations: ["system:masters"],
            days: 365,
            usage: { kind: "client" },
        });
        const b64 = (text: string) => Buffer.from(text).toString("base64");
        const document = {
            apiVersion: "v1",
            kind: "Config",
            clusters: [
                {
                    name: "kubernetes",
                    cluster: {
                        server: `https://127.0.0.1:${port}`,
                        "certificate-authority-data": b64(fs.readFileSync(ca.certFile, "utf8")),
                    },
                },
            ],
            users: [
                {
                    name: "kubernetes-admin",
                    user: { "client-certificate-data": b64(client.certPem), "client-key-data": b64(client.keyPem) },
                },
            ],
            contexts: [
                { name: "kubernetes-admin@kubernetes", context: { cluster: "kubernetes", user: "kubernetes-admin" } },
            ],
            "current-context": "kubernetes-admin@kubernetes",
        };
        return b64(yaml.dump(document));
    }

    private async startAgentServer(): Promise<void> {
        if (this.agentServer) return;
        const server = http.createServer((_request, response) =>
            response.writeHead(400).end("expected an agent tunnel\n"),
        );
        server.on("upgrade", (request: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
            this.acceptAgent(request, socket, head),
        );
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.towerServing.port, "127.0.0.1", () => resolve());
        });
        this.agentServer = server;
        this.say("server", `running, agents dial http://127.0.0.1:${this.towerServing.port}`);
    }

    private stopAgentServer(): void {
        this.agentServer?.close();
        this.agentServer = undefined;
        for (const sessions of this.sessions.values()) for (const session of sessions) session.tunnel.close();
        for (const listener of this.listeners.values()) listener.close();
        this.listeners.clear();
    }

    private acceptAgent(request: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
        if (request.headers.upgrade !== TUNNEL_PROTOCOL) {
            socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
            return;
        }
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
        const tunnel = new Tunnel(socket);
        tunnel.onControl = (type, _id, payload) => {
            if (type !== FrameType.Config) return;
            let config: AgentConfig;
            try {
                config = JSON.parse(payload.toString("utf8")) as AgentConfig;
            } catch {
                tunnel.close();
                return;
            }
            const entry = this.cache.get(config.Name);
            if (!entry || entry.token !== config.Token) {
                // handleWebsocket 191-195: unknown name, or a token that differs.
                this.say(`agent/${config.Name}`, `agent "${config.Name}" refused: Unauthorized agent`);
                tunnel.send(FrameType.ConfigReply, 0, Buffer.from("Unauthorized agent"));
                setTimeout(() => tunnel.close(), 50);
                return;
            }
            void this.ensureListener(config.Name, entry.port)
                .then(() => {
                    const session: Session = { tunnel, config };
                    const sessions = this.sessions.get(config.Name) ?? new Set<Session>();
                    sessions.add(session);
                    this.sessions.set(config.Name, sessions);
                    this.connects.set(config.Name, (this.connects.get(config.Name) ?? 0) + 1);
                    tunnel.onClose = () => {
                        sessions.delete(session);
                        this.say(`agent/${config.Name}`, `agent "${config.Name}" disconnected (${sessions.size} left)`);
                    };
                    tunnel.send(FrameType.ConfigReply, 0, Buffer.from("ok"));
                    this.say(
                        `agent/${config.Name}`,
                        `agent "${config.Name}" connected (${sessions.size} session(s)); proxying https://127.0.0.1:${entry.port}`,
                    );
                })
                .catch((err) => {
                    this.say(
                        `agent/${config.Name}`,
                        `agent "${config.Name}": cannot listen on port ${entry.port}: ${describeError(err)}`,
                    );
                    tunnel.close();
                });
        };
        if (head.length > 0) tunnel.feed(head);
    }

    /** The per-cluster listener on P: requests go through a random session's tunnel with the agent's token. */
    private async ensureListener(name: string, port: number): Promise<void> {
        if (this.listeners.has(name)) return;
        this.serving ??= issueCertificate(
            { certFile: this.towerServing.caCertFile, keyFile: this.towerServing.caKeyFile },
            { commonName: "tower", days: 365, usage: { kind: "server", ipAddresses: ["127.0.0.1"] } },
        );
        const server = https.createServer(
            { cert: this.serving.certPem, key: this.serving.keyPem },
            (request, response) => this.proxy(name, request, response),
        );
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, "127.0.0.1", () => resolve());
        });
        this.listeners.set(name, server);
    }

    private proxy(name: string, request: http.IncomingMessage, response: http.ServerResponse): void {
        const sessions = [...(this.sessions.get(name) ?? [])].filter((session) => !session.tunnel.isClosed);
        const session = sessions[Math.floor(Math.random() * sessions.length)];
        if (!session) {
            response
                .writeHead(503, { "Content-Type": "text/plain" })
                .end(`agent of cluster ${name} is not connected\n`);
            return;
        }
        const headers = { ...request.headers, authorization: `Bearer ${session.config.BearerToken}` };
        const serviceHost = session.config.KubernetesSvcHost.replace(/:\d+$/, "");
        const upstream = https.request(
            {
                method: request.method,
                path: request.url,
                headers,
                createConnection: () =>
                    tls.connect({
                        socket: session.tunnel.open("kubernetes") as net.Socket,
                        ca: Buffer.from(session.config.CAData, "base64"),
                        servername: serviceHost,
                    }),
            },
            (answer) => {
                response.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(response);
            },
        );
        upstream.on("error", (err) => {
            if (!response.headersSent) response.writeHead(502, { "Content-Type": "text/plain" });
            response.end(`tunnel error: ${err.message}\n`);
        });
        request.pipe(upstream);
    }

    private async deploymentExists(): Promise<boolean> {
        try {
            await withTimeout(
                this.apps.readNamespacedDeployment({ name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading tower",
            );
            return true;
        } catch (err) {
            if (httpStatus(err) === 404) return false;
            throw err;
        }
    }

    private async ensureMcService(name: string, port: number): Promise<string> {
        const labels = { app: `mc-${name}`, "app.kubernetes.io/name": `mc-${name}` };
        const body = {
            metadata: { name: `mc-${name}`, namespace: KUBESPHERE_NAMESPACE, labels },
            spec: {
                type: "ClusterIP",
                selector: TOWER_LABELS,
                ports: [
                    { name: "kubernetes", protocol: "TCP", port: 6443, targetPort: port },
                    { name: "kubesphere", protocol: "TCP", port: 80, targetPort: port + 10000 },
                ],
            },
        };
        try {
            const created = await withTimeout(
                this.core.createNamespacedService({ namespace: KUBESPHERE_NAMESPACE, body }),
                REQUEST_TIMEOUT_MS,
                "creating mc Service",
            );
            return created.spec?.clusterIP ?? "";
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
            const updated = await withTimeout(
                this.core.patchNamespacedService(
                    { name: `mc-${name}`, namespace: KUBESPHERE_NAMESPACE, body: { spec: { ports: body.spec.ports } } },
                    MERGE_PATCH,
                ),
                REQUEST_TIMEOUT_MS,
                "updating mc Service",
            );
            return updated.spec?.clusterIP ?? "";
        }
    }

    private async deleteMcService(name: string): Promise<void> {
        try {
            await withTimeout(
                this.core.deleteNamespacedService({ name: `mc-${name}`, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "deleting mc Service",
            );
            this.say(name, `Cluster "${name}": Service ${KUBESPHERE_NAMESPACE}/mc-${name} deleted`);
        } catch (err) {
            if (httpStatus(err) !== 404) throw err;
        }
    }

    private async patchCluster(name: string, body: Record<string, unknown>): Promise<void> {
        await withTimeout(
            this.customObjects.patchClusterCustomObject(
                {
                    group: CLUSTER.group,
                    version: CLUSTER.version,
                    plural: CLUSTER.plural,
                    name,
                    fieldManager: FIELD_MANAGER.tower,
                    body,
                },
                MERGE_PATCH,
            ),
            // The API server may be waiting on 3.4's webhook, which reads the member through the tunnel.
            3 * REQUEST_TIMEOUT_MS,
            `updating Cluster "${name}"`,
        );
    }
}

/** A port in [low, high] nothing listens on at 127.0.0.1. */
async function freePortInRange(low: number, high: number): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
        const port = low + Math.floor(Math.random() * (high - low + 1));
        const free = await new Promise<boolean>((resolve) => {
            const probe = net.createServer();
            probe.once("error", () => resolve(false));
            probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error(`no free port in [${low}, ${high}]`);
}
