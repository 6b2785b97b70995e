import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { withFormerType } from "../kubernetes/resourceOptions";
import {
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KubesphereConfigLayout,
    parseKubesphereConfig,
} from "../kubesphere/kubesphereConfig";
import { DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS } from "../config/configSchema";
import { waitForHostRole } from "./hostInstaller";
import { hostPreflightVerdict, hostWaitPreviewMessage } from "./hostPreflight";
import type { ClusterAccess } from "../kubesphere/clusterAccess";
import { FederationHost, hostKubernetesProvider } from "./federationHost";
import { FederationReads } from "./federationReads";
import { parsedKubeconfigOutput } from "../kubernetes/kubeconfig";
import { hostInstallerSpec, ksInstallerPatch } from "../kubesphere/kubesphereObjects";
import { describeInstall, hasHostClusterNameOption } from "../kubesphere/kubesphereVersion";
import type { FleetChecked } from "../kubesphere/facts";
import { asResourceError, refusal, UpWait, waitOnUp } from "../kubernetes/resourceErrors";

export interface HostClusterArgs {
    /**
     * KubeSphere's name for the host (`spec.multicluster.hostClusterName`), e.g. `"host"`. Lowercase letters,
     * digits, `-` and `.`; start and end with a letter or digit.
     */
    hostClusterName: string;
    /** Kubeconfig YAML of the host, one context (see components/kubernetes/kubeconfig.ts). Treated as a secret. */
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
    kubesphereMajor?: "v3" | "v4";
    /**
     * KubeSphere 3.x: how long to wait, after the ks-installer patch, for KubeSphere to run as a host, in seconds.
     * Default: 1800 (the installer's kubefed install alone may take 30 minutes).
     */
    installerTimeoutSeconds?: number;
    /**
     * Where agent members' agents dial the host's tower (`http(s)://host[:port]`), e.g. `http://203.0.113.10:30880`:
     * on 3.x also written as `spec.multicluster.proxyPublishAddress` on the host's ks-installer (the console's agent
     * manifest uses it). Default: none (the tower Service's load-balancer address is used when it has one).
     */
    agentProxyAddress?: string;
    /**
     * Resolves once every member passed its pre-flight: the host's ks-installer is patched only then, so a refused
     * member leaves the host unchanged too (program/federation.ts). Default: only the host's own pre-flight.
     * @internal
     */
    fleetChecked?: pulumi.Input<FleetChecked>;
    /**
     * How the host and its members read clusters directly (pre-flight, waits): passed on to members with the host
     * (HostCluster.reads). Default: the real clusters (liveClusterAccess); a test under Pulumi mocks passes fakes, and
     * two programs in one process never share them.
     */
    clusterAccess?: ClusterAccess;
}

/**
 * Makes a cluster the KubeSphere host: checks it first (reads only, in previews too), on 3.x sets
 * `clusterRole: host` and (3.2+) `hostClusterName` on its ks-installer and waits until KubeSphere runs as a host; then
 * reads the jwtSecret members must share from its kubesphere-config.
 */
export class HostCluster extends pulumi.ComponentResource implements FederationHost {
    /** The Kubernetes provider (k8s.Provider) for the host. */
    public readonly kubernetesProvider: k8s.Provider;
    /** The server-side-apply patch of the host's ks-installer (KubeSphere 3.x only). */
    public readonly installerPatch?: k8s.apiextensions.CustomResourcePatch;
    /** The host's KubeSphere major version. */
    public readonly kubesphereMajor: "v3" | "v4";
    /** The host's jwtSecret, read from kubesphere-config (secret). */
    public readonly jwtSecret: pulumi.Output<string>;
    /** Which kubesphere-config layout the host has: `v3` (authentication.jwtSecret) or `v4` (issuer.jwtSecret). */
    public readonly kubesphereLayout: pulumi.Output<KubesphereConfigLayout>;
    /** KubeSphere's name for the host. */
    public readonly hostClusterName: string;
    /** The host's kubeconfig (secret). */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The host's KubeSphere version as the pre-flight found it, e.g. `v3.4.1` or `v4.1.3`. */
    public readonly detectedKubesphereVersion: pulumi.Output<string>;
    public readonly readyForMembers: pulumi.Output<UpWait>;
    public readonly agentProxyAddress?: string;
    /** The direct reads of this federation, shared by the host's pre-flight and its members'. */
    public readonly reads: FederationReads;

