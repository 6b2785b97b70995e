import { createHmac } from "crypto";
import { afterHostStackFix, hostConfigKey } from "../../host/hostPreflight";
import { PollOutcome, pollUntilDone } from "../../kubernetes/poll";
import { KUBESPHERE_NAMESPACE } from "../../kubesphere/kubesphereConfig";
import { AGENT_DEPLOYMENT_NAME, agentCommand, AgentJoinView, TOWER_NAME, TowerFacts } from "../../kubesphere/tower";

/**
 * The token tower compares with the agent's. tower keeps a token set in advance (proxy.go addCluster), so the
 * program sets it: an HMAC-SHA256 of the member's name and revision keyed by the host's jwtSecret, 64 hex
 * characters like tower's own. Stable across runs without state of its own, secret (it never leaves a secret
 * Output), not reversible to the jwtSecret, and rotated by a new revision (`credentialsRevision`).
 */
export function agentToken(hostJwtSecret: string, member: string, revision: number): string {
    return createHmac("sha256", hostJwtSecret)
        .update(`kubesphere-federation/agent-token/${member}/${revision}`)
        .digest("hex");
}

/** The tower image KubeSphere's own manifest uses: ks-installer's agentImage (3.4: v0.2.1, 3.1–3.3: v0.2.0); 4.1's extension: v0.2.1. */
export function defaultAgentImage(hostInstallerVersion: string | undefined): string {
    const match = /^v?3\.([0-9]+)\./.exec(hostInstallerVersion ?? "");
    return match !== null && Number(match[1]) < 4 ? "kubesphere/tower:v0.2.0" : "kubesphere/tower:v0.2.1";
}

/**
 * The address the agent dials (KubeSphere's rule, handler.go:138-178): `proxyPublishAddress` (here
 * `host.agentProxyAddress`) when set, else the tower Service's load-balancer ingress (IP, else hostname) and port.
 */
export function proxyAddress(configured: string | undefined, tower: TowerFacts | undefined): string | undefined {
    return configured?.replace(/\/$/, "") ?? tower?.service?.loadBalancerAddress;
}

export interface TowerCheckInput {
    member: string;
    configKey: string;
    hostClusterName: string;
    hostMajor: "v3" | "v4";
    /** 3.x: the host already runs as a host (its ks-installer applied tower.yaml with the role). */
    hostIsHost: boolean;
    /** What the host has; undefined when the host cannot be read (a host from another stack). */
    tower: TowerFacts | undefined;
    configuredAddress: string | undefined;
    /** The host stack a member stack takes the host from (`host.stackReference`): fixes name its keys. */
    hostStack?: string;
}

/** Refusals before any change: no tower on the host, no address the agent could dial. Returns the address when usable. */
export function towerCheck(input: TowerCheckInput): { errors: string[]; proxyAddress?: string } {
    const errors: string[] = [];
    const who = `member "${input.member}" (${input.configKey}.connection: agent)`;
    if (input.tower !== undefined && !input.tower.deployment) {
        if (input.hostMajor === "v4") {
            errors.push(
                `${who}: host "${input.hostClusterName}" has no tower (Deployment ${KUBESPHERE_NAMESPACE}/${TOWER_NAME} not found): the KubeSphere 4.x extension "tower" ` +
                    `(Multi-Cluster Agent Connection) is not installed. Fix: install it in the host's Extensions Center, then run \`pulumi up\` again; or use connection: direct`,
            );
        } else if (input.hostIsHost) {
            errors.push(
                `${who}: host "${input.hostClusterName}" runs as a KubeSphere host but has no tower (Deployment ${KUBESPHERE_NAMESPACE}/${TOWER_NAME} not found; ks-installer's multicluster role applies it). ` +
                    `Fix: check the host's ks-installer log (kubectl -n kubesphere-system logs deploy/ks-installer) and restore tower, then run \`pulumi up\` again`,
            );
        }
    }
    const address = proxyAddress(input.configuredAddress, input.tower);
    if (address === undefined) {
        const proxyKey = hostConfigKey("host.agentProxyAddress", input.hostStack);
        const service = input.tower?.service;
        const found =
            service === undefined
                ? `no Service ${KUBESPHERE_NAMESPACE}/${TOWER_NAME}`
                : `Service ${KUBESPHERE_NAMESPACE}/${TOWER_NAME} of type ${service.type ?? "ClusterIP"} has no load-balancer address${service.type === "LoadBalancer" ? " (EXTERNAL-IP pending)" : ""}`;
        errors.push(
            `${who}: no proxy address for the agent to dial: ${proxyKey} is not set and the host has ${found}. ` +
                `Fix: set ${proxyKey} to where the member reaches tower (port 8080 of Service tower on host "${input.hostClusterName}", e.g. through a NodePort or load balancer), e.g. "http://203.0.113.10:30880"${afterHostStackFix(input.hostStack)}`,
        );
    }
    return { errors, proxyAddress: address };
}

