/**
 * A kubeconfig's client certificate: whether it has one, when it expires, and the verdict the pre-flight and the
 * diagnosis give on it.
 */
import { X509Certificate } from "crypto";
import { ParsedKubeconfig } from "./kubeconfig";

/** Whether the user of a kubeconfig carries a client certificate (what 3.3.0–3.3.2 needs, docs/kubesphere.md §9). */
export function hasClientCertificate(kubeconfig: ParsedKubeconfig): boolean {
    return kubeconfig.clientCertificateData !== undefined;
}

/** When the kubeconfig's client certificate expires: undefined without one, null when it is not a certificate. */
export function clientCertificateExpiry(kubeconfig: ParsedKubeconfig): Date | null | undefined {
    const data = kubeconfig.clientCertificateData;
    if (data === undefined) return undefined;
    try {
        return new Date(new X509Certificate(Buffer.from(data, "base64")).validTo);
    } catch {
        return null;
    }
}

/** Whole days left on the kubeconfig's client certificate (negative once expired); undefined without a readable one. */
export function clientCertificateDaysLeft(kubeconfig: ParsedKubeconfig, now: Date = new Date()): number | undefined {
    const expires = clientCertificateExpiry(kubeconfig);
    return expires ? Math.floor((expires.getTime() - now.getTime()) / 86_400_000) : undefined;
}

/** What to do about the client certificate in an imported kubeconfig. */
export type CertificateVerdict = { level: "ok" } | { level: "warn" | "error"; message: string };

/** Minimum remaining validity before we warn: KubeSphere itself flags certificates at seven days. */
export const CERTIFICATE_WARN_DAYS = 30;

/** Checks the client certificate of a kubeconfig (nothing to check for tokens). */
export function checkClientCertificate(kubeconfig: ParsedKubeconfig, now: Date = new Date()): CertificateVerdict {
    const expires = clientCertificateExpiry(kubeconfig);
    if (expires === undefined) return { level: "ok" };
    if (expires === null) return { level: "error", message: "its client-certificate-data is not a PEM certificate" };
    const days = clientCertificateDaysLeft(kubeconfig, now)!;
    if (days < 0) return { level: "error", message: `its client certificate expired on ${expires.toISOString()}` };
    if (days < CERTIFICATE_WARN_DAYS)
        return {
            level: "warn",
            message: `its client certificate expires in ${days} day(s), on ${expires.toISOString()}`,
        };
    return { level: "ok" };
}
