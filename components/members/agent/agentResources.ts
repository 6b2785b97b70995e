/**
 * The member side of an agent connection, as Pulumi resources: what KubeSphere's agent manifest holds (3.x: the
 * `cluster-agent` Deployment alone, running as the member's own `kubesphere` ServiceAccount; 4.1: Namespace,
 * ServiceAccount and ClusterRoleBinding `tower`, and the Deployment), created by the program instead of downloaded
 * from the console (docs/kubesphere.md §10.3, §10.4).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KUBESPHERE_NAMESPACE } from "../../kubesphere/kubesphereConfig";
import { AGENT_SERVICE_ACCOUNT_V3, AGENT_SERVICE_ACCOUNT_V4 } from "../../kubesphere/tower";
import { agentDeploymentMetadata, agentDeploymentObject } from "./agentConnection";

export interface AgentResourcesArgs {
    member: string;
    /** The host's KubeSphere major version: which manifest to render. */
    hostMajor: "v3" | "v4";
    /** The token (secret). */
    token: pulumi.Output<string>;
    /** Where the agent dials tower and which image it runs, once the pre-flight passed (nothing is created before). */
    checked: pulumi.Output<{ proxyAddress: string; image: string }>;
    /** Secrets in kubesphere-system the agent's pod pulls its image with (names). */
    imagePullSecrets: string[];
}

/**
 * Creates the agent objects on the member; returns them so the Cluster can depend on them (removal deletes the
 * Cluster first, then these).
 */
export function createAgentResources(
    args: AgentResourcesArgs,
    opts: { parent: pulumi.Resource; provider: k8s.Provider },
): pulumi.Resource[] {
    const v4 = args.hostMajor === "v4";
    const created: pulumi.Resource[] = [];
    if (v4) {
        // A bare 4.1 member has no kubesphere-system yet, and ks-core's Helm install will use it too: a server-side
        // apply patch creates it when missing, owns nothing else, and is retained on removal, so the program never
        // deletes ks-core's namespace.
        created.push(
            new k8s.core.v1.NamespacePatch(
                `${args.member}-agent-namespace`,
                { metadata: { name: args.checked.apply(() => KUBESPHERE_NAMESPACE) } },
                { ...opts, retainOnDelete: true },
            ),
        );
        created.push(
            new k8s.core.v1.ServiceAccount(
                `${args.member}-agent-serviceaccount`,
                { metadata: { name: AGENT_SERVICE_ACCOUNT_V4, namespace: KUBESPHERE_NAMESPACE } },
                { ...opts, dependsOn: [created[0]] },
            ),
        );
        created.push(
            new k8s.rbac.v1.ClusterRoleBinding(
                `${args.member}-agent-clusterrolebinding`,
                {
                    metadata: { name: AGENT_SERVICE_ACCOUNT_V4 },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                    subjects: [
                        { kind: "ServiceAccount", name: AGENT_SERVICE_ACCOUNT_V4, namespace: KUBESPHERE_NAMESPACE },
                    ],
                },
                { ...opts, dependsOn: [created[0]] },
            ),
        );
    }
    const spec = pulumi.secret(
        pulumi.all([args.token, args.checked]).apply(
            ([token, found]) =>
                agentDeploymentObject({
                    member: args.member,
                    token,
                    proxyAddress: found.proxyAddress,
                    image: found.image,
                    serviceAccountName: v4 ? AGENT_SERVICE_ACCOUNT_V4 : AGENT_SERVICE_ACCOUNT_V3,
                    imagePullSecrets: args.imagePullSecrets,
                }).spec,
        ),
    );
    created.push(
        new k8s.apps.v1.Deployment(
            `${args.member}-cluster-agent`,
            { metadata: agentDeploymentMetadata, spec },
            // The command line holds the token: the spec is a secret in the state.
            { ...opts, dependsOn: [...created], additionalSecretOutputs: ["spec"] },
        ),
    );
    return created;
}
