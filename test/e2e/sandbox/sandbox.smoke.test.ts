/**
 * Smoke test of the e2e sandbox and the kubesphere-emulator (run by the e2e runner, not by the unit tests):
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/sandbox.smoke.test.ts
 *
 * Each describe is one scenario run in order. A failing run keeps its sandbox directory (data and logs) and
 * prints where; KSF_SANDBOX_KEEP=1 keeps it always. jwtSecrets are compared with assert.ok, never assert.equal,
 * so a failure cannot print them.
 */
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { httpStatus, MERGE_PATCH } from "../emulator/kubeApi";
import { CLUSTER, ClusterObject, INSTALLER, KUBESPHERE_CONFIG_KEY, KUBESPHERE_CONFIG_NAME, KUBESPHERE_NAMESPACE } from "../emulator/kubesphereObjects";
import { KubesphereSettings, readKubesphereYaml } from "../emulator/kubesphereYaml";
import { MESSAGES } from "../emulator/memberCheck";
import { kubeconfigYaml } from "./kubeconfigFile";
import { Sandbox, startSandbox, StartSandboxOptions } from "./sandbox";
import { sleep, waitFor } from "./waitFor";

/** Starts a sandbox in a fresh temp dir before the suite and stops it after; returns a getter for it. */
function useSandbox(options: Omit<StartSandboxOptions, "dir">): { sandbox: () => Sandbox; dir: () => string } {
    let dir = "";
    let sandbox: Sandbox | undefined;
    let failed = false;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-sandbox-smoke-"));
        const startedAt = Date.now();
        sandbox = await startSandbox({ dir, ...options });
        console.log(`      sandbox started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    });
    afterEach(function () {
        failed ||= this.currentTest?.state === "failed";
    });
    after(async () => {
        const keep = failed || !sandbox || process.env.KSF_SANDBOX_KEEP === "1";
        await sandbox?.stop({ removeData: !keep });
        if (keep) {
            console.log(`      sandbox data and logs kept in ${dir}`);
        }
    });
    return {
        sandbox: () => {
            assert.ok(sandbox, "the sandbox did not start");
            return sandbox;
        },
        dir: () => dir,
    };
}

function clients(sandbox: Sandbox, cluster: string) {
    const kubeConfig = sandbox.loadKubeConfig(cluster);
    return { core: kubeConfig.makeApiClient(CoreV1Api), customObjects: kubeConfig.makeApiClient(CustomObjectsApi) };
}

async function kubesphereYamlText(sandbox: Sandbox, cluster: string): Promise<string | undefined> {
    const configMap = await clients(sandbox, cluster).core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE });
    return configMap.data?.[KUBESPHERE_CONFIG_KEY];
}

async function kubesphereSettings(sandbox: Sandbox, cluster: string): Promise<KubesphereSettings> {
    return readKubesphereYaml(await kubesphereYamlText(sandbox, cluster));
}

async function readInstaller(sandbox: Sandbox, cluster: string): Promise<{ spec: { multicluster: { clusterRole: string }; authentication: { jwtSecret: string } } } | undefined> {
    try {
        return (await clients(sandbox, cluster).customObjects.getNamespacedCustomObject({
            group: INSTALLER.group,
            version: INSTALLER.version,
            namespace: KUBESPHERE_NAMESPACE,
            plural: INSTALLER.plural,
            name: INSTALLER.name,
        })) as { spec: { multicluster: { clusterRole: string }; authentication: { jwtSecret: string } } };
    } catch (err) {
        if (httpStatus(err) === 404) {
            return undefined;
        }
        throw err;
    }
}

/** What the program does to a member: its ks-installer gets the host's jwtSecret and clusterRole member. */
async function configureAsMember(sandbox: Sandbox, member: string): Promise<void> {
    const hostSecret = (await kubesphereSettings(sandbox, "host")).jwtSecret;
    await clients(sandbox, member).customObjects.patchNamespacedCustomObject(
        {
            group: INSTALLER.group,
            version: INSTALLER.version,
            namespace: KUBESPHERE_NAMESPACE,
            plural: INSTALLER.plural,
            name: INSTALLER.name,
            body: { spec: { authentication: { jwtSecret: hostSecret }, multicluster: { clusterRole: "member" } } },
        },
        MERGE_PATCH,
    );
}

async function waitForMemberRole(sandbox: Sandbox, member: string, timeoutMs: number): Promise<KubesphereSettings> {
    return waitFor(
        async () => {
            const settings = await kubesphereSettings(sandbox, member);
            return settings.clusterRole === "member" ? settings : undefined;
        },
        { description: `${member}'s kubesphere-config to show clusterRole member`, timeoutMs },
    );
}

