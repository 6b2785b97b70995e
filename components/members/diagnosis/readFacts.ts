/**
 * The diagnosis's reads: the member, the host, the member's Cluster, the clocks, the import kubeconfig's probe —
 * each failure kept as a fact (a cluster that does not answer is a finding, not an error).
 */
import type { ImportCredentials } from "../../config/configSchema";
import type { ParsedKubeconfig } from "../../kubernetes/kubeconfig";
import { ClusterAccess } from "../../kubesphere/clusterAccess";
import { ClusterFacts, FleetMember, HostFacts } from "../../kubesphere/facts";
import type { ClockReading } from "../../kubesphere/probes";
import {
    KS_APISERVER_WORKLOAD,
    KS_CONTROLLER_MANAGER_WORKLOAD,
    KS_INSTALLER_WORKLOAD,
    KubesphereWorkload,
} from "../../kubesphere/kubesphereObjects";
import { ClusterObjectState } from "../../kubesphere/reads";
import { CLUSTER_AGENT_WORKLOAD } from "../../kubesphere/tower";
import { DiagnosisFacts, WorkloadPods } from "./findings";
import { preflightVerdict } from "../memberPreflight";

/** What the reader needs to know about one member (the rest it reads). */
export interface DiagnosisInput {
    member: string;
    configKey: string;
    hostMajor: "v3" | "v4";
    hostClusterName: string;
    /** The kubeconfig Pulumi uses for the member (secret). */
    memberKubeconfig: ParsedKubeconfig;
    /** The host's kubeconfig (secret); undefined for a host from another stack (host checks are skipped). */
    hostKubeconfig?: ParsedKubeconfig;
    credentials: ImportCredentials;
    /** The kubeconfig the program will import, when known before the Cluster exists (secret). */
    importKubeconfig?: ParsedKubeconfig;
    otherMembers?: FleetMember[];
    /** Facts already read this run (the pre-flight's), so they are not read twice. */
    known?: {
        memberFacts?: ClusterFacts;
        host?: HostFacts;
        /** The pre-flight's ks-apiserver probe: its problem, null when it answered, undefined when not probed. */
        ksApiserver?: { problem?: string | null };
    };
    /** The host's clock read once per run (FederationReads.hostClock); else it is read here. */
    hostClock?: () => Promise<ClockReading>;
    /** Skip the Cluster object (previews: it may not exist, and the program's own kubeconfig is probed instead). */
    withoutCluster?: boolean;
    /**
     * Read the pods of the workloads the join needs on the member (a wait's failure, the doctor); not in the
     * pre-flight, so a healthy member's preview makes no more requests.
     */
    withPods?: boolean;
    /** The member connects through tower's agent (its cluster-agent pod is read too). */
    viaAgent?: boolean;
}

/** The workloads whose pods the join needs on this member (docs/kubesphere.md §11), given what it has installed. */
export function workloadsFor(
    hostMajor: "v3" | "v4",
    memberFacts: ClusterFacts | undefined,
    viaAgent = false,
    ksCoreInstalled = false,
): KubesphereWorkload[] {
    return [
        ...(hostMajor === "v3" && memberFacts?.installer !== undefined ? [KS_INSTALLER_WORKLOAD] : []),
        ...(viaAgent ? [CLUSTER_AGENT_WORKLOAD] : []),
        // 4.x: ks-core's pods exist once the host has installed it.
        ...(hostMajor === "v4" && ksCoreInstalled ? [KS_APISERVER_WORKLOAD, KS_CONTROLLER_MANAGER_WORKLOAD] : []),
    ];
}

/** Lists each workload's pods; a listing that fails is kept as its problem. */
export function readWorkloadPods(
    access: ClusterAccess,
    kubeconfig: ParsedKubeconfig,
    workloads: KubesphereWorkload[],
): Promise<WorkloadPods[]> {
    return Promise.all(
        workloads.map((workload) =>
            access.readPods(kubeconfig, workload.namespace, workload.labelSelector).then(
                (pods) => ({ workload, pods }),
                (err: unknown) => ({ workload, problem: err instanceof Error ? err.message : String(err) }),
            ),
        ),
    );
}

/**
 * Reads, read-only, what the checks need: the pre-flight's facts (reused when given), the Cluster on the host, the
 * kubeconfig KubeSphere got (the Cluster's spec.connection.kubeconfig, else what the program will import) probed from
 * here, and both clusters' clocks. Never rejects: what could not be read is a `skip` with the reason.
 */
