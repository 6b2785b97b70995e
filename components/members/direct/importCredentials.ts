import * as yaml from "js-yaml";
import type { ImportCredentials } from "../../config/configSchema";
import { clientCertificateExpiry } from "../../kubernetes/clientCertificate";
import { KubeconfigAuthMethod, ParsedKubeconfig, parseKubeconfig } from "../../kubernetes/kubeconfig";

/**
 * Where the import ServiceAccount lives on the member: kube-system, which exists on every cluster and which nobody
 * deletes. Not kubesphere-system: a bare 4.x member has none until the host installs ks-core there (docs/kubesphere.md §9),
 * and the program must never create, own or delete a namespace KubeSphere installs into.
 */
export const IMPORT_SERVICE_ACCOUNT = { name: "kubesphere-multicluster", namespace: "kube-system" };

/**
 * What KubeSphere authenticates with unless the config says otherwise. Exec plugins and auth-providers cannot run
 * inside KubeSphere ("exec: executable aws not found"). On a 4.x host a client certificate is not imported either:
 * 4.x renews it inside the Cluster when 7 days or less are left (docs/kubesphere.md §9), and a later `pulumi up --refresh` would put
 * the old one back; a ServiceAccount token is left alone.
 */
export function defaultImportCredentials(
    authMethod: KubeconfigAuthMethod,
    hostMajor: "v3" | "v4" = "v3",
): ImportCredentials {
    if (authMethod === "exec" || authMethod === "authProvider") return "serviceAccount";
    if (hostMajor === "v4" && authMethod === "clientCertificate") return "serviceAccount";
    return "kubeconfig";
}

/**
 * Whether the kubeconfig a 4.x host keeps in a member's Cluster is KubeSphere's renewal of the client-certificate
 * kubeconfig we import, which the program then leaves alone instead of putting its own back (docs/kubesphere.md §9, "4.x
 * rewrites the imported kubeconfig"; v4.1.3 kubeconfig.go): it differs from ours, names the same server, and
 * authenticates with a token (what 4.x swaps in for a `system:masters` certificate) or with a client certificate that
 * expires later than ours. A kubeconfig of ours whose certificate expires later than the kept one (the user renewed
 * it) wins again; so does any kubeconfig of ours without a client certificate.
 * @param kept the kubeconfig text in the Cluster, as read from the host
 */
export function isKubeSphereRenewal(ours: ParsedKubeconfig, kept: string | undefined): boolean {
    if (kept === undefined || kept === ours.yaml) return false;
    const ourExpiry = clientCertificateExpiry(ours);
    if (!(ourExpiry instanceof Date)) return false;
    let keptKubeconfig: ParsedKubeconfig;
    try {
        keptKubeconfig = parseKubeconfig(kept);
    } catch {
        return false;
    }
    if (keptKubeconfig.server !== ours.server) return false;
    if (keptKubeconfig.hasToken) return true;
    const keptExpiry = clientCertificateExpiry(keptKubeconfig);
    return keptExpiry instanceof Date && keptExpiry.getTime() > ourExpiry.getTime();
}

/** Name of the token Secret for a credentials revision; a new name per revision is what rotates the token. */
export function importTokenSecretName(revision: number): string {
    return `${IMPORT_SERVICE_ACCOUNT.name}-token-r${revision}`;
}

/**
 * A static ServiceAccount-token kubeconfig for KubeSphere.
 * @param caData base64 PEM of the member's CA: the member kubeconfig's, else the token Secret's `ca.crt`
 */
export function serviceAccountKubeconfig(args: {
    member: string;
    server: string;
    token: string;
    caData?: string;
    insecure?: boolean;
}): string {
    const user = `${IMPORT_SERVICE_ACCOUNT.name}@${args.member}`;
    return yaml.dump(
        {
            apiVersion: "v1",
            kind: "Config",
            "current-context": args.member,
            clusters: [
                {
                    name: args.member,
                    cluster: {
                        server: args.server,
                        ...(args.caData !== undefined ? { "certificate-authority-data": args.caData } : {}),
                        ...(args.insecure ? { "insecure-skip-tls-verify": true } : {}),
                    },
                },
            ],
            contexts: [{ name: args.member, context: { cluster: args.member, user } }],
            users: [{ name: user, user: { token: args.token } }],
        },
        { lineWidth: -1, noRefs: true },
    );
}

/** Why a server address is probably not reachable from the host's pods, or undefined when it looks fine. */
export function unreachableFromHostReason(server: string): string | undefined {
    let host: string;
    try {
        host = new URL(server).hostname.replace(/^\[|\]$/g, "").toLowerCase();
    } catch {
        return `"${server}" is not a URL`;
    }
    if (host === "localhost" || host === "::1" || /^127\./.test(host)) return `${host} is a loopback address`;
    if (host.endsWith(".local"))
        return `${host} is a *.local name (e.g. KubeKey's lb.kubesphere.local), rarely resolvable elsewhere`;
    if (host === "kubernetes.default" || host.startsWith("kubernetes.default.svc"))
        return `${host} is the in-cluster service name of the member's own API`;
    return undefined;
}

/** Problems with what KubeSphere would get for a member: an error stops the import, a warning does not. */
export interface ImportCheck {
    error?: string;
    warning?: string;
}

/**
 * Refuses kubeconfigs KubeSphere cannot use (credential plugins under `credentials: kubeconfig`) and warns about
 * servers its pods probably cannot reach.
 * @param server the server KubeSphere will use: `apiServerEndpoint`, else the kubeconfig's
 */
export function checkImport(args: {
    member: string;
    configKey: string;
    credentials: ImportCredentials;
    authMethod: KubeconfigAuthMethod;
    server: string;
}): ImportCheck {
    const prefix = `member "${args.member}"`;
    if (args.credentials === "kubeconfig" && (args.authMethod === "exec" || args.authMethod === "authProvider")) {
        return {
            error:
                `${prefix}: its kubeconfig authenticates with an ${args.authMethod === "exec" ? "exec plugin" : "auth-provider"}, which KubeSphere ` +
                `cannot run on the host ("exec: executable ... not found"). Fix: set ${args.configKey}.credentials: serviceAccount`,
        };
    }
    const reason = unreachableFromHostReason(args.server);
    if (reason === undefined) return {};
    return {
        warning:
            `${prefix}: KubeSphere will connect to ${args.server}, but ${reason}; the host's pods probably cannot reach it. ` +
            `Fix: set ${args.configKey}.apiServerEndpoint to an address the host can reach (and that is in the API server certificate)`,
    };
}
