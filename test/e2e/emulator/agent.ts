/**
 * tower's agent on a member (tower v0.2.1 cmd/agent, docs/kubesphere.md §10.2–§10.3). TEST ONLY. The sandbox has no kubelet, so
 * the emulator plays the agent's pod: while the member has Deployment kubesphere-system/cluster-agent whose container
 * runs `/agent --name=… --token=… --proxy-server=…`, it
 * - gets its ServiceAccount's token with the TokenRequest API (a pod's projected token; no ServiceAccount: the pod
 *   cannot start, and the emulator says so);
 * - dials tower at --proxy-server (http→ws: here a plain HTTP Upgrade, tunnel.ts), only on loopback;
 * - sends its config (name, token, CA, bearer token) and, on "Unauthorized agent" or a failed dial, logs
 *   `Connection error: <why> (Attempt: N)` and retries with backoff (real: up to 2 min; here 1 s growing to 5 s);
 * - once accepted, opens a TCP connection to the member's API server for every channel tower opens.
 * A changed Deployment (another token, say) restarts the agent, as a rollout does; a deleted one stops it. Its pod is
 * written as a kubelet writes it (kubelet.ts): while the test switch makes its image unpullable the agent does not run.
 * Sandbox stand-ins: `kubernetes.default.svc:443` is the member API server's loopback address, and the pod's
 * mounted ca.crt is the CA in the member's sandbox kubeconfig.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import * as net from "net";
import { EmulatedCluster } from "./config";
import { describeError, httpStatus, withTimeout } from "./kubeApi";
import { KUBESPHERE_NAMESPACE } from "./kubesphereObjects";
import { EmulatedKubelet } from "./kubelet";
import { ChangeLog } from "./log";
import { stableJson } from "./stableJson";
import { AgentConfig, FrameType, Tunnel, TUNNEL_PROTOCOL } from "./tunnel";

const REQUEST_TIMEOUT_MS = 3000;
export const AGENT_DEPLOYMENT = "cluster-agent";

interface AgentFlags {
    name: string;
    token: string;
    proxyServer: string;
    kubernetesService: string;
    kubesphereService: string;
}

/** The flags of `/agent …`, or why the container would exit. */
export function parseAgentCommand(command: string[] | undefined): AgentFlags | { error: string } {
    if (!command || command[0] !== "/agent")
        return { error: `the container does not run /agent (command: ${JSON.stringify(command?.[0] ?? null)})` };
    const flag = (name: string) => command.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
    const name = flag("name");
    const token = flag("token");
    const proxyServer = flag("proxy-server");
    if (!name || !token || !proxyServer) return { error: "--name, --token and --proxy-server are required" };
    return {
        name,
        token,
        proxyServer,
        kubernetesService: flag("kubernetes-service") ?? "kubernetes.default.svc:443",
        kubesphereService: flag("kubesphere-service") ?? "ks-apiserver.kubesphere-system.svc:80",
    };
}

/** options.go: http→ws, https→wss, a missing port is 80/443. Returns host and port, or why not. */
export function proxyServerAddress(value: string): { host: string; port: number } | { error: string } {
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return { error: `--proxy-server ${JSON.stringify(value)} is not a URL` };
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
        return { error: `--proxy-server must be http(s)://, found ${url.protocol}` };
    if (url.protocol === "https:") return { error: "tower serves plain HTTP; the sandbox has no TLS in front of it" };
    // The sandbox dials loopback only.
    if (!/^127\.\d+\.\d+\.\d+$/.test(url.hostname))
        return {
            error: `--proxy-server host ${url.hostname} is not a loopback address (the sandbox dials 127.0.0.0/8 only)`,
        };
    return { host: url.hostname, port: Number(url.port || 80) };
}

