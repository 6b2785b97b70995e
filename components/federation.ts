/**
 * The whole federation from a validated config: one HostCluster, one MemberCluster per member, and the
 * (secret-free) summary the program exports. Shared by index.ts and the end-to-end suite's inline program.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { FederationConfig, parseFederationConfig } from "./configSchema";
import { FederationConfigError, throwProblems } from "./errors";
import { HostCluster, sharedMemberFacts } from "./hostCluster";
import { ClusterAccess, currentClusterAccess, useClusterAccess } from "./kubeClient";
import { KubeconfigSourceContext, resolveKubeconfigSource } from "./kubeconfigSources";
import { PROVIDER_DISPLAY_NAMES } from "./kubesphereObjects";
import { MemberCluster } from "./memberCluster";
import type { FleetChecked, FleetMember } from "./memberPreflight";
import { describeInstall } from "./kubesphereVersion";

/** What the program exports per member: names and status only, never credentials. */
export interface MemberSummary {
    clusterName: pulumi.Output<string>;
    provider: string;
    ready: pulumi.Output<boolean>;
    reason: pulumi.Output<string>;
    message: pulumi.Output<string>;
    kubernetesVersion: pulumi.Output<string>;
    kubesphereVersion: pulumi.Output<string>;
    /** The member's KubeSphere as the pre-flight found it before the join: `v3.4.1`, `4.x`, or `none` (bare 4.x member). */
    detectedKubesphereVersion: pulumi.Output<string>;
}

/** What the program exports. */
export interface FederationSummary {
    hostName: string;
    /** The host's KubeSphere version as the pre-flight found it (3.x: ks-installer; 4.x: the host's own Cluster entry). */
    hostKubesphereVersion: pulumi.Output<string>;
    members: Record<string, MemberSummary>;
}

/**
 * The program: reads the stack config, builds the federation, returns what to export. index.ts runs it under the
 * Pulumi CLI; the end-to-end suite runs the same function as an Automation API inline program.
 */
export function federationProgram(): Promise<FederationSummary> {
    const config = new pulumi.Config();
    return federate(readFederationConfig(config), defaultSourceContext(config));
}

/** Reads and validates the stack config (`kubesphere-federation:host` and `:members`). */
export function readFederationConfig(config: pulumi.Config): FederationConfig {
    return parseFederationConfig({ host: config.getObject("host"), members: config.getObject("members") });
}

/** The default way a program resolves kubeconfig sources: real files, one StackReference per stack. */
export function defaultSourceContext(config: pulumi.Config): KubeconfigSourceContext {
    const stackReferences = new Map<string, pulumi.StackReference>();
    return {
        config,
        readFile: (filePath) => fs.readFileSync(filePath),
        cwd: process.cwd(),
        stackOutput: (stack, output) => {
            let reference = stackReferences.get(stack);
            if (reference === undefined) {
                reference = new pulumi.StackReference(`kubeconfig-source-${stackReferences.size}`, { name: stack });
                stackReferences.set(stack, reference);
            }
            return reference.getOutput(output);
        },
    };
}

/**
 * Builds the federation. Every kubeconfig that can be checked now is checked before the first resource is
 * registered, and all problems are reported together.
 * @param opts options for every component, e.g. a provider-independent `transformations` list.
 * @param clusterAccess how clusters are read directly (version detection, pre-flight, installer wait); default the real clusters.
 */
