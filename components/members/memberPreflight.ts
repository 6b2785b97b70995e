/**
 * Pre-flight checks before a member is touched, mirroring what KubeSphere's console validates before it creates a
 * Cluster (docs/kubesphere.md §4) — creating the object directly skips that validation, so the program does it — and the
 * version differences of docs/kubesphere.md §9. The verdicts are pure; the reads are injected. They run in previews too: they only read.
 * Secrets: jwtSecrets are compared, never quoted.
 */
import type { ImportCredentials } from "../config/configSchema";
import {
    checkClientCertificate,
    clientCertificateDaysLeft,
    hasClientCertificate,
} from "../kubernetes/clientCertificate";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { ClusterFacts, FleetMember, hostEntryOf, HostFacts, hostRoleEvidence, installOf } from "../kubesphere/facts";
import { STACK_ANNOTATION } from "../kubesphere/kubesphereObjects";
import {
    describeInstall,
    failsWithoutClientCertificate,
    FIXED_HOST_ENTRY_NAME,
    hasHostClusterNameOption,
    KubesphereInstall,
    oauthOptionsReplaceMemberDefault,
} from "../kubesphere/kubesphereVersion";

export interface PreflightInput {
    member: string;
    configKey: string;
    /** The host's KubeSphere major version as the program runs it. */
    hostMajor: "v3" | "v4";
    facts: ClusterFacts;
    /** What the host knows; undefined when the host's kubeconfig is not available (host from another stack). */
    host?: HostFacts;
    /** The other members of the same config. Default: none. */
    otherMembers?: FleetMember[];
    /** What KubeSphere authenticates with. */
    credentials: ImportCredentials;
    /**
     * The kubeconfig KubeSphere will get (secret; only its user's kind and certificate are inspected), for
     * `credentials: kubeconfig`; undefined otherwise or when not known yet.
     */
    importKubeconfig?: ParsedKubeconfig;
    /** 3.x: why the member's ks-apiserver did not answer through the service proxy (docs/kubesphere.md §4.3); undefined when it did. */
    ksApiserverProblem?: string;
    /**
     * This Pulumi stack (`<organization>/<project>/<stack>`), which the program writes on the Clusters it creates: a
     * Cluster of the member's name that another stack created is refused. Undefined: no such check.
     */
    stack?: string;
    now?: Date;
}

export interface PreflightVerdict {
    errors: string[];
    warnings: string[];
    /** The member's KubeSphere as found. */
    install: KubesphereInstall;
}

/**
 * A Cluster of the member's name that another stack created (its {@link ImportedCluster.stack} mark is not this stack):
 * two member stacks listing the same member would otherwise collide only at Kubernetes' "already exists", after changes.
 * KubeSphere's own host entry is left to the host-entry check.
 */
function otherStackClaims(input: CrossStackInput, host: HostFacts): string[] {
    const claimed = host.clusters.find((cluster) => cluster.name === input.member && !cluster.isHostEntry);
    if (input.stack === undefined || claimed?.stack === undefined || claimed.stack === input.stack) return [];
    return [
        `member "${input.member}" (${input.configKey}) belongs to another stack: host "${host.name}" already has its Cluster ` +
            `"${input.member}", created by stack ${claimed.stack} (annotation ${STACK_ANNOTATION}), not by this stack ${input.stack}. ` +
            `Fix: keep each member in one stack: remove ${input.configKey} from this stack's config (or the member from stack ` +
            `${claimed.stack}, then its \`pulumi up\`); if stack ${claimed.stack} was renamed to this one, remove the mark ` +
            `(kubectl annotate clusters.cluster.kubesphere.io ${input.member} ${STACK_ANNOTATION}-)`,
    ];
}

/** What the checks between stacks look at: the member, this stack, and the host's Clusters. */
export interface CrossStackInput {
    member: string;
    configKey: string;
    /** This stack (PreflightInput.stack); undefined: no stack check. */
    stack?: string;
    /** The member's kube-system namespace UID. */
    kubeSystemUid: string;
    host: HostFacts;
}

/**
 * The refusals that depend on what other stacks did on the host: the same cluster already imported under another
 * name, and a Cluster of the member's name made by another stack. Part of the pre-flight, and run again under the
 * join lease (joinLease.ts) on a fresh list of the host's Clusters, where a stack racing this one shows.
 */
