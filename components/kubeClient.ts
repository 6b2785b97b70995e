/**
 * Direct reads from a cluster with @kubernetes/client-node, for what Pulumi resources cannot do: polling a
 * member until its installer has applied our settings. Errors are described without headers or bodies, so no
 * credential can reach a message.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { KUBESPHERE_CONFIG_KEY, KUBESPHERE_CONFIG_NAME, KUBESPHERE_NAMESPACE, parseKubesphereConfig } from "./kubesphereConfig";
import { INSTALLER_API_VERSION, INSTALLER_NAME } from "./kubesphereObjects";
import type { MemberInstallerState } from "./memberInstaller";

const [INSTALLER_GROUP, INSTALLER_VERSION] = INSTALLER_API_VERSION.split("/");

/** Every request gives up after this long, so one hung member cannot stall a wait loop. */
const REQUEST_TIMEOUT_MS = 5000;

/** Returns a function that reads a member's ks-installer and kubesphere-config. */
export function memberInstallerReader(member: string, kubeconfigYaml: string): () => Promise<MemberInstallerState> {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigYaml);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    return async () => {
        const [installer, configMap] = await Promise.all([
            notFoundAsUndefined(() =>
                custom.getNamespacedCustomObject({
                    group: INSTALLER_GROUP,
                    version: INSTALLER_VERSION,
                    plural: "clusterconfigurations",
                    namespace: KUBESPHERE_NAMESPACE,
                    name: INSTALLER_NAME,
                }),
            ),
            notFoundAsUndefined(() => core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE })),
        ]);
        const spec = (installer as { spec?: { authentication?: { jwtSecret?: string }; multicluster?: { clusterRole?: string } } } | undefined)?.spec;
        const settings = configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined ? undefined : parseOrUndefined(member, configMap.data);
        return {
            installer: installer === undefined ? undefined : { clusterRole: spec?.multicluster?.clusterRole, jwtSecret: spec?.authentication?.jwtSecret },
            config: settings === undefined ? undefined : { clusterRole: settings.clusterRole, jwtSecret: settings.jwtSecret },
        };
    };
}

/** While the installer rewrites kubesphere-config it may be incomplete: that is "not applied yet", not an error. */
function parseOrUndefined(member: string, data: Record<string, string>) {
    try {
        return parseKubesphereConfig(member, data);
    } catch {
        return undefined;
    }
}

/** Runs a read with a timeout; a 404 is "not there", any other failure is described safely and rethrown. */
async function notFoundAsUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)), REQUEST_TIMEOUT_MS);
        });
        return await Promise.race([read(), timeout]);
    } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw new Error(describeKubeError(err));
    } finally {
        clearTimeout(timer);
    }
}

/** A one-line description of a failed API call: the Status message or the network error, nothing else. */
export function describeKubeError(err: unknown): string {
    if (err instanceof ApiException) {
        const body: unknown = typeof err.body === "string" ? safeJson(err.body) : err.body;
        const message = body && typeof body === "object" && "message" in body ? String((body as { message: unknown }).message) : "";
        return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
    }
    if (err instanceof Error) {
        const cause = (err as Error & { cause?: unknown }).cause;
        return cause instanceof Error && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
    }
    return String(err);
}

function safeJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}
