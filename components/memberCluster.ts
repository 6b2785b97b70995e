import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_INSTALLER_TIMEOUT_SECONDS, DEFAULT_READY_TIMEOUT_SECONDS, MemberProvider } from "./configSchema";
import { memberInstallerReader } from "./kubeClient";
import type { FederationHost } from "./hostCluster";
import {
    ClusterCondition,
    clusterObject,
    ClusterReadiness,
    clusterReadiness,
    INSTALLER_API_VERSION,
    INSTALLER_KIND,
    installerMetadata,
    installerPatchAnnotations,
    memberInstallerSpec,
} from "./kubesphereObjects";
import { waitForMemberInstaller } from "./memberInstaller";

export interface MemberClusterArgs {
    /** The host to join: a {@link HostCluster}, or `{ provider, jwtSecret }` taken from another stack. */
    host: FederationHost;
    /** Kubeconfig YAML Pulumi uses to reach the member, one context (see components/kubeconfig.ts). Secret. */
    kubeconfig: pulumi.Input<string>;
    /**
     * Kubeconfig YAML KubeSphere on the host uses to reach the member (`spec.connection.kubeconfig`). Secret.
     * Default: `kubeconfig`.
     */
    importKubeconfig?: pulumi.Input<string>;
    /** Where the member runs: `ack`, `eks`, `kubeadm` or `generic`; sets the display text `spec.provider`. */
    provider: MemberProvider;
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
}

/**
 * Joins a member to the host by direct connection: sets the host's jwtSecret and `clusterRole: member` on the
 * member's ks-installer, waits until the member's installer has applied them, then creates the member's `Cluster`
 * on the host and waits for it to be Ready.
 * The component's name is the KubeSphere cluster name.
 */
export class MemberCluster extends pulumi.ComponentResource {
    /** Kubernetes provider for the member. */
    public readonly provider: k8s.Provider;
    /** The server-side-apply patch of the member's ks-installer. */
    public readonly installerPatch: k8s.apiextensions.CustomResourcePatch;
    /** The member's `Cluster` object on the host. */
    public readonly cluster: k8s.apiextensions.CustomResource;
    /** Name of the Cluster object on the host. */
    public readonly clusterName: pulumi.Output<string>;
    /** The Cluster's Ready condition as KubeSphere reports it. */
    public readonly readiness: pulumi.Output<ClusterReadiness>;

    constructor(name: string, args: MemberClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere:federation:MemberCluster", name, {}, opts);

        const kubeconfig = pulumi.secret(args.kubeconfig);
        this.provider = new k8s.Provider(
            name,
            { kubeconfig, clusterIdentifier: args.clusterIdentifier ?? `kubesphere-federation/${name}` },
            { parent: this },
        );

        this.installerPatch = new k8s.apiextensions.CustomResourcePatch(
            `${name}-ks-installer`,
            {
                apiVersion: INSTALLER_API_VERSION,
                kind: INSTALLER_KIND,
                metadata: { ...installerMetadata, annotations: installerPatchAnnotations },
                spec: memberInstallerSpec(pulumi.secret(args.host.jwtSecret)),
            },
            {
                parent: this,
                provider: this.provider,
                // Deleting a server-side-apply patch removes the fields it owned: the member would lose its jwtSecret
                // and role (and settings someone else made before we forced ownership). Removing a member only
                // deletes its Cluster on the host; the member's ks-installer is left as it is (README, "Removing a member").
                retainOnDelete: true,
                additionalSecretOutputs: ["spec"],
            },
        );

        // The Cluster must not be created before the member runs with our settings: KubeSphere would report a
        // jwtSecret mismatch. This also checks, on every `up`, that nobody changed them since (API notes §1).
        const installerApplied = pulumi
            .all([this.installerPatch.id, pulumi.secret(args.host.jwtSecret), kubeconfig])
            .apply(async ([, hostJwtSecret, memberKubeconfig]) => {
                if (pulumi.runtime.isDryRun()) return "not checked in preview";
                await waitForMemberInstaller({
                    member: name,
                    configKey: args.configKey ?? `members[${name}]`,
                    read: memberInstallerReader(name, memberKubeconfig),
                    hostJwtSecret,
                    timeoutMs: (args.installerTimeoutSeconds ?? DEFAULT_INSTALLER_TIMEOUT_SECONDS) * 1000,
                    log: (message) => pulumi.log.info(message, this),
                });
                return "applied";
            });

        const importKubeconfig = pulumi.secret(args.importKubeconfig ?? args.kubeconfig);
        this.cluster = new k8s.apiextensions.CustomResource(
            name,
            {
                ...clusterObject({
                    name,
                    provider: args.provider,
                    kubeconfigBase64: pulumi
                    .all([importKubeconfig, installerApplied])
                    .apply(([text]) => Buffer.from(text, "utf8").toString("base64")),
                    description: args.description,
                    group: args.group,
                    readyTimeoutSeconds: args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS,
                }),
                // Registered so the controller-written status is an output we can report.
                status: undefined,
            },
            {
                parent: this,
                provider: args.host.provider,
                // KubeSphere validates the member's ks-installer settings; the Cluster must come after the patch,
                // and on removal it is deleted before anything happens on the member.
                dependsOn: [this.installerPatch],
                additionalSecretOutputs: ["spec"],
            },
        );

        this.clusterName = this.cluster.metadata.name;
        const status = (this.cluster as unknown as { status: pulumi.Output<{ conditions?: ClusterCondition[] } | undefined> }).status;
        this.readiness = pulumi.output(status).apply(clusterReadiness);

        this.registerOutputs({ clusterName: this.clusterName, readiness: this.readiness });
    }
}
