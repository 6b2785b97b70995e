/**
 * Whether the Secrets named as `imagePullSecrets` exist where the pods that use them run: the pre-flight's read
 * (components/members/imagePreflight.ts). Each Secret is asked for as metadata only (`PartialObjectMetadata`), and
 * the answer's body is discarded unread, so no Secret's data reaches this process.
 */
import type { ParsedKubeconfig } from "./kubeconfig";
import { classifyRequestError, clientConfig, METADATA_ONLY, rawGet } from "./transport";

/** One named Secret: found, missing, or why it could not be told (e.g. no right to get Secrets). */
export interface SecretPresence {
    name: string;
    found?: boolean;
    problem?: string;
}

/** Asks for each Secret `names` in `namespace`; never rejects (a failed read is the entry's problem). */
export async function readSecretPresence(
    kubeconfig: ParsedKubeconfig,
    namespace: string,
    names: string[],
): Promise<SecretPresence[]> {
    const kubeConfig = clientConfig(kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server ?? "";
    return Promise.all(
        names.map(async (name): Promise<SecretPresence> => {
            const urlPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
            try {
                const { status } = await rawGet(kubeConfig, server, urlPath, METADATA_ONLY);
                if (status === 200) return { name, found: true };
                if (status === 404) return { name, found: false };
                return { name, problem: `HTTP ${status}${status === 403 ? " (no right to get Secrets there)" : ""}` };
            } catch (err) {
                const probe = classifyRequestError(err);
                return { name, problem: probe.ok ? String(err) : probe.detail };
            }
        }),
    );
}
