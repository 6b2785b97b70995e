/**
 * tower and the agent connection, read and written on the host and the member (docs/kubesphere.md §10): tower's
 * address, the join's view for the agent wait, and the one write the program makes outside Pulumi resources — the
 * rotated agent token into the live Cluster (members/agent/agentJoin.ts says why).
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import {
    apiClients,
    clientConfig,
    describeKubeError,
    digestOf,
    notFoundAsUndefined,
    withTimeout,
} from "../kubernetes/transport";
import { KUBESPHERE_NAMESPACE } from "./kubesphereConfig";
import { CLUSTER_API_VERSION, ClusterCondition } from "./kubesphereObjects";
import { unreachableMessage } from "./reads";
import { AGENT_DEPLOYMENT_NAME, AgentJoinView, tokenOfAgentCommand, TOWER_NAME, TowerFacts } from "./tower";

const [CLUSTER_GROUP, CLUSTER_VERSION] = CLUSTER_API_VERSION.split("/");

/**
 * The host's tower (docs/kubesphere.md §10.1, §10.4): whether Deployment kubesphere-system/tower exists, and its Service's type
 * and load-balancer address (`http://<ingress IP, else hostname>:<first port>`, KubeSphere's rule).
 */
export async function readTower(host: string, hostKubeconfig: ParsedKubeconfig): Promise<TowerFacts> {
    const kubeConfig = clientConfig(hostKubeconfig);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    try {
        const [deployment, service] = await Promise.all([
            notFoundAsUndefined(() =>
                apps.readNamespacedDeployment({ name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
            notFoundAsUndefined(() =>
                core.readNamespacedService({ name: TOWER_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const ingress = service?.status?.loadBalancer?.ingress?.[0];
        const ingressHost = ingress?.ip || ingress?.hostname;
        const port = service?.spec?.ports?.[0]?.port;
        return {
            deployment: deployment !== undefined,
            service:
                service === undefined
                    ? undefined
                    : {
                          type: service.spec?.type,
                          loadBalancerAddress: ingressHost && port ? `http://${ingressHost}:${port}` : undefined,
                      },
        };
    } catch (err) {
        throw new Error(unreachableMessage(host, kubeConfig.getCurrentCluster()?.server, err));
    }
}

/** What the agent join wait reads per poll, plus the status fields the program reports. */
export type AgentJoinRead = AgentJoinView & {
    status?: { conditions?: ClusterCondition[]; kubernetesVersion?: string; kubeSphereVersion?: string };
};

/**
 * Returns a function that reads the member's Cluster on the host and the agent Deployment on the member (its
 * `--token`, compared in memory only).
 */
export function agentJoinReader(
    member: string,
    hostKubeconfig: ParsedKubeconfig,
    memberKubeconfig: ParsedKubeconfig,
): () => Promise<AgentJoinRead> {
    const { custom } = apiClients(hostKubeconfig);
    const apps = clientConfig(memberKubeconfig).makeApiClient(AppsV1Api);
    return async () => {
        const [cluster, deployment] = await Promise.all([
            notFoundAsUndefined(() =>
                custom.getClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name: member,
                }),
            ),
            notFoundAsUndefined(() =>
                apps.readNamespacedDeployment({ name: AGENT_DEPLOYMENT_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const object = cluster as
            | {
                  metadata?: { annotations?: Record<string, string> };
                  spec?: { connection?: { token?: string; kubeconfig?: string } };
                  status?: AgentJoinRead["status"];
              }
            | undefined;
        const container = deployment?.spec?.template?.spec?.containers?.find((candidate) => candidate.name === "agent");
        return {
            cluster:
                object === undefined
                    ? undefined
                    : {
                          token: object.spec?.connection?.token,
                          conditions: object.status?.conditions,
                          annotations: object.metadata?.annotations,
                          kubeconfigDigest: digestOf(object.spec?.connection?.kubeconfig),
                      },
            agent: deployment === undefined ? undefined : { token: tokenOfAgentCommand(container?.command) },
            status: object?.status,
        };
    };
}

/**
 * Token rotation of an agent member, step one: writes the new token into the live proxy Cluster on the host (when
 * it exists and holds another one), so tower accepts the agent restarted with it. Returns whether it wrote.
 */
export async function writeClusterAgentToken(
    member: string,
    hostKubeconfig: ParsedKubeconfig,
    token: string,
): Promise<{ written: boolean; kubeconfigDigest?: string }> {
    const { custom } = apiClients(hostKubeconfig);
    const cluster = (await notFoundAsUndefined(() =>
        custom.getClusterCustomObject({
            group: CLUSTER_GROUP,
            version: CLUSTER_VERSION,
            plural: "clusters",
            name: member,
        }),
    )) as { spec?: { connection?: { type?: string; token?: string; kubeconfig?: string } } } | undefined;
    if (cluster?.spec?.connection?.type !== "proxy" || cluster.spec.connection.token === token)
        return { written: false };
    const kubeconfigDigest = digestOf(cluster.spec.connection.kubeconfig);
    try {
        await withTimeout(() =>
            custom.patchClusterCustomObject(
                {
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    name: member,
                    fieldManager: "kubesphere-federation",
                    body: { spec: { connection: { token } } },
                },
                setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
            ),
        );
    } catch (err) {
        throw new Error(
            `member "${member}": writing the rotated agent token into its Cluster on the host failed (${describeKubeError(err)}). Fix: check the host answers, then run \`pulumi up\` again`,
        );
    }
    return { written: true, kubeconfigDigest };
}
