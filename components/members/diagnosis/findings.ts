/**
 * What the diagnosis says: one finding per check (verdict, evidence, fix), in a fixed order, and the facts the
 * checks read. Plain data; the checks are in connectionChecks.ts and kubesphereChecks.ts, the reading in readFacts.ts.
 */
import type { ParsedKubeconfig } from "../../kubernetes/kubeconfig";
import type { PodState } from "../../kubernetes/pods";
import type { KubesphereWorkload } from "../../kubesphere/kubesphereObjects";
import { ClusterFacts, HostFacts } from "../../kubesphere/facts";
import { ClockReading, ImportProbe } from "../../kubesphere/probes";
import { ClusterObjectState } from "../../kubesphere/reads";
import { PreflightVerdict } from "../memberPreflight";

/** One check's verdict: `fail` explains a stuck join, `warn` may, `ok` rules a cause out, `skip` could not be checked. */
export type Verdict = "ok" | "warn" | "fail" | "skip";

/** The causes the diagnosis checks, most likely first when several fail (see {@link CHECK_ORDER}). */
export type CheckId =
    | "preflight"
    | "kubefed"
    | "pods"
    | "jwtSecret"
    | "serverReachable"
    | "serverCertificate"
    | "clientCertificate"
    | "rights"
    | "ksApiserver"
    | "agent"
    | "ksCore"
    | "clockSkew";

export interface Finding {
    check: CheckId;
    /** What was checked, for the table and the error, e.g. "member jwtSecret and role". */
    title: string;
    verdict: Verdict;
    /** What was read (never a secret). */
    evidence: string;
    /** What to do; only for warn and fail. */
    fix?: string;
}

/**
 * Order of likelihood: a refused combination, then a missing CRD KubeSphere's own join reports, then a KubeSphere pod that cannot run (nothing it does happens: the
 * settings, the install, the agent), then a wrong secret; the clock last (it does not stop Ready).
 */
export const CHECK_ORDER: CheckId[] = [
    "preflight",
    "kubefed",
    "pods",
    "jwtSecret",
    "serverReachable",
    "serverCertificate",
    "clientCertificate",
    "rights",
    "agent",
    "ksCore",
    "ksApiserver",
    "clockSkew",
];

export const CHECK_TITLES: Record<CheckId, string> = {
    preflight: "versions and pre-flight",
    kubefed: "KubeSphere's federation join: CRDs (3.x)",
    pods: "KubeSphere's pods on the member",
    jwtSecret: "member jwtSecret and role",
    serverReachable: "kubeconfig KubeSphere got: server reachable",
    serverCertificate: "kubeconfig KubeSphere got: server certificate",
    clientCertificate: "kubeconfig KubeSphere got: client certificate",
    rights: "kubeconfig KubeSphere got: rights",
    ksApiserver: "member ks-apiserver via service proxy",
    agent: "agent connection (proxy)",
    ksCore: "ks-core install on the member (4.x)",
    clockSkew: "clock skew host/member",
};

/** KubeSphere's default `authentication.maximumClockSkew` (v3.4.1 pkg/apiserver/authentication/options.go NewOptions). */
export const DEFAULT_MAXIMUM_CLOCK_SKEW_MS = 10_000;

/** Everything the diagnosis looked at for one member; undefined parts could not be read (said so in the finding). */
export interface DiagnosisFacts {
    member: string;
    configKey: string;
    hostMajor: "v3" | "v4";
    host?: HostFacts;
    /** The member's own facts; undefined when the member did not answer (then `memberProblem` says why). */
    memberFacts?: ClusterFacts;
    memberProblem?: string;
    /** The pre-flight's verdict (versions, ownership), reused as it is (components/members/memberPreflight.ts). */
    preflight?: PreflightVerdict;
    /** 3.x: why ks-apiserver did not answer through the service proxy, `null` when it answered, undefined when not checked. */
    ksApiserverProblem?: string | null;
    /** The Cluster on the host; undefined before it exists. */
    cluster?: ClusterObjectState;
    /** The kubeconfig KubeSphere got (or will get), as probed; undefined when there is none to probe yet. */
    importProbe?: ImportProbe;
    /** The kubeconfig KubeSphere got (secret: only its client certificate is inspected). */
    importKubeconfig?: ParsedKubeconfig;
    clocks?: { host: ClockReading; member: ClockReading };
    /** 4.x: ks-core chart objects on the member that Helm will not adopt (kubesphere/reads.ts readKsCoreConflicts); undefined when not read. */
    ksCoreConflicts?: string[];
    /** The pods of the workloads the join needs on the member (podChecks.ts); undefined when not read (pre-flight, previews). */
    pods?: WorkloadPods[];
    now?: Date;
}

/** What the diagnosis read for one workload: its pods, or why they could not be listed. */
export interface WorkloadPods {
    workload: KubesphereWorkload;
    pods?: PodState[];
    problem?: string;
}

export interface Diagnosis {
    member: string;
    /** Every check, in {@link CHECK_ORDER}. */
    findings: Finding[];
    /** The most likely cause: the first failing check in {@link CHECK_ORDER}; undefined when no check fails. */
    cause?: Finding;
}

/** One check's finding; a fix only where something is wrong. */
export function finding(check: CheckId, verdict: Verdict, evidence: string, fix?: string): Finding {
    return {
        check,
        title: CHECK_TITLES[check],
        verdict,
        evidence,
        ...(fix !== undefined && verdict !== "ok" && verdict !== "skip" ? { fix } : {}),
    };
}

/** A message's text and its "Fix: …" part, apart. */
export function splitFix(message: string): [string, string | undefined] {
    const at = message.indexOf(". Fix: ");
    return at < 0 ? [message, undefined] : [message.slice(0, at), message.slice(at + ". Fix: ".length)];
}

/** The host name of a server URL, for messages (the URL itself when it does not parse). */
export function safeHostname(server: string): string {
    try {
        return new URL(server).hostname;
    } catch {
        return server;
    }
}
