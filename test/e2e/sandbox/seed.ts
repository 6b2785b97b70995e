/**
 * Makes a bare sandbox cluster look like a fresh KubeSphere install (API notes §1–§2). TEST ONLY.
 * 3.x: namespace kubesphere-system, ClusterConfiguration ks-installer (clusterRole none, empty jwtSecret, created
 * like `kubectl apply` does) and kubesphere-config with the cluster's own random jwtSecret.
 * 4.x (host only): no ClusterConfiguration; kubesphere-config in the 4.x layout with role host.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { httpStatus } from "../emulator/kubeApi";
import {
    INSTALLER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KUBESPHERE_VERSION,
} from "../emulator/kubesphereObjects";
import { freshKubesphereYamlV3, freshKubesphereYamlV4Host } from "../emulator/kubesphereYaml";
import { randomAlphanumeric } from "./random";
import { KubesphereLayout } from "./state";

/** The field manager `kubectl apply` (client-side) records, as on a cluster installed from cluster-configuration.yaml. */
const KUBECTL_APPLY_MANAGER = "kubectl-client-side-apply";

async function createUnlessExists(create: () => Promise<unknown>): Promise<void> {
    try {
        await create();
    } catch (err) {
        if (httpStatus(err) !== 409) {
            throw err;
        }
    }
}

export async function seedKubesphere(kubeConfig: KubeConfig, layout: KubesphereLayout): Promise<void> {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    await createUnlessExists(() => core.createNamespace({ body: { metadata: { name: KUBESPHERE_NAMESPACE } } }));

    if (layout === "v3") {
        const installer = {
            apiVersion: `${INSTALLER.group}/${INSTALLER.version}`,
            kind: INSTALLER.kind,
            metadata: { name: INSTALLER.name, namespace: KUBESPHERE_NAMESPACE, labels: { version: KUBESPHERE_VERSION } },
            spec: { multicluster: { clusterRole: "none" }, authentication: { jwtSecret: "" } },
        };
        const lastApplied = JSON.stringify(installer);
        await createUnlessExists(() =>
            customObjects.createNamespacedCustomObject({
                group: INSTALLER.group,
                version: INSTALLER.version,
                namespace: KUBESPHERE_NAMESPACE,
                plural: INSTALLER.plural,
                fieldManager: KUBECTL_APPLY_MANAGER,
                body: {
                    ...installer,
                    metadata: {
                        ...installer.metadata,
                        annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied },
                    },
                },
            }),
        );
    }

    const jwtSecret = randomAlphanumeric(32);
    const kubesphereYaml = layout === "v3" ? freshKubesphereYamlV3(jwtSecret) : freshKubesphereYamlV4Host(jwtSecret);
    await createUnlessExists(() =>
        core.createNamespacedConfigMap({
            namespace: KUBESPHERE_NAMESPACE,
            body: { metadata: { name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE }, data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYaml } },
        }),
    );
}
