/**
 * End-to-end: the real program on the real Pulumi engine and Kubernetes provider, against real kube-apiservers
 * (the sandbox) with the test-only KubeSphere emulator playing ks-installer and ks-controller-manager.
 * The scenarios run in order on one sandbox and one stack, like an operator's day.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import {
    clusterApi,
    ClusterObject,
    conditionOf,
    contextBefore,
    HOST_ENTRY_LABEL,
    hostClusters as hostClustersOf,
    memberClusters as memberClustersOf,
    INSTALLER,
    installerSpecOf,
    jwtSecretOf as jwtSecretOfCluster,
    waitUntil,
} from "./harness/clusterQueries";
import { createFederationStack, FederationStack } from "./harness/federationStack";
import { MERGE_PATCH } from "./emulator/kubeApi";
import { Sandbox, startSandbox } from "./sandbox/sandbox";

const RECONCILE_DELAY_MS = 2000;

describe("federation on a local sandbox (e2e)", function () {
    this.timeout(10 * 60_000);

    let sandbox: Sandbox;
    let stack: FederationStack;
    let workDir: string;

    const api = (cluster: string) => clusterApi(sandbox, cluster);
    const jwtSecretOf = (cluster: string) => jwtSecretOfCluster(sandbox, cluster);
    const installerSpec = async (cluster: string) => (await installerSpecOf(sandbox, cluster))!;
    const hostClusters = () => hostClustersOf(sandbox);
    /** Without KubeSphere's own host entry (KubeSphere creates it once the host is a host). */
    const memberClusters = () => memberClustersOf(sandbox);
    const readyOf = (cluster: ClusterObject) => conditionOf(cluster);
    const memberEntry = (name: string) => ({
        name,
        provider: "generic",
        description: `sandbox ${name}`,
        group: "sandbox",
        kubeconfig: { path: sandbox.cluster(name).kubeconfigPath },
        readyTimeoutSeconds: 120,
    });
    const configure = (members: string[]) =>
        stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: sandbox.host.kubeconfigPath } },
            members: members.map(memberEntry),
        });
    /** Every credential the sandbox holds; none may appear in state or engine output. */
    const secrets = async () => {
        const values: string[] = [];
        for (const cluster of sandbox.clusters) {
            values.push(await jwtSecretOf(cluster.name));
            const kubeconfig = yaml.load(sandbox.kubeconfig(cluster.name)) as {
                users: Array<{ user: { token: string } }>;
            };
            values.push(kubeconfig.users[0].user.token);
        }
        return values;
    };

    before(async function () {
        this.timeout(5 * 60_000);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-e2e-"));
        sandbox = await startSandbox({
            dir: path.join(workDir, "sandbox"),
            members: 2,
            reconcileDelayMs: RECONCILE_DELAY_MS,
        });
        stack = await createFederationStack("e2e", path.join(workDir, "stack"));
        await configure(["member1", "member2"]);
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("previews the expected creates", async () => {
        const preview = await stack.preview();
        const creates = preview.changeSummary.create ?? 0;
        // stack + HostCluster(provider, patch) + 2 x MemberCluster(provider, patch, Cluster); the ConfigMap is a read.
        assert.strictEqual(creates, 1 + 3 + 2 * 4, `creates: ${JSON.stringify(preview.changeSummary)}`);
        for (const expected of [
            "kubesphere-federation:index:HostCluster",
            "kubesphere-federation:index:MemberCluster",
            "ClusterConfigurationPatch",
            "cluster.kubesphere.io/v1alpha1:Cluster",
        ]) {
            assert.ok(preview.stdout.includes(expected), `preview mentions ${expected}`);
        }
    });

    it("joins host and two members; both Clusters reach Ready", async () => {
        const result = await stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const exported = result.outputs.members.value as Record<string, { ready: boolean; message: string }>;
        assert.deepStrictEqual(Object.keys(exported).sort(), ["member1", "member2"]);
        for (const name of ["member1", "member2"]) {
            assert.strictEqual(exported[name].ready, true, `${name}: ${exported[name].message}`);
            assert.strictEqual((await installerSpec(name)).multicluster.clusterRole, "member");
            assert.strictEqual(
                await jwtSecretOf(name),
                await jwtSecretOf("host"),
                `${name} shares the host's jwtSecret`,
            );
        }
        assert.strictEqual((await installerSpec("host")).multicluster.clusterRole, "host");
        const clusters = await memberClusters();
        assert.deepStrictEqual(clusters.map((cluster) => cluster.metadata.name).sort(), ["member1", "member2"]);
        for (const cluster of clusters) assert.strictEqual(readyOf(cluster)?.status, "True");
        // KubeSphere's own entry for the host, named after host.name (hostClusterName).
        const hostEntries = (await hostClusters()).filter(
            (cluster) => cluster.metadata.labels?.[HOST_ENTRY_LABEL] !== undefined,
        );
        assert.deepStrictEqual(
            hostEntries.map((cluster) => cluster.metadata.name),
            ["host"],
        );
    });

    it("reports no changes on a second up", async () => {
        const result = await stack.up();
        // Reads (the host's kubesphere-config) happen on every run by design; anything else is a change.
        const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(
            ([op]) => op !== "same" && op !== "read",
        );
        assert.deepStrictEqual(changes, [], `second up changed: ${JSON.stringify(result.summary.resourceChanges)}`);
    });

    it("keeps the jwtSecret and tokens out of state and engine output", async () => {
        const exported = await stack.exportState();
        if (process.env.KSF_E2E_DUMP_STATE) fs.writeFileSync(process.env.KSF_E2E_DUMP_STATE, exported);
        const checkpoints = stack.checkpointFiles();
        const output = stack.output();
        assert.ok(checkpoints.length > 0, "the file backend holds a checkpoint");
        for (const [index, secret] of (await secrets()).entries()) {
            const base64 = Buffer.from(secret).toString("base64").slice(0, 24);
            for (const [where, text] of [
                ["pulumi stack export", exported],
                ["the checkpoint file", checkpoints],
                ["engine output", output],
            ]) {
                assert.ok(
                    !text.includes(secret),
                    `secret #${index} of secrets() is in ${where} in plain text, after: ${contextBefore(text, secret)}`,
                );
                assert.ok(!text.includes(base64), `secret #${index} of secrets() is in ${where} as base64`);
            }
        }
        assert.match(exported, /"ciphertext"/, "secrets are stored encrypted");
        assert.match(output, /\[secret\]/, "previews show secrets as [secret]");
    });

    it("repairs a member whose jwtSecret was changed by hand (up --refresh)", async () => {
        // What `kubectl edit cc ks-installer` does: an update by another field manager.
        await api("member1").custom.patchNamespacedCustomObject(
            { ...INSTALLER, body: { spec: { authentication: { jwtSecret: "changed-by-hand-0123456789abcdef" } } } },
            MERGE_PATCH,
        );
        await waitUntil(
            async () => (await jwtSecretOf("member1")) === "changed-by-hand-0123456789abcdef",
            "the emulated installer applies the hand edit",
        );
        // KubeSphere's controller never compares jwtSecrets (docs/kubesphere.md §4): the Cluster stays Ready while logins
        // across clusters fail, so only the program's drift repair notices.
        const result = await stack.up({ refresh: true });
        assert.strictEqual(result.summary.result, "succeeded");
        // `up` returns once the member's installer applied the host's secret again (the installer wait).
        assert.strictEqual(await jwtSecretOf("member1"), await jwtSecretOf("host"));
        await waitUntil(
            async () => readyOf((await hostClusters()).find((c) => c.metadata.name === "member1")!)?.status === "True",
            "member1 Ready again",
        );
    });

    it("fails clearly while a member's API server is down, and converges after it is back", async () => {
        await sandbox.stopApiServer("member2");
        try {
            await assert.rejects(stack.up({ refresh: true }), (err: Error) => {
                assert.match(err.message, /member2/);
                assert.match(err.message, /unreachable|connection refused|connect/i);
                return true;
            });
        } finally {
            await sandbox.startApiServer("member2");
        }
        const result = await stack.up({ refresh: true });
        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual((result.outputs.members.value as Record<string, { ready: boolean }>).member2.ready, true);
    });

    it("removing a member deletes its Cluster first and leaves its ks-installer as documented", async () => {
        const hostJwtSecret = await jwtSecretOf("host");
        await configure(["member1"]);
        const deletions: string[] = [];
        const result = await stack.up({
            onEvent: (event) => {
                const pre = event.resourcePreEvent?.metadata;
                if (pre && pre.op === "delete") deletions.push(pre.type);
            },
        });
        assert.strictEqual(result.summary.result, "succeeded");
        assert.deepStrictEqual(
            (await memberClusters()).map((cluster) => cluster.metadata.name),
            ["member1"],
        );
        const clusterIndex = deletions.findIndex((type) => type.endsWith(":Cluster"));
        const patchIndex = deletions.findIndex((type) => type.endsWith(":ClusterConfigurationPatch"));
        assert.ok(
            clusterIndex >= 0 && (patchIndex === -1 || clusterIndex < patchIndex),
            `delete order: ${deletions.join(", ")}`,
        );
        // docs/removing-members.md "Removing a member": the member keeps clusterRole member and the host's jwtSecret.
        const spec = await installerSpec("member2");
        assert.strictEqual(spec.multicluster.clusterRole, "member");
        assert.strictEqual(spec.authentication.jwtSecret, hostJwtSecret);
    });

    it("destroy leaves no member Cluster objects (KubeSphere's own host entry stays)", async () => {
        const result = await stack.destroy();
        assert.strictEqual(result.summary.result, "succeeded");
        assert.deepStrictEqual(await memberClusters(), []);
        assert.strictEqual((await installerSpec("host")).multicluster.clusterRole, "host", "the host stays a host");
    });
});
