/**
 * End-to-end agent connection (docs/agent-connection.md): the real program on the real engine, with the emulated tower on the host
 * and the emulated agent on the member (test/e2e/emulator/tower.ts, agent.ts), joined by a real loopback tunnel.
 *
 * - 3.4 host, member1 direct and member2 agent: no proxy address refused before any change; both Ready, member2's
 *   API server reached only through tower's tunnel (the Cluster's kubeconfig is tower's listener, the member's audit
 *   log shows the agent's ServiceAccount); a second up changes nothing; no token in state or output; a hand-edited
 *   agent token refused ("Unauthorized agent") with the fix, which `up --refresh` applies; credentialsRevision rotates
 *   the token; removal deletes the Cluster first (3.4's webhook needs the tunnel for it), then the agent.
 * - 4.1 host: no tower extension refused before any change; an agent that cannot reach the proxy address fails the
 *   wait with the diagnosis naming the agent first; a bare member joined through the agent reaches Ready and
 *   KSCoreReady; removal deletes the agent objects and leaves kubesphere-system.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import { httpStatus } from "./emulator/kubeApi";
import { applyTowerObjects } from "./emulator/tower";
import {
    clusterApi,
    ClusterObject,
    conditionOf,
    contextBefore,
    hostCluster,
    importedKubeconfig,
    memberClusters,
    waitUntil,
} from "./harness/clusterQueries";
import { FederationStack } from "./harness/federationStack";
import { useSandbox } from "./harness/useSandbox";
import { freePort } from "./sandbox/freePort";
import { Sandbox } from "./sandbox/sandbox";

type ProxyCluster = ClusterObject & {
    spec: { connection: { type?: string; token?: string; kubeconfig: string; kubernetesAPIServerPort?: number } };
};

const ok = (result: { summary: { result?: string } }) => assert.strictEqual(result.summary.result, "succeeded");

async function refusalOf(stack: FederationStack): Promise<string> {
    try {
        await stack.up();
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("pulumi up succeeded, expected a refusal");
}

function assertNoChanges(result: { summary: { resourceChanges?: Record<string, number> } }) {
    const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(
        ([op]) => op !== "same" && op !== "read",
    );
    assert.deepStrictEqual(changes, [], `second up changed: ${JSON.stringify(result.summary.resourceChanges)}`);
}

async function agentDeployment(sandbox: Sandbox, member: string) {
    const apps = sandbox.loadKubeConfig(member).makeApiClient(AppsV1Api);
    try {
        return await apps.readNamespacedDeployment({ name: "cluster-agent", namespace: "kubesphere-system" });
    } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
    }
}

const tokenOf = (command: string[] | undefined) =>
    command?.find((arg) => arg.startsWith("--token="))?.slice("--token=".length);

describe("agent connection: KubeSphere 3.4 host, one direct and one agent member (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("agent", { members: 2, hostVersion: "3.4", memberVersions: ["3.4", "3.4"], auditLog: true });
    const host = (withAddress = true) => ({
        name: "host",
        kubeconfig: { path: ctx.sandbox.host.kubeconfigPath },
        ...(withAddress ? { agentProxyAddress: ctx.sandbox.towerAddress } : {}),
    });
    const direct = () => ({
        name: "member1",
        provider: "kubeadm",
        kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
        readyTimeoutSeconds: 120,
    });
    const agent = (extra: Record<string, unknown> = {}) => ({
        name: "member2",
        provider: "generic",
        connection: "agent",
        kubeconfig: { path: ctx.sandbox.cluster("member2").kubeconfigPath },
        readyTimeoutSeconds: 120,
        ...extra,
    });
    let firstToken = "";

    it("refuses an agent member without a proxy address before any change (the sandbox has no load balancer)", async () => {
        await ctx.stack.setFederationConfig({ host: host(false), members: [direct(), agent()] });
        const message = await refusalOf(ctx.stack);
        assert.match(
            message,
            /member "member2" \(members\[1\]\.connection: agent\): no proxy address for the agent to dial: host\.agentProxyAddress is not set/,
        );
        assert.match(message, /Fix: set host\.agentProxyAddress/);
        assert.deepStrictEqual(await memberClusters(ctx.sandbox), [], "no member Cluster was created");
        assert.strictEqual(await agentDeployment(ctx.sandbox, "member2"), undefined, "no agent was created");
    });

    it("joins the direct and the agent member; the agent member is reached only through tower's tunnel", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [direct(), agent()] });
        ok(await ctx.stack.up());
        const [member1, member2] = [
            (await hostCluster(ctx.sandbox, "member1"))!,
            (await hostCluster(ctx.sandbox, "member2")) as ProxyCluster,
        ];
        assert.strictEqual(conditionOf(member1)?.status, "True", conditionOf(member1)?.message);
        for (const type of ["Initialized", "AgentAvailable", "Ready"]) {
            assert.strictEqual(
                conditionOf(member2, type)?.status,
                "True",
                `member2 ${type}: ${conditionOf(member2, type)?.message}`,
            );
        }
        assert.strictEqual(member2.spec.connection.type, "proxy");
        // KubeSphere's kubeconfig for member2 is tower's listener, not member2's API server.
        const server = importedKubeconfig(member2).clusters[0].cluster.server;
        assert.strictEqual(server, `https://127.0.0.1:${member2.spec.connection.kubernetesAPIServerPort}`);
        assert.notStrictEqual(server, ctx.sandbox.cluster("member2").server);
        // Requests that earned Ready arrived at member2 as the agent's ServiceAccount (tower swaps in its token).
        const audit = fs.readFileSync(ctx.sandbox.auditLogFile("member2")!, "utf8");
        assert.ok(
            audit.includes('"username":"system:serviceaccount:kubesphere-system:kubesphere"'),
            "member2's audit log shows requests of the agent's ServiceAccount",
        );
        // The agent as KubeSphere renders it, dialing the configured address; tower kept the token the program set.
        const deployment = (await agentDeployment(ctx.sandbox, "member2"))!;
        const container = deployment.spec!.template.spec!.containers[0];
        assert.strictEqual(deployment.spec!.template.spec!.serviceAccountName, "kubesphere");
        assert.ok(container.command!.includes(`--proxy-server=${ctx.sandbox.towerAddress}`));
        assert.ok(container.command!.includes("--name=member2"));
        firstToken = tokenOf(container.command)!;
        assert.match(firstToken, /^[0-9a-f]{64}$/);
        assert.strictEqual(member2.spec.connection.token, firstToken);
        const mc = await clusterApi(ctx.sandbox, "host").core.readNamespacedService({
            name: "mc-member2",
            namespace: "kubesphere-system",
        });
        assert.deepStrictEqual(
            mc.spec!.ports!.map((port) => port.port),
            [6443, 80],
        );
        // The host's ks-installer carries the proxy address for KubeSphere's console.
        const installer = (await clusterApi(ctx.sandbox, "host").custom.getNamespacedCustomObject({
            group: "installer.kubesphere.io",
            version: "v1alpha1",
            plural: "clusterconfigurations",
            namespace: "kubesphere-system",
            name: "ks-installer",
        })) as { spec: { multicluster: { proxyPublishAddress?: string } } };
        assert.strictEqual(installer.spec.multicluster.proxyPublishAddress, ctx.sandbox.towerAddress);
        const exported = (await ctx.stack.stack.outputs()).members?.value as Record<string, { ready: boolean }>;
        assert.strictEqual(exported.member2.ready, true);
    });

    it("reports no changes on a second up, and never shows the agent token", async () => {
        assertNoChanges(await ctx.stack.up());
        const places = {
            "pulumi stack export": await ctx.stack.exportState(),
            "checkpoint files": ctx.stack.checkpointFiles(),
            "engine output": ctx.stack.output(),
        };
        for (const [where, text] of Object.entries(places)) {
            assert.ok(
                !text.includes(firstToken),
                `the agent token is in ${where} after ${contextBefore(text, firstToken)}`,
            );
        }
    });

    it('refuses a hand-edited agent token with tower\'s "Unauthorized agent" and the fix; up --refresh repairs it', async () => {
        const deployment = (await agentDeployment(ctx.sandbox, "member2"))!;
        const command = deployment.spec!.template.spec!.containers[0].command!.map((arg) =>
            arg.startsWith("--token=") ? `--token=${"0".repeat(64)}` : arg,
        );
        const apps = ctx.sandbox.loadKubeConfig("member2").makeApiClient(AppsV1Api);
        // As `kubectl edit` would: a JSON patch of the command line alone.
        await apps.patchNamespacedDeployment(
            {
                name: "cluster-agent",
                namespace: "kubesphere-system",
                fieldManager: "kubectl-edit",
                body: [{ op: "replace", path: "/spec/template/spec/containers/0/command", value: command }],
            },
            setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
        );
        await waitUntil(
            async () =>
                fs
                    .readFileSync(ctx.sandbox.logFile("emulator"), "utf8")
                    .includes("Connection error: Unauthorized agent"),
            "the agent to be refused by tower",
        );
        const message = await refusalOf(ctx.stack);
        assert.match(
            message,
            /member "member2": the --token of Deployment kubesphere-system\/cluster-agent on the member no longer hold\(s\) the token the program set, so tower refuses the agent \("Unauthorized agent"\)\. Fix: run `pulumi up --refresh`/,
        );
        ok(await ctx.stack.up({ refresh: true }));
        assert.strictEqual(
            tokenOf((await agentDeployment(ctx.sandbox, "member2"))!.spec!.template.spec!.containers[0].command),
            firstToken,
        );
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member2"), "AgentAvailable")?.status, "True");
    });

    it("rotates the agent token with credentialsRevision: Cluster and agent updated in place, the agent reconnects", async () => {
        const before = (await hostCluster(ctx.sandbox, "member2")) as ProxyCluster;
        await ctx.stack.setFederationConfig({ host: host(), members: [direct(), agent({ credentialsRevision: 2 })] });
        const result = await ctx.stack.up();
        ok(result);
        assert.strictEqual(result.summary.resourceChanges?.create ?? 0, 0, "nothing is replaced");
        const after = (await hostCluster(ctx.sandbox, "member2")) as ProxyCluster;
        assert.strictEqual(after.metadata.uid, before.metadata.uid, "the Cluster was updated in place");
        const rotated = tokenOf(
            (await agentDeployment(ctx.sandbox, "member2"))!.spec!.template.spec!.containers[0].command,
        )!;
        assert.notStrictEqual(rotated, firstToken);
        assert.strictEqual(after.spec.connection.token, rotated);
        // tower issues a new kubeconfig on every connect: the agent with the new token got in.
        await waitUntil(
            async () =>
                ((await hostCluster(ctx.sandbox, "member2")) as ProxyCluster).spec.connection.kubeconfig !==
                before.spec.connection.kubeconfig,
            "the agent to reconnect with the new token",
        );
        assert.ok(!(await ctx.stack.exportState()).includes(rotated), "the rotated token is not in the state");
    });

    it("removes the agent member: the Cluster first (3.4's webhook reads through the tunnel), then the agent", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [direct()] });
        ok(await ctx.stack.up());
        assert.deepStrictEqual(
            (await memberClusters(ctx.sandbox)).map((cluster) => cluster.metadata.name),
            ["member1"],
        );
        assert.strictEqual(await agentDeployment(ctx.sandbox, "member2"), undefined, "the agent Deployment is deleted");
        await waitUntil(async () => {
            try {
                await clusterApi(ctx.sandbox, "host").core.readNamespacedService({
                    name: "mc-member2",
                    namespace: "kubesphere-system",
                });
                return false;
            } catch (err) {
                return httpStatus(err) === 404;
            }
        }, "tower to delete mc-member2");
        // KubeSphere's SA the agent ran as is the member's own: untouched.
        await clusterApi(ctx.sandbox, "member2").core.readNamespacedServiceAccount({
            name: "kubesphere",
            namespace: "kubesphere-system",
        });
    });
});

describe("agent connection: KubeSphere 4.1 host with the tower extension, bare agent member (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("agent", { members: 1, hostVersion: "4.1", memberVersions: ["4.1"], towerExtension: true });
    const config = () => ({
        host: {
            name: "host",
            kubeconfig: { path: ctx.sandbox.host.kubeconfigPath },
            agentProxyAddress: ctx.sandbox.towerAddress,
        },
        members: [
            {
                name: "member1",
                provider: "generic",
                connection: "agent",
                kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
                readyTimeoutSeconds: 120,
            },
        ],
    });

    it("refuses an agent member while the host has no tower extension, before any change", async () => {
        const hostApps = ctx.sandbox.loadKubeConfig("host").makeApiClient(AppsV1Api);
        await hostApps.deleteNamespacedDeployment({ name: "tower", namespace: "kubesphere-system" });
        await ctx.stack.setFederationConfig(config());
        const message = await refusalOf(ctx.stack);
        assert.match(
            message,
            /host "host" has no tower \(Deployment kubesphere-system\/tower not found\): the KubeSphere 4\.x extension "tower"/,
        );
        assert.deepStrictEqual(await memberClusters(ctx.sandbox), []);
        const namespaces = (await clusterApi(ctx.sandbox, "member1").core.listNamespace()).items.map(
            (ns) => ns.metadata!.name,
        );
        assert.ok(!namespaces.includes("kubesphere-system"), "the bare member is untouched");
        await applyTowerObjects(ctx.sandbox.loadKubeConfig("host"), "kubesphere/tower:v0.2.1");
    });

    it("an agent that cannot reach the proxy address: the wait's error names the agent first (the diagnosis), no token", async () => {
        // The user's mistake: a proxy address nothing listens at (a closed loopback port), so the agent never connects.
        const closed = await freePort();
        const wrong = config();
        wrong.host.agentProxyAddress = `http://127.0.0.1:${closed}`;
        // Long enough for tower to initialize the Cluster on a busy machine (the message below needs it), short
        // enough to keep the suite quick: the agent never connects, so the test waits all of it.
        wrong.members[0].readyTimeoutSeconds = 45;
        await ctx.stack.setFederationConfig(wrong);
        const message = (await refusalOf(ctx.stack)).replace(/^the program failed: /, "");
        assert.match(
            message.split("\n")[0],
            /^member "member1": agent connection \(proxy\): .*the agent never connected\. Fix: /,
            message,
        );
        assert.match(message, /not joined through the agent after 45s: the agent has not connected to tower/);
        assert.match(message, new RegExp(`proxy address http://127\\.0\\.0\\.1:${closed}`));
        const token = ((await hostCluster(ctx.sandbox, "member1")) as ProxyCluster).spec.connection.token!;
        assert.ok(
            !message.includes(token) && !ctx.stack.output().includes(token),
            "the token is not in the error or the output",
        );
        await ctx.stack.setFederationConfig(config());
    });

    it("joins the bare member through the agent: Ready and KSCoreReady, then a second up changes nothing", async () => {
        ok(await ctx.stack.up());
        const member = (await hostCluster(ctx.sandbox, "member1")) as ProxyCluster;
        for (const type of ["Initialized", "AgentAvailable", "Ready", "KSCoreReady"]) {
            assert.strictEqual(
                conditionOf(member, type)?.status,
                "True",
                `${type}: ${conditionOf(member, type)?.message}`,
            );
        }
        assert.strictEqual(
            importedKubeconfig(member).clusters[0].cluster.server,
            `https://127.0.0.1:${member.spec.connection.kubernetesAPIServerPort}`,
        );
        const kubeConfig = ctx.sandbox.loadKubeConfig("member1");
        await kubeConfig
            .makeApiClient(CoreV1Api)
            .readNamespacedServiceAccount({ name: "tower", namespace: "kubesphere-system" });
        const binding = await kubeConfig
            .makeApiClient(RbacAuthorizationV1Api)
            .readClusterRoleBinding({ name: "tower" });
        assert.strictEqual(binding.roleRef.name, "cluster-admin");
        assert.strictEqual(
            (await agentDeployment(ctx.sandbox, "member1"))!.spec!.template.spec!.serviceAccountName,
            "tower",
        );
        assertNoChanges(await ctx.stack.up());
        const token = member.spec.connection.token!;
        assert.ok(
            !(await ctx.stack.exportState()).includes(token) && !ctx.stack.output().includes(token),
            "the token is not in the state or output",
        );
    });

    it("removes the member: the Cluster, then the agent objects; ks-core's kubesphere-system stays", async () => {
        await ctx.stack.setFederationConfig({ ...config(), members: [] });
        ok(await ctx.stack.up());
        assert.deepStrictEqual(await memberClusters(ctx.sandbox), []);
        assert.strictEqual(await agentDeployment(ctx.sandbox, "member1"), undefined);
        const kubeConfig = ctx.sandbox.loadKubeConfig("member1");
        await assert.rejects(
            kubeConfig
                .makeApiClient(CoreV1Api)
                .readNamespacedServiceAccount({ name: "tower", namespace: "kubesphere-system" }),
            (err) => httpStatus(err) === 404,
        );
        await assert.rejects(
            kubeConfig.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: "tower" }),
            (err) => httpStatus(err) === 404,
        );
        await kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: "kubesphere-system" });
    });
});