async function readCluster(sandbox: Sandbox, name: string): Promise<ClusterObject | undefined> {
    try {
        return (await clients(sandbox, "host").customObjects.getClusterCustomObject({
            group: CLUSTER.group,
            version: CLUSTER.version,
            plural: CLUSTER.plural,
            name,
        })) as ClusterObject;
    } catch (err) {
        if (httpStatus(err) === 404) {
            return undefined;
        }
        throw err;
    }
}

/** The minimal direct-connection Cluster KubeSphere's console posts (API notes §3). */
async function createCluster(sandbox: Sandbox, member: string): Promise<void> {
    await clients(sandbox, "host").customObjects.createClusterCustomObject({
        group: CLUSTER.group,
        version: CLUSTER.version,
        plural: CLUSTER.plural,
        body: {
            apiVersion: `${CLUSTER.group}/${CLUSTER.version}`,
            kind: CLUSTER.kind,
            metadata: { name: member, annotations: { "kubesphere.io/description": "sandbox smoke test" } },
            spec: {
                provider: "sandbox",
                joinFederation: true,
                connection: { type: "direct", kubeconfig: Buffer.from(sandbox.kubeconfig(member)).toString("base64") },
            },
        },
    });
}

/** A Cluster named `name` whose kubeconfig is `member`'s exec-plugin (EKS-style) kubeconfig. */
async function createExecCluster(sandbox: Sandbox, name: string, member: string): Promise<void> {
    const kubeconfig = fs.readFileSync(sandbox.cluster(member).execKubeconfigPath);
    await clients(sandbox, "host").customObjects.createClusterCustomObject({
        group: CLUSTER.group,
        version: CLUSTER.version,
        plural: CLUSTER.plural,
        body: {
            apiVersion: `${CLUSTER.group}/${CLUSTER.version}`,
            kind: CLUSTER.kind,
            metadata: { name },
            spec: { provider: "sandbox", joinFederation: true, connection: { type: "direct", kubeconfig: kubeconfig.toString("base64") } },
        },
    });
}

async function deleteCluster(sandbox: Sandbox, name: string): Promise<void> {
    await clients(sandbox, "host").customObjects.deleteClusterCustomObject({ group: CLUSTER.group, version: CLUSTER.version, plural: CLUSTER.plural, name });
}

/** Waits until the Cluster's Ready condition has `status`, and returns that condition. */
async function waitForReady(sandbox: Sandbox, name: string, status: "True" | "False", timeoutMs = 20_000) {
    return waitFor(
        async () => {
            const ready = (await readCluster(sandbox, name))?.status?.conditions?.find((condition) => condition.type === "Ready");
            return ready?.status === status ? ready : undefined;
        },
        { description: `Cluster "${name}" to be Ready=${status}`, timeoutMs, intervalMs: 200 },
    );
}

async function waitForClusterGone(sandbox: Sandbox, name: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => (await readCluster(sandbox, name)) === undefined, { description: `Cluster "${name}" to disappear`, timeoutMs });
}

/** Pids of processes whose command line mentions `dir` (every sandbox process does). */
function processesMentioning(dir: string): string[] {
    return fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
            try {
                return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
            } catch {
                return false;
            }
        });
}