export async function federate(
    config: FederationConfig,
    sources: KubeconfigSourceContext,
    opts?: pulumi.ComponentResourceOptions,
    clusterAccess: ClusterAccess = currentClusterAccess(),
): Promise<FederationSummary> {
    const problems: FederationConfigError[] = [];
    const resolve = (cluster: { kubeconfig: FederationConfig["host"]["kubeconfig"] }, key: string) => {
        try {
            return resolveKubeconfigSource(cluster.kubeconfig, key, sources);
        } catch (err) {
            if (err instanceof FederationConfigError) {
                problems.push(err);
                return undefined;
            }
            throw err;
        }
    };
    const hostKubeconfig = resolve(config.host, "host.kubeconfig");
    const memberKubeconfigs = config.members.map((member, index) => resolve(member, `members[${index}].kubeconfig`));
    throwProblems(problems);
    const hostKubeconfigYaml = hostKubeconfig!.resolved.apply((resolved) => resolved.yaml);
    const kubesphereVersion = await hostKubesphereVersion(config, hostKubeconfigYaml, clusterAccess);

    // Nothing changes on any cluster before every member passed its pre-flight; the members are built below, so the
    // gate is an Output of a promise settled once they exist (a refusal rejects it, so nothing waits forever).
    let releaseFleet!: (checked: pulumi.Output<FleetChecked>) => void;
    const fleetChecked = pulumi.output(new Promise<pulumi.Output<FleetChecked>>((resolve) => (releaseFleet = resolve)));
    // The components read clusters through the seam, once, while they are constructed (below, synchronously).
    const restoreClusterAccess = useClusterAccess(clusterAccess);
    try {
    const host = new HostCluster(config.host.name, {
        hostClusterName: config.host.name,
        kubeconfig: hostKubeconfigYaml,
        kubesphereVersion,
        installerTimeoutSeconds: config.host.installerTimeoutSeconds,
        agentProxyAddress: config.host.agentProxyAddress,
        fleetChecked,
    }, opts);

    // Every member's kube-system UID, for "the same cluster listed twice" (KubeSphere: "MUST not import the same cluster
    // twice"); the reads are the members' own pre-flight reads, shared. A member that cannot be read reports it itself.
    const fleet: pulumi.Output<FleetMember[]> = pulumi
        .all(memberKubeconfigs.map((source) => source!.resolved.apply((resolved) => resolved.yaml)))
        .apply((yamls) =>
            Promise.all(
                yamls.map((yaml, index) =>
                    sharedMemberFacts(host, clusterAccess, config.members[index].name, yaml).then(
                        (facts) => facts.kubeSystemUid,
                        () => undefined,
                    ),
                ),
            ),
        )
        .apply((uids) => config.members.map((member, index) => ({ name: member.name, configKey: `members[${index}]`, kubeSystemUid: uids[index] })));

    const members: Record<string, MemberSummary> = {};
    const preflights: Array<pulumi.Output<FleetChecked["members"][number]>> = [];
    config.members.forEach((member, index) => {
        const source = memberKubeconfigs[index]!;
        const memberCluster = new MemberCluster(member.name, {
            host,
            // A kubeconfig known now is passed as text, so MemberCluster picks the import credentials from it.
            kubeconfig: source.yaml ?? source.resolved.apply((resolved) => resolved.yaml),
            provider: member.provider,
            connection: member.connection,
            ksCoreValues: member.ksCoreValues,
            credentials: member.credentials,
            credentialsRevision: member.credentialsRevision,
            apiServerEndpoint: member.apiServerEndpoint,
            description: member.description,
            group: member.group,
            readyTimeoutSeconds: member.readyTimeoutSeconds,
            installerTimeoutSeconds: member.installerTimeoutSeconds,
            configKey: `members[${index}]`,
            otherMembers: fleet.apply((all) => all.filter((other) => other.name !== member.name)),
            fleetChecked,
        }, opts);
        preflights.push(memberCluster.preflight.apply((found) => ({ name: member.name, kubesphere: describeInstall(found.install) })));
        members[member.name] = {
            clusterName: memberCluster.clusterName,
            provider: PROVIDER_DISPLAY_NAMES[member.provider],
            ready: memberCluster.readiness.ready,
            reason: memberCluster.readiness.reason,
            message: memberCluster.readiness.message,
            kubernetesVersion: memberCluster.versions.kubernetes,
            kubesphereVersion: memberCluster.versions.kubesphere,
            detectedKubesphereVersion: memberCluster.detectedKubesphereVersion,
        };
    });
    releaseFleet(pulumi.all(preflights).apply((checked) => ({ members: checked })));
    return { hostName: config.host.name, hostKubesphereVersion: host.detectedKubesphereVersion, members };
    } finally {
        restoreClusterAccess();
    }
}

/**
 * The host's KubeSphere major version: as configured, or (`auto`) read from its kubesphere-config layout before any
 * resource is registered, because the version decides which resources exist. A read, so previews do it too.
 */
async function hostKubesphereVersion(config: FederationConfig, hostKubeconfig: pulumi.Output<string>, access: ClusterAccess): Promise<"v3" | "v4"> {
    if (config.host.kubesphereVersion !== "auto") return config.host.kubesphereVersion;
    const kubeconfig = await new Promise<string>((resolve) => hostKubeconfig.apply(resolve));
    let layout: "v3" | "v4";
    try {
        layout = await access.readKubesphereLayout(config.host.name, kubeconfig);
    } catch (err) {
        // No resource exists yet to attach the error to; a RunError is printed as its message alone (see errors.ts).
        throw new pulumi.RunError(err instanceof Error ? err.message : String(err));
    }
    pulumi.log.info(`host "${config.host.name}": KubeSphere ${layout === "v4" ? "4.x" : "3.x"} detected from its kubesphere-config (set host.kubesphereVersion to skip the check)`);
    return layout;
}