/** What the member runs: KubeSphere's agent manifest, 3.x and 4.1 alike (handler.go), plus its ServiceAccount's name. */
export interface AgentDeploymentArgs<T> {
    member: string;
    /** The token (secret). */
    token: T;
    proxyAddress: string;
    image: string;
    serviceAccountName: string;
    /** Names of the Secrets the pod pulls its image with; none: no `imagePullSecrets` (KubeSphere's manifest). */
    imagePullSecrets?: string[];
}

/**
 * Deployment kubesphere-system/cluster-agent as KubeSphere renders it (no replicas field: one). `skipAwait`: Pulumi's
 * Deployment await wants available pods, which the join wait covers (AgentAvailable means the agent runs).
 */
export const agentDeploymentMetadata = {
    name: AGENT_DEPLOYMENT_NAME,
    namespace: KUBESPHERE_NAMESPACE,
    annotations: { "pulumi.com/skipAwait": "true" },
};

/** The agent's Deployment on the member (labels, image, the proxy address and token it dials tower with). */
export function agentDeploymentObject(args: AgentDeploymentArgs<string>) {
    const labels = { app: "agent", "app.kubernetes.io/part-of": "tower" };
    return {
        metadata: agentDeploymentMetadata,
        spec: {
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: args.serviceAccountName,
                    ...(args.imagePullSecrets?.length
                        ? { imagePullSecrets: args.imagePullSecrets.map((name) => ({ name })) }
                        : {}),
                    containers: [
                        {
                            name: "agent",
                            image: args.image,
                            command: agentCommand(args.member, args.token, args.proxyAddress),
                            resources: {
                                requests: { cpu: "100m", memory: "100M" },
                                limits: { cpu: "1", memory: "200M" },
                            },
                        },
                    ],
                },
            },
        },
    };
}

export interface AgentJoinExpectation {
    member: string;
    token: string;
    proxyAddress: string;
    /** 4.x: KSCoreReady and this `kubesphere.io/config-hash` are waited for too. */
    ksCoreConfigHash?: string;
    /**
     * After a token rotation: the digest of the kubeconfig tower had written before; the agent has reconnected with
     * the new token once tower wrote another (a new client certificate on every connect).
     */
    kubeconfigDigestBefore?: string;
}

export const condition = (view: AgentJoinView, type: string) => view.cluster?.conditions?.find((c) => c.type === type);

const isTrue = (view: AgentJoinView, type: string) => condition(view, type)?.status === "True";

const said = (view: AgentJoinView, type: string) => {
    const found = condition(view, type);
    return found === undefined ? "no condition yet" : `${found.status}${found.message ? `: ${found.message}` : ""}`;
};

/**
 * One step of the join through tower, in KubeSphere's order: tower initializes the proxy Cluster, the agent connects
 * (AgentAvailable), the host's controller reaches the member through the tunnel (Ready; 4.x: installs ks-core,
 * KSCoreReady). A token that differs between the two sides fails at once: tower answers it "Unauthorized agent".
 */
