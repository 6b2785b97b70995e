/**
 * The reads the waits poll, as functions that read once per call: whether a 3.x host is a host yet, what a member's
 * installer has applied, and which kubesphere-config layout a cluster has (`kubesphereMajor: auto`).
 */
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { readCrdPresence } from "../kubernetes/crdPresence";
import { apiClients, notFoundAsUndefined } from "../kubernetes/transport";
import { HostRoleState, MemberInstallerState } from "./facts";
import { KUBEFED_CLUSTER_CRD } from "./kubefed";
import {
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KubesphereConfigLayout,
    parseKubesphereConfig,
} from "./kubesphereConfig";
import { CLUSTER_API_VERSION, HOST_CLUSTER_LABEL } from "./kubesphereObjects";
import { clusterItems, importedCluster, readInstallerObject, unreachableMessage } from "./reads";

const [CLUSTER_GROUP, CLUSTER_VERSION] = CLUSTER_API_VERSION.split("/");

/**
 * Returns a function that reads whether a 3.x host is a host yet (docs/kubesphere.md §9, "When a host is really a host"):
 * its kubesphere-config, the Cluster entry KubeSphere labels `cluster-role.kubesphere.io/host`, and kubefed's CRD
 * (docs/kubesphere.md §12; read until found: a CRD does not go away by itself).
 */
export function hostRoleReader(host: string, kubeconfig: ParsedKubeconfig): () => Promise<HostRoleState> {
    const { core, custom } = apiClients(kubeconfig);
    let kubefedFound = false;
    return async () => {
        const [configMap, entries, kubefed] = await Promise.all([
            notFoundAsUndefined(() =>
                core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
            notFoundAsUndefined(() =>
                custom.listClusterCustomObject({
                    group: CLUSTER_GROUP,
                    version: CLUSTER_VERSION,
                    plural: "clusters",
                    labelSelector: HOST_CLUSTER_LABEL,
                }),
            ),
            kubefedFound
                ? { name: KUBEFED_CLUSTER_CRD, found: true }
                : readCrdPresence(kubeconfig, KUBEFED_CLUSTER_CRD),
        ]);
        kubefedFound = kubefed.found === true;
        const settings =
            configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined ? undefined : parseOrUndefined(host, configMap.data);
        return {
            config:
                settings === undefined
                    ? undefined
                    : { clusterRole: settings.clusterRole, multiclusterEnable: settings.multiclusterEnable },
            hostEntry: clusterItems(entries).map(importedCluster)[0],
            kubefedCrd: kubefed.found,
        };
    };
}

/** Which kubesphere-config layout a cluster has (3.x or 4.x), for `kubesphereVersion: auto`. */
export async function readKubesphereLayout(
    cluster: string,
    kubeconfig: ParsedKubeconfig,
): Promise<KubesphereConfigLayout> {
    const { core, server } = apiClients(kubeconfig);
    let configMap;
    try {
        configMap = await notFoundAsUndefined(() =>
            core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
        );
    } catch (err) {
        throw new Error(unreachableMessage(cluster, server, err));
    }
    return parseKubesphereConfig(cluster, configMap?.data).layout;
}

/**
 * Returns a function that reads a member's ks-installer and kubesphere-config. ks-installer is read on the first
 * call only (the drift check): later polls read kubesphere-config alone, halving the requests of a long wait.
 */
export function memberInstallerReader(
    member: string,
    kubeconfig: ParsedKubeconfig,
): () => Promise<MemberInstallerState> {
    const { core, custom } = apiClients(kubeconfig);
    let installerState: Promise<MemberInstallerState["installer"]> | undefined;
    const readInstaller = async () => {
        const installer = await readInstallerObject(custom);
        const spec = (
            installer as
                | { spec?: { authentication?: { jwtSecret?: string }; multicluster?: { clusterRole?: string } } }
                | undefined
        )?.spec;
        return installer === undefined
            ? undefined
            : { clusterRole: spec?.multicluster?.clusterRole, jwtSecret: spec?.authentication?.jwtSecret };
    };
    return async () => {
        // A failed first read is retried on the next poll.
        installerState ??= readInstaller().catch((err) => {
            installerState = undefined;
            throw err;
        });
        const [installer, configMap] = await Promise.all([
            installerState,
            notFoundAsUndefined(() =>
                core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }),
            ),
        ]);
        const settings =
            configMap?.data?.[KUBESPHERE_CONFIG_KEY] === undefined
                ? undefined
                : parseOrUndefined(member, configMap.data);
        return {
            installer,
            config:
                settings === undefined
                    ? undefined
                    : {
                          clusterRole: settings.clusterRole,
                          jwtSecret: settings.jwtSecret,
                          accessTokenMaxAge: settings.accessTokenMaxAge,
                      },
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
