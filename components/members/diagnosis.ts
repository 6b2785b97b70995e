/**
 * Why a join is stuck (issue 12): the checks KubeSphere users most often trip over, as pure verdicts over facts read
 * read-only from the host and the member, and the order in which they explain a stuck join. Used when a member's
 * wait fails or times out (components/members/memberCluster.ts), in previews (the checks that need no change first), and by
 * `npm run doctor`. Secrets: jwtSecrets are compared, never quoted ("differs"); kubeconfigs are never shown.
 */
import type { ImportCredentials } from "../config/configSchema";
import { checkClientCertificate, clientCertificateDaysLeft } from "../kubernetes/clientCertificate";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { ClusterAccess } from "../kubesphere/clusterAccess";
import { ClusterFacts, FleetMember, HostFacts } from "../kubesphere/facts";
import type { ClusterCondition } from "../kubesphere/kubesphereObjects";
import { ClockReading, ImportProbe } from "../kubesphere/probes";
import { ClusterObjectState } from "../kubesphere/reads";
import { preflightVerdict, PreflightVerdict } from "./memberPreflight";

/** One check's verdict: `fail` explains a stuck join, `warn` may, `ok` rules a cause out, `skip` could not be checked. */
export type Verdict = "ok" | "warn" | "fail" | "skip";

/** The causes the diagnosis checks, most likely first when several fail (see {@link CHECK_ORDER}). */
export type CheckId =
    | "preflight"
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

/** Order of likelihood: a refused combination or a wrong secret first, the clock last (it does not stop Ready). */
export const CHECK_ORDER: CheckId[] = [
    "preflight",
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
    /** 4.x: ks-core chart objects on the member that Helm will not adopt (kubeClient.ts readKsCoreConflicts); undefined when not read. */
    ksCoreConflicts?: string[];
    now?: Date;
}

export interface Diagnosis {
    member: string;
    /** Every check, in {@link CHECK_ORDER}. */
    findings: Finding[];
    /** The most likely cause: the first failing check in {@link CHECK_ORDER}; undefined when no check fails. */
    cause?: Finding;
}

function finding(check: CheckId, verdict: Verdict, evidence: string, fix?: string): Finding {
    return {
        check,
        title: CHECK_TITLES[check],
        verdict,
        evidence,
        ...(fix !== undefined && verdict !== "ok" && verdict !== "skip" ? { fix } : {}),
    };
}

/** The member's jwtSecret and role against the host's (docs/kubesphere.md §4.4): compared, never printed. */
export function checkJwtSecret(facts: DiagnosisFacts): Finding {
    const hostSecret = facts.host?.facts.config?.jwtSecret;
    const member = facts.memberFacts;
    if (member === undefined)
        return finding(
            "jwtSecret",
            "skip",
            `the member was not read${facts.memberProblem ? ` (${facts.memberProblem})` : ""}`,
        );
    if (hostSecret === undefined) return finding("jwtSecret", "skip", "the host's kubesphere-config was not read");
    const config = member.config;
    if (config === undefined) {
        if (facts.hostMajor === "v4")
            return finding(
                "jwtSecret",
                "skip",
                "the member has no kubesphere-config yet (the host installs ks-core on it)",
            );
        return finding(
            "jwtSecret",
            "fail",
            `the member's ConfigMap kubesphere-system/kubesphere-config has no readable kubesphere.yaml${member.configProblem ? ` (${member.configProblem})` : ""}`,
            `check the member's installer: kubectl -n kubesphere-system logs -l app=ks-install --tail=200`,
        );
    }
    const problems: string[] = [];
    // 3.x before the program's patch: nothing of the host's is there yet, and `pulumi up` sets it.
    if (
        facts.hostMajor === "v3" &&
        facts.cluster === undefined &&
        member.installer !== undefined &&
        member.installer.jwtSecret !== hostSecret
    ) {
        return finding(
            "jwtSecret",
            "skip",
            "not joined yet: the member's ks-installer does not have the host's jwtSecret, `pulumi up` sets it",
        );
    }
    if (config.jwtSecret !== hostSecret) {
        const installerHasIt = member.installer?.jwtSecret === hostSecret;
        problems.push(
            `the jwtSecret in its kubesphere-config differs from host "${facts.host!.name}"'s` +
                (facts.hostMajor === "v3"
                    ? installerHasIt
                        ? " (its ks-installer spec has the host's: the installer has not applied it)"
                        : " (its ks-installer spec does not have the host's either)"
                    : ""),
        );
    }
    // 3.1/3.2 render no role on members (docs/kubesphere.md §9); 3.3+ and 4.x do.
    if (config.clusterRole !== undefined && config.clusterRole !== "member")
        problems.push(`its kubesphere-config says clusterRole: ${config.clusterRole}, not member`);
    if (problems.length === 0)
        return finding(
            "jwtSecret",
            "ok",
            "the member's kubesphere-config has the host's jwtSecret" +
                (config.clusterRole ? " and clusterRole: member" : ""),
        );
    const installerHasIt = member.installer?.jwtSecret === hostSecret && member.installer?.clusterRole === "member";
    const fix =
        facts.hostMajor === "v3"
            ? installerHasIt
                ? `the member's ks-installer renders kubesphere-config from its spec, which has the host's settings: re-run it (kubectl -n kubesphere-system rollout restart deploy/ks-installer) ` +
                  `and read its log (kubectl -n kubesphere-system logs -l app=ks-install --tail=200); do not edit kubesphere-config by hand`
                : `run \`pulumi up --refresh\`: it re-applies spec.authentication.jwtSecret and clusterRole: member to the member's ks-installer, which then renders kubesphere-config ` +
                  `(KubeSphere: "hostcluster Jwt is not equal to member cluster jwt")`
            : `the host's controller installs ks-core with its jwtSecret: check the host's ks-controller-manager logs, and \`helm -n kubesphere-system get values ks-core\` on the member`;
    return finding("jwtSecret", "fail", problems.join("; "), fix);
}

