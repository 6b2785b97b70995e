/**
 * What every step of a MemberCluster shares (memberCluster.ts says the order): the member's name and config key,
 * its args, the host's major version, how it connects, the parsed kubeconfigs and the reads — one object, so each
 * step takes it instead of a list of positional parameters.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { ImportCredentials } from "../config/configSchema";
import { FederationReads } from "../host/federationReads";
import { ParsedKubeconfig, parsedKubeconfigOutput, parseKubeconfig, withServer } from "../kubernetes/kubeconfig";
import { ksCoreValuesFor } from "../kubesphere/ksCoreValues";
import { ksCoreConfigHash } from "../kubesphere/kubesphereVersion";
import { DiagnosisInput, readDiagnosisFacts } from "./diagnosis/readFacts";
import { diagnose } from "./diagnosis/diagnose";
import { formatDiagnosis } from "./diagnosis/format";
import { defaultImportCredentials } from "./direct/importCredentials";
import type { MemberClusterArgs } from "./memberClusterArgs";

export interface MemberContext {
    /** The MemberCluster: parent of every child resource, and where logs and errors are reported. */
    readonly component: pulumi.ComponentResource;
    /** The member's name: the Cluster object's name on the host. */
    readonly name: string;
    /** The member's config key, e.g. `members[1]`, named in messages. */
    readonly configKey: string;
    readonly args: MemberClusterArgs;
    /** The host's KubeSphere major version (FederationHost.kubesphereMajor). */
    readonly hostMajor: "v3" | "v4";
    /** Agent members: KubeSphere reaches the member through tower, never with the member's kubeconfig. */
    readonly viaAgent: boolean;
    /** How KubeSphere authenticates to the member (agent members: `kubeconfig`, nothing is imported). */
    readonly credentials: ImportCredentials;
    /** The federation's direct reads, shared with the host and the other members. */
    readonly reads: FederationReads;
    /** The member's Kubernetes provider. */
    readonly kubernetesProvider: k8s.Provider;
    /** The member's kubeconfig, parsed once (secret). */
    readonly kubeconfig: pulumi.Output<ParsedKubeconfig>;
    /** The host's kubeconfig, parsed once (secret); undefined for a host given without one. */
    readonly hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>;
    /** 4.x: the ks-core values written to `spec.config` (ksCoreValues over the registry values); undefined when none are given. */
    readonly ksCoreValues?: Record<string, unknown>;
    /** 4.x: {@link ksCoreValues} as YAML bytes. */
    readonly ksCoreConfig?: Buffer;
    /** 4.x: the hash the host's controller stamps for `spec.config` (docs/kubesphere.md §9); undefined on 3.x. */
    readonly ksCoreConfigHash?: string;
}

/** The context of a member: its provider, its kubeconfigs parsed once, and the defaults the args leave open. */
export function memberContext(
    component: pulumi.ComponentResource,
    name: string,
    args: MemberClusterArgs,
): MemberContext {
    const configKey = args.configKey ?? `members[${name}]`;
    const viaAgent = args.connection === "agent";
    const hostMajor = args.host.kubesphereMajor;
    const kubeconfigText = pulumi.secret(args.kubeconfig);
    // spec.config is 4.x's: a 3.x Cluster has no such field (its CRD refuses it), and ksCoreValues are ignored there.
    const ksCoreValues =
        hostMajor === "v3"
            ? undefined
            : ksCoreValuesFor(args.ksCoreValues, {
                  imageRegistry: args.imageRegistry,
                  imagePullSecrets: args.imagePullSecrets,
              });
    const ksCoreConfig = ksCoreValues === undefined ? undefined : Buffer.from(yaml.dump(ksCoreValues));
    return {
        component,
        name,
        configKey,
        args,
        hostMajor,
        viaAgent,
        // Through tower KubeSphere never uses the member's kubeconfig, so there are no import credentials to choose.
        credentials: viaAgent ? "kubeconfig" : (args.credentials ?? defaultCredentialsFor(args.kubeconfig, hostMajor)),
        reads: args.host.reads ?? new FederationReads(),
        kubernetesProvider: new k8s.Provider(
            name,
            // No deleteUnreachable: a short outage during `up --refresh` must not make Pulumi forget the member's
            // resources. A member that is gone for good is removed as docs/removing-members.md says.
            {
                kubeconfig: kubeconfigText,
                clusterIdentifier: args.clusterIdentifier ?? `kubesphere-federation/${name}`,
            },
            { parent: component },
        ),
        kubeconfig: parsedKubeconfigOutput(
            kubeconfigText,
            `the kubeconfig of member "${name}"`,
            `${configKey}.kubeconfig`,
            component,
        ),
        hostKubeconfig:
            args.host.kubeconfig === undefined
                ? pulumi.output(undefined)
                : parsedKubeconfigOutput(
                      args.host.kubeconfig,
                      `the kubeconfig of host "${args.host.hostClusterName ?? "host"}"`,
                      "host.kubeconfig",
                      component,
                  ),
        ksCoreValues,
        ksCoreConfig,
        // 4.x: without spec.config the controller hashes the empty input.
        ksCoreConfigHash: hostMajor === "v3" ? undefined : ksCoreConfigHash(ksCoreConfig ?? new Uint8Array()),
    };
}

