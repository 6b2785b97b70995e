/**
 * The member's `Cluster` object on the host (kubesphereObjects.ts clusterObject), created through the host's
 * provider once the member is ready for it; its status is what the join wait reads.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_READY_TIMEOUT_SECONDS } from "../config/configSchema";
import { clusterObject } from "../kubesphere/kubesphereObjects";
import type { JoinPath } from "./joinPath";
import { MemberContext, thisStack } from "./memberContext";
import type { ClusterStatus } from "./memberClusterArgs";
import type { MemberSettings } from "./memberSettings";

/** The Cluster and its status as Pulumi records it. */
export interface MemberClusterObject {
    cluster: k8s.apiextensions.CustomResource;
    recorded: pulumi.Output<ClusterStatus | undefined>;
}

/**
 * Creates the Cluster once the member runs with the host's settings and the host is a host; it depends on the
 * patch and the member's resources, so on removal it is deleted before anything happens on the member.
 */
export function createClusterObject(ctx: MemberContext, settings: MemberSettings, path: JoinPath): MemberClusterObject {
    // Members join only a host that is a host (docs/kubesphere.md §9); a host from another stack has nothing to wait for.
    const hostReady = ctx.args.host.readyForMembers ?? pulumi.output(undefined);
    const connection = path.connection(pulumi.all([settings.applied, hostReady]));
    const cluster = new k8s.apiextensions.CustomResource(
        ctx.name,
        {
            ...clusterObject({
                name: ctx.name,
                provider: ctx.args.provider,
                stack: thisStack(),
                kubeconfigBase64: connection.kubeconfigBase64,
                agentToken: connection.agentToken,
                description: ctx.args.description,
                group: ctx.args.group,
                readyTimeoutSeconds: ctx.args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS,
                configBase64: ctx.ksCoreConfig?.toString("base64"),
                ksCoreConfigHash: ctx.ksCoreConfigHash,
                programWaits: path.programWaits,
            }),
            // Registered so the controller-written status is an output we can report.
            status: undefined,
        },
        {
            parent: ctx.component,
            provider: ctx.args.host.kubernetesProvider,
            dependsOn: [...(settings.installerPatch ? [settings.installerPatch] : []), ...path.memberResources],
            additionalSecretOutputs: ["spec"],
        },
    );
    const recorded = pulumi.output((cluster as unknown as { status: pulumi.Output<ClusterStatus | undefined> }).status);
    return { cluster, recorded };
}