/** The kubeconfig KubeSphere got: does its server answer, from the machine running Pulumi (all that can be checked from here). */
export function checkServerReachable(facts: DiagnosisFacts): Finding {
    const probe = facts.importProbe;
    if (probe === undefined) return finding("serverReachable", "skip", "no imported kubeconfig to check yet");
    const where = `${probe.source} points at ${probe.server}`;
    if (probe.reach.ok || !["refused", "timeout", "dns"].includes(probe.reach.kind))
        return finding("serverReachable", "ok", `${where}; it answers from this machine`);
    return finding(
        "serverReachable",
        "fail",
        `${where}, which does not answer from the machine running Pulumi (${probe.reach.detail})`,
        `give KubeSphere an address the host cluster can reach: set ${facts.configKey}.apiServerEndpoint (e.g. the public or load-balancer endpoint), ` +
            `or point ${facts.configKey}.kubeconfig at a kubeconfig with such a server`,
    );
}

/** The server certificate covers the server name of the imported kubeconfig, and is signed by its CA. */
export function checkServerCertificate(facts: DiagnosisFacts): Finding {
    const probe = facts.importProbe;
    if (probe === undefined || (!probe.reach.ok && ["refused", "timeout", "dns"].includes(probe.reach.kind))) {
        return finding(
            "serverCertificate",
            "skip",
            probe === undefined ? "no imported kubeconfig to check yet" : "the server did not answer",
        );
    }
    if (probe.insecure)
        return finding(
            "serverCertificate",
            "warn",
            `${probe.source} skips server certificate verification (insecure-skip-tls-verify)`,
            "use the cluster's CA (certificate-authority-data) instead",
        );
    if (probe.reach.ok || !["san", "ca", "tls"].includes(probe.reach.kind))
        return finding(
            "serverCertificate",
            "ok",
            `the certificate of ${probe.server} is valid for that name and signed by the kubeconfig's CA`,
        );
    const host = safeHostname(probe.server);
    return finding(
        "serverCertificate",
        "fail",
        `TLS to ${probe.server} fails: ${probe.reach.detail}`,
        probe.reach.kind === "san"
            ? `use a server name that is in the API server certificate's SANs (kubeadm: kubeadm certs renew apiserver with --apiserver-cert-extra-sans=${host}), or set ${facts.configKey}.apiServerEndpoint to an address the certificate covers`
            : `put the CA that signed the API server's certificate into ${facts.configKey}.kubeconfig (certificate-authority-data)`,
    );
}

