/**
 * How KubeSphere's host reaches a member: clients built from the kubeconfig in a Cluster's
 * `spec.connection.kubeconfig`, exactly as given (no credential plugin can run inside KubeSphere's pods, API
 * notes docs/kubesphere.md §5). TEST ONLY. Clients are cached per kubeconfig; nothing here logs a credential.
 */
import {
    CertificatesV1Api,
    CoreV1Api,
    CustomObjectsApi,
    KubeConfig,
    RbacAuthorizationV1Api,
    VersionApi,
} from "@kubernetes/client-node";
import { createHash, X509Certificate } from "crypto";
import * as path from "path";

export interface MemberClients {
    core: CoreV1Api;
    version: VersionApi;
    certificates: CertificatesV1Api;
    custom: CustomObjectsApi;
    rbac: RbacAuthorizationV1Api;
    /** The kubeconfig's server, which KubeSphere copies into spec.connection.kubernetesAPIEndpoint. */
    endpoint: string;
    /** The kubeconfig's CA (base64), the caBundle of the KubeFedCluster a 3.x join writes; undefined without one. */
    caData?: string;
    /**
     * Set when the kubeconfig's user needs a credential plugin (`exec`, or an `auth-provider`): KubeSphere's pods
     * have no such executables, so every request fails before it is sent. The plugin is never run here.
     */
    pluginError?: string;
    /** The current user's name in the kubeconfig, and its client certificate if it has one (CertData). */
    userName: string;
    certificate?: X509Certificate;
    hasToken: boolean;
}

/**
 * What client-go inside KubeSphere says for a user it cannot authenticate: `exec` plugins are looked up on the
 * pod's PATH ("exec: executable aws not found", the EKS case of docs/kubesphere.md §5); `auth-provider` plugins are no
 * longer built in (or need their own cmd-path executable). Undefined for token, certificate and basic users.
 */
export function credentialPluginError(
    user:
        | { exec?: { command?: unknown }; authProvider?: { name?: unknown; config?: Record<string, unknown> } }
        | null
        | undefined,
): string | undefined {
    if (user?.exec) {
        const command =
            typeof user.exec.command === "string" && user.exec.command ? path.basename(user.exec.command) : "";
        return `getting credentials: exec: executable ${command} not found`;
    }
    if (user?.authProvider) {
        const cmdPath = user.authProvider.config?.["cmd-path"];
        if (typeof cmdPath === "string" && cmdPath) {
            return `getting credentials: exec: executable ${path.basename(cmdPath)} not found`;
        }
        return `no Auth Provider found for name "${String(user.authProvider.name ?? "")}"`;
    }
    return undefined;
}

/** Go's time.Time.String() for a UTC instant, as KubeSphere writes certificate expiry into condition messages. */
export function goTimeString(date: Date): string {
    const iso = date.toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

export class MemberClientCache {
    private readonly clients = new Map<string, MemberClients>();

    /** Throws (without quoting the kubeconfig) when it cannot be parsed or has no current cluster. */
    clientsFor(kubeconfigBase64: string): MemberClients {
        const key = createHash("sha256").update(kubeconfigBase64).digest("hex");
        let clients = this.clients.get(key);
        if (!clients) {
            const kubeConfig = new KubeConfig();
            try {
                kubeConfig.loadFromString(Buffer.from(kubeconfigBase64, "base64").toString("utf8"));
            } catch {
                // Parser errors can quote the kubeconfig, token included: say only what is wrong.
                throw new Error("spec.connection.kubeconfig is not a valid kubeconfig");
            }
            const server = kubeConfig.getCurrentCluster()?.server;
            if (!server) {
                throw new Error("spec.connection.kubeconfig has no current cluster");
            }
            const user = kubeConfig.getCurrentUser();
            let certificate: X509Certificate | undefined;
            if (user?.certData) {
                certificate = new X509Certificate(Buffer.from(user.certData, "base64"));
            }
            clients = {
                core: kubeConfig.makeApiClient(CoreV1Api),
                version: kubeConfig.makeApiClient(VersionApi),
                certificates: kubeConfig.makeApiClient(CertificatesV1Api),
                custom: kubeConfig.makeApiClient(CustomObjectsApi),
                rbac: kubeConfig.makeApiClient(RbacAuthorizationV1Api),
                endpoint: server,
                caData: kubeConfig.getCurrentCluster()?.caData,
                pluginError: credentialPluginError(user),
                userName: user?.name ?? "",
                certificate,
                hasToken: Boolean(user?.token),
            };
            this.clients.set(key, clients);
        }
        return clients;
    }
}
