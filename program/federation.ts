/**
 * The whole federation from a validated config: one HostCluster, one MemberCluster per member, and the
 * (secret-free) summary the program exports. Shared by index.ts and the end-to-end suite's inline program.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import {
    FederationConfig,
    HOST_STACK_OUTPUT,
    HostConfig,
    HostStackConfig,
    KubeconfigSource,
    parseFederationConfig,
} from "../components/config/configSchema";
import { FederationConfigError, throwProblems } from "../components/config/errors";
import { FederationHost, federationHost } from "../components/host/federationHost";
import { FederationReads } from "../components/host/federationReads";
import { HostCluster } from "../components/host/hostCluster";
import { afterHostStackFix, hostConfigKey, hostPreflightVerdict } from "../components/host/hostPreflight";
import { ParsedKubeconfig, resolveKubeconfig } from "../components/kubernetes/kubeconfig";
import { ClusterAccess, liveClusterAccess } from "../components/kubesphere/clusterAccess";
import { KubeconfigSourceContext, resolveKubeconfigSource } from "./kubeconfigSources";
import { PROVIDER_DISPLAY_NAMES } from "../components/kubesphere/kubesphereObjects";
import { MemberCluster } from "../components/members/memberCluster";
import { type FleetChecked, type FleetMember, type HostFacts, installOf } from "../components/kubesphere/facts";
import { DELETE_UNREACHABLE_ENV, readRemovedMembers, removedMembersVerdict } from "../components/host/removedMembers";
import { refusal } from "../components/kubernetes/resourceErrors";
import { thisStack } from "../components/members/memberContext";
import { describeInstall } from "../components/kubesphere/kubesphereVersion";

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
    /** A host-only stack: what member stacks take the host from (secret; docs/host-and-member-stacks.md). */
    federationHost?: pulumi.Output<HostStackOutput>;
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

/**
 * The default way a program resolves kubeconfig sources: real files, one StackReference per stack (`kubeconfig-source-N`),
 * and a member stack's host stack (`host-stack`).
 */
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
        stackOutputDetails: (stack, output) =>
            new pulumi.StackReference("host-stack", { name: stack }).getOutputDetails(output),
    };
}

/**
 * What a host stack exports (as one secret output, {@link HOST_STACK_OUTPUT}) for member stacks: everything a
 * member stack needs to build the host's provider, read the host (pre-flight, Ready wait, diagnosis) and join it.
 */
export interface HostStackOutput {
    /** KubeSphere's name for the host (`host.name`). */
    name: string;
    /** The host's kubeconfig as the host stack uses it (flattened, one context). */
    kubeconfig: string;
    /** The jwtSecret members must share. */
    jwtSecret: string;
    /** The host's KubeSphere major version, which decides what a member stack registers. */
    kubesphereMajor: "v3" | "v4";
    /**
     * Deprecated: the same major version under its name before 0.2, still written so member stacks on an older
     * program read a newer host stack; a host stack's output without `kubesphereMajor` is read from it.
     */
    kubesphereVersion?: "v3" | "v4";
    /** The host's KubeSphere version as the host stack's pre-flight found it, e.g. `v3.4.1`. */
    detectedKubesphereVersion: string;
    /** `host.agentProxyAddress`, when set. */
    agentProxyAddress?: string;
    /** `host.imageRegistry`, when set: the default of the member stacks' members. */
    imageRegistry?: string;
    /** `host.imagePullSecrets`, when set: the default of the member stacks' members. */
    imagePullSecrets?: string[];
}

/** The host as a federation sees it: a HostCluster of this stack, or one taken from the host stack. */
interface FederationHostSide {
    /** The host, with the reads its members share (FederationHost.reads). */
    host: FederationHost & { reads: FederationReads };
    hostClusterName: string;
    kubesphereMajor: "v3" | "v4";
    hostKubesphereVersion: pulumi.Output<string>;
    /** Set for a host-only stack: what member stacks read. */
    exported?: pulumi.Output<HostStackOutput>;
    /** Where members pull KubeSphere's images from unless they say otherwise (`host.imageRegistry`, `imagePullSecrets`). */
    imageDefaults: ImageDefaults;
    /** The host's facts as its pre-flight read them (once per run, FederationReads). */
    facts: () => Promise<HostFacts>;
}

