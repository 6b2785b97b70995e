/**
 * The component package other Pulumi languages use (PulumiPlugin.yaml beside this file): `Host` and `Member`, thin
 * components over {@link HostCluster} and {@link MemberCluster} whose arguments Pulumi's schema inference
 * (@pulumi/pulumi/provider/experimental) accepts: strings, numbers and booleans only. HostCluster/MemberCluster
 * themselves take a `k8s.Provider` inside the host interface, string-literal unions and a test hook, none of which a
 * schema can carry; here a kubeconfig is a (secret) string and the host is described by the values another program
 * has: its kubeconfig, its name and its jwtSecret, which `Host` exports.
 *
 * The schema has no way to mark an input secret: pass kubeconfigs and the jwtSecret as secrets (YAML `fn::secret`,
 * `pulumi.secret`, `Output.secret`); the components treat them as secrets either way (pulumi.secret), and every
 * output that carries one is a secret.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    IMPORT_CREDENTIALS,
    ImportCredentials,
    MEMBER_CONNECTIONS,
    MEMBER_PROVIDERS,
    MemberConnection,
    MemberProvider,
} from "../components/config/configSchema";
import { federationHost } from "../components/host/federationHost";
import { HostCluster } from "../components/host/hostCluster";
import { MemberCluster } from "../components/members/memberCluster";

/** KubeSphere's name for the host when none is given (the program's default too). */
const DEFAULT_HOST_CLUSTER_NAME = "host";
const KUBESPHERE_MAJORS = ["v3", "v4"] as const;

/**
 * A string argument that must be one of `allowed`: returned typed, or a RunError naming the component, the argument,
 * what was found and what is allowed (schema inference has no union types, so the check happens here).
 */
function oneOf<T extends string>(
    component: string,
    arg: string,
    value: string | undefined,
    allowed: readonly T[],
    fallback: T,
): T {
    if (value === undefined || value === "") return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new pulumi.RunError(
        `${component}: ${arg} is "${value}"; use one of ${allowed.map((item) => `"${item}"`).join(", ")} (default "${fallback}").`,
    );
}

export interface HostArgs {
    /** Kubeconfig YAML of the host cluster, one context. Pass it as a secret. */
    kubeconfig: pulumi.Input<string>;
    /** KubeSphere's name for the host (`spec.multicluster.hostClusterName`). Default: `host`. */
    hostClusterName?: string;
    /** KubeSphere major version of the host: `v3` (ks-installer is patched) or `v4` (ks-core). Default: `v3`. */
    kubesphereMajor?: string;
    /** KubeSphere 3.x: how long to wait for KubeSphere to run as a host after the patch, in seconds. Default: 1800. */
    installerTimeoutSeconds?: number;
    /** Where agent members' agents dial the host's tower, e.g. `http://203.0.113.10:30880`. Default: none. */
    agentProxyAddress?: string;
}

/**
 * Makes a cluster the KubeSphere host (a HostCluster) and exports what members need: its name, kubeconfig and
 * jwtSecret (both secrets). `jwtSecret` resolves once the cluster runs as a host, so members that take it wait for that.
 */
export class Host extends pulumi.ComponentResource {
    /** KubeSphere's name for the host. */
    public readonly hostClusterName: pulumi.Output<string>;
    /** The host's kubeconfig (secret), for members. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The host's jwtSecret (secret), for members; resolves once the cluster runs as a host. */
    public readonly jwtSecret: pulumi.Output<string>;
    /** The host's KubeSphere version as the pre-flight found it, e.g. `v3.4.1`. */
    public readonly detectedKubesphereVersion: pulumi.Output<string>;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere-federation:index:Host", name, {}, opts);
        const hostClusterName = args.hostClusterName || DEFAULT_HOST_CLUSTER_NAME;
        const host = new HostCluster(
            name,
            {
                hostClusterName,
                kubeconfig: args.kubeconfig,
                kubesphereMajor: oneOf("Host", "kubesphereMajor", args.kubesphereMajor, KUBESPHERE_MAJORS, "v3"),
                installerTimeoutSeconds: args.installerTimeoutSeconds,
                agentProxyAddress: args.agentProxyAddress,
            },
            { parent: this },
        );
        this.hostClusterName = pulumi.output(hostClusterName);
        this.kubeconfig = host.kubeconfig;
        this.jwtSecret = pulumi.secret(
            pulumi.all([host.jwtSecret, host.readyForMembers]).apply(([jwtSecret]) => jwtSecret),
        );
        this.detectedKubesphereVersion = host.detectedKubesphereVersion;
        this.registerOutputs({
            hostClusterName: this.hostClusterName,
            kubeconfig: this.kubeconfig,
            jwtSecret: this.jwtSecret,
            detectedKubesphereVersion: this.detectedKubesphereVersion,
        });
    }
}

