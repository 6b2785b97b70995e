import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KubesphereConfigLayout,
    parseKubesphereConfig,
} from "./kubesphereConfig";
import {
    hostInstallerSpec,
    INSTALLER_API_VERSION,
    INSTALLER_KIND,
    installerMetadata,
    installerPatchAnnotations,
} from "./kubesphereObjects";

/** What a member needs from its host; a HostCluster, or values taken from another stack. */
export interface FederationHost {
    /** Kubernetes provider for the host cluster; the member's Cluster object is created through it. */
    readonly provider: k8s.Provider;
    /** The host's jwtSecret (secret). */
    readonly jwtSecret: pulumi.Input<string>;
    /** The host's kubeconfig (secret), for the duplicate-import check; without it the check is skipped. */
    readonly kubeconfig?: pulumi.Input<string>;
    /** KubeSphere's name for the host, for messages. */
    readonly hostClusterName?: string;
}

export interface HostClusterArgs {
    /**
     * KubeSphere's name for the host (`spec.multicluster.hostClusterName`), e.g. `"host"`. Lowercase letters,
     * digits, `-` and `.`; start and end with a letter or digit.
     */
    hostClusterName: string;
    /** Kubeconfig YAML of the host, one context (see components/kubeconfig.ts). Treated as a secret. */
    kubeconfig: pulumi.Input<string>;
    /**
     * Stable identity of the host for the Kubernetes provider (`clusterIdentifier`), so a rotated kubeconfig
     * updates the provider instead of replacing every resource. Default: `kubesphere-federation/<hostClusterName>`.
     */
    clusterIdentifier?: string;
    /**
     * KubeSphere major version of the host: `v3` (ClusterConfiguration ks-installer is patched) or `v4` (ks-core
     * Helm install: nothing to patch, the host role is set at install time). Default: `v3`.
     */
    kubesphereVersion?: "v3" | "v4";
}

/**
 * Makes a cluster the KubeSphere host: on 3.x sets `clusterRole: host` and `hostClusterName` on its ks-installer;
 * then reads the jwtSecret members must share from its kubesphere-config.
 */
export class HostCluster extends pulumi.ComponentResource implements FederationHost {
    /** Kubernetes provider for the host. */
    public readonly provider: k8s.Provider;
    /** The server-side-apply patch of the host's ks-installer (KubeSphere 3.x only). */
    public readonly installerPatch?: k8s.apiextensions.CustomResourcePatch;
    /** The host's KubeSphere major version. */
    public readonly kubesphereVersion: "v3" | "v4";
    /** The host's jwtSecret, read from kubesphere-config (secret). */
    public readonly jwtSecret: pulumi.Output<string>;
    /** Which kubesphere-config layout the host has: `v3` (authentication.jwtSecret) or `v4` (issuer.jwtSecret). */
    public readonly kubesphereLayout: pulumi.Output<KubesphereConfigLayout>;
    /** KubeSphere's name for the host. */
    public readonly hostClusterName: string;
    /** The host's kubeconfig (secret). */
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: HostClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere:federation:HostCluster", name, {}, opts);
        this.hostClusterName = args.hostClusterName;
        this.kubeconfig = pulumi.secret(args.kubeconfig);

        this.provider = new k8s.Provider(
            name,
            {
                kubeconfig: this.kubeconfig,
                clusterIdentifier: args.clusterIdentifier ?? `kubesphere-federation/${args.hostClusterName}`,
            },
            { parent: this },
        );

        this.kubesphereVersion = args.kubesphereVersion ?? "v3";
        // 4.x has no ClusterConfiguration (API notes §6).
        this.installerPatch = this.kubesphereVersion === "v4" ? undefined : new k8s.apiextensions.CustomResourcePatch(
            `${name}-ks-installer`,
            {
                apiVersion: INSTALLER_API_VERSION,
                kind: INSTALLER_KIND,
                metadata: { ...installerMetadata, annotations: installerPatchAnnotations },
                spec: hostInstallerSpec(args.hostClusterName),
            },
            {
                parent: this,
                provider: this.provider,
                // Deleting a patch relinquishes its fields, which would strip the host role from a live host (and
                // break every other member). Removing the host from Pulumi must leave the host as it is.
                retainOnDelete: true,
                // The patch's outputs are the whole live object, whose spec may hold an explicit jwtSecret.
                additionalSecretOutputs: ["spec"],
            },
        );

        // A read, so it is part of every preview; after the patch, so a first `up` reads the configured host.
        const kubesphereConfig = k8s.core.v1.ConfigMap.get(
            `${name}-kubesphere-config`,
            `${KUBESPHERE_NAMESPACE}/${KUBESPHERE_CONFIG_NAME}`,
            {
                parent: this,
                provider: this.provider,
                dependsOn: this.installerPatch ? [this.installerPatch] : [],
                // kubesphere.yaml holds the jwtSecret: the read's state must not keep it in plain text. The
                // Kubernetes provider also copies a read object into the `__inputs` output (seen in `pulumi stack export`).
                additionalSecretOutputs: ["data", "__inputs"],
            },
        );
        const settings = kubesphereConfig.data.apply((data) => parseKubesphereConfig(args.hostClusterName, data));
        this.jwtSecret = pulumi.secret(settings.apply((parsed) => parsed.jwtSecret));
        this.kubesphereLayout = pulumi.unsecret(settings.apply((parsed) => parsed.layout));

        this.registerOutputs({
            hostClusterName: this.hostClusterName,
            jwtSecret: this.jwtSecret,
            kubesphereLayout: this.kubesphereLayout,
        });
    }
}