    constructor(name: string, args: HostClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // The type's package is the plugin's (kubesphere-federation); stacks made before 0.2 have the old token.
        super(
            "kubesphere-federation:index:HostCluster",
            name,
            {},
            withFormerType(opts, "kubesphere:federation:HostCluster"),
        );
        this.hostClusterName = args.hostClusterName;
        this.agentProxyAddress = args.agentProxyAddress;
        this.kubeconfig = pulumi.secret(args.kubeconfig);

        this.kubernetesProvider = hostKubernetesProvider(name, args.hostClusterName, this.kubeconfig, {
            parent: this,
            clusterIdentifier: args.clusterIdentifier,
        });

        this.kubesphereMajor = args.kubesphereMajor ?? "v3";
        this.reads = new FederationReads(args.clusterAccess, this);
        const access = this.reads.access;
        const timeoutSeconds = args.installerTimeoutSeconds ?? DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS;

        const parsedKubeconfig = parsedKubeconfigOutput(
            this.kubeconfig,
            `the kubeconfig of host "${args.hostClusterName}"`,
            "host.kubeconfig",
            this,
        );
        // Pre-flight: reads only, so previews show it; the patch waits for it.
        const preflight = parsedKubeconfig.apply(async (kubeconfig) => {
            try {
                const facts = await this.reads.host(args.hostClusterName, kubeconfig);
                const verdict = hostPreflightVerdict({ hostMajor: this.kubesphereMajor, host: facts });
                verdict.warnings.forEach((warning) => pulumi.log.warn(warning, this));
                if (verdict.errors.length > 0) throw refusal(verdict.errors.join("\n"), this);
                if (!verdict.isHost && pulumi.runtime.isDryRun())
                    pulumi.log.info(hostWaitPreviewMessage(args.hostClusterName, timeoutSeconds), this);
                return verdict;
            } catch (err) {
                throw asResourceError(err, this);
            }
        });
        this.detectedKubesphereVersion = pulumi.unsecret(
            preflight.apply((verdict) => describeInstall(verdict.install)),
        );

        // 4.x has no ClusterConfiguration (docs/kubesphere.md §6).
        this.installerPatch =
            this.kubesphereMajor === "v4"
                ? undefined
                : ksInstallerPatch(
                      name,
                      // 3.1 has no hostClusterName option (docs/kubesphere.md §9): the patch leaves it out there.
                      pulumi.unsecret(
                          pulumi
                              .all([preflight, args.fleetChecked])
                              .apply(([verdict]) =>
                                  hostInstallerSpec(
                                      verdict.install.kind === "v3" &&
                                          !hasHostClusterNameOption(verdict.install.release)
                                          ? undefined
                                          : args.hostClusterName,
                                      args.agentProxyAddress,
                                  ),
                              ),
                      ),
                      { parent: this, provider: this.kubernetesProvider },
                  );

        // A read, so it is part of every preview; after the patch, so a first `up` reads the configured host.
        const kubesphereConfig = k8s.core.v1.ConfigMap.get(
            `${name}-kubesphere-config`,
            `${KUBESPHERE_NAMESPACE}/${KUBESPHERE_CONFIG_NAME}`,
            {
                parent: this,
                provider: this.kubernetesProvider,
                dependsOn: this.installerPatch ? [this.installerPatch] : [],
                // kubesphere.yaml holds the jwtSecret: the read's state must not keep it in plain text. The
                // Kubernetes provider also copies a read object into the `__inputs` output (seen in `pulumi stack export`).
                additionalSecretOutputs: ["data", "__inputs"],
            },
        );
        const settings = kubesphereConfig.data.apply((data) => parseKubesphereConfig(args.hostClusterName, data));
        this.jwtSecret = pulumi.secret(settings.apply((parsed) => parsed.jwtSecret));
        this.kubesphereLayout = pulumi.unsecret(settings.apply((parsed) => parsed.layout));

        // Members join only a host (docs/kubesphere.md §9): KubeSphere's cluster controller starts once the installer has rendered the role.
        const patch = this.installerPatch;
        this.readyForMembers =
            patch === undefined
                ? preflight.apply(() => ({ waited: false, waitedMs: 0 }))
                : pulumi.all([patch.id, parsedKubeconfig, preflight]).apply(([, kubeconfig]) =>
                      waitOnUp(this, () =>
                          waitForHostRole({
                              hostClusterName: args.hostClusterName,
                              read: access.hostRoleReader(args.hostClusterName, kubeconfig),
                              timeoutMs: timeoutSeconds * 1000,
                              log: (message) => pulumi.log.info(message, this),
                          }),
                      ),
                  );

        this.registerOutputs({
            hostClusterName: this.hostClusterName,
            detectedKubesphereVersion: this.detectedKubesphereVersion,
            jwtSecret: this.jwtSecret,
            kubesphereLayout: this.kubesphereLayout,
        });
    }
}