export function crossStackErrors(input: CrossStackInput): string[] {
    const errors: string[] = [];
    const twin = input.host.clusters.find(
        (cluster) => cluster.name !== input.member && cluster.uid === input.kubeSystemUid,
    );
    if (twin !== undefined) {
        const otherStack = twin.stack !== undefined && twin.stack !== input.stack ? twin.stack : undefined;
        errors.push(
            `member "${input.member}" is already imported on the host as Cluster "${twin.name}"${otherStack === undefined ? "" : `, which stack ${otherStack} manages`} ` +
                `(same kube-system namespace UID; KubeSphere: "MUST not import the same cluster twice"). Fix: keep one of the two entries` +
                (otherStack === undefined
                    ? `, or delete the stale Cluster on the host (kubectl delete clusters.cluster.kubesphere.io ${twin.name})`
                    : ` (remove ${input.configKey} from this stack's config, or member "${twin.name}" from stack ${otherStack})`),
        );
    }
    errors.push(...otherStackClaims(input, input.host));
    return errors;
}

/**
 * A Cluster of the member's name without the stack mark: made before the program wrote it (then this stack's `up` adds it,
 * one in-place update), or by hand (then the create fails with "already exists"). Which one cannot be told from the host.
 */
function unmarkedClaims(input: PreflightInput, host: HostFacts): string[] {
    const claimed = host.clusters.find((cluster) => cluster.name === input.member && !cluster.isHostEntry);
    if (input.stack === undefined || claimed === undefined || claimed.stack !== undefined) return [];
    return [
        `member "${input.member}": host "${host.name}" already has a Cluster "${input.member}" without the program's stack mark ` +
            `(annotation ${STACK_ANNOTATION}): if this stack created it (before the mark existed), \`pulumi up\` adds the mark; if another ` +
            `stack or the console did, creating it fails with "already exists". Fix: in that case remove ${input.configKey} from this ` +
            `stack's config, or delete that Cluster first (kubectl delete clusters.cluster.kubesphere.io ${input.member})`,
    ];
}

