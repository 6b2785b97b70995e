/**
 * The diagnosis checks of the connection KubeSphere will use: the server answers, its certificate, the client
 * certificate, the rights, the clocks. Pure functions of the facts (findings.ts).
 */
import { checkClientCertificate, clientCertificateDaysLeft } from "../../kubernetes/clientCertificate";
import { ClockReading } from "../../kubesphere/probes";
import { DEFAULT_MAXIMUM_CLOCK_SKEW_MS, DiagnosisFacts, Finding, finding, safeHostname } from "./findings";

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
