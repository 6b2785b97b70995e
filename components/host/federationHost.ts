/**
 * FederationHost: what a member needs from its host, and the one way to build one — HostCluster (this stack makes
 * the host) implements it with the same provider and reads; federationHost() builds it for a host made elsewhere
 * (a member stack's host stack, the plugin's Member, a library user's other stack).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { UpWait } from "../kubernetes/resourceErrors";
import type { ClusterAccess } from "../kubesphere/clusterAccess";
import { FederationReads } from "./federationReads";

/** What a member needs from its host; a HostCluster, or {@link federationHost} for a host made elsewhere. */
export interface FederationHost {
    /** The Kubernetes provider (k8s.Provider) for the host cluster; the member's Cluster object is created through it. */
    readonly kubernetesProvider: k8s.Provider;
    /** The host's jwtSecret (secret). */
    readonly jwtSecret: pulumi.Input<string>;
    /** The host's kubeconfig (secret), for the duplicate-import check; without it the check is skipped. */
    readonly kubeconfig?: pulumi.Input<string>;
    /** KubeSphere's name for the host (`spec.multicluster.hostClusterName`), e.g. `"host"`; named in messages. */
    readonly hostClusterName: string;
    /**
     * The host's KubeSphere major version, which decides what a member's join is: `v3` (the member's ks-installer
     * is patched) or `v4` (the host installs ks-core on the member). Members take it from here, so they cannot disagree.
     */
    readonly kubesphereMajor: "v3" | "v4";
    /** Where agent members' agents dial the host's tower, e.g. `http://203.0.113.10:30880`. Default: tower's load-balancer address. */
    readonly agentProxyAddress?: string;
    /**
     * Resolves once the host is a host (3.x: its installer has rendered the role and KubeSphere created its own
     * Cluster entry); member Clusters are created after it. Without it members do not wait (host from another stack).
     */
    readonly readyForMembers?: pulumi.Output<UpWait>;
    /**
     * The host stack this host was taken from (`<organization>/<project>/<stack>`), in a member stack: messages then
     * name that stack's config keys, which a member stack does not have. Default: none (this program's own host).
     */
    readonly hostStack?: string;
    /**
     * How the federation reads clusters directly, with the reads shared by the host and its members in one run.
     * Default (a host literal without it): each member reads the real clusters on its own.
     */
    readonly reads?: FederationReads;
}

/** A host made elsewhere, as {@link federationHost} takes it. */
export interface FederationHostArgs {
    /** KubeSphere's name for the host, e.g. `"host"`. */
    hostClusterName: string;
    /** Kubeconfig YAML of the host, one context. Secret. */
    kubeconfig: pulumi.Input<string>;
    /** The host's jwtSecret (kubesphere-config). Secret. */
    jwtSecret: pulumi.Input<string>;
    /** The host's KubeSphere major version: `v3` or `v4`. */
    kubesphereMajor: "v3" | "v4";
    /** Where agent members' agents dial the host's tower. Default: tower's load-balancer address. */
    agentProxyAddress?: string;
    /** The host stack it was taken from (`<organization>/<project>/<stack>`), named in messages. Default: none. */
    hostStack?: string;
    /** The reads already made of this host (a member stack's host checks), shared with its members. Default: new ones. */
    reads?: FederationReads;
    /** How clusters are read directly when `reads` is not given. Default: the real clusters. */
    clusterAccess?: ClusterAccess;
}

/**
 * A host made elsewhere, as members take it: its Kubernetes provider (`<name>`, the only resource), the secrets
 * marked secret, and the reads its members share.
 * @param name the provider's resource name, e.g. `host-from-stack`
 */
export function federationHost(name: string, args: FederationHostArgs, opts?: pulumi.ResourceOptions): FederationHost {
    const kubeconfig = pulumi.secret(args.kubeconfig);
    return {
        kubernetesProvider: hostKubernetesProvider(name, args.hostClusterName, kubeconfig, { ...opts }),
        jwtSecret: pulumi.secret(args.jwtSecret),
        kubeconfig,
        hostClusterName: args.hostClusterName,
        kubesphereMajor: args.kubesphereMajor,
        agentProxyAddress: args.agentProxyAddress,
        hostStack: args.hostStack,
        reads: args.reads ?? new FederationReads(args.clusterAccess),
    };
}

/**
 * The Kubernetes provider for a host, wherever the host is built: one identity per host
 * (`kubesphere-federation/<hostClusterName>`), so host resources keep their provider.
 * @internal
 */
export function hostKubernetesProvider(
    name: string,
    hostClusterName: string,
    kubeconfig: pulumi.Input<string>,
    opts: pulumi.ResourceOptions & { clusterIdentifier?: string },
): k8s.Provider {
    const { clusterIdentifier, ...resourceOptions } = opts;
    return new k8s.Provider(
        name,
        { kubeconfig, clusterIdentifier: clusterIdentifier ?? `kubesphere-federation/${hostClusterName}` },
        resourceOptions,
    );
}