/**
 * The import credentials when the args name none: decided from the kubeconfig's auth method when it is known now (a
 * plain string), the way KubeSphere can use it (defaultImportCredentials); `kubeconfig` otherwise.
 */
function defaultCredentialsFor(kubeconfig: pulumi.Input<string>, hostMajor: "v3" | "v4"): ImportCredentials {
    if (typeof kubeconfig !== "string") return "kubeconfig";
    try {
        return defaultImportCredentials(parseKubeconfig(kubeconfig).authMethod, hostMajor);
    } catch {
        // Not kubeconfig YAML: the pre-flight reports it, naming the member.
        return "kubeconfig";
    }
}

/** The kubeconfig KubeSphere gets for a direct member, as the program writes it: `apiServerEndpoint` replaces the server. */
export function importedServer(ctx: MemberContext, kubeconfig: ParsedKubeconfig): ParsedKubeconfig {
    return ctx.args.apiServerEndpoint === undefined ? kubeconfig : withServer(kubeconfig, ctx.args.apiServerEndpoint);
}

/** The clusters as the diagnosis reads them for this member. */
export interface DiagnosedClusters {
    memberKubeconfig: ParsedKubeconfig;
    hostKubeconfig: ParsedKubeconfig | undefined;
}

/** What the diagnosis (diagnosis/readFacts.ts) needs to know about this member, given the kubeconfigs. */
export function diagnosisInput(ctx: MemberContext, clusters: DiagnosedClusters): DiagnosisInput {
    const hostKubeconfig = clusters.hostKubeconfig;
    return {
        member: ctx.name,
        configKey: ctx.configKey,
        hostMajor: ctx.hostMajor,
        hostClusterName: ctx.args.host.hostClusterName,
        memberKubeconfig: clusters.memberKubeconfig,
        hostKubeconfig: clusters.hostKubeconfig,
        credentials: ctx.credentials,
        viaAgent: ctx.viaAgent,
        ...(hostKubeconfig === undefined ? {} : { hostClock: () => ctx.reads.hostClock(hostKubeconfig) }),
        // What the program imports, when known before the Cluster exists (a ServiceAccount token is minted later).
        // Agent members: KubeSphere gets tower's kubeconfig, never the member's.
        importKubeconfig:
            ctx.credentials !== "kubeconfig" || ctx.viaAgent
                ? undefined
                : importedServer(ctx, clusters.memberKubeconfig),
    };
}

/** A wait's failure message followed by the diagnosis of this member (what the diagnosis found first). */
export async function explained(
    ctx: MemberContext,
    message: string,
    clusters: DiagnosedClusters & { withoutCluster?: boolean },
): Promise<string> {
    const input = { ...diagnosisInput(ctx, clusters), withoutCluster: clusters.withoutCluster, withPods: true };
    return formatDiagnosis(diagnose(await readDiagnosisFacts(input, ctx.reads.access)), message);
}

/**
 * This Pulumi stack, fully qualified: the mark on the Clusters it creates (kubesphereObjects.ts STACK_ANNOTATION).
 * Undefined where the runtime has no organization (unit tests' mocks without one): no mark and no check then.
 */
export function thisStack(): string | undefined {
    try {
        return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    } catch {
        return undefined;
    }
}