describe("e2e sandbox with kubesphere-emulator (smoke)", function () {
    this.timeout(120_000);
    const RECONCILE_DELAY_MS = 1500;
    const env = useSandbox({ members: 2, reconcileDelayMs: RECONCILE_DELAY_MS });

    it("has a host and two members, each answering with its own kubeconfig", async () => {
        const sandbox = env.sandbox();
        assert.deepStrictEqual(
            sandbox.clusters.map((c) => [c.name, c.role]),
            [
                ["host", "host"],
                ["member1", "member"],
                ["member2", "member"],
            ],
        );
        const uids = new Set<string>();
        for (const cluster of sandbox.clusters) {
            assert.strictEqual(sandbox.loadKubeConfig(cluster.name).getCurrentCluster()?.server, cluster.server);
            const kubeSystem = await clients(sandbox, cluster.name).core.readNamespace({ name: "kube-system" });
            uids.add(kubeSystem.metadata?.uid as string);
        }
        assert.strictEqual(uids.size, 3, "each cluster must be a separate cluster (own kube-system UID)");
    });

    it("has the KubeSphere CRDs established on every cluster", async () => {
        const sandbox = env.sandbox();
        for (const cluster of sandbox.clusters) {
            const extensions = sandbox.loadKubeConfig(cluster.name).makeApiClient(ApiextensionsV1Api);
            for (const name of ["clusterconfigurations.installer.kubesphere.io", "clusters.cluster.kubesphere.io"]) {
                const crd = await extensions.readCustomResourceDefinition({ name });
                assert.ok(
                    crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"),
                    `${name} is not Established on ${cluster.name}`,
                );
            }
        }
    });

    it("fills in ServiceAccount token Secrets and collects garbage on member1 (kube-controller-manager)", async () => {
        const sandbox = env.sandbox();
        const { core } = clients(sandbox, "member1");
        const namespace = KUBESPHERE_NAMESPACE;
        const account = await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "smoke-admin" } } });
        const createdAt = Date.now();
        await core.createNamespacedSecret({
            namespace,
            body: {
                metadata: { name: "smoke-admin-token", annotations: { "kubernetes.io/service-account.name": "smoke-admin" } },
                type: "kubernetes.io/service-account-token",
            },
        });
        const data = await waitFor(
            async () => {
                const secret = await core.readNamespacedSecret({ name: "smoke-admin-token", namespace });
                return secret.data?.token ? secret.data : undefined;
            },
            { description: "the token controller to fill in smoke-admin-token", timeoutMs: 5_000, intervalMs: 100 },
        );
        console.log(`      token Secret filled in after ${Date.now() - createdAt} ms`);
        assert.strictEqual(Buffer.from(data.namespace, "base64").toString(), namespace);
        assert.ok(data["ca.crt"], "the token Secret has no ca.crt");

        // A kubeconfig from the Secret alone (what the program would hand to KubeSphere): TLS verifies with ca.crt.
        const tokenConfig = new KubeConfig();
        tokenConfig.loadFromString(
            kubeconfigYaml({ name: "member1", server: sandbox.cluster("member1").server, caData: data["ca.crt"], token: Buffer.from(data.token, "base64").toString() }),
        );
        const asAccount = tokenConfig.makeApiClient(CoreV1Api);
        await assert.rejects(asAccount.listNamespace(), (err: unknown) => httpStatus(err) === 403, "the ServiceAccount must need RBAC first");
        await sandbox
            .loadKubeConfig("member1")
            .makeApiClient(RbacAuthorizationV1Api)
            .createClusterRoleBinding({
                body: {
                    metadata: { name: "smoke-admin" },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                    subjects: [{ kind: "ServiceAccount", name: "smoke-admin", namespace }],
                },
            });
        const namespaces = await waitFor(async () => (await asAccount.listNamespace()).items.map((ns) => ns.metadata?.name), {
            description: "the ServiceAccount token to list namespaces",
            timeoutMs: 5_000,
            intervalMs: 100,
        });
        assert.ok(namespaces.includes("kube-system"));

        // Garbage collection: a ConfigMap owned by the ServiceAccount goes with it (so does the token Secret).
        await core.createNamespacedConfigMap({
            namespace,
            body: {
                metadata: {
                    name: "smoke-owned",
                    ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: "smoke-admin", uid: account.metadata?.uid as string }],
                },
            },
        });
        await core.deleteNamespacedServiceAccount({ name: "smoke-admin", namespace });
        for (const read of [() => core.readNamespacedConfigMap({ name: "smoke-owned", namespace }), () => core.readNamespacedSecret({ name: "smoke-admin-token", namespace })]) {
            await waitFor(
                async () => {
                    try {
                        await read();
                        return false;
                    } catch (err) {
                        if (httpStatus(err) === 404) {
                            return true;
                        }
                        throw err;
                    }
                },
                { description: "objects of the deleted ServiceAccount to be collected", timeoutMs: 10_000 },
            );
        }
    });

    it("writes exec-plugin kubeconfigs (EKS-style, no token inside) that local clients can use", async () => {
        const sandbox = env.sandbox();
        for (const cluster of sandbox.clusters) {
            const text = fs.readFileSync(cluster.execKubeconfigPath, "utf8");
            const adminToken = (yaml.load(sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token: string } }> }).users[0].user.token;
            assert.ok(!text.includes(adminToken), `${cluster.execKubeconfigPath} must not hold the token`);
            const kubeConfig = new KubeConfig();
            kubeConfig.loadFromFile(cluster.execKubeconfigPath);
            assert.strictEqual(kubeConfig.getCurrentContext(), `${cluster.name}-exec`);
            assert.strictEqual(kubeConfig.getCurrentCluster()?.server, cluster.server);
            const exec = kubeConfig.getCurrentUser()?.exec as { apiVersion: string; command: string; interactiveMode: string };
            assert.strictEqual(exec.apiVersion, "client.authentication.k8s.io/v1beta1");
            assert.strictEqual(exec.interactiveMode, "Never");
            assert.ok(path.isAbsolute(exec.command) && exec.command.startsWith(path.join(sandbox.dir, "bin")), exec.command);
            const names = (await kubeConfig.makeApiClient(CoreV1Api).listNamespace()).items.map((ns) => ns.metadata?.name);
            assert.ok(names.includes("kube-system"), `listing namespaces of ${cluster.name} through the exec plugin`);
        }
    });

    it("seeds each cluster as a fresh KubeSphere 3.x install with its own jwtSecret", async () => {
        const sandbox = env.sandbox();
        const secrets = new Set<string>();
        for (const cluster of sandbox.clusters) {
            const installer = await readInstaller(sandbox, cluster.name);
            assert.strictEqual(installer?.spec.multicluster.clusterRole, "none");
            assert.ok(installer?.spec.authentication.jwtSecret === "", `ks-installer on ${cluster.name} must start with an empty jwtSecret`);
            const settings = await kubesphereSettings(sandbox, cluster.name);
            assert.strictEqual(settings.clusterRole, "none");
            assert.ok(/^[A-Za-z0-9]{32}$/.test(settings.jwtSecret ?? ""), `${cluster.name}'s jwtSecret must be 32 alphanumeric characters`);
            secrets.add(settings.jwtSecret as string);
        }
        assert.strictEqual(secrets.size, 3, "every cluster must start with a different jwtSecret");
    });

    it("re-renders member1's kubesphere-config only after the reconcile delay", async () => {
        const sandbox = env.sandbox();
        const patchedAt = Date.now();
        await configureAsMember(sandbox, "member1");
        assert.strictEqual((await kubesphereSettings(sandbox, "member1")).clusterRole, "none", "re-rendered without any delay");
        const rendered = await waitForMemberRole(sandbox, "member1", RECONCILE_DELAY_MS + 10_000);
        assert.ok(Date.now() - patchedAt >= RECONCILE_DELAY_MS, "kubesphere-config changed before the reconcile delay");
        assert.ok(rendered.jwtSecret === (await kubesphereSettings(sandbox, "host")).jwtSecret, "member1's jwtSecret must now equal the host's");
    });

    it("joins member1: finalizer added, Ready=True, status filled in", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member1");
        const ready = await waitForReady(sandbox, "member1", "True");
        assert.strictEqual(ready.reason, "Ready");
        assert.strictEqual(ready.message, MESSAGES.ready);
        const cluster = (await readCluster(sandbox, "member1")) as ClusterObject;
        assert.deepStrictEqual(cluster.metadata.finalizers, [CLUSTER.finalizer]);
        const kubeSystem = await clients(sandbox, "member1").core.readNamespace({ name: "kube-system" });
        assert.strictEqual(cluster.status?.uid, kubeSystem.metadata?.uid);
        assert.match(cluster.status?.kubernetesVersion ?? "", /^v1\.\d+\.\d+/);
        assert.strictEqual(cluster.status?.kubeSphereVersion, "v3.4.1");
        assert.ok(cluster.status?.conditions?.some((c) => c.type === "Initialized" && c.status === "True"));
        assert.strictEqual(cluster.spec?.connection?.kubernetesAPIEndpoint, sandbox.cluster("member1").server);
    });

    it("reports a Cluster with an exec-plugin kubeconfig Ready=False, as KubeSphere's pods cannot run the plugin", async () => {
        const sandbox = env.sandbox();
        await createExecCluster(sandbox, "member1-exec", "member1");
        const ready = await waitForReady(sandbox, "member1-exec", "False");
        assert.strictEqual(ready.message, `${MESSAGES.unreachablePrefix}exec: executable aws not found`);
        await deleteCluster(sandbox, "member1-exec");
        await waitForClusterGone(sandbox, "member1-exec");
    });

    it("leaves a Ready Cluster untouched between resyncs (no churn for pulumi up)", async () => {
        const sandbox = env.sandbox();
        const before = (await readCluster(sandbox, "member1")) as ClusterObject;
        // Proving an absence of writes needs time to pass: three of the emulator's one-second resyncs.
        await sleep(3_000);
        const after = (await readCluster(sandbox, "member1")) as ClusterObject;
        assert.strictEqual(after.metadata.resourceVersion, before.metadata.resourceVersion, "the emulator rewrote an unchanged Cluster");
    });

    it("reports member2 (still clusterRole none) as Ready=False with KubeSphere's role message", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member2");
        const ready = await waitForReady(sandbox, "member2", "False");
        assert.strictEqual(ready.message, MESSAGES.wrongRole);
    });

    it("turns member1 Ready=False while its apiserver is down, and Ready=True once it is back", async () => {
        const sandbox = env.sandbox();
        await waitForReady(sandbox, "member1", "True");
        await sandbox.stopApiServer("member1");
        assert.strictEqual(sandbox.isApiServerRunning("member1"), false);
        assert.strictEqual(sandbox.isControllerManagerRunning("member1"), false);
        const down = await waitForReady(sandbox, "member1", "False");
        assert.ok(down.message?.startsWith(MESSAGES.unreachablePrefix), `unexpected message: ${down.message}`);

        await sandbox.startApiServer("member1");
        assert.strictEqual(sandbox.isControllerManagerRunning("member1"), true);
        const back = await waitForReady(sandbox, "member1", "True", 30_000);
        assert.strictEqual(back.message, MESSAGES.ready);
        assert.ok((back.lastTransitionTime ?? "") >= (down.lastTransitionTime ?? "~"), "lastTransitionTime must move on a status change");
    });

    it("turns member1 Ready=False when its jwtSecret is changed by hand, and back once repaired", async () => {
        const sandbox = env.sandbox();
        const core = clients(sandbox, "member1").core;
        const original = (await kubesphereYamlText(sandbox, "member1")) as string;
        const tampered = yaml.load(original) as { authentication: { jwtSecret: string } };
        tampered.authentication.jwtSecret = "x".repeat(32);
        const writeConfig = (text: string) =>
            core.patchNamespacedConfigMap(
                { name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE, body: { data: { [KUBESPHERE_CONFIG_KEY]: text } } },
                MERGE_PATCH,
            );
        await writeConfig(yaml.dump(tampered));
        const mismatch = await waitForReady(sandbox, "member1", "False");
        assert.strictEqual(mismatch.message, MESSAGES.jwtMismatch);
        await writeConfig(original);
        await waitForReady(sandbox, "member1", "True");
    });

    it("deletes Cluster objects: the emulator releases the finalizer", async () => {
        const sandbox = env.sandbox();
        for (const name of ["member1", "member2"]) {
            await deleteCluster(sandbox, name);
        }
        for (const name of ["member1", "member2"]) {
            await waitForClusterGone(sandbox, name);
        }
    });

    it("stops every process it started, idempotently", async () => {
        const sandbox = env.sandbox();
        const processes = sandbox.processes();
        assert.strictEqual(processes.length, 8, "etcd, three kube-apiservers, three kube-controller-managers and the emulator");
        await sandbox.stop();
        await sandbox.stop();
        assert.deepStrictEqual(processesMentioning(env.dir()), [], "processes still running with the sandbox dir in their command line");
        for (const p of processes) {
            assert.throws(() => process.kill(p.pid, 0), `${p.name} (pid ${p.pid}) is still there`);
        }
    });
});

