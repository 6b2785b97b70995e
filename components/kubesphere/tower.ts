/**
 * tower and its agent as KubeSphere names and renders them (docs/kubesphere.md §10): object names, the agent's
 * command line, what the host's tower and the join look like when read.
 */
import { KUBESPHERE_NAMESPACE } from "./kubesphereConfig";
import type { ClusterCondition, KubesphereWorkload } from "./kubesphereObjects";

/** The agent's Deployment on the member, as KubeSphere names it (3.x handler.go; 4.1 tower extension handler.go). */
export const AGENT_DEPLOYMENT_NAME = "cluster-agent";

/** The agent's pods: the Deployment's label `app: agent`, as KubeSphere's agent manifest has it (docs/kubesphere.md §10.3, §11). */
export const CLUSTER_AGENT_WORKLOAD: KubesphereWorkload = {
    name: "cluster-agent",
    namespace: KUBESPHERE_NAMESPACE,
    labelSelector: "app=agent",
    deployment: AGENT_DEPLOYMENT_NAME,
    role: "connects the member to the host's tower",
    imageFromRegistryKey: true,
};

/** tower's Deployment and Service on the host (3.x: ks-installer's tower.yaml; 4.1: the tower extension's chart). */
export const TOWER_NAME = "tower";

/** 4.1: the extension's agent manifest adds ServiceAccount and ClusterRoleBinding `tower` (cluster-admin). */
export const AGENT_SERVICE_ACCOUNT_V4 = "tower";

/** 3.x: the agent runs as the member's own `kubesphere` ServiceAccount (cluster-admin, from ks-core's chart). */
export const AGENT_SERVICE_ACCOUNT_V3 = "kubesphere";

/** What the program reads of the host's tower. */
export interface TowerFacts {
    /** Deployment kubesphere-system/tower exists (3.x: applied with the host role; 4.1: the tower extension is installed). */
    deployment: boolean;
    /** Service kubesphere-system/tower: its type and, once a load balancer assigned one, `http://<ingress>:<port>`. */
    service?: { type?: string; loadBalancerAddress?: string };
}

/** The `/agent` command line of KubeSphere's manifest, in its order. */
export function agentCommand(member: string, token: string, proxyServer: string): string[] {
    return [
        "/agent",
        `--name=${member}`,
        `--token=${token}`,
        `--proxy-server=${proxyServer}`,
        "--keepalive=10s",
        "--kubesphere-service=ks-apiserver.kubesphere-system.svc:80",
        "--kubernetes-service=kubernetes.default.svc:443",
        "--v=0",
    ];
}

/** The token an agent Deployment's command line carries, or undefined. */
export function tokenOfAgentCommand(command: readonly string[] | undefined): string | undefined {
    return command?.find((arg) => arg.startsWith("--token="))?.slice("--token=".length);
}

/** What one poll of the join reads: the member's Cluster on the host, and the agent Deployment on the member. */
export interface AgentJoinView {
    cluster?: {
        token?: string;
        conditions?: ClusterCondition[];
        annotations?: Record<string, string>;
        /** sha256 of spec.connection.kubeconfig: tower writes a new one on every agent connect. */
        kubeconfigDigest?: string;
    };
    /** undefined: no Deployment kubesphere-system/cluster-agent on the member. */
    agent?: { token?: string };
}