export async function readDiagnosisFacts(input: DiagnosisInput, access: ClusterAccess): Promise<DiagnosisFacts> {
    const orUndefined = <T>(promise: Promise<T>) => promise.catch(() => undefined);
    const memberRead = input.known?.memberFacts
        ? Promise.resolve({
              facts: input.known.memberFacts as ClusterFacts | undefined,
              problem: undefined as string | undefined,
          })
        : access.readClusterFacts(input.member, input.memberKubeconfig).then(
              (facts) => ({ facts: facts as ClusterFacts | undefined, problem: undefined as string | undefined }),
              (err: unknown) => ({ facts: undefined, problem: err instanceof Error ? err.message : String(err) }),
          );
    const hostRead: Promise<HostFacts | undefined> =
        input.known?.host !== undefined
            ? Promise.resolve(input.known.host)
            : input.hostKubeconfig === undefined
              ? Promise.resolve(undefined)
              : orUndefined(
                    Promise.all([
                        access.readClusterFacts(input.hostClusterName, input.hostKubeconfig),
                        access.listImportedClusters(input.hostKubeconfig),
                    ]).then(([facts, clusters]) => ({
                        name: input.hostClusterName,
                        facts,
                        clusters,
                    })),
                );
    const clusterRead =
        input.withoutCluster || input.hostKubeconfig === undefined
            ? Promise.resolve(undefined)
            : orUndefined(access.readClusterObject(input.hostKubeconfig, input.member));
    const hostKubeconfig = input.hostKubeconfig;
    const hostClockRead =
        hostKubeconfig === undefined
            ? Promise.resolve(undefined)
            : orUndefined(input.hostClock?.() ?? access.readClock(hostKubeconfig));
    const [member, host, cluster] = await Promise.all([memberRead, hostRead, clusterRead]);

    // 3.x: ks-installer runs ks-apiserver; 4.x: only once the host reports ks-core installed.
    const ksCoreInstalled =
        cluster?.conditions.some((found) => found.type === "KSCoreReady" && found.status === "True") === true;
    const podsRead = input.withPods
        ? readWorkloadPods(
              access,
              input.memberKubeconfig,
              workloadsFor(input.hostMajor, member.facts, input.viaAgent, ksCoreInstalled),
          )
        : Promise.resolve(undefined);
    const ksCoreConflicts =
        input.hostMajor === "v4" && !ksCoreInstalled
            ? await access.readKsCoreConflicts(input.memberKubeconfig).catch(() => undefined)
            : undefined;
    const ksApiserverProblem =
        input.known?.ksApiserver !== undefined
            ? input.known.ksApiserver.problem
            : (input.hostMajor === "v3" && member.facts?.installer !== undefined) ||
                (input.hostMajor === "v4" && ksCoreInstalled)
              ? ((await access.probeKsApiserver(input.memberKubeconfig)) ?? null)
              : undefined;
    // A proxy Cluster's kubeconfig is tower's, pointing at a host-internal Service (docs/kubesphere.md §10): not probed from here.
    const importKubeconfig =
        cluster?.connectionType === "proxy" ? undefined : (cluster?.kubeconfig ?? input.importKubeconfig);
    const source =
        cluster?.kubeconfig !== undefined
            ? "the Cluster's spec.connection.kubeconfig"
            : "the kubeconfig the program will import";
    // Same server and credentials as the member's kubeconfig: the probe's GET /version is the member's clock
    // reading too (one request fewer per member; bench/RESULTS.md).
    const probeIsMemberClock = importKubeconfig !== undefined && importKubeconfig.yaml === input.memberKubeconfig.yaml;
    const [importProbe, memberClock, hostClock, pods] = await Promise.all([
        importKubeconfig === undefined ? undefined : access.probeImportKubeconfig(importKubeconfig, source),
        probeIsMemberClock || hostKubeconfig === undefined
            ? undefined
            : orUndefined(access.readClock(input.memberKubeconfig)),
        hostClockRead,
        podsRead,
    ]);
    const memberClockReading = probeIsMemberClock ? importProbe?.clock : memberClock;
    const clocks =
        hostClock !== undefined && memberClockReading !== undefined
            ? { host: hostClock, member: memberClockReading }
            : undefined;
    const preflight =
        member.facts === undefined
            ? undefined
            : preflightVerdict({
                  member: input.member,
                  configKey: input.configKey,
                  hostMajor: input.hostMajor,
                  facts: member.facts,
                  host,
                  otherMembers: input.otherMembers,
                  credentials: input.credentials,
                  importKubeconfig: input.credentials === "kubeconfig" ? importKubeconfig : undefined,
                  // Reported by its own check.
                  ksApiserverProblem: undefined,
              });
    let clusterState: ClusterObjectState | undefined;
    if (cluster !== undefined)
        clusterState = {
            connectionType: cluster.connectionType,
            conditions: cluster.conditions,
            configHash: cluster.configHash,
        };
    return {
        member: input.member,
        configKey: input.configKey,
        hostMajor: input.hostMajor,
        host,
        memberFacts: member.facts,
        memberProblem: member.problem,
        preflight,
        ksApiserverProblem,
        cluster: clusterState,
        importProbe,
        importKubeconfig,
        clocks,
        ksCoreConflicts,
        pods,
    };
}