/** The client certificate of the imported kubeconfig: expired, or expiring (KubeSphere flags 7 days). */
export function checkClientCertificateFinding(facts: DiagnosisFacts): Finding {
    if (facts.importKubeconfig === undefined)
        return finding("clientCertificate", "skip", "no imported kubeconfig to check yet");
    const verdict = checkClientCertificate(facts.importKubeconfig, facts.now);
    const days = clientCertificateDaysLeft(facts.importKubeconfig, facts.now);
    const rejected =
        facts.importProbe !== undefined &&
        !facts.importProbe.reach.ok &&
        facts.importProbe.reach.kind === "unauthorized";
    if (verdict.level === "ok") {
        return finding(
            "clientCertificate",
            "ok",
            days === undefined ? "no client certificate (token or other credential)" : `valid for ${days} more day(s)`,
        );
    }
    return finding(
        "clientCertificate",
        verdict.level === "error" ? "fail" : "warn",
        `the client certificate: ${verdict.message.replace(/^its client certificate /, "")}` +
            (rejected ? "; the API server rejects it (HTTP 401)" : ""),
        `renew the certificate and update ${facts.configKey}.kubeconfig, or set ${facts.configKey}.credentials: serviceAccount`,
    );
}

/** What the identity in the imported kubeconfig may do: accepted at all (401), and the reads KubeSphere needs. */
export function checkRights(facts: DiagnosisFacts): Finding {
    const probe = facts.importProbe;
    if (probe === undefined) return finding("rights", "skip", "no imported kubeconfig to check yet");
    if (!probe.reach.ok && probe.reach.kind === "unauthorized") {
        return finding(
            "rights",
            "fail",
            `the API server rejects the credentials of ${probe.source} (${probe.reach.detail})`,
            `give ${facts.configKey}.kubeconfig a valid token or certificate (or set ${facts.configKey}.credentials: serviceAccount)`,
        );
    }
    if (probe.access === undefined) return finding("rights", "skip", "the server did not answer");
    const denied = probe.access.filter((check) => !check.allowed).map((check) => check.what);
    if (denied.length === 0)
        return finding("rights", "ok", `allowed: ${probe.access.map((check) => check.what).join(", ")}`);
    return finding(
        "rights",
        "fail",
        `the identity in ${probe.source} may not ${denied.join(", ")} (SelfSubjectAccessReview)`,
        `KubeSphere manages the whole member: bind that identity to cluster-admin on the member (kubectl create clusterrolebinding … --clusterrole=cluster-admin), ` +
            `or set ${facts.configKey}.credentials: serviceAccount (the program creates such a ServiceAccount)`,
    );
}

/** docs/kubesphere.md §4.3: the member's ks-apiserver answers through the API server's service proxy (3.x; 4.x: once ks-core runs). */
export function checkKsApiserver(facts: DiagnosisFacts): Finding {
    if (facts.ksApiserverProblem === undefined)
        return finding(
            "ksApiserver",
            "skip",
            facts.hostMajor === "v4" ? "ks-core is not installed on the member yet" : "not checked",
        );
    if (facts.ksApiserverProblem === null)
        return finding("ksApiserver", "ok", "/kapis/version answers through the service proxy");
    // 4.x: Ready needs ks-apiserver's /version through the proxy (docs/kubesphere.md §9), so a Ready Cluster means the host got an answer.
    if (facts.hostMajor === "v4" && condition(facts.cluster, "Ready")?.status === "True")
        return finding("ksApiserver", "ok", "the host reports Ready, which needs ks-apiserver's answer (4.x)");
    return finding(
        "ksApiserver",
        // 3.x: only the console's validation needs it, the controller writes Ready without (docs/kubesphere.md §4); 4.x: Ready needs it.
        facts.hostMajor === "v4" ? "fail" : "warn",
        `/api/v1/namespaces/kubesphere-system/services/:ks-apiserver:/proxy/kapis/version: ${facts.ksApiserverProblem}`,
        `make ks-apiserver run on the member: kubectl -n kubesphere-system get pods,svc,endpoints ks-apiserver (KubeSphere: "please make sure ks-apiserver.kubesphere-system.svc of member cluster is up and running")`,
    );
}

function condition(cluster: ClusterObjectState | undefined, type: string): ClusterCondition | undefined {
    return cluster?.conditions.find((candidate) => candidate.type === type);
}