export function agentJoinOutcome(view: AgentJoinView, expected: AgentJoinExpectation): PollOutcome {
    if (view.cluster === undefined) return { state: "pending", detail: "the Cluster does not exist on the host yet" };
    if (view.agent === undefined) {
        return {
            state: "pending",
            detail: `the agent Deployment ${KUBESPHERE_NAMESPACE}/${AGENT_DEPLOYMENT_NAME} does not exist on the member`,
        };
    }
    if (view.cluster.token !== expected.token || view.agent.token !== expected.token) {
        const changed = [
            view.cluster.token !== expected.token ? "the Cluster's spec.connection.token on the host" : "",
            view.agent.token !== expected.token
                ? `the --token of Deployment ${KUBESPHERE_NAMESPACE}/${AGENT_DEPLOYMENT_NAME} on the member`
                : "",
        ]
            .filter(Boolean)
            .join(" and ");
        return {
            state: "failed",
            message:
                `member "${expected.member}": ${changed} no longer hold(s) the token the program set, so tower refuses the agent ("Unauthorized agent"). ` +
                "Fix: run `pulumi up --refresh`, which puts the program's token back on both sides",
        };
    }
    if (
        expected.kubeconfigDigestBefore !== undefined &&
        view.cluster.kubeconfigDigest === expected.kubeconfigDigestBefore
    ) {
        return {
            state: "pending",
            detail: `the agent has not reconnected with the rotated token yet (tower writes a new kubeconfig on every connect): check the agent's log (kubectl -n ${KUBESPHERE_NAMESPACE} logs deploy/${AGENT_DEPLOYMENT_NAME}) and egress to ${expected.proxyAddress}`,
        };
    }
    if (!isTrue(view, "Initialized")) {
        return {
            state: "pending",
            detail: `tower has not initialized the proxy Cluster (Initialized: ${said(view, "Initialized")}): check that tower runs on the host (kubectl -n ${KUBESPHERE_NAMESPACE} get deploy,svc ${TOWER_NAME})`,
        };
    }
    if (!isTrue(view, "AgentAvailable")) {
        return {
            state: "pending",
            detail:
                `the agent has not connected to tower (AgentAvailable: ${said(view, "AgentAvailable")}): check egress from the member to the proxy address ${expected.proxyAddress}, ` +
                `and the agent's log (kubectl -n ${KUBESPHERE_NAMESPACE} logs deploy/${AGENT_DEPLOYMENT_NAME}); "Unauthorized agent" there means its token differs from the Cluster's spec.connection.token`,
        };
    }
    if (!isTrue(view, "Ready")) {
        return {
            state: "pending",
            detail: `the agent is connected but KubeSphere has not reported Ready through the tunnel (Ready: ${said(view, "Ready")})`,
        };
    }
    if (expected.ksCoreConfigHash !== undefined) {
        if (!isTrue(view, "KSCoreReady")) {
            return {
                state: "pending",
                detail: `the host has not installed ks-core on the member through the tunnel yet (KSCoreReady: ${said(view, "KSCoreReady")})`,
            };
        }
        if (view.cluster.annotations?.["kubesphere.io/config-hash"] !== expected.ksCoreConfigHash) {
            return {
                state: "pending",
                detail: "the host has not finished installing ks-core with the current ksCoreValues (kubesphere.io/config-hash differs)",
            };
        }
    }
    return { state: "done" };
}

/** Waits for {@link agentJoinOutcome} to be done, with progress; the timeout names what is still missing. */
export async function waitForAgentJoin(options: {
    expected: AgentJoinExpectation;
    read: () => Promise<AgentJoinView>;
    timeoutMs: number;
    log: (message: string) => void;
    /** Turns the timeout or unreachable error into the one the user sees (the diagnosis, components/members/diagnosis.ts). */
    explain?: (message: string) => Promise<string>;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}): Promise<{ waitedMs: number }> {
    const member = options.expected.member;
    return pollUntilDone({
        check: async () => agentJoinOutcome(await options.read(), options.expected),
        timeoutMs: options.timeoutMs,
        log: options.log,
        progress: (seconds, detail) =>
            `member "${member}": waiting for the join through tower (${seconds}s): ${detail}`,
        done: (seconds) => `member "${member}": joined through tower after ${seconds}s`,
        timeout: (seconds, detail) =>
            `member "${member}": not joined through the agent after ${seconds}s: ${detail}. Fix: see the check above, then run \`pulumi up\` again (members[].readyTimeoutSeconds sets the wait)`,
        unreachable: (detail) =>
            `member "${member}": the host or the member stopped answering while waiting for the join through tower: ${detail}`,
        explain: options.explain,
        now: options.now,
        sleep: options.sleep,
    });
}
