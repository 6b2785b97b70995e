/**
 * The diagnosis checks of KubeSphere itself: the jwtSecret, ks-apiserver, the agent, ks-core (4.x), the CRDs its
 * 3.x federation join needs, and the pre-flight's verdict. Pure functions of the facts (findings.ts).
 */
import {
    KUBEFED_CLUSTER_CRD,
    KUBEFED_FIX,
    missingJoinCrd,
    WORKSPACE_CRD,
    workspaceFix,
} from "../../kubesphere/kubefed";
import type { ClusterCondition } from "../../kubesphere/kubesphereObjects";
import { ClusterObjectState } from "../../kubesphere/reads";
import { DiagnosisFacts, Finding, finding, splitFix } from "./findings";

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

/** A condition of the member's Cluster, by type. */
export function condition(cluster: ClusterObjectState | undefined, type: string): ClusterCondition | undefined {
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

/**
 * 3.x: KubeSphere's own report that its federation join lacks a CRD (docs/kubesphere.md §12): `Federated=False` whose
 * reason names KubeFedCluster (the host has no kubefed) or workspaces (the member's KubeSphere install is broken).
 */
export function checkKubefed(facts: DiagnosisFacts): Finding {
    if (facts.hostMajor !== "v3") return finding("kubefed", "skip", "KubeSphere 4.x: no KubeFed join");
    const federated = condition(facts.cluster, "Federated");
    if (federated === undefined)
        return finding(
            "kubefed",
            "skip",
            facts.cluster === undefined ? "no Cluster on the host yet" : "KubeSphere has not reported Federated yet",
        );
    if (federated.status === "True") return finding("kubefed", "ok", "Federated=True");
    const reported = `KubeSphere reports Federated=False, reason: ${federated.reason ?? "(none)"}`;
    switch (missingJoinCrd(federated.reason)) {
        case "KubeFedCluster":
            return finding(
                "kubefed",
                "fail",
                `${reported}: ${facts.host ? `host "${facts.host.name}"` : "the host"} has no CRD ${KUBEFED_CLUSTER_CRD} (kubefed, which its ks-installer installs with the host role)`,
                KUBEFED_FIX,
            );
        case "Workspace":
            return finding(
                "kubefed",
                "fail",
                `${reported}: member "${facts.member}" has no CRD ${WORKSPACE_CRD} (a broken KubeSphere install)`,
                workspaceFix(facts.member),
            );
        default:
            return finding("kubefed", "ok", `${reported}, which names no missing CRD`);
    }
}