class RunningAgent {
    private stopped = false;
    private attempt = 0;
    private tunnel?: Tunnel;
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly flags: AgentFlags,
        private readonly serviceAccount: string,
        private readonly kubeConfig: KubeConfig,
        private readonly say: (message: string) => void,
    ) {
        void this.connect();
    }

    stop(): void {
        this.stopped = true;
        clearTimeout(this.timer);
        this.tunnel?.close();
    }

    private retry(why: string): void {
        if (this.stopped) return;
        this.say(`Connection error: ${why} (Attempt: ${this.attempt})`);
        const delay = Math.min(1000 * 1.5 ** (this.attempt - 1), 5000);
        this.timer = setTimeout(() => void this.connect(), delay);
    }

    private async connect(): Promise<void> {
        if (this.stopped) return;
        this.attempt++;
        const address = proxyServerAddress(this.flags.proxyServer);
        if ("error" in address) {
            this.retry(address.error);
            return;
        }
        let bearerToken: string;
        try {
            bearerToken = await this.serviceAccountToken();
        } catch (err) {
            this.retry(
                `the pod cannot start: ServiceAccount ${KUBESPHERE_NAMESPACE}/${this.serviceAccount}: ${describeError(err)}`,
            );
            return;
        }
        const cluster = this.kubeConfig.getCurrentCluster();
        const apiServer = new URL(cluster?.server ?? "https://127.0.0.1:443");
        const config: AgentConfig = {
            Version: "v0.2.1",
            Name: this.flags.name,
            Token: this.flags.token,
            KubernetesSvcHost: this.flags.kubernetesService,
            KubeSphereSvcHost: this.flags.kubesphereService,
            CAData: cluster?.caData ?? "",
            BearerToken: bearerToken,
        };
        let reply: string;
        try {
            reply = await this.handshake(address, config, {
                host: apiServer.hostname,
                port: Number(apiServer.port || 443),
            });
        } catch (err) {
            this.retry(describeError(err));
            return;
        }
        if (reply !== "ok") {
            this.tunnel?.close();
            this.retry(reply);
            return;
        }
        this.attempt = 0;
        this.say(`connected to proxy ${this.flags.proxyServer} as "${this.flags.name}"`);
        this.tunnel!.onClose = () => {
            if (this.stopped) return;
            this.say("the connection to the proxy was closed; reconnecting");
            this.timer = setTimeout(() => void this.connect(), 1000);
        };
    }

    /** The HTTP Upgrade, the config request and tower's answer; channels are served from then on. */
    private handshake(
        address: { host: string; port: number },
        config: AgentConfig,
        apiServer: { host: string; port: number },
    ): Promise<string> {
        return new Promise((resolve, reject) => {
            const socket = net.connect(address.port, address.host);
            let settled = false;
            const fail = (err: Error) => {
                if (settled) return;
                settled = true;
                socket.destroy();
                reject(err);
            };
            socket.setTimeout(REQUEST_TIMEOUT_MS, () => fail(new Error("dial timeout")));
            socket.once("error", fail);
            socket.once("close", () => fail(new Error("the proxy closed the connection")));
            socket.once("connect", () => {
                socket.write(
                    `GET /connect HTTP/1.1\r\nHost: ${address.host}:${address.port}\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\n\r\n`,
                );
            });
            let head = Buffer.alloc(0);
            const onData = (data: Buffer) => {
                head = Buffer.concat([head, data]);
                const end = head.indexOf("\r\n\r\n");
                if (end < 0) return;
                socket.off("data", onData);
                socket.setTimeout(0);
                const statusLine = head.subarray(0, head.indexOf("\r\n")).toString();
                if (!/^HTTP\/1\.1 101 /.test(statusLine)) {
                    fail(new Error(`websocket: bad handshake (${statusLine})`));
                    return;
                }
                socket.removeAllListeners("error");
                socket.removeAllListeners("close");
                const tunnel = new Tunnel(socket);
                this.tunnel = tunnel;
                tunnel.onControl = (type, id, payload) => {
                    if (type === FrameType.ConfigReply && !settled) {
                        settled = true;
                        resolve(payload.toString("utf8"));
                    } else if (type === FrameType.Open) {
                        this.serveChannel(tunnel, id, payload.toString("utf8"), apiServer);
                    }
                };
                tunnel.onClose = () => fail(new Error("the proxy closed the connection"));
                tunnel.send(FrameType.Config, 0, Buffer.from(JSON.stringify(config)));
                const rest = head.subarray(end + 4);
                if (rest.length > 0) tunnel.feed(rest);
            };
            socket.on("data", onData);
        });
    }

    /** One channel tower opened: a TCP connection to the member's API server (the sandbox's `kubernetes.default.svc:443`). */
    private serveChannel(tunnel: Tunnel, id: number, service: string, apiServer: { host: string; port: number }): void {
        const channel = tunnel.accept(id);
        if (service !== "kubernetes") {
            // ks-apiserver cannot be served in the sandbox (see kubesphereObjects.ts KS_APISERVER).
            channel.end();
            return;
        }
        const upstream = net.connect(apiServer.port, apiServer.host);
        upstream.on("error", () => channel.destroy());
        channel.on("error", () => upstream.destroy());
        channel.pipe(upstream);
        upstream.pipe(channel);
    }

    private async serviceAccountToken(): Promise<string> {
        const core = this.kubeConfig.makeApiClient(CoreV1Api);
        const answer = await withTimeout(
            core.createNamespacedServiceAccountToken({
                name: this.serviceAccount,
                namespace: KUBESPHERE_NAMESPACE,
                body: { spec: { audiences: [], expirationSeconds: 3600 } },
            }),
            REQUEST_TIMEOUT_MS,
            "TokenRequest",
        );
        const token = answer.status?.token;
        if (!token) throw new Error("the TokenRequest returned no token");
        return token;
    }
}

