/** Installs the KubeSphere CRDs from test/e2e/crds/ into a sandbox cluster. TEST ONLY. */
import { ApiextensionsV1Api, KubeConfig, loadYaml, V1CustomResourceDefinition } from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";
import { httpStatus } from "../emulator/kubeApi";
import { CRDS_DIR } from "./paths";
import { waitFor } from "./waitFor";

function readCrds(): V1CustomResourceDefinition[] {
    return fs
        .readdirSync(CRDS_DIR)
        .filter((file) => file.endsWith(".yaml"))
        .sort()
        // loadYaml maps YAML keys onto the client's typed model; a plain object would lose
        // x-kubernetes-preserve-unknown-fields in serialization, and the apiserver would then prune spec and status.
        .map((file) => loadYaml<V1CustomResourceDefinition>(fs.readFileSync(path.join(CRDS_DIR, file), "utf8")));
}

/** Creates every CRD (an existing one is left alone) and waits until each is Established. */
export async function installCrds(clusterName: string, kubeConfig: KubeConfig, timeoutMs = 30_000): Promise<void> {
    const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const crd of readCrds()) {
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
                return current.status?.conditions?.some((condition) => condition.type === "Established" && condition.status === "True");
            },
            { description: `CRD ${name} to be Established on cluster "${clusterName}"`, timeoutMs, intervalMs: 100 },
        );
    }
}