/** Agent (proxy) members: the tower agent connected (`Initialized`, `AgentAvailable`), from the Cluster's status only. */
export function checkAgent(facts: DiagnosisFacts): Finding {
    const cluster = facts.cluster;
    if (cluster === undefined || cluster.connectionType !== "proxy")
        return finding(
            "agent",
            "skip",
            cluster === undefined ? "no Cluster on the host yet" : "direct connection: no agent",
        );
    const available = condition(cluster, "AgentAvailable");
    const initialized = condition(cluster, "Initialized");
    if (available?.status === "True")
        return finding("agent", "ok", `AgentAvailable=True${available.message ? ` (${available.message})` : ""}`);
    const evidence =
        available === undefined
            ? `the Cluster has connection.type: proxy and no AgentAvailable condition${initialized ? ` (Initialized=${initialized.status}${initialized.message ? `: ${initialized.message}` : ""})` : " (not Initialized either)"}: the agent never connected`
            : `AgentAvailable=${available.status}${available.message ? `: ${available.message}` : ""}${available.reason ? ` (${available.reason})` : ""}: the agent is not connected`;
    return finding(
        "agent",
        "fail",
        evidence,
        `install or fix the cluster-agent on the member (kubectl -n kubesphere-system get pods -l app=agent; logs: kubectl -n kubesphere-system logs -l app=agent), ` +
            `and check it can reach the host's tower service (kubectl -n kubesphere-system get svc tower on the host)`,
    );
}

/**
 * 4.x: the host's ks-core install on the member (KSCoreReady; no condition after a failed install, docs/kubesphere.md
 * §9). Objects of the chart that exist on the member without Helm's ownership metadata make every install fail
 * ("invalid ownership metadata"): named before the Cluster exists (the pre-flight refuses) and after.
 */
export function checkKsCore(facts: DiagnosisFacts): Finding {
    if (facts.hostMajor !== "v4") return finding("ksCore", "skip", "KubeSphere 3.x: no ks-core install");
    const cluster = facts.cluster;
    const ready = condition(cluster, "KSCoreReady");
    if (ready?.status === "True")
        return finding("ksCore", "ok", `KSCoreReady=True${ready.message ? ` (${ready.message})` : ""}`);
    const conflicts = facts.ksCoreConflicts ?? [];
    if (conflicts.length > 0) {
        return finding(
            "ksCore",
            "fail",
            `${cluster === undefined ? "" : `the Cluster has ${ready === undefined ? "no KSCoreReady condition" : `KSCoreReady=${ready.status}`}: `}` +
                `on the member, ${conflicts.join(", ")} exist(s) without Helm's ownership metadata for release ks-core, ` +
                `so Helm refuses to adopt it and the host's ks-core install fails ("invalid ownership metadata")`,
            `delete ${conflicts.length === 1 ? "it" : "them"} on the member (the ks-core chart creates ${conflicts.length === 1 ? "it" : "them"}), or, to keep ${conflicts.length === 1 ? "it" : "them"}, ` +
                `label app.kubernetes.io/managed-by=Helm and annotate meta.helm.sh/release-name=ks-core meta.helm.sh/release-namespace=kubesphere-system`,
        );
    }
    if (cluster === undefined) return finding("ksCore", "skip", "no Cluster on the host yet");
    return finding(
        "ksCore",
        "fail",
        ready === undefined
            ? "the Cluster has no KSCoreReady condition: the host has not installed ks-core on the member (a failed install leaves none)"
            : `KSCoreReady=${ready.status}${ready.message ? `: ${ready.message}` : ""}`,
        `read why the install failed in the host's ks-controller-manager log (kubectl -n kubesphere-system logs deploy/ks-controller-manager | grep ${facts.member}), ` +
            `and the member's Helm release (helm -n kubesphere-system status ks-core); check ${facts.configKey}.ksCoreValues`,
    );
}

/** A Go duration as KubeSphere's config holds it (`10s`, `1m30s`, `500ms`), in ms; undefined when it is not one. */
export function parseGoDuration(text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    const trimmed = String(text).trim();
    if (trimmed === "0") return 0;
    const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((part) => part[0]).join("") !== trimmed) return undefined;
    return parts.reduce((sum, part) => sum + Number(part[1]) * units[part[2]], 0);
}

/**
 * Host vs member clock, from the API servers' Date headers (whole seconds, so the estimate is ±1 s plus the request
 * round trips). The member's ks-apiserver rejects a host-issued token whose issue time is later than its own clock plus
 * `authentication.maximumClockSkew` ("jwt: token used before issued", v3.4.1 token/issuer.go), so a host clock ahead
 * of the member's by more than that breaks the console's requests to the member; the Cluster may still be Ready.
 */
