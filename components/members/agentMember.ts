/**
 * The member side of an agent connection, as Pulumi resources: what KubeSphere's agent manifest holds (3.x: the
 * `cluster-agent` Deployment alone, running as the member's own `kubesphere` ServiceAccount; 4.1: Namespace,
 * ServiceAccount and ClusterRoleBinding `tower`, and the Deployment), created by the program instead of downloaded
 * from the console (docs/kubesphere.md §10.3, §10.4); and the steps of MemberCluster that read or wait on the join through tower
 * (pre-flight of the host's tower, token rotation, the join wait), kept here so memberCluster.ts stays the direct path.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { AGENT_SERVICE_ACCOUNT_V3, AGENT_SERVICE_ACCOUNT_V4 } from "../kubesphere/tower";
import {
    agentDeploymentMetadata,
    agentDeploymentObject,
    defaultAgentImage,
    towerCheck,
    waitForAgentJoin,
} from "./agentConnection";
import { DEFAULT_READY_TIMEOUT_SECONDS } from "../config/configSchema";
import { ClusterAccess } from "../kubesphere/clusterAccess";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { KUBESPHERE_NAMESPACE } from "../kubesphere/kubesphereConfig";
import { ksCoreConfigHash } from "../kubesphere/kubesphereVersion";
import type { ClusterStatus, MemberClusterArgs, MemberPreflight } from "./memberCluster";
import type { ClusterFacts } from "../kubesphere/facts";
import { asResourceError } from "../kubernetes/resourceErrors";

export interface AgentResourcesArgs {
    member: string;
    /** The host's KubeSphere major version: which manifest to render. */
    hostMajor: "v3" | "v4";
    /** The token (secret). */
    token: pulumi.Output<string>;
    /** Where the agent dials tower and which image it runs, once the pre-flight passed (nothing is created before). */
    checked: pulumi.Output<{ proxyAddress: string; image: string }>;
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

/** Agent members: the host has tower, and the agent has an address to dial (docs/kubesphere.md §10.1, §10.4). */
export async function checkTower(
    name: string,
    configKey: string,
    v3: boolean,
    hostKubeconfig: ParsedKubeconfig | undefined,
    hostFacts: ClusterFacts | undefined,
    args: MemberClusterArgs,
    access: ClusterAccess,
): Promise<{ errors: string[]; proxyAddress?: string; image: string }> {
    const hostName = args.host.hostClusterName ?? "host";
    if (hostKubeconfig === undefined) {
        return {
            errors: [
                `member "${name}" (${configKey}.connection: agent): the host's kubeconfig is not given, and the join through tower is waited for on the host. Fix: pass the host's kubeconfig (FederationHost.kubeconfig)`,
            ],
            image: "",
        };
    }
    const tower = await access.readTower(hostName, hostKubeconfig);
    const settings = hostFacts?.config;
    const check = towerCheck({
        member: name,
        configKey,
        hostName,
        hostMajor: v3 ? "v3" : "v4",
        hostIsHost: settings?.clusterRole === "host" || settings?.multiclusterEnable === true,
        tower,
        configuredAddress: args.host.agentProxyAddress,
        hostStack: args.host.hostStack,
    });
    return { ...check, image: defaultAgentImage(v3 ? hostFacts?.installer?.version : undefined) };
}

/**
 * The agent's token, once the live Cluster holds it. Pulumi updates the Cluster after the agent (the Cluster
 * depends on the agent objects, so removal deletes it first, while the tunnel still answers 3.4's webhook); on
 * rotation that order would restart the agent with a token tower does not know yet, the tunnel would drop, and
 * 3.4's webhook would then refuse the Cluster's update. So a rotated token is written into the live Cluster
 * first (the value Pulumi sets next anyway), while the old agent is still connected. Not in previews.
 */
