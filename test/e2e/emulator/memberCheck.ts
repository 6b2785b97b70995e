/**
 * What KubeSphere's host concludes about one member, from the Cluster's connection settings (API notes §3–§4).
 * TEST ONLY. Messages are KubeSphere's own, so the program's error handling meets realistic text.
 */
import { CoreV1Api, KubeConfig, VersionApi } from "@kubernetes/client-node";
import { createHash } from "crypto";
import * as path from "path";
import { describeError, httpStatus, withTimeout } from "./kubeApi";
import { ClusterObject, KUBESPHERE_CONFIG_KEY, KUBESPHERE_CONFIG_NAME, KUBESPHERE_NAMESPACE } from "./kubesphereObjects";
import { readKubesphereYaml } from "./kubesphereYaml";

const REQUEST_TIMEOUT_MS = 3000;

export const MESSAGES = {
    ready: "Cluster is available now",
    invalidConnection: "connection type direct, kubeconfig must not be empty",
    wrongRole: "the clusterRole of the member cluster must be 'member'",
    jwtMismatch: "hostcluster Jwt is not equal to member cluster jwt, please edit the member cluster cluster config",
    unreachablePrefix: "failed to connect to the member cluster: ",
} as const;

export interface MemberVerdict {
    ready: boolean;
    reason: string;
    message: string;
    /** Set whenever the member answered, even if it is not Ready. */
    facts?: { kubernetesVersion: string; uid: string };
    /** The kubeconfig's server, which KubeSphere copies into spec.connection.kubernetesAPIEndpoint. */
    endpoint?: string;
}

interface MemberClients {
    core: CoreV1Api;
    version: VersionApi;
    endpoint: string;
    /**
     * Set when the kubeconfig's user needs a credential plugin (`exec`, or an `auth-provider`): KubeSphere's pods
     * have no such executables, so the connection fails before any request. The plugin is never run here.
     */
    pluginError?: string;
}

/**
 * What client-go inside KubeSphere says for a user it cannot authenticate: `exec` plugins are looked up on the
 * pod's PATH ("exec: executable aws not found", the EKS case of API notes §5); `auth-provider` plugins are no
 * longer built in (or need their own cmd-path executable). Undefined for token, certificate and basic users.
 */
export function credentialPluginError(user: { exec?: { command?: unknown }; authProvider?: { name?: unknown; config?: Record<string, unknown> } } | null | undefined): string | undefined {
    if (user?.exec) {
        const command = typeof user.exec.command === "string" && user.exec.command ? path.basename(user.exec.command) : "";
        return `exec: executable ${command} not found`;
    }
    if (user?.authProvider) {
        const cmdPath = user.authProvider.config?.["cmd-path"];
        if (typeof cmdPath === "string" && cmdPath) {
            return `exec: executable ${path.basename(cmdPath)} not found`;
        }
        return `no Auth Provider found for name "${String(user.authProvider.name ?? "")}"`;
    }
    return undefined;
}

/** Checks members through kubeconfigs taken from Cluster objects; clients are cached per kubeconfig. */
export class MemberChecker {
    private readonly clients = new Map<string, MemberClients>();

    /** `hostJwtSecret` is the host's own secret, compared but never logged. */
    async check(cluster: ClusterObject, hostJwtSecret: string | undefined): Promise<MemberVerdict> {
        const connection = cluster.spec?.connection;
        if (connection?.type !== "direct" || !connection.kubeconfig) {
            // KubeSphere's validation message; its controller would silently skip such a Cluster instead.
            return { ready: false, reason: "InvalidConnection", message: MESSAGES.invalidConnection };
        }
        let clients: MemberClients;
        try {
            clients = this.clientsFor(connection.kubeconfig);
        } catch {
            // Parser errors can quote the kubeconfig, token included: say only what is wrong.
            return { ready: false, reason: "InvalidKubeconfig", message: `${MESSAGES.unreachablePrefix}spec.connection.kubeconfig is not a valid base64 kubeconfig` };
        }
        const endpoint = clients.endpoint;
        if (clients.pluginError) {
            // A connection failure to KubeSphere (same reason as an unreachable member); no fact can be learnt.
            return { ready: false, reason: "Unreachable", message: MESSAGES.unreachablePrefix + clients.pluginError, endpoint };
        }
        let facts: MemberVerdict["facts"];
        try {
            const [version, kubeSystem] = await withTimeout(
                Promise.all([clients.version.getCode(), clients.core.readNamespace({ name: "kube-system" })]),
                REQUEST_TIMEOUT_MS,
                "request to the member",
            );
            facts = { kubernetesVersion: version.gitVersion, uid: kubeSystem.metadata?.uid ?? "" };
        } catch (err) {
            return { ready: false, reason: "Unreachable", message: MESSAGES.unreachablePrefix + describeError(err), endpoint };
        }
        let kubesphereYaml: string | undefined;
        try {
            const configMap = await withTimeout(
                clients.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
                REQUEST_TIMEOUT_MS,
                "reading the member's kubesphere-config",
            );
            kubesphereYaml = configMap.data?.[KUBESPHERE_CONFIG_KEY];
        } catch (err) {
            const message =
                httpStatus(err) === 404
                    ? `failed to get kubesphere config of the member cluster: configmaps "${KUBESPHERE_CONFIG_NAME}" not found`
                    : MESSAGES.unreachablePrefix + describeError(err);
            return { ready: false, reason: "KubeSphereConfigUnavailable", message, facts, endpoint };
        }
        const member = readKubesphereYaml(kubesphereYaml);
        if (member.clusterRole !== "member") {
            return { ready: false, reason: "InvalidClusterRole", message: MESSAGES.wrongRole, facts, endpoint };
        }
        if (!hostJwtSecret || member.jwtSecret !== hostJwtSecret) {
            return { ready: false, reason: "JwtSecretMismatch", message: MESSAGES.jwtMismatch, facts, endpoint };
        }
        return { ready: true, reason: "Ready", message: MESSAGES.ready, facts, endpoint };
    }

    /**
     * KubeSphere 4.x: what the host's controller does through the Helm install of ks-core on the member, reduced to
     * its effect: the member's kubesphere-config gets role member and the host's jwtSecret (API notes §6).
     */
    async installKsCore(cluster: ClusterObject, kubesphereYaml: string): Promise<void> {
        const clients = this.clientsFor(cluster.spec!.connection!.kubeconfig!);
        const body = { metadata: { name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }, data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYaml } };
        await withTimeout(
            clients.core.replaceNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE, body }).catch(async (err) => {
                if (httpStatus(err) !== 404) throw err;
                await clients.core.createNamespacedConfigMap({ namespace: KUBESPHERE_NAMESPACE, body });
            }),
            REQUEST_TIMEOUT_MS,
            "installing ks-core on the member",
        );
    }

    private clientsFor(kubeconfigBase64: string): MemberClients {
        const key = createHash("sha256").update(kubeconfigBase64).digest("hex");
        let clients = this.clients.get(key);
        if (!clients) {
            const kubeConfig = new KubeConfig();
            kubeConfig.loadFromString(Buffer.from(kubeconfigBase64, "base64").toString("utf8"));
            const server = kubeConfig.getCurrentCluster()?.server;
            if (!server) {
                throw new Error("kubeconfig has no current cluster");
            }
            clients = {
                core: kubeConfig.makeApiClient(CoreV1Api),
                version: kubeConfig.makeApiClient(VersionApi),
                endpoint: server,
                pluginError: credentialPluginError(kubeConfig.getCurrentUser()),
            };
            this.clients.set(key, clients);
        }
        return clients;
    }
}
