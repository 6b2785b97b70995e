/**
 * Installs a KubeSphere version's CRDs from test/e2e/crds/ into a sandbox cluster. TEST ONLY.
 * 3.x: ClusterConfiguration, that version's Cluster CRD and the Workspace CRD (ks-core's), and on a host, once its
 * installer renders the host role, kubefed's KubeFedCluster CRD (the emulator installs it: KUBEFED_CRD_FILE);
 * 4.x host: the 4.1 Cluster CRD (no ClusterConfiguration);
 * a 4.x member is bare (no KubeSphere at all until the host installs ks-core, docs/kubesphere.md §9), so it gets none.
 */
import {
    ApiextensionsV1Api,
    CustomObjectsApi,
    KubeConfig,
    loadYaml,
    V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";
import { httpStatus } from "../emulator/kubeApi";
import { KubesphereCrd } from "../emulator/config";
import { KubesphereVersion } from "../emulator/versions";
import { CRDS_DIR } from "./paths";
import { ClusterRole } from "./state";
import { waitFor } from "./waitFor";

/** kubefed's KubeFedCluster CRD, which ks-installer 3.x installs with the host role (docs/kubesphere.md §12). */
export const KUBEFED_CRD_FILE = "kubefedclusters.core.kubefed.io.yaml";

/** KubeSphere's Workspace CRD, on every 3.x cluster (ks-core's crds). */
const WORKSPACE_CRD_FILE = "workspaces.tenant.kubesphere.io.yaml";

/** The CRD files a fresh cluster of this version and role has, but for the `missing` ones (a broken install). */
export function crdFiles(version: KubesphereVersion, role: ClusterRole, missing: KubesphereCrd[] = []): string[] {
    const workspace = missing.includes("Workspace") ? [] : [WORKSPACE_CRD_FILE];
    switch (version) {
        case "3.1":
        case "3.2":
            return [
                "clusterconfigurations.installer.kubesphere.io.yaml",
                "clusters.cluster.kubesphere.io-v3.2.yaml",
                ...workspace,
            ];
        case "3.3":
        case "3.4":
            return [
                "clusterconfigurations.installer.kubesphere.io.yaml",
                "clusters.cluster.kubesphere.io-v3.3.yaml",
                ...workspace,
            ];
        case "4.1":
            return role === "host" ? ["clusters.cluster.kubesphere.io-v4.1.yaml"] : [];
    }
}

function readCrd(file: string): V1CustomResourceDefinition {
    // loadYaml maps YAML keys onto the client's typed model; a plain object would lose
    // x-kubernetes-preserve-unknown-fields in serialization, and the apiserver would then prune spec and status.
    return loadYaml<V1CustomResourceDefinition>(fs.readFileSync(path.join(CRDS_DIR, file), "utf8"));
}

/**
 * Creates each CRD (an existing one is left alone) and waits until each is Established and its objects can be
 * listed: right after Established the API server can still answer 429 "storage is (re)initializing" for a while,
 * which a client reading right after start-up (the program's pre-flight) would otherwise meet.
 */
export async function installCrds(
    clusterName: string,
    kubeConfig: KubeConfig,
    files: string[],
    timeoutMs = 30_000,
): Promise<void> {
    const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
    const objects = kubeConfig.makeApiClient(CustomObjectsApi);
    for (const crd of files.map(readCrd)) {
        const name = crd.metadata?.name as string;
        try {
            await api.createCustomResourceDefinition({ body: crd });
        } catch (err) {
            if (httpStatus(err) !== 409) {
                throw err;
            }
        }
        await waitFor(
            async () => {
                const current = await api.readCustomResourceDefinition({ name });
                return current.status?.conditions?.some(
                    (condition) => condition.type === "Established" && condition.status === "True",
                );
            },
            { description: `CRD ${name} to be Established on cluster "${clusterName}"`, timeoutMs, intervalMs: 100 },
        );
        const version = crd.spec.versions[0].name;
        await waitFor(
            async () => {
                try {
                    await objects.listClusterCustomObject({
                        group: crd.spec.group,
                        version,
                        plural: crd.spec.names.plural,
                        limit: 1,
                    });
                    return true;
                } catch (err) {
                    if (httpStatus(err) === 429 || httpStatus(err) === 404 || httpStatus(err) === 503) return false;
                    throw err;
                }
            },
            {
                description: `${crd.spec.names.plural}.${crd.spec.group} to be listable on cluster "${clusterName}"`,
                timeoutMs,
                intervalMs: 100,
            },
        );
    }
}
