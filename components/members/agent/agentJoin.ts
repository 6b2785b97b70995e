/**
 * The agent connection of a MemberCluster (docs/kubesphere.md §10): the pre-flight of the host's tower, the agent
 * token and its rotation, the agent objects on the member (agentResources.ts), and the join wait through tower.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_READY_TIMEOUT_SECONDS } from "../../config/configSchema";
import type { ParsedKubeconfig } from "../../kubernetes/kubeconfig";
import { asResourceError } from "../../kubernetes/resourceErrors";
import type { ClusterFacts } from "../../kubesphere/facts";
import type { JoinPath } from "../joinPath";
import { explained, MemberContext } from "../memberContext";
import type { ClusterStatus, MemberPreflight } from "../memberClusterArgs";
import { agentToken, defaultAgentImage, towerCheck, waitForAgentJoin } from "./agentConnection";
import { createAgentResources } from "./agentResources";
import { withRegistry } from "../../kubernetes/imageReference";

/** Agent members: the host has tower, and the agent has an address to dial (docs/kubesphere.md §10.1, §10.4). */
export async function checkTower(
    ctx: MemberContext,
    host: { hostKubeconfig?: ParsedKubeconfig; hostFacts?: ClusterFacts },
): Promise<{ errors: string[]; proxyAddress?: string; image: string }> {
    const { name, configKey, args } = ctx;
    const v3 = ctx.hostMajor === "v3";
    const hostClusterName = args.host.hostClusterName ?? "host";
    if (host.hostKubeconfig === undefined) {
        return {
            errors: [
                `member "${name}" (${configKey}.connection: agent): the host's kubeconfig is not given, and the join through tower is waited for on the host. Fix: pass the host's kubeconfig (FederationHost.kubeconfig)`,
            ],
            image: "",
        };
    }
    const tower = await ctx.reads.access.readTower(hostClusterName, host.hostKubeconfig);
    const settings = host.hostFacts?.config;
    const check = towerCheck({
        member: name,
        configKey,
        hostClusterName,
        hostMajor: ctx.hostMajor,
        hostIsHost: settings?.clusterRole === "host" || settings?.multiclusterEnable === true,
        tower,
        configuredAddress: args.host.agentProxyAddress,
        hostStack: args.host.hostStack,
    });
    return {
        ...check,
        image: withRegistry(defaultAgentImage(v3 ? host.hostFacts?.installer?.version : undefined), args.imageRegistry),
    };
}

/**
 * The agent join of a member, once every pre-flight passed (`checked`): the token tower compares, the agent objects
 * on the member (created before the Cluster, so removal deletes the Cluster first, then them), and the join wait
 * through tower, whose timeout can say what is missing.
 * @param preflight the member's own pre-flight: where the agent dials
 */
export function agentJoin(
    ctx: MemberContext,
    preflight: pulumi.Output<MemberPreflight>,
    checked: pulumi.Output<MemberPreflight>,
): JoinPath {
    const token = pulumi.secret(
        pulumi
            .output(ctx.args.host.jwtSecret)
            .apply((jwtSecret) => agentToken(jwtSecret, ctx.name, ctx.args.credentialsRevision ?? 1)),
    );
    const rotation = rotatedFirstOnHost(ctx, { token, checked });
    const memberResources = createAgentResources(
        {
            member: ctx.name,
            hostMajor: ctx.hostMajor,
            token: pulumi.secret(rotation.apply((rotated) => rotated.token)),
            checked: checked.apply((found) => found.agent!),
            imagePullSecrets: ctx.args.imagePullSecrets ?? [],
        },
        { parent: ctx.component, provider: ctx.kubernetesProvider },
    );
    const agentUpdated = (memberResources[memberResources.length - 1] as pulumi.CustomResource).id;
    return {
        connection: (ready) => ({
            agentToken: pulumi.secret(
                pulumi
                    .all([token, ready])
                    .apply(([value]) => value)
                    .apply((value) => afterAgentReconnected(ctx, { token: value, rotation, agentUpdated, checked })),
            ),
        }),
        memberResources,
        programWaits: ctx.args.host.kubeconfig !== undefined,
        joined: (cluster, recorded) => waitForAgentJoined(ctx, { created: cluster.id, recorded, token, preflight }),
    };
}