export function checkClockSkew(facts: DiagnosisFacts): Finding {
    const clocks = facts.clocks;
    if (clocks === undefined) return finding("clockSkew", "skip", "the clocks were not read");
    const configured = facts.memberFacts?.config?.maximumClockSkew;
    const maximum = parseGoDuration(configured) ?? DEFAULT_MAXIMUM_CLOCK_SKEW_MS;
    const offset = (reading: ClockReading) => reading.serverMs - (reading.sentMs + reading.receivedMs) / 2;
    const skew = offset(clocks.host) - offset(clocks.member);
    const uncertainty =
        1000 + Math.max(clocks.host.receivedMs - clocks.host.sentMs, clocks.member.receivedMs - clocks.member.sentMs);
    const limit = `maximumClockSkew ${configured ?? "10s (KubeSphere's default)"}`;
    const estimate = `the host's clock is ${Math.abs(Math.round(skew / 1000))}s ${skew >= 0 ? "ahead of" : "behind"} the member's (±${Math.ceil(uncertainty / 1000)}s, from the API servers' Date headers)`;
    if (Math.abs(skew) - uncertainty <= maximum) return finding("clockSkew", "ok", `${estimate}; within ${limit}`);
    return finding(
        "clockSkew",
        skew > 0 ? "fail" : "warn",
        `${estimate}, more than the member's ${limit}` +
            (skew > 0
                ? ': the member rejects the host\'s tokens ("jwt: token used before issued")'
                : ": tokens may be taken as expired early"),
        "synchronise both clusters' clocks (NTP/chrony on every node); KubeSphere advises against raising authentication.maximumClockSkew beyond 30s",
    );
}

/** The pre-flight's refusals (versions docs/kubesphere.md §9, ownership, import credentials), reused as they are. */
export function checkPreflight(facts: DiagnosisFacts): Finding {
    const verdict = facts.preflight;
    if (verdict === undefined) return finding("preflight", "skip", facts.memberProblem ?? "not run");
    if (verdict.errors.length > 0) {
        // Each refusal carries its own fix; the first names what to do first.
        const [first, ...rest] = verdict.errors;
        const [evidence, fix] = splitFix(first);
        return finding("preflight", "fail", [evidence, ...rest].join("; "), fix ?? "see the message");
    }
    return finding(
        "preflight",
        verdict.warnings.length > 0 ? "warn" : "ok",
        verdict.warnings.length > 0
            ? verdict.warnings.map((warning) => splitFix(warning)[0]).join("; ")
            : "nothing refused",
        verdict.warnings.length > 0 ? splitFix(verdict.warnings[0])[1] : undefined,
    );
}

function splitFix(message: string): [string, string | undefined] {
    const at = message.indexOf(". Fix: ");
    return at < 0 ? [message, undefined] : [message.slice(0, at), message.slice(at + ". Fix: ".length)];
}

function safeHostname(server: string): string {
    try {
        return new URL(server).hostname;
    } catch {
        return server;
    }
}

/** Runs every check over what was read; the cause is the first failing check in order of likelihood. */
export function diagnose(facts: DiagnosisFacts): Diagnosis {
    const byCheck: Record<CheckId, (facts: DiagnosisFacts) => Finding> = {
        preflight: checkPreflight,
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

/**
 * The error a failed wait raises: the FIRST line names the most likely cause with its evidence and fix, then what the
 * wait saw, then every finding. Without a failing check, the wait's own message comes first.
 */
export function formatDiagnosis(diagnosis: Diagnosis, waitMessage: string): string {
    const prefix = `member "${diagnosis.member}"`;
    const cause = diagnosis.cause;
    const lines =
        cause === undefined
            ? [`${waitMessage} The diagnosis found no cause (no check below failed).`]
            : [`${prefix}: ${cause.title}: ${cause.evidence}. Fix: ${cause.fix}`, `(${waitMessage})`];
    lines.push("Checks:", ...formatFindings(diagnosis.findings).map((line) => `  ${line}`));
    return lines.join("\n");
}

/** One line per finding: `FAIL  title: evidence`. */
export function formatFindings(findings: Finding[]): string[] {
    return findings.map((found) => `${found.verdict.toUpperCase().padEnd(4)}  ${found.title}: ${found.evidence}`);
}

/** The doctor's table: one row per member and check. */
export function formatTable(diagnoses: Array<{ member: string; findings: Finding[] }>): string {
    const rows = diagnoses.flatMap((diagnosis) =>
        diagnosis.findings.map((found) => [
            diagnosis.member,
            found.title,
            found.verdict.toUpperCase(),
            found.evidence + (found.fix ? ` Fix: ${found.fix}` : ""),
        ]),
    );
    const header = ["MEMBER", "CHECK", "VERDICT", "EVIDENCE"];
    const widths = [0, 1, 2].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
    const format = (row: string[]) =>
        row
            .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell))
            .join("  ")
            .trimEnd();
    return [format(header), ...rows.map(format)].join("\n");
}