/** Plays the agent's pod on one member. */
export class AgentEmulator {
    private readonly apps: AppsV1Api;
    private running?: { key: string; agent: RunningAgent };

    private readonly kubelet: EmulatedKubelet;

    constructor(
        private readonly member: EmulatedCluster,
        private readonly kubeConfig: KubeConfig,
        private readonly changes: ChangeLog,
        /** The test switch of the pods (kubelet.ts); undefined: the agent's image can always be pulled. */
        podsFile?: string,
    ) {
        this.apps = kubeConfig.makeApiClient(AppsV1Api);
        this.kubelet = new EmulatedKubelet(member.name, kubeConfig.makeApiClient(CoreV1Api), podsFile, changes);
    }

    private say(message: string): void {
        this.changes.report(`agent/${this.member.name}`, `agent on member "${this.member.name}": ${message}`);
    }

    async reconcile(): Promise<void> {
        let deployment;
        try {
            deployment = await withTimeout(
                this.apps.readNamespacedDeployment({ name: AGENT_DEPLOYMENT, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading cluster-agent",
            );
        } catch (err) {
            if (httpStatus(err) !== 404) throw err;
            if (this.running) this.say(`Deployment ${KUBESPHERE_NAMESPACE}/${AGENT_DEPLOYMENT} deleted; agent stopped`);
            this.stop();
            await this.kubelet.remove(AGENT_DEPLOYMENT);
            return;
        }
        const podSpec = deployment.spec?.template?.spec;
        const container =
            podSpec?.containers?.find((candidate) => candidate.name === "agent") ?? podSpec?.containers?.[0];
        const flags = parseAgentCommand(container?.command);
        const serviceAccount = podSpec?.serviceAccountName || "default";
        const pulled = await this.kubelet.play({
            workload: AGENT_DEPLOYMENT,
            namespace: KUBESPHERE_NAMESPACE,
            labels: (deployment.spec?.template?.metadata?.labels ?? {}) as Record<string, string>,
            container: container?.name ?? "agent",
            image: container?.image ?? "",
            serviceAccountName: podSpec?.serviceAccountName,
            imagePullSecrets: (podSpec?.imagePullSecrets ?? []).map((secret) => secret.name ?? "").filter(Boolean),
        });
        if (!pulled) {
            if (this.running) this.stop();
            this.say(`its pod cannot pull image ${container?.image}: the agent does not run`);
            return;
        }
        const key = stableJson({ uid: deployment.metadata?.uid, command: container?.command, serviceAccount });
        if (this.running?.key === key) return;
        this.stop();
        if ("error" in flags) {
            this.say(`the agent exits: ${flags.error}`);
            return;
        }
        this.say(
            `Deployment ${KUBESPHERE_NAMESPACE}/${AGENT_DEPLOYMENT} (ServiceAccount ${serviceAccount}): starting the agent for "${flags.name}", proxy ${flags.proxyServer}`,
        );
        this.running = {
            key,
            agent: new RunningAgent(flags, serviceAccount, this.kubeConfig, (message) => this.say(message)),
        };
    }

    private stop(): void {
        this.running?.agent.stop();
        this.running = undefined;
    }
}