/**
 * The agent's token, once the live Cluster holds it. Pulumi updates the Cluster after the agent (the Cluster
 * depends on the agent objects, so removal deletes it first, while the tunnel still answers 3.4's webhook); on
 * rotation that order would restart the agent with a token tower does not know yet, the tunnel would drop, and
 * 3.4's webhook would then refuse the Cluster's update. So a rotated token is written into the live Cluster
 * first (the value Pulumi sets next anyway), while the old agent is still connected. Not in previews.
 */
function rotatedFirstOnHost(
    ctx: MemberContext,
    agent: { token: pulumi.Output<string>; checked: pulumi.Output<MemberPreflight> },
): pulumi.Output<AgentRotation> {
    return pulumi.secret(
        pulumi.all([agent.token, ctx.hostKubeconfig, agent.checked]).apply(async ([value, hostKubeconfig]) => {
            if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return { token: value };
            try {
                const { written, kubeconfigDigest } = await ctx.reads.access.writeClusterAgentToken(
                    ctx.name,
                    hostKubeconfig,
                    value,
                );
                if (!written) return { token: value };
                pulumi.log.info(
                    `member "${ctx.name}": the rotated agent token is written into its Cluster on the host before the agent restarts with it`,
                    ctx.component,
                );
                return { token: value, kubeconfigDigestBefore: kubeconfigDigest };
            } catch (err) {
                throw asResourceError(err, ctx.component);
            }
        }),
    );
}

/** The token as written into the live Cluster, and (after a rotation) tower's kubeconfig digest before it. */
interface AgentRotation {
    token: string;
    kubeconfigDigestBefore?: string;
}

/**
 * After a rotation, Pulumi's update of the Cluster waits until the restarted agent has reconnected (tower wrote a
 * new kubeconfig): on 3.4 the webhook refuses any Cluster update while the tunnel is down. Not in previews.
 */
function afterAgentReconnected(
    ctx: MemberContext,
    agent: {
        token: string;
        rotation: pulumi.Output<AgentRotation>;
        agentUpdated: pulumi.Output<unknown>;
        checked: pulumi.Output<MemberPreflight>;
    },
): pulumi.Output<string> {
    const { token } = agent;
    return pulumi
        .all([agent.rotation, agent.agentUpdated, ctx.kubeconfig, ctx.hostKubeconfig, agent.checked])
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
                        member: ctx.name,
                        token,
                        proxyAddress: found.agent!.proxyAddress,
                        kubeconfigDigestBefore: rotated.kubeconfigDigestBefore,
                    },
                    read: ctx.reads.access.agentJoinReader(ctx.name, hostKubeconfig, memberKubeconfig),
                    timeoutMs: (ctx.args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, ctx.component),
                });
            } catch (err) {
                throw asResourceError(err, ctx.component);
            }
            return token;
        });
}

/**
 * Waits (not in previews) until tower, the agent and KubeSphere have joined the member; returns the Cluster's status.
 * A timeout carries the diagnosis (memberContext.ts explained).
 */
function waitForAgentJoined(
    ctx: MemberContext,
    join: {
        created: pulumi.Output<string>;
        recorded: pulumi.Output<ClusterStatus | undefined>;
        token: pulumi.Output<string>;
        preflight: pulumi.Output<MemberPreflight>;
    },
): pulumi.Output<ClusterStatus | undefined> {
    return pulumi
        .all([join.created, join.recorded, ctx.kubeconfig, ctx.hostKubeconfig, join.token, join.preflight])
        .apply(async ([, created, memberKubeconfig, hostKubeconfig, expectedToken, found]) => {
            if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return created;
            const read = ctx.reads.access.agentJoinReader(ctx.name, hostKubeconfig, memberKubeconfig);
            let last: Awaited<ReturnType<typeof read>> | undefined;
            try {
                await waitForAgentJoin({
                    expected: {
                        member: ctx.name,
                        token: expectedToken,
                        proxyAddress: found.agent!.proxyAddress,
                        ksCoreConfigHash: ctx.ksCoreConfigHash,
                    },
                    read: async () => (last = await read()),
                    timeoutMs: (ctx.args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, ctx.component),
                    explain: (message) => explained(ctx, message, { memberKubeconfig, hostKubeconfig }),
                });
            } catch (err) {
                throw asResourceError(err, ctx.component);
            }
            return last?.status as ClusterStatus | undefined;
        });
}