/** The host's image settings, the default of each member's. */
type ImageDefaults = Pick<HostStackOutput, "imageRegistry" | "imagePullSecrets">;

/** The image settings that are set, as a spread: none adds no key (a host stack's output stays as it was). */
function imageSettings(settings: ImageDefaults): ImageDefaults {
    return {
        ...(settings.imageRegistry === undefined ? {} : { imageRegistry: settings.imageRegistry }),
        ...(settings.imagePullSecrets === undefined ? {} : { imagePullSecrets: settings.imagePullSecrets }),
    };
}

/**
 * Builds the federation. Every kubeconfig that can be checked now is checked before the first resource is
 * registered, and all problems are reported together. With `host.stackReference` (a member stack) the host is
 * taken from the host stack's {@link HOST_STACK_OUTPUT} output and never changed: no HostCluster, no host patch.
 * @param opts options for every component, e.g. a provider-independent `transformations` list.
 * @param clusterAccess how clusters are read directly (version detection, pre-flight, installer wait); default the real clusters.
 */
export async function federate(
    config: FederationConfig,
    sources: KubeconfigSourceContext,
    opts?: pulumi.ComponentResourceOptions,
    clusterAccess: ClusterAccess = liveClusterAccess,
): Promise<FederationSummary> {
    for (const warning of "warnings" in config.host ? (config.host.warnings ?? []) : []) pulumi.log.warn(warning);
    const problems: FederationConfigError[] = [];
    const resolve = (source: KubeconfigSource, key: string) => {
        try {
            return resolveKubeconfigSource(source, key, sources);
        } catch (err) {
            if (err instanceof FederationConfigError) {
                problems.push(err);
                return undefined;
            }
            throw err;
        }
    };
    const hostConfig = config.host;
    const hostKubeconfig =
        "stackReference" in hostConfig ? undefined : resolve(hostConfig.kubeconfig, "host.kubeconfig");
    const memberKubeconfigs = config.members.map((member, index) =>
        resolve(member.kubeconfig, `members[${index}].kubeconfig`),
    );
    throwProblems(problems);
    // Nothing changes on any cluster before every member passed its pre-flight: the host's patch (host and single
    // stacks) and every member's changes wait for this gate. The members are built below, so it is an Output of a
    // promise settled once they exist (a refusal rejects it, so nothing waits forever).
    let releaseFleet!: (checked: pulumi.Output<FleetChecked>) => void;
    const fleetChecked = pulumi.output(new Promise<pulumi.Output<FleetChecked>>((resolve) => (releaseFleet = resolve)));
    const side: FederationHostSide =
        "stackReference" in hostConfig
            ? await hostFromStack(hostConfig, config, sources, clusterAccess, opts)
            : await ownHost(hostConfig, config, hostKubeconfig!.resolved, fleetChecked, clusterAccess, opts);
    const { host } = side;
    // A member removed from the config whose API server is gone: said (3.4: refused) before its delete can hang. A
    // member stack has no HostCluster to report it on: it is awaited before any member is registered.
    const removedChecked = checkRemovedMembers(side, config, clusterAccess);
    if ("stackReference" in hostConfig) await removedChecked;

    // Every member's kube-system UID, for "the same cluster listed twice" (KubeSphere: "MUST not import the same cluster
    // twice"); the reads are the members' own pre-flight reads, shared. A member that cannot be read reports it itself.
    const fleet: pulumi.Output<FleetMember[]> = pulumi
        .all(memberKubeconfigs.map((source) => source!.resolved))
        .apply((kubeconfigs) =>
            Promise.all(
                kubeconfigs.map((kubeconfig, index) =>
                    host.reads.member(config.members[index].name, kubeconfig).then(
                        (facts) => facts.kubeSystemUid,
                        () => undefined,
                    ),
                ),
            ),
        )
        .apply((uids) =>
            config.members.map((member, index) => ({
                name: member.name,
                configKey: `members[${index}]`,
                kubeSystemUid: uids[index],
            })),
        );

    const members: Record<string, MemberSummary> = {};
    const preflights: Array<pulumi.Output<FleetChecked["members"][number]>> = [];
    config.members.forEach((member, index) => {
        const source = memberKubeconfigs[index]!;
        const memberCluster = new MemberCluster(
            member.name,
            {
                host,
                // A kubeconfig known now is passed as text, so MemberCluster picks the import credentials from it.
                kubeconfig: source.yaml ?? source.resolved.apply((resolved) => resolved.yaml),
                provider: member.provider,
                connection: member.connection,
                ksCoreValues: member.ksCoreValues,
                imageRegistry: member.imageRegistry ?? side.imageDefaults.imageRegistry,
                imagePullSecrets: member.imagePullSecrets ?? side.imageDefaults.imagePullSecrets,
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
            },
            opts,
        );
        preflights.push(
            memberCluster.preflight.apply((found) => ({
                name: member.name,
                kubesphere: describeInstall(found.install),
            })),
        );
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
    releaseFleet(
        pulumi
            .all([pulumi.all(preflights), pulumi.output(removedChecked)])
            .apply(([checked]) => ({ members: checked })),
    );
    return {
        hostName: side.hostClusterName,
        hostKubesphereVersion: side.hostKubesphereVersion,
        members,
        ...(side.exported === undefined ? {} : { federationHost: side.exported }),
    };
}

/**
 * The check of components/host/removedMembers.ts on this stack's Clusters: warnings logged, an error rejected (on the
 * HostCluster of this stack, so Pulumi reports it once; a member stack awaits it before any resource).
 */
async function checkRemovedMembers(
    side: FederationHostSide,
    config: FederationConfig,
    access: ClusterAccess,
): Promise<void> {
    const stack = thisStack();
    if (stack === undefined) return;
    const facts = await side.facts().catch(() => undefined);
    // A host that cannot be read fails its own pre-flight, which says why.
    if (facts === undefined) return;
    const configured = config.members.map((member) => member.name);
    const verdict = removedMembersVerdict({
        hostName: side.hostClusterName,
        hostInstall: installOf(facts.facts, facts.clusters),
        stackName: pulumi.getStack(),
        removed: await readRemovedMembers(facts.clusters, stack, configured, access.probeEndpoint),
        deleteUnreachable: /^(1|true)$/i.test(process.env[DELETE_UNREACHABLE_ENV] ?? ""),
    });
    verdict.warnings.forEach((warning) => pulumi.log.warn(warning));
    if (verdict.errors.length === 0) return;
    const message = verdict.errors.join("\n");
    throw side.host instanceof HostCluster ? refusal(message, side.host) : new pulumi.RunError(message);
}

/** A host stack or single stack: this stack's HostCluster, whose patch waits for every member's pre-flight. */
async function ownHost(
    hostConfig: HostConfig,
    config: FederationConfig,
    hostKubeconfig: pulumi.Output<ParsedKubeconfig>,
    fleetChecked: pulumi.Output<FleetChecked>,
    clusterAccess: ClusterAccess,
    opts: pulumi.ComponentResourceOptions | undefined,
): Promise<FederationHostSide> {
    const kubesphereMajor = await hostKubesphereMajor(hostConfig, hostKubeconfig, clusterAccess);
    const host = new HostCluster(
        hostConfig.name,
        {
            hostClusterName: hostConfig.name,
            kubeconfig: hostKubeconfig.apply((parsed) => parsed.yaml),
            kubesphereMajor,
            installerTimeoutSeconds: hostConfig.installerTimeoutSeconds,
            agentProxyAddress: hostConfig.agentProxyAddress,
            fleetChecked,
            clusterAccess,
        },
        opts,
    );
    // Resolves once the host is a host (the host stack's `up` waited for it), so a member stack never reads a half-made host.
    const exported =
        config.members.length > 0
            ? undefined
            : pulumi.secret(
                  pulumi
                      .all([host.kubeconfig, host.jwtSecret, host.detectedKubesphereVersion, host.readyForMembers])
                      .apply(([kubeconfig, jwtSecret, detected]) => ({
                          name: hostConfig.name,
                          kubeconfig,
                          jwtSecret,
                          kubesphereMajor,
                          kubesphereVersion: kubesphereMajor,
                          detectedKubesphereVersion: detected,
                          ...(hostConfig.agentProxyAddress === undefined
                              ? {}
                              : { agentProxyAddress: hostConfig.agentProxyAddress }),
                          ...imageSettings(hostConfig),
                      })),
              );
    return {
        host,
        hostClusterName: hostConfig.name,
        kubesphereMajor,
        hostKubesphereVersion: host.detectedKubesphereVersion,
        exported,
        imageDefaults: imageSettings(hostConfig),
        facts: () =>
            new Promise<ParsedKubeconfig>((resolve) => hostKubeconfig.apply(resolve)).then((kubeconfig) =>
                host.reads.host(hostConfig.name, kubeconfig),
            ),
    };
}

/**
 * A member stack: the host from the host stack's {@link HOST_STACK_OUTPUT} output, read before any resource is
 * registered (the version decides which resources exist), checked as the host stack left it (a host, reachable),
 * and never changed: the only host resource is the Kubernetes provider the members' Cluster objects go through.
 */
async function hostFromStack(
    hostConfig: HostStackConfig,
    config: FederationConfig,
    sources: KubeconfigSourceContext,
    clusterAccess: ClusterAccess,
    opts: pulumi.ComponentResourceOptions | undefined,
): Promise<FederationHostSide> {
    const key = "host.stackReference";
    const stack = hostConfig.stackReference;
    const details = await sources.stackOutputDetails(stack, HOST_STACK_OUTPUT).catch((err: unknown) => {
        throw new FederationConfigError(
            key,
            `stack ${stack} could not be read (${err instanceof Error ? err.message : String(err)}). Fix: set the host stack's fully qualified name, <organization>/<project>/<stack>, and run its \`pulumi up\` first`,
        );
    });
    const raw = details.secretValue ?? details.value;
    const exported = parseHostStackOutput(raw, stack, key);
    const origin = {
        key,
        description: `output "${HOST_STACK_OUTPUT}" of stack ${stack} (kubeconfig)`,
        baseDir: sources.cwd,
    };
    const kubeconfig = resolveKubeconfig(exported.kubeconfig, undefined, origin, sources.readFile);
    throwProblems(
        config.members.flatMap((member, index) =>
            member.name === exported.name
                ? [
                      new FederationConfigError(
                          `members[${index}].name`,
                          `"${member.name}" is the name of the host of stack ${stack}. Fix: give the member its own name; the host's Cluster object already has this one`,
                      ),
                  ]
                : [],
        ),
    );
    // The host's own checks, read-only, before any resource (shared with every member's pre-flight through the
    // host's reads): it must still be the host the host stack made.
    const reads = new FederationReads(clusterAccess);
    let facts;
    try {
        facts = await reads.host(exported.name, kubeconfig);
    } catch (err) {
        // The host's kubeconfig is the host stack's, not this stack's: say where to fix it.
        throw new pulumi.RunError(
            `${err instanceof Error ? err.message : String(err)}\n(this stack reads host "${exported.name}" with the kubeconfig of ` +
                `output "${HOST_STACK_OUTPUT}" of stack ${stack}: fix ${hostConfigKey("host.kubeconfig", stack)}${afterHostStackFix(stack)})`,
        );
    }
    const verdict = hostPreflightVerdict({ hostMajor: exported.kubesphereMajor, host: facts, hostStack: stack });
    const notHost = verdict.isHost
        ? []
        : [
              `host "${exported.name}" (from stack ${stack}) is not a host yet. Fix: run \`pulumi up\` of stack ${stack} first and let it finish`,
          ];
    if (verdict.errors.length + notHost.length > 0)
        throw new pulumi.RunError([...verdict.errors, ...notHost].join("\n"));
    verdict.warnings.forEach((warning) => pulumi.log.warn(warning));
    // The only host resource of a member stack: the provider its members' Cluster objects go through.
    const host = {
        ...federationHost(
            `${exported.name}-from-stack`,
            {
                hostClusterName: exported.name,
                kubeconfig: kubeconfig.yaml,
                jwtSecret: exported.jwtSecret,
                kubesphereMajor: exported.kubesphereMajor,
                agentProxyAddress: exported.agentProxyAddress,
                hostStack: stack,
                reads,
            },
            opts,
        ),
        reads,
    };
    pulumi.log.info(
        `host "${exported.name}" from stack ${stack}: KubeSphere ${describeInstall(verdict.install)}; this stack only joins its members`,
    );
    return {
        host,
        hostClusterName: exported.name,
        kubesphereMajor: exported.kubesphereMajor,
        hostKubesphereVersion: pulumi.output(describeInstall(verdict.install)),
        imageDefaults: imageSettings(exported),
        facts: () => reads.host(exported.name, kubeconfig),
    };
}

/** Checks the host stack's output; a bad or missing one is a config error naming the key and the fix. */
export function parseHostStackOutput(raw: unknown, stack: string, key: string): HostStackOutput {
    const fix = `Fix: point ${key} at a host-only stack (members empty) of this project and run its \`pulumi up\` first`;
    if (raw === undefined || raw === null) {
        throw new FederationConfigError(
            key,
            `stack ${stack} has no output "${HOST_STACK_OUTPUT}" (found nothing). ${fix}`,
        );
    }
    const value = raw as Partial<Record<keyof HostStackOutput, unknown>>;
    // Host stacks before 0.2 wrote the major version as kubesphereVersion only.
    const majorField = value.kubesphereMajor !== undefined ? "kubesphereMajor" : "kubesphereVersion";
    const major = value[majorField];
    const missing = (["name", "kubeconfig", "jwtSecret", majorField, "detectedKubesphereVersion"] as const).filter(
        (field) => typeof value[field] !== "string" || value[field] === "",
    );
    if (typeof raw !== "object" || Array.isArray(raw) || missing.length > 0 || (major !== "v3" && major !== "v4")) {
        const what =
            typeof raw !== "object" || Array.isArray(raw)
                ? `a ${Array.isArray(raw) ? "list" : typeof raw}`
                : missing.length > 0
                  ? `a mapping without ${missing.map((field) => (field === "kubesphereVersion" ? "kubesphereMajor" : field)).join(", ")}`
                  : `${majorField} ${JSON.stringify(major)}`;
        throw new FederationConfigError(
            key,
            `output "${HOST_STACK_OUTPUT}" of stack ${stack} is ${what}, not a host stack's output. ${fix}`,
        );
    }
    return { ...(raw as HostStackOutput), kubesphereMajor: major };
}

/**
 * The host's KubeSphere major version: as configured, or (`auto`) read from its kubesphere-config layout before any
 * resource is registered, because the version decides which resources exist. A read, so previews do it too.
 */
async function hostKubesphereMajor(
    hostConfig: HostConfig,
    hostKubeconfig: pulumi.Output<ParsedKubeconfig>,
    access: ClusterAccess,
): Promise<"v3" | "v4"> {
    if (hostConfig.kubesphereMajor !== "auto") return hostConfig.kubesphereMajor;
    const kubeconfig = await new Promise<ParsedKubeconfig>((resolve) => hostKubeconfig.apply(resolve));
    let layout: "v3" | "v4";
    try {
        layout = await access.readKubesphereLayout(hostConfig.name, kubeconfig);
    } catch (err) {
        // No resource exists yet to attach the error to; a RunError is printed as its message alone (see errors.ts).
        throw new pulumi.RunError(err instanceof Error ? err.message : String(err));
    }
    pulumi.log.info(
        `host "${hostConfig.name}": KubeSphere ${layout === "v4" ? "4.x" : "3.x"} detected from its kubesphere-config (set host.kubesphereMajor to skip the check)`,
    );
    return layout;
}