/** Every problem that would make the import fail or go wrong, each naming the member, what was found and the fix. */
export function preflightVerdict(input: PreflightInput): PreflightVerdict {
    const errors: string[] = [];
    const warnings: string[] = [];
    const prefix = `member "${input.member}"`;
    const facts = input.facts;
    const install = installOf(facts);
    const host = input.host;
    const hostInstall = host === undefined ? undefined : installOf(host.facts, host.clusters);
    const hostLabel = host === undefined ? "" : `host "${host.name}" (KubeSphere ${describeInstall(hostInstall!)})`;

    if (input.hostMajor === "v3") {
        // The member's patch targets ks-installer: without it (even if a kubesphere-config is left) the patch would
        // create a bare ClusterConfiguration that no installer acts on.
        if (install.kind === "none" || (install.kind === "v3" && facts.installer === undefined)) {
            errors.push(
                `KubeSphere is not installed on ${prefix}: ClusterConfiguration kubesphere-system/ks-installer was not found. ` +
                    `Fix: install KubeSphere 3.x on the member first, or point ${input.configKey}.kubeconfig at the right cluster ` +
                    `(a patch would otherwise create a bare ks-installer that nothing acts on)`,
            );
        } else if (install.kind === "v4") {
            errors.push(
                `${prefix} runs KubeSphere 4.x (ks-core, no ks-installer), but the host runs KubeSphere 3.x: a 3.x host cannot import a 4.x ` +
                    `member. Fix: join it to a 4.x host, or point ${input.configKey}.kubeconfig at a KubeSphere 3.x cluster`,
            );
        }
    }

    if (input.hostMajor === "v4" && install.kind === "v3") {
        // v4.1.3 helper.go installKSCoreInMemberCluster: `helm upgrade` of the member's "ks-core" release (ks-installer
        // v3.4.1 installs ks-core with Helm) to the 4.x chart with upgrade.enabled false (no 3.x→4.x migration), while
        // ks-installer keeps rendering its own kubesphere-config, which the 4.x chart also renders.
        errors.push(
            `${prefix} runs KubeSphere ${describeInstall(install)} (ks-installer found), but ${hostLabel || "the host"} runs KubeSphere 4.x: a 4.x host ` +
                `Helm-installs ks-core 4.x on its members, and on a 3.x member that would upgrade its ks-core release to 4.x without ` +
                `KubeSphere's 3.x→4.x migration while ks-installer keeps managing the 3.x install (kubesphere-config among others). ` +
                `Fix: upgrade the member to KubeSphere 4.x by KubeSphere's upgrade procedure (or uninstall KubeSphere 3.x from it) first, ` +
                `join it to a 3.x host, or point ${input.configKey}.kubeconfig at another cluster`,
        );
    }

    // ks-installer v3.1.1's template: `if authentication.oauthOptions is defined` (rendered as it is) wins over the
    // member's `accessTokenMaxAge: 0` (3.2+ swap the order), and 0 is what the program waits for on 3.1/3.2 members.
    const memberRelease = install.kind === "v3" ? install.release : undefined;
    if (
        input.hostMajor === "v3" &&
        oauthOptionsReplaceMemberDefault(memberRelease) &&
        facts.installer !== undefined &&
        "oauthOptionsAccessTokenMaxAge" in facts.installer &&
        facts.installer.oauthOptionsAccessTokenMaxAge !== 0
    ) {
        errors.push(
            `${prefix} runs KubeSphere ${describeInstall(install)}, whose ks-installer has spec.authentication.oauthOptions ` +
                `(accessTokenMaxAge ${JSON.stringify(facts.installer.oauthOptionsAccessTokenMaxAge)}): KubeSphere 3.1 renders those options ` +
                `instead of the accessTokenMaxAge: 0 a member gets, so its kubesphere-config would never show it as a member. Fix: add ` +
                `accessTokenMaxAge: 0 to spec.authentication.oauthOptions of its ks-installer (kubectl -n kubesphere-system edit cc ks-installer), or remove oauthOptions`,
        );
    }

    const hostEntryName =
        host === undefined
            ? undefined
            : (hostEntryOf(host.clusters)?.name ??
              (hostInstall?.kind === "v3" && !hasHostClusterNameOption(hostInstall.release)
                  ? FIXED_HOST_ENTRY_NAME
                  : undefined));
    if (hostEntryName !== undefined && hostEntryName === input.member) {
        errors.push(
            `${prefix} has the name of KubeSphere's own host Cluster entry "${hostEntryName}" on ${hostLabel}: its Cluster would be that ` +
                `entry. Fix: rename ${input.configKey}.name`,
        );
    }

    const hostEvidence = hostRoleEvidence(facts);
    const isHostItself = host !== undefined && facts.kubeSystemUid === host.facts.kubeSystemUid;
    if (isHostItself) {
        errors.push(
            `${prefix} is the host cluster "${host!.name}" itself (same kube-system namespace UID). ` +
                `Fix: point ${input.configKey}.kubeconfig at the member cluster`,
        );
    } else if (hostEvidence !== undefined) {
        errors.push(
            `${prefix} is a KubeSphere host itself (KubeSphere ${describeInstall(install)}; ${hostEvidence}): making it a member ` +
                `would take it from the federation it hosts. Fix: point ${input.configKey}.kubeconfig at the right cluster; if it hosts ` +
                `no members and should join, set its role to member (3.x: kubectl -n kubesphere-system edit cc ks-installer, ` +
                `spec.multicluster.clusterRole: none) first`,
        );
    }

    for (const twin of (input.otherMembers ?? []).filter(
        (other) => other.kubeSystemUid !== undefined && other.kubeSystemUid === facts.kubeSystemUid,
    )) {
        errors.push(
            `${prefix} (${input.configKey}) and member "${twin.name}" (${twin.configKey}) are the same cluster (same kube-system namespace UID; ` +
                `KubeSphere: "MUST not import the same cluster twice"). Fix: remove one of the two entries`,
        );
    }

    if (host !== undefined && !isHostItself) {
        errors.push(...crossStackErrors({ ...input, kubeSystemUid: facts.kubeSystemUid, host }));
        warnings.push(...unmarkedClaims(input, host));
        const managedBy = facts.kubesphereNamespace?.hostCluster;
        const hostName = hostEntryOf(host.clusters)?.name ?? host.name;
        if (input.hostMajor === "v4" && managedBy !== undefined && managedBy !== "" && managedBy !== hostName) {
            errors.push(
                `${prefix} is managed by another host: its kubesphere-system namespace has cluster.kubesphere.io/host-cluster: ` +
                    `"${managedBy}", this host is "${hostName}" (KubeSphere: "current cluster is managed by another host cluster"). ` +
                    `Fix: remove it from host "${managedBy}" first (delete its Cluster there), or point ${input.configKey}.kubeconfig at the right cluster`,
            );
        }
        const ownCluster = host.clusters.some((cluster) => cluster.name === input.member);
        const hostJwtSecret = host.facts.config?.jwtSecret;
        if (
            input.hostMajor === "v3" &&
            !ownCluster &&
            facts.installer?.clusterRole === "member" &&
            facts.installer.jwtSecret !== undefined &&
            hostJwtSecret !== undefined &&
            facts.installer.jwtSecret !== hostJwtSecret
        ) {
            warnings.push(
                `${prefix} already is a member of another host: its ks-installer has clusterRole: member with a jwtSecret that is not ` +
                    `host "${host.name}"'s, and this host has no Cluster for it yet; joining gives it this host's jwtSecret and the other ` +
                    `host loses it. Fix: if it belongs to another federation, remove it there first or take ${input.configKey} out of this config`,
            );
        }
    }

    // KubeSphere 3.3.0–3.3.2 (docs/kubesphere.md §9): the controller's certificate-expiry step fails with "empty CertData" before it
    // writes any status, so a Cluster whose kubeconfig has no client certificate never becomes Ready.
    const hostRelease = hostInstall !== undefined && hostInstall.kind !== "none" ? hostInstall.release : undefined;
    if (input.hostMajor === "v3" && failsWithoutClientCertificate(hostRelease)) {
        const withoutCertificate =
            input.credentials === "serviceAccount"
                ? `${input.configKey}.credentials is serviceAccount (a token kubeconfig)`
                : input.importKubeconfig !== undefined && !hasClientCertificate(input.importKubeconfig)
                  ? "its kubeconfig authenticates without a client certificate (e.g. a token)"
                  : undefined;
        if (withoutCertificate !== undefined) {
            errors.push(
                `${prefix} cannot join ${hostLabel}: ${withoutCertificate}, and KubeSphere 3.3.0–3.3.2 never reports Ready for a Cluster ` +
                    `whose kubeconfig has no client certificate ("empty CertData", KubeSphere issues 5395 and 5664). Fix: give ` +
                    `${input.configKey}.kubeconfig a client-certificate user with credentials: kubeconfig, or upgrade the host to KubeSphere 3.4`,
            );
        }
    }

    if (input.hostMajor === "v3" && install.kind === "v3" && input.ksApiserverProblem !== undefined) {
        warnings.push(
            `${prefix}: its ks-apiserver does not answer through the API server's service proxy ` +
                `(/api/v1/namespaces/kubesphere-system/services/:ks-apiserver:/proxy/kapis/version: ${input.ksApiserverProblem}); KubeSphere's ` +
                `console would refuse the import ("please make sure ks-apiserver.kubesphere-system.svc of member cluster is up and running"). ` +
                `Fix: kubectl -n kubesphere-system get pods,svc,endpoints ks-apiserver on the member`,
        );
    }

    if (input.importKubeconfig !== undefined) {
        const certificate = checkClientCertificate(input.importKubeconfig, input.now);
        const daysLeft = clientCertificateDaysLeft(input.importKubeconfig, input.now);
        if (input.hostMajor === "v4" && daysLeft !== undefined && daysLeft >= 0) {
            // 4.x renews a certificate with ≤ 7 days left inside the Cluster (docs/kubesphere.md §9); the program then keeps KubeSphere's
            // (memberCluster.ts keepingKubeSphereRenewal), but Pulumi itself keeps using this certificate.
            const text =
                `${prefix}: KubeSphere 4.x renews the client certificate of an imported kubeconfig in place when 7 days or less are ` +
                `left (its certificate has ${daysLeft} day(s)); the program then keeps KubeSphere's renewed kubeconfig in the Cluster, ` +
                `but Pulumi itself goes on using this one, which ${daysLeft <= 7 ? "is about to expire" : "will expire"}. Fix: set ` +
                `${input.configKey}.credentials: serviceAccount (the default on 4.x for certificate kubeconfigs), or renew the certificate`;
            (daysLeft <= 7 ? errors : warnings).push(text);
        } else if (certificate.level !== "ok") {
            const text = `the kubeconfig KubeSphere gets for ${prefix}: ${certificate.message}. Fix: renew it, or set ${input.configKey}.credentials: serviceAccount`;
            (certificate.level === "error" ? errors : warnings).push(text);
        }
    }
    return { errors, warnings, install };
}
