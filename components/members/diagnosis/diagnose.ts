/**
 * Why a join is stuck (docs/troubleshooting.md): every check run on the facts, in order, and which findings prove
 * the join cannot work — before it (the pre-flight's early checks) and while waiting.
 */
import { ClusterObjectState } from "../../kubesphere/reads";
import {
    checkClientCertificateFinding,
    checkClockSkew,
    checkRights,
    checkServerCertificate,
    checkServerReachable,
} from "./connectionChecks";
import { CHECK_ORDER, CheckId, Diagnosis, DiagnosisFacts, Finding } from "./findings";
import {
    checkAgent,
    checkJwtSecret,
    checkKsApiserver,
    checkKsCore,
    checkKubefed,
    checkPreflight,
    condition,
} from "./kubesphereChecks";
import { checkPods } from "./podChecks";

/** Runs every check over what was read; the cause is the first failing check in order of likelihood. */
export function diagnose(facts: DiagnosisFacts): Diagnosis {
    const byCheck: Record<CheckId, (facts: DiagnosisFacts) => Finding> = {
        preflight: checkPreflight,
        kubefed: checkKubefed,
        pods: checkPods,
        jwtSecret: checkJwtSecret,
        serverReachable: checkServerReachable,
        serverCertificate: checkServerCertificate,
        clientCertificate: checkClientCertificateFinding,
        rights: checkRights,
        ksApiserver: checkKsApiserver,
        agent: checkAgent,
        ksCore: checkKsCore,
        clockSkew: checkClockSkew,
    };
    const findings = CHECK_ORDER.map((check) => byCheck[check](facts));
    // A warning is no cause: it does not stop a join (the clock, 3.x ks-apiserver, an insecure kubeconfig).
    const cause = findings.find((found) => found.verdict === "fail");
    return { member: facts.member, findings, cause };
}

/**
 * Checks whose failure proves that the Cluster will not become Ready while nothing changes. Not the clock (it does not
 * stop Ready), not ks-apiserver or ks-core (on 4.x both come with the install the host is still doing: a cause at the timeout).
 */
const BLOCKING_CHECKS: CheckId[] = [
    "preflight",
    // KubeSphere said which CRD is missing: nobody adds it while the wait runs.
    "kubefed",
    "serverReachable",
    "serverCertificate",
    "clientCertificate",
    "rights",
    "agent",
];

/**
 * Whether a wait can stop now: KubeSphere reported the join failed (Ready=False, Federated=False, or on 4.x a
 * KSCoreReady=False) and a blocking check explains it. A pending Cluster (no condition yet) is waited for.
 */
export function provesJoinFails(diagnosis: Diagnosis, cluster: ClusterObjectState | undefined): boolean {
    const failed = ["Ready", "Federated", "KSCoreReady", "AgentAvailable"].some(
        (type) => condition(cluster, type)?.status === "False",
    );
    return (
        failed && diagnosis.findings.some((found) => found.verdict === "fail" && BLOCKING_CHECKS.includes(found.check))
    );
}

/** Checks the pre-flight runs from the diagnosis (the pre-flight itself covers versions, ownership, certificates, ks-apiserver). */
const BEFORE_JOIN_CHECKS: CheckId[] = ["serverReachable", "serverCertificate", "rights", "ksCore", "clockSkew"];

/**
 * Of those, the ones that prove the join cannot work: the host verifies the same certificate and sends the same
 * credentials; Helm refuses the same unowned objects on every install.
 */
const REFUSED_BEFORE_JOIN: CheckId[] = ["serverCertificate", "rights", "ksCore"];

/**
 * The diagnosis findings the pre-flight reports before anything changes (previews too): failures of the certificate,
 * rights and (4.x) ks-core checks refuse the join; an unreachable server (from this machine, not from the host's network) and a
 * clock skew warn.
 */
export function findingsBeforeJoin(diagnosis: Diagnosis): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const found of diagnosis.findings.filter((candidate) => BEFORE_JOIN_CHECKS.includes(candidate.check))) {
        if (found.verdict !== "fail" && found.verdict !== "warn") continue;
        const text = `member "${diagnosis.member}": ${found.title}: ${found.evidence}. Fix: ${found.fix}`;
        (found.verdict === "fail" && REFUSED_BEFORE_JOIN.includes(found.check) ? errors : warnings).push(text);
    }
    return { errors, warnings };
}
