/**
 * What a MemberCluster takes (MemberClusterArgs) and what it reports beyond its outputs (MemberPreflight,
 * ClusterStatus). The docs on each field are the reference (docs/configuration.md gives the stack-file keys).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ImportCredentials, MemberConnection, MemberProvider } from "../config/configSchema";
import type { FederationHost } from "../host/federationHost";
import type { FleetChecked, FleetMember } from "../kubesphere/facts";
import type { ClusterCondition } from "../kubesphere/kubesphereObjects";
import type { KubesphereInstall } from "../kubesphere/kubesphereVersion";

export interface MemberClusterArgs {
    /** The host to join: a HostCluster, or `federationHost(...)` for a host made elsewhere (host/federationHost.ts). */
    host: FederationHost;
    /** Kubeconfig YAML Pulumi uses to reach the member, one context (see components/kubernetes/kubeconfig.ts). Secret. */
    kubeconfig: pulumi.Input<string>;
    /** Where the member runs: `ack`, `eks`, `kubeadm` or `generic`; sets the display text `spec.provider`. */
    provider: MemberProvider;
    /**
     * How the host reaches the member: `direct` (KubeSphere gets the member's kubeconfig) or `agent` (a proxy
     * Cluster; the program runs tower's agent on the member, which dials the host's tower at the host's
     * `agentProxyAddress`, and KubeSphere reaches the member through that tunnel; the kubeconfig is then only what
     * Pulumi uses). Default: `direct`.
     */
    connection?: MemberConnection;
    /** KubeSphere 4.x only: Helm values for ks-core on the member, written to `spec.config`. Default: none. */
    ksCoreValues?: Record<string, unknown>;
    /**
     * A registry the member's nodes pull KubeSphere's images from, e.g. `registry.example.com/kubesphere-mirror`
     * (KubeSphere withdrew its public images on 2025-07-31). Applied where the program decides the image: an agent
     * member's `cluster-agent` image, and on a 4.x host ks-core's `global.imageRegistry` in `spec.config` (under
     * `ksCoreValues`, which win). Not a 3.x member's own KubeSphere images. Default: the images as KubeSphere names them.
     */
    imageRegistry?: string;
    /**
     * Secrets in `kubesphere-system` on the member that the same pods pull with (names; the program never reads
     * them): the agent Deployment's `imagePullSecrets`, and on a 4.x host ks-core's `global.imagePullSecrets`.
     * Default: none.
     */
    imagePullSecrets?: string[];
    /**
     * How KubeSphere authenticates to the member: `kubeconfig` (the member kubeconfig as it is) or
     * `serviceAccount` (a token of ServiceAccount `kube-system/kubesphere-multicluster` created on the member).
     * Default, when `kubeconfig` is a plain string: `serviceAccount` if it runs an exec plugin or auth-provider (EKS),
     * or carries a client certificate and the host is 4.x; else `kubeconfig` (defaultImportCredentials). When it is an
     * Output (another resource's), its auth method is known only at deployment: `kubeconfig`, and the pre-flight
     * refuses an exec kubeconfig with the fix (set `credentials: "serviceAccount"`). Ignored for agent members.
     */
    credentials?: ImportCredentials;
    /** Bump to mint a new ServiceAccount token (agent members: a new agent token); the Cluster is updated in place. Default: 1. */
    credentialsRevision?: number;
    /**
     * The API server address KubeSphere should use, e.g. `https://203.0.113.10:6443`, written into the imported
     * kubeconfig (kubeadm behind `lb.kubesphere.local`, ACK public endpoints). Default: the kubeconfig's server.
     */
    apiServerEndpoint?: string;
    /** Text for the `kubesphere.io/description` annotation, e.g. `"Production, Hangzhou"`. Default: none. */
    description?: string;
    /** Value of the `cluster.kubesphere.io/group` label, e.g. `"production"`. Default: none. */
    group?: string;
    /** How long to wait for the Cluster's `Ready` condition, in seconds. Default: 600. */
    readyTimeoutSeconds?: number;
    /** How long to wait for the member's ks-installer to apply the jwtSecret and role, in seconds. Default: 600. */
    installerTimeoutSeconds?: number;
    /** The member's config key, e.g. `members[1]`, named in error messages. Default: `members[<name>]`. */
    configKey?: string;
    /**
     * Stable identity of the member for the Kubernetes provider (`clusterIdentifier`), so a rotated kubeconfig
     * updates the provider instead of replacing the member's resources. Default: `kubesphere-federation/<name>`.
     */
    clusterIdentifier?: string;
    /**
     * The other members of the same federation config, with their kube-system UIDs, so the same cluster listed
     * twice under two names is refused before anything changes. Default: none (program/federation.ts sets it).
     * @internal
     */
    otherMembers?: pulumi.Input<FleetMember[]>;
    /**
     * Resolves once every member of the federation passed its pre-flight: nothing on this member changes before,
     * so one refused member leaves every cluster unchanged. Default: only this member's own pre-flight is waited for.
     * @internal
     */
    fleetChecked?: pulumi.Input<FleetChecked>;
}

/** What the pre-flight found: the member's KubeSphere before the join. Everything that changes a cluster waits for it. */
export interface MemberPreflight {
    install: KubesphereInstall;
    /** Agent members: the address the agent dials and the image it runs. */
    agent?: { proxyAddress: string; image: string };
}

/** The Cluster status fields we report (docs/kubesphere.md §3). */
export interface ClusterStatus {
    conditions?: ClusterCondition[];
    kubernetesVersion?: string;
    kubeSphereVersion?: string;
}