describe("e2e sandbox with a KubeSphere 4.x host and blockDeletionWhenUnreachable (smoke)", function () {
    this.timeout(120_000);
    const env = useSandbox({ members: 1, hostLayout: "v4", reconcileDelayMs: 300, blockDeletionWhenUnreachable: true });

    it("seeds the host in the 4.x layout, without a ClusterConfiguration", async () => {
        const sandbox = env.sandbox();
        assert.strictEqual(await readInstaller(sandbox, "host"), undefined);
        const document = yaml.load((await kubesphereYamlText(sandbox, "host")) as string) as { authentication: Record<string, unknown> };
        assert.strictEqual(document.authentication.jwtSecret, undefined, "4.x keeps the secret under authentication.issuer");
        const settings = await kubesphereSettings(sandbox, "host");
        assert.ok(/^[A-Za-z0-9]{32}$/.test(settings.jwtSecret ?? ""), "authentication.issuer.jwtSecret must be set");
        assert.strictEqual(settings.clusterRole, "host");
    });

    it("joins member1 configured with the 4.x host's secret", async () => {
        const sandbox = env.sandbox();
        await configureAsMember(sandbox, "member1");
        await waitForMemberRole(sandbox, "member1", 10_000);
        await createCluster(sandbox, "member1");
        await waitForReady(sandbox, "member1", "True");
    });

    it("keeps a deleted Cluster while its member is unreachable, and lets it go once the member is back", async () => {
        const sandbox = env.sandbox();
        await sandbox.stopApiServer("member1");
        await waitForReady(sandbox, "member1", "False");
        await deleteCluster(sandbox, "member1");
        // Absence of progress needs time to pass: a few of the emulator's one-second resyncs.
        await sleep(3_000);
        const stuck = await readCluster(sandbox, "member1");
        assert.ok(stuck?.metadata.deletionTimestamp, "the Cluster should be marked for deletion");
        assert.deepStrictEqual(stuck?.metadata.finalizers, [CLUSTER.finalizer]);
        await sandbox.startApiServer("member1");
        await waitForClusterGone(sandbox, "member1", 30_000);
    });
});
