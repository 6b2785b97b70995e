/**
 * How a member is joined, per connection: `direct` (direct/directJoin.ts: KubeSphere gets a kubeconfig of the
 * member) or `agent` (agent/agentJoin.ts: tower's agent on the member dials the host). MemberCluster takes one and
 * does not branch on the connection itself.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterStatus } from "./memberClusterArgs";

export interface JoinPath {
    /**
     * What the Cluster's `spec.connection` gets (secrets), once `ready` resolved: the member runs with the host's
     * settings and the host is a host. Direct: the kubeconfig, base64; agent: tower's token.
     */
    connection(ready: pulumi.Output<unknown>): {
        kubeconfigBase64?: pulumi.Output<string>;
        agentToken?: pulumi.Output<string>;
    };
    /** Resources on the member the Cluster depends on, so removal deletes the Cluster first, then them. */
    readonly memberResources: pulumi.Resource[];
    /** Whether the program waits for the join itself (it can read the host); else the provider's await is all. */
    readonly programWaits: boolean;
    /**
     * The Cluster's status once joined (`up`, with the diagnosis on a failure), or as Pulumi recorded it (previews,
     * and when the program does not wait). Status only, no credential, so the outputs derived from it stay plain.
     */
    joined(
        cluster: k8s.apiextensions.CustomResource,
        recorded: pulumi.Output<ClusterStatus | undefined>,
    ): pulumi.Output<ClusterStatus | undefined>;
}