export function rotatedFirstOnHost(
    resource: pulumi.Resource,
    name: string,
    token: pulumi.Output<string>,
    checked: pulumi.Output<MemberPreflight>,
    hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
    access: ClusterAccess,
): pulumi.Output<{ token: string; kubeconfigDigestBefore?: string }> {
    return pulumi.secret(
        pulumi.all([token, hostKubeconfig, checked]).apply(async ([value, hostKubeconfig]) => {
            if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return { token: value };
            try {
                const { written, kubeconfigDigest } = await access.writeClusterAgentToken(name, hostKubeconfig, value);
                if (!written) return { token: value };
                pulumi.log.info(
                    `member "${name}": the rotated agent token is written into its Cluster on the host before the agent restarts with it`,
                    resource,
                );
                return { token: value, kubeconfigDigestBefore: kubeconfigDigest };
            } catch (err) {
                throw asResourceError(err, resource);
            }
        }),
    );
}

/**
 * After a rotation, Pulumi's update of the Cluster waits until the restarted agent has reconnected (tower wrote a
 * new kubeconfig): on 3.4 the webhook refuses any Cluster update while the tunnel is down. Not in previews.
 */
export function afterAgentReconnected(
    resource: pulumi.Resource,
    name: string,
    token: string,
    rotation: pulumi.Output<{ token: string; kubeconfigDigestBefore?: string }>,
    agentUpdated: pulumi.Output<unknown>,
    kubeconfig: pulumi.Output<ParsedKubeconfig>,
    hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
    checked: pulumi.Output<MemberPreflight>,
    args: MemberClusterArgs,
    access: ClusterAccess,
): pulumi.Output<string> {
    return pulumi
        .all([rotation, agentUpdated, kubeconfig, hostKubeconfig, checked])
        .apply(async ([rotated, , memberKubeconfig, hostKubeconfig, found]) => {
            if (
                pulumi.runtime.isDryRun() ||
                rotated.kubeconfigDigestBefore === undefined ||
                hostKubeconfig === undefined
            )
                return token;
            try {
                await waitForAgentJoin({
                    expected: {
                        member: name,
                        token,
                        proxyAddress: found.agent!.proxyAddress,
                        kubeconfigDigestBefore: rotated.kubeconfigDigestBefore,
                    },
                    read: access.agentJoinReader(name, hostKubeconfig, memberKubeconfig),
                    timeoutMs: (args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, resource),
                });
            } catch (err) {
                throw asResourceError(err, resource);
            }
            return token;
        });
}

/**
 * Waits (not in previews) until tower, the agent and KubeSphere have joined the member; returns the Cluster's status.
 * `explain` turns a timeout into the diagnosis (components/members/diagnosis.ts), given the member's and the host's kubeconfigs.
 */
export function waitForAgentJoined(
    resource: pulumi.Resource,
    cluster: k8s.apiextensions.CustomResource,
    name: string,
    kubeconfig: pulumi.Output<ParsedKubeconfig>,
    hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
    token: pulumi.Output<string>,
    preflight: pulumi.Output<MemberPreflight>,
    createdStatus: pulumi.Output<ClusterStatus | undefined>,
    args: MemberClusterArgs,
    access: ClusterAccess,
    explain: (message: string, memberKubeconfig: ParsedKubeconfig, hostKubeconfig: ParsedKubeconfig) => Promise<string>,
): pulumi.Output<ClusterStatus | undefined> {
    const configBytes = args.ksCoreValues === undefined ? new Uint8Array() : Buffer.from(yaml.dump(args.ksCoreValues));
    const v3 = args.host.kubesphereMajor === "v3";
    return pulumi
        .all([cluster.id, createdStatus, kubeconfig, hostKubeconfig, token, preflight])
        .apply(async ([, created, memberKubeconfig, hostKubeconfig, expectedToken, found]) => {
            if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return created;
            const read = access.agentJoinReader(name, hostKubeconfig, memberKubeconfig);
            let last: Awaited<ReturnType<typeof read>> | undefined;
            try {
                await waitForAgentJoin({
                    expected: {
                        member: name,
                        token: expectedToken,
                        proxyAddress: found.agent!.proxyAddress,
                        ksCoreConfigHash: v3 ? undefined : ksCoreConfigHash(configBytes),
                    },
                    read: async () => (last = await read()),
                    timeoutMs: (args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, resource),
                    explain: (message) => explain(message, memberKubeconfig, hostKubeconfig),
                });
            } catch (err) {
                throw asResourceError(err, resource);
            }
            return last?.status as ClusterStatus | undefined;
        });
}
