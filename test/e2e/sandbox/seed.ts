/**
 * Makes a bare sandbox cluster look like a fresh KubeSphere install of its version (docs/kubesphere.md §1, §2, §9). TEST ONLY.
 * 3.x: namespace kubesphere-system, ClusterConfiguration ks-installer (clusterRole none, empty jwtSecret, created
 * like `kubectl apply` does, status core enabled with the release), kubesphere-config with the cluster's own random
 * jwtSecret in that version's layout, the ks-apiserver Service (see the emulator's KS_APISERVER) and ks-installer's
 * ServiceAccount (its pod is the emulator's, ../emulator/kubelet.ts).
 * 4.x host: ks-core installed with role host (kubesphere-config in the 4.x layout, ks-apiserver); no ClusterConfiguration.
 * 4.x member: nothing at all (bare), as users join them: the host installs ks-core.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { httpStatus } from "../emulator/kubeApi";
import {
    INSTALLER,
    KS_APISERVER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
} from "../emulator/kubesphereObjects";
import { freshKubesphereYamlV3, freshKubesphereYamlV4Host } from "../emulator/kubesphereYaml";
import { KubesphereVersion, VERSION_TRAITS } from "../emulator/versions";
import { applyTowerObjects } from "../emulator/tower";
import { randomAlphanumeric } from "./random";
import { ClusterRole } from "./state";

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

/**
 * @param options.towerExtension 4.x host: the `tower` extension (agent connection) is installed: its Deployment and
 *   Service kubesphere-system/tower exist. (3.x hosts get them from ks-installer with the host role.)
 */
export async function seedKubesphere(
    kubeConfig: KubeConfig,
    version: KubesphereVersion,
    role: ClusterRole,
    options: { towerExtension?: boolean } = {},
): Promise<void> {
    const traits = VERSION_TRAITS[version];
    if (traits.generation === 4 && role === "member") {
        return;
    }
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    await createUnlessExists(() => core.createNamespace({ body: { metadata: { name: KUBESPHERE_NAMESPACE } } }));

    if (traits.generation === 3) {
        // ks-core's serviceaccount.yaml: SA kubesphere bound to cluster-admin (3.x's agent runs as it, docs/kubesphere.md §10.3).
        await createUnlessExists(() =>
            core.createNamespacedServiceAccount({
                namespace: KUBESPHERE_NAMESPACE,
                body: { metadata: { name: "kubesphere", namespace: KUBESPHERE_NAMESPACE } },
            }),
        );
        await createUnlessExists(() =>
            kubeConfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
                body: {
                    metadata: { name: "kubesphere" },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                    subjects: [{ kind: "ServiceAccount", name: "kubesphere", namespace: KUBESPHERE_NAMESPACE }],
                },
            }),
        );
        // ks-installer's deploy/kubesphere-installer.yaml: its pod runs as SA ks-installer (the emulator plays that pod).
        await createUnlessExists(() =>
            core.createNamespacedServiceAccount({
                namespace: KUBESPHERE_NAMESPACE,
                body: { metadata: { name: "ks-installer", namespace: KUBESPHERE_NAMESPACE } },
            }),
        );
        const installer = {
            apiVersion: `${INSTALLER.group}/${INSTALLER.version}`,
            kind: INSTALLER.kind,
            metadata: { name: INSTALLER.name, namespace: KUBESPHERE_NAMESPACE, labels: { version: traits.release } },
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
                    // The installer finished its first run (no status subresource: status is part of the object).
                    status: { core: { status: "enabled", version: traits.release } },
                },
            }),
        );
    }

    const jwtSecret = randomAlphanumeric(32);
    const kubesphereYaml =
        traits.generation === 3 ? freshKubesphereYamlV3(jwtSecret, traits) : freshKubesphereYamlV4Host(jwtSecret);
    await createUnlessExists(() =>
        core.createNamespacedConfigMap({
            namespace: KUBESPHERE_NAMESPACE,
            body: {
                metadata: { name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE },
                data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYaml },
            },
        }),
    );
    await createUnlessExists(() =>
        core.createNamespacedService({
            namespace: KUBESPHERE_NAMESPACE,
            body: {
                metadata: {
                    name: KS_APISERVER.name,
                    namespace: KUBESPHERE_NAMESPACE,
                    labels: { [KS_APISERVER.versionLabel]: traits.release },
                },
                spec: { ports: [{ port: 80, targetPort: 9090 }] },
            },
        }),
    );
    if (traits.generation === 4 && role === "host" && options.towerExtension) {
        await applyTowerObjects(kubeConfig, traits.towerImage);
    }
}
