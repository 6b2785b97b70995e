/**
 * TEST ONLY: what the program's patches and KubeSphere's console do to the sandbox's clusters, done by hand with
 * client-node, so the sandbox's own tests (test/e2e/sandbox/*.test.ts) can check the emulator's answers without
 * running the program.
 */
import { MERGE_PATCH } from "../emulator/kubeApi";
import { KubesphereSettings } from "../emulator/kubesphereYaml";
import { Sandbox } from "../sandbox/sandbox";
import { waitFor } from "../sandbox/waitFor";
import {
    CLUSTER,
    clusterApi,
    ClusterObject,
    conditionOf,
    INSTALLER,
    kubesphereSettings,
    waitForCluster,
} from "./clusterQueries";

/** Merge-patches `spec` into a cluster's ks-installer. */
export async function patchInstaller(sandbox: Sandbox, cluster: string, spec: Record<string, unknown>): Promise<void> {
    await clusterApi(sandbox, cluster).custom.patchNamespacedCustomObject(
        { ...INSTALLER, body: { spec } },
        MERGE_PATCH,
    );
}

/** What the program does to a member: its ks-installer gets the host's jwtSecret and clusterRole member. */
export async function configureAsMember(sandbox: Sandbox, member: string): Promise<void> {
    const hostSecret = (await kubesphereSettings(sandbox, "host")).jwtSecret;
    await patchInstaller(sandbox, member, {
        authentication: { jwtSecret: hostSecret },
        multicluster: { clusterRole: "member" },
    });
}

/** Makes the host a KubeSphere 3.x host, as the program's host patch does. */
export async function configureAsHost(sandbox: Sandbox): Promise<void> {
    await patchInstaller(sandbox, "host", { multicluster: { clusterRole: "host", hostClusterName: "host" } });
}

export async function waitForMemberRole(
    sandbox: Sandbox,
    member: string,
    timeoutMs: number,
): Promise<KubesphereSettings> {
    return waitFor(
        async () => {
            const settings = await kubesphereSettings(sandbox, member);
            return settings.clusterRole === "member" ? settings : undefined;
        },
        { description: `${member}'s kubesphere-config to show clusterRole member`, timeoutMs },
    );
}

export async function waitForHostEntry(sandbox: Sandbox, timeoutMs: number): Promise<ClusterObject> {
    return waitForCluster(
        sandbox,
        "host",
        "(the host's own entry) to be Ready",
        (cluster) => conditionOf(cluster, "Ready")?.status === "True",
        timeoutMs,
    );
}

/**
 * The minimal direct-connection Cluster KubeSphere's console posts (docs/kubesphere.md §3), with `member`'s token kubeconfig
 * or the given kubeconfig YAML, and optionally 4.x's spec.config.
 */
export async function createCluster(
    sandbox: Sandbox,
    member: string,
    options: { name?: string; kubeconfig?: string; config?: string; labels?: Record<string, string> } = {},
): Promise<void> {
    await clusterApi(sandbox, "host").custom.createClusterCustomObject({
        ...CLUSTER,
        body: {
            apiVersion: `${CLUSTER.group}/${CLUSTER.version}`,
            kind: "Cluster",
            metadata: {
                name: options.name ?? member,
                annotations: { "kubesphere.io/description": "sandbox smoke test" },
                ...(options.labels ? { labels: options.labels } : {}),
            },
            spec: {
                provider: "sandbox",
                joinFederation: true,
                connection: {
                    type: "direct",
                    kubeconfig: Buffer.from(options.kubeconfig ?? sandbox.kubeconfig(member)).toString("base64"),
                },
                ...(options.config !== undefined ? { config: Buffer.from(options.config).toString("base64") } : {}),
            },
        },
    });
}

export async function deleteCluster(sandbox: Sandbox, name: string): Promise<void> {
    await clusterApi(sandbox, "host").custom.deleteClusterCustomObject({ ...CLUSTER, name });
}
