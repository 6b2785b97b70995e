/**
 * Pre-flight checks before a member is touched, mirroring what KubeSphere's console validates before it creates a
 * Cluster (API notes §4) — creating the object directly skips that validation, so the program does it. The verdicts
 * are pure; the reads are injected. They run in previews too: they only read.
 */
import { checkClientCertificate } from "./importCredentials";

/** What the member says about itself. */
export interface MemberFacts {
    /** UID of the member's kube-system namespace: KubeSphere's identity of a cluster. */
    kubeSystemUid: string;
    /** Whether ClusterConfiguration kubesphere-system/ks-installer exists (KubeSphere 3.x is installed). */
    installerExists: boolean;
}

/** A Cluster object already on the host. */
export interface ImportedCluster {
    name: string;
    /** status.uid: the imported cluster's kube-system UID, once KubeSphere has connected to it. */
    uid?: string;
}

export interface PreflightInput {
    member: string;
    configKey: string;
    facts: MemberFacts;
    /** Whether the member must have ks-installer (KubeSphere 3.x hosts). */
    requireInstaller: boolean;
    /** What the host knows; undefined when the host's kubeconfig is not available (host from another stack). */
    host?: { name: string; kubeSystemUid: string; clusters: ImportedCluster[] };
    /** The kubeconfig KubeSphere will get (secret; only its certificate is inspected); undefined when not known yet. */
    importKubeconfig?: string;
    now?: Date;
}

export interface PreflightVerdict {
    errors: string[];
    warnings: string[];
}

/** Every problem that would make the import fail or go wrong, each with its fix. */
export function preflightVerdict(input: PreflightInput): PreflightVerdict {
    const errors: string[] = [];
    const warnings: string[] = [];
    const prefix = `member "${input.member}"`;
    if (input.requireInstaller && !input.facts.installerExists) {
        errors.push(
            `KubeSphere is not installed on ${prefix}: ClusterConfiguration kubesphere-system/ks-installer was not found. ` +
                `Fix: install KubeSphere 3.x on the member first, or point ${input.configKey}.kubeconfig at the right cluster ` +
                `(a patch would otherwise create a bare ks-installer that nothing acts on)`,
        );
    }
    if (input.host !== undefined) {
        if (input.facts.kubeSystemUid === input.host.kubeSystemUid) {
            errors.push(
                `${prefix} is the host cluster "${input.host.name}" itself (same kube-system namespace UID). ` +
                    `Fix: point ${input.configKey}.kubeconfig at the member cluster`,
            );
        }
        const twin = input.host.clusters.find((cluster) => cluster.name !== input.member && cluster.uid === input.facts.kubeSystemUid);
        if (twin !== undefined) {
            errors.push(
                `${prefix} is already imported on the host as Cluster "${twin.name}" (same kube-system namespace UID; KubeSphere: ` +
                    `"MUST not import the same cluster twice"). Fix: keep one of the two entries, or delete the stale Cluster on the host ` +
                    `(kubectl delete clusters.cluster.kubesphere.io ${twin.name})`,
            );
        }
    }
    const certificate = input.importKubeconfig === undefined ? { level: "ok" as const } : checkClientCertificate(input.importKubeconfig, input.now);
    if (certificate.level !== "ok") {
        const text = `the kubeconfig KubeSphere gets for ${prefix}: ${certificate.message}. Fix: renew it, or set ${input.configKey}.credentials: serviceAccount`;
        (certificate.level === "error" ? errors : warnings).push(text);
    }
    return { errors, warnings };
}