export interface MemberArgs {
    /** Kubeconfig YAML of the member cluster, one context. Pass it as a secret. */
    kubeconfig: pulumi.Input<string>;
    /** Where the member runs: `ack`, `eks`, `kubeadm` or `generic` (the display text `spec.provider`). */
    provider: string;
    /** The host's kubeconfig (a `Host`'s `kubeconfig`, or a secret from another stack). */
    hostKubeconfig: pulumi.Input<string>;
    /** The host's jwtSecret (a `Host`'s `jwtSecret`, or a secret from another stack). */
    jwtSecret: pulumi.Input<string>;
    /** KubeSphere's name for the host, as given to its `Host`. Default: `host`. */
    hostClusterName?: string;
    /** KubeSphere major version of the host: `v3` or `v4`. Default: `v3`. */
    kubesphereMajor?: string;
    /** How the host reaches the member: `direct` or `agent`. Default: `direct`. */
    connection?: string;
    /** Agent members: where the agent dials the host's tower, as given to the `Host`. Default: tower's load-balancer address. */
    agentProxyAddress?: string;
    /**
     * How KubeSphere authenticates to the member: `kubeconfig` or `serviceAccount`. Default: decided from the
     * kubeconfig as MemberClusterArgs.credentials says (`serviceAccount` for exec/auth-provider kubeconfigs, and
     * for client certificates on a 4.x host; else `kubeconfig`).
     */
    credentials?: string;
    /** Bump to mint new credentials (ServiceAccount or agent token). Default: 1. */
    credentialsRevision?: number;
    /** The API server address KubeSphere should use, e.g. `https://203.0.113.10:6443`. Default: the kubeconfig's server. */
    apiServerEndpoint?: string;
    /** Text for the `kubesphere.io/description` annotation. Default: none. */
    description?: string;
    /** Value of the `cluster.kubesphere.io/group` label. Default: none. */
    group?: string;
    /** How long to wait for the Cluster's `Ready` condition, in seconds. Default: 600. */
    readyTimeoutSeconds?: number;
    /** KubeSphere 3.x: how long to wait for the member's ks-installer, in seconds. Default: 600. */
    installerTimeoutSeconds?: number;
    /**
     * A registry the member's nodes pull KubeSphere's images from (the agent's; 4.x: ks-core's), e.g.
     * `registry.example.com/kubesphere-mirror`. Default: the images as KubeSphere names them.
     */
    imageRegistry?: string;
    /** Secret names in kubesphere-system on the member the same pods pull with. Default: none. */
    imagePullSecrets?: string[];
}

/** Joins a cluster to a KubeSphere host (a MemberCluster), given the host's kubeconfig and jwtSecret. */
export class Member extends pulumi.ComponentResource {
    /** Name of the member's Cluster object on the host. */
    public readonly clusterName: pulumi.Output<string>;
    /** Whether the host reports the member Ready. */
    public readonly ready: pulumi.Output<boolean>;
    /** The member's Kubernetes version, as the host reports it. */
    public readonly kubernetesVersion: pulumi.Output<string>;
    /** The member's KubeSphere version, as the host reports it. */
    public readonly kubesphereVersion: pulumi.Output<string>;

    constructor(name: string, args: MemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere-federation:index:Member", name, {}, opts);
        const hostClusterName = args.hostClusterName || DEFAULT_HOST_CLUSTER_NAME;
        const host = federationHost(
            `${name}-host`,
            {
                hostClusterName,
                kubeconfig: args.hostKubeconfig,
                jwtSecret: args.jwtSecret,
                kubesphereMajor: oneOf("Member", "kubesphereMajor", args.kubesphereMajor, KUBESPHERE_MAJORS, "v3"),
                agentProxyAddress: args.agentProxyAddress,
            },
            { parent: this },
        );
        const member = new MemberCluster(
            name,
            {
                host,
                kubeconfig: args.kubeconfig,
                provider: oneOf<MemberProvider>("Member", "provider", args.provider, MEMBER_PROVIDERS, "generic"),
                connection: oneOf<MemberConnection>(
                    "Member",
                    "connection",
                    args.connection,
                    MEMBER_CONNECTIONS,
                    "direct",
                ),
                credentials: args.credentials
                    ? oneOf<ImportCredentials>(
                          "Member",
                          "credentials",
                          args.credentials,
                          IMPORT_CREDENTIALS,
                          "kubeconfig",
                      )
                    : undefined,
                credentialsRevision: args.credentialsRevision,
                apiServerEndpoint: args.apiServerEndpoint,
                description: args.description,
                group: args.group,
                readyTimeoutSeconds: args.readyTimeoutSeconds,
                installerTimeoutSeconds: args.installerTimeoutSeconds,
                imageRegistry: args.imageRegistry,
                imagePullSecrets: args.imagePullSecrets,
            },
            { parent: this },
        );
        this.clusterName = member.clusterName;
        this.ready = member.readiness.ready;
        this.kubernetesVersion = member.versions.kubernetes;
        this.kubesphereVersion = member.versions.kubesphere;
        this.registerOutputs({
            clusterName: this.clusterName,
            ready: this.ready,
            kubernetesVersion: this.kubernetesVersion,
            kubesphereVersion: this.kubesphereVersion,
        });
    }
}