/** What the reader needs to know about one member (the rest it reads). */
export interface DiagnosisInput {
    member: string;
    configKey: string;
    hostMajor: "v3" | "v4";
    hostName: string;
    /** The kubeconfig Pulumi uses for the member (secret). */
    memberKubeconfig: ParsedKubeconfig;
    /** The host's kubeconfig (secret); undefined for a host from another stack (host checks are skipped). */
    hostKubeconfig?: ParsedKubeconfig;
    credentials: ImportCredentials;
    /** The kubeconfig the program will import, when known before the Cluster exists (secret). */
    importKubeconfig?: ParsedKubeconfig;
    otherMembers?: FleetMember[];
    /** Facts already read this run (the pre-flight's), so they are not read twice. */
    known?: { memberFacts?: ClusterFacts; host?: HostFacts; ksApiserverProblem?: string | null };
    /** Skip the Cluster object (previews: it may not exist, and the program's own kubeconfig is probed instead). */
    withoutCluster?: boolean;
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
                        access.readClusterFacts(input.hostName, input.hostKubeconfig),
                        access.listImportedClusters(input.hostKubeconfig),
                    ]).then(([facts, clusters]) => ({
                        name: input.hostName,
                        facts,
                        clusters,
                    })),
                );
    const clusterRead =
        input.withoutCluster || input.hostKubeconfig === undefined
            ? Promise.resolve(undefined)
            : orUndefined(access.readClusterObject(input.hostKubeconfig, input.member));
    const clocksRead =
        input.hostKubeconfig === undefined
            ? Promise.resolve(undefined)
            : orUndefined(
                  Promise.all([access.readClock(input.hostKubeconfig), access.readClock(input.memberKubeconfig)]).then(
                      ([host, member]) => ({ host, member }),
                  ),
              );
    const [member, host, cluster, clocks] = await Promise.all([memberRead, hostRead, clusterRead, clocksRead]);

    // 3.x: ks-installer runs ks-apiserver; 4.x: only once the host reports ks-core installed.
    const ksCoreInstalled =
        cluster?.conditions.some((found) => found.type === "KSCoreReady" && found.status === "True") === true;
    const ksCoreConflicts =
        input.hostMajor === "v4" && !ksCoreInstalled
            ? await access.readKsCoreConflicts(input.memberKubeconfig).catch(() => undefined)
            : undefined;
    const ksApiserverProblem =
        input.known?.ksApiserverProblem !== undefined
            ? input.known.ksApiserverProblem
            : (input.hostMajor === "v3" && member.facts?.installer !== undefined) ||
                (input.hostMajor === "v4" && ksCoreInstalled)
              ? ((await access.probeKsApiserver(input.memberKubeconfig)) ?? null)
              : undefined;
    // A proxy Cluster's kubeconfig is tower's, pointing at a host-internal Service (agent notes §2): not probed from here.
    const importKubeconfig =
        cluster?.connectionType === "proxy" ? undefined : (cluster?.kubeconfig ?? input.importKubeconfig);
    const source =
        cluster?.kubeconfig !== undefined
            ? "the Cluster's spec.connection.kubeconfig"
            : "the kubeconfig the program will import";
    const importProbe =
        importKubeconfig === undefined ? undefined : await access.probeImportKubeconfig(importKubeconfig, source);
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
    };
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
export function readyChecksBeforeJoin(diagnosis: Diagnosis): { errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const found of diagnosis.findings.filter((candidate) => BEFORE_JOIN_CHECKS.includes(candidate.check))) {
        if (found.verdict !== "fail" && found.verdict !== "warn") continue;
        const text = `member "${diagnosis.member}": ${found.title}: ${found.evidence}. Fix: ${found.fix}`;
        (found.verdict === "fail" && REFUSED_BEFORE_JOIN.includes(found.check) ? errors : warnings).push(text);
    }
    return { errors, warnings };
}
