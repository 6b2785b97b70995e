import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KubesphereConfigLayout,
    parseKubesphereConfig,
} from "../kubesphere/kubesphereConfig";
import { DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS } from "../config/configSchema";
import { waitForHostRole } from "./hostInstaller";
import { hostPreflightVerdict, hostWaitPreviewMessage } from "./hostPreflight";
import { ClusterAccess, currentClusterAccess } from "../kubesphere/clusterAccess";
import { ParsedKubeconfig, parsedKubeconfigOutput } from "../kubernetes/kubeconfig";
import { hostInstallerSpec, ksInstallerPatch } from "../kubesphere/kubesphereObjects";
import { describeInstall, hasHostClusterNameOption } from "../kubesphere/kubesphereVersion";
import type { ClusterFacts, FleetChecked, HostFacts } from "../kubesphere/facts";
import { asResourceError, refusal, UpWait, waitOnUp } from "../kubernetes/resourceErrors";

/** What a member needs from its host; a HostCluster, or values taken from another stack. */
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
    readonly readyForMembers?: pulumi.Output<HostReadiness>;
    /**
     * The host stack this host was taken from (`<organization>/<project>/<stack>`), in a member stack: messages then
     * name that stack's config keys, which a member stack does not have. Default: none (this program's own host).
     */
    readonly hostStack?: string;
}

/** The host is ready for members: how long `up` waited for it (0 when it already was a host; not waited in previews). */
export type HostReadiness = UpWait;

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
    public readonly readyForMembers: pulumi.Output<HostReadiness>;
    public readonly agentProxyAddress?: string;

    constructor(name: string, args: HostClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere:federation:HostCluster", name, {}, opts);
        this.hostClusterName = args.hostClusterName;
        this.agentProxyAddress = args.agentProxyAddress;
        this.kubeconfig = pulumi.secret(args.kubeconfig);

        this.kubernetesProvider = hostKubernetesProvider(name, args.hostClusterName, this.kubeconfig, {
            parent: this,
            clusterIdentifier: args.clusterIdentifier,
        });

        this.kubesphereMajor = args.kubesphereMajor ?? "v3";
        const access = currentClusterAccess();
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
                const facts = await sharedHostFacts(this, access, kubeconfig);
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
                              host: args.hostClusterName,
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

/**
 * The Kubernetes provider for a host: a HostCluster's, and the one a member stack or the plugin's Member builds for
 * a host made elsewhere. One identity per host (`kubesphere-federation/<hostClusterName>`), so host resources keep
 * their provider wherever the host is built.
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

const hostFactsByHost = new WeakMap<FederationHost, Promise<HostFacts>>();
const memberFactsByHost = new WeakMap<FederationHost, Map<string, Promise<ClusterFacts>>>();

/**
 * The host's facts (its own, and the clusters it has imported): read once per program run — a run builds its host
 * object once — and shared by the host's pre-flight and every member's, so a fleet of N members costs 2 host reads, not 2N.
 * @internal
 */
export function sharedHostFacts(
    host: FederationHost,
    access: ClusterAccess,
    hostKubeconfig: ParsedKubeconfig,
): Promise<HostFacts> {
    let facts = hostFactsByHost.get(host);
    if (facts === undefined) {
        const name = host.hostClusterName;
        facts = Promise.all([
            access.readClusterFacts(name, hostKubeconfig),
            access.listImportedClusters(hostKubeconfig),
        ]).then(
            ([own, clusters]) => ({ name, facts: own, clusters }),
            (err) => {
                // One error object for every reader (the host and each member), so Pulumi reports it once.
                throw host instanceof pulumi.Resource ? asResourceError(err, host) : err;
            },
        );
        hostFactsByHost.set(host, facts);
    }
    return facts;
}

/**
 * A member's facts, read once per run and member kubeconfig: its own pre-flight and the fleet's "same cluster twice"
 * check (program/federation.ts) share the read.
 * @internal
 */
export function sharedMemberFacts(
    host: FederationHost,
    access: ClusterAccess,
    member: string,
    memberKubeconfig: ParsedKubeconfig,
): Promise<ClusterFacts> {
    let byKubeconfig = memberFactsByHost.get(host);
    if (byKubeconfig === undefined) {
        byKubeconfig = new Map();
        memberFactsByHost.set(host, byKubeconfig);
    }
    let facts = byKubeconfig.get(memberKubeconfig.yaml);
    if (facts === undefined) {
        facts = access.readClusterFacts(member, memberKubeconfig);
        byKubeconfig.set(memberKubeconfig.yaml, facts);
    }
    return facts;
}
