/**
 * `npm run demo`: brings the local sandbox up (or reuses it), runs `pulumi up` of the `local` stack
 * (stacks/Pulumi.local.yaml) with the real engine, and prints the federation as the host sees it.
 * State lives in .sandbox/pulumi; `npm run sandbox -- down` removes everything.
 */
import { CustomObjectsApi } from "@kubernetes/client-node";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { createFederationStack } from "./harness/federationStack";
import { DEFAULT_SANDBOX_DIR, REPO_ROOT } from "./sandbox/paths";
import { isRunning } from "./sandbox/processes";
import { loadSandbox, Sandbox, startSandbox } from "./sandbox/sandbox";
import { readState } from "./sandbox/state";

interface ClusterObject {
    metadata: { name: string };
    spec: { provider?: string };
    status?: { kubernetesVersion?: string; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

async function sandboxUp(dir: string): Promise<Sandbox> {
    if (readState(dir)) {
        const existing = loadSandbox(dir);
        if (existing.processes().every(isRunning)) {
            console.log(`Using the sandbox already running in ${dir}`);
            return existing;
        }
        await existing.stop({ removeData: true });
    }
    console.log(`Starting the sandbox (etcd, 3 kube-apiservers, test-only KubeSphere emulator) in ${dir} ...`);
    return startSandbox({ dir, members: 2, detached: true });
}

async function main(): Promise<void> {
    const sandbox = await sandboxUp(DEFAULT_SANDBOX_DIR);
    const stackFile = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.local.yaml"), "utf8")) as {
        config: Record<string, unknown>;
    };
    process.chdir(REPO_ROOT); // the stack file's kubeconfig paths are relative to the repository root
    const stack = await createFederationStack("local", path.join(DEFAULT_SANDBOX_DIR, "pulumi"), true);
    await stack.setFederationConfig({
        host: stackFile.config["kubesphere-federation:host"],
        members: stackFile.config["kubesphere-federation:members"] as unknown[],
    });
    console.log("\nRunning pulumi up on stack 'local' ...\n");
    const result = await stack.up({ refresh: true });

    const host = sandbox.loadKubeConfig("host").makeApiClient(CustomObjectsApi);
    const clusters = (
        (await host.listClusterCustomObject({ group: "cluster.kubesphere.io", version: "v1alpha1", plural: "clusters" })) as { items: ClusterObject[] }
    ).items;
    console.log(`\nFederation on host "${result.outputs.hostName.value}" (pulumi up: ${result.summary.result}):\n`);
    console.log(`  ${"CLUSTER".padEnd(10)} ${"PROVIDER".padEnd(12)} ${"KUBERNETES".padEnd(11)} ${"READY".padEnd(6)} MESSAGE`);
    for (const cluster of clusters) {
        const ready = cluster.status?.conditions?.find((condition) => condition.type === "Ready");
        console.log(
            `  ${cluster.metadata.name.padEnd(10)} ${(cluster.spec.provider ?? "").padEnd(12)} ${(cluster.status?.kubernetesVersion ?? "?").padEnd(11)} ` +
                `${(ready?.status ?? "?").padEnd(6)} ${ready?.message ?? ""}`,
        );
    }
    console.log(`\nKubeconfigs: ${path.join(sandbox.dir, "kubeconfigs")}   Stop everything: npm run sandbox -- down`);
}

main().catch((err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
