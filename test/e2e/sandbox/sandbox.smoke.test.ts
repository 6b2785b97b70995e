/**
 * Smoke test of the e2e sandbox and the kubesphere-emulator (run by the e2e runner, not by the unit tests):
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/sandbox.smoke.test.ts
 *
 * Each describe is one scenario run in order. A failing run keeps its sandbox directory (data and logs) and
 * prints where; KSF_SANDBOX_KEEP=1 keeps it always. jwtSecrets are compared with assert.ok, never assert.equal,
 * so a failure cannot print them.
 */
import {
    AdmissionregistrationV1Api,
    ApiextensionsV1Api,
    CoreV1Api,
    CustomObjectsApi,
    KubeConfig,
    RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { httpStatus, MERGE_PATCH } from "../emulator/kubeApi";
import {
    CLUSTER,
    CLUSTER_ANNOTATIONS,
    CLUSTER_LABELS,
    CLUSTER_WEBHOOK,
    ClusterObject,
    INSTALLER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
} from "../emulator/kubesphereObjects";
import { KubesphereSettings, readKubesphereYaml } from "../emulator/kubesphereYaml";
import { fnv1a64Hex } from "../emulator/fnv";
import { kubeconfigYaml } from "./kubeconfigFile";
import { isRunning } from "./processes";
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
    const configMap = await clients(sandbox, cluster).core.readNamespacedConfigMap({
        name: KUBESPHERE_CONFIG_NAME,
        namespace: KUBESPHERE_NAMESPACE,
    });
    return configMap.data?.[KUBESPHERE_CONFIG_KEY];
}

async function kubesphereSettings(sandbox: Sandbox, cluster: string): Promise<KubesphereSettings> {
    return readKubesphereYaml(await kubesphereYamlText(sandbox, cluster));
}

type InstallerObject = {
    spec: { multicluster: { clusterRole: string }; authentication: { jwtSecret: string } };
    status?: { core?: { version?: string } };
};

async function readInstaller(sandbox: Sandbox, cluster: string): Promise<InstallerObject | undefined> {
    try {
        return (await clients(sandbox, cluster).customObjects.getNamespacedCustomObject({
            group: INSTALLER.group,
            version: INSTALLER.version,
            namespace: KUBESPHERE_NAMESPACE,
            plural: INSTALLER.plural,
            name: INSTALLER.name,
        })) as InstallerObject;
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

/**
 * The minimal direct-connection Cluster KubeSphere's console posts (docs/kubesphere.md §3), with `member`'s token kubeconfig
 * or the given kubeconfig YAML, and optionally 4.x's spec.config.
 */
async function createCluster(
    sandbox: Sandbox,
    member: string,
    options: { name?: string; kubeconfig?: string; config?: string } = {},
): Promise<void> {
    await clients(sandbox, "host").customObjects.createClusterCustomObject({
        group: CLUSTER.group,
        version: CLUSTER.version,
        plural: CLUSTER.plural,
        body: {
            apiVersion: `${CLUSTER.group}/${CLUSTER.version}`,
            kind: CLUSTER.kind,
            metadata: {
                name: options.name ?? member,
                annotations: { "kubesphere.io/description": "sandbox smoke test" },
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

function conditionOf(cluster: ClusterObject | undefined, type: string) {
    return cluster?.status?.conditions?.find((condition) => condition.type === type);
}

/** Waits until `read` of the Cluster satisfies `accept`, and returns the Cluster. */
async function waitForCluster(
    sandbox: Sandbox,
    name: string,
    what: string,
    accept: (cluster: ClusterObject) => boolean,
    timeoutMs = 20_000,
): Promise<ClusterObject> {
    return waitFor(
        async () => {
            const cluster = await readCluster(sandbox, name);
            return cluster && accept(cluster) ? cluster : undefined;
        },
        { description: `Cluster "${name}" ${what}`, timeoutMs, intervalMs: 200 },
    );
}

/** Makes the host a KubeSphere 3.x host, as the program's host patch does. */
async function configureAsHost(sandbox: Sandbox): Promise<void> {
    await clients(sandbox, "host").customObjects.patchNamespacedCustomObject(
        {
            group: INSTALLER.group,
            version: INSTALLER.version,
            namespace: KUBESPHERE_NAMESPACE,
            plural: INSTALLER.plural,
            name: INSTALLER.name,
            body: { spec: { multicluster: { clusterRole: "host", hostClusterName: "host" } } },
        },
        MERGE_PATCH,
    );
}

async function waitForHostEntry(sandbox: Sandbox, timeoutMs: number): Promise<ClusterObject> {
    return waitForCluster(
        sandbox,
        "host",
        "(the host's own entry) to be Ready",
        (cluster) => conditionOf(cluster, "Ready")?.status === "True",
        timeoutMs,
    );
}

async function deleteCluster(sandbox: Sandbox, name: string): Promise<void> {
    await clients(sandbox, "host").customObjects.deleteClusterCustomObject({
        group: CLUSTER.group,
        version: CLUSTER.version,
        plural: CLUSTER.plural,
        name,
    });
}

async function waitForClusterGone(sandbox: Sandbox, name: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => (await readCluster(sandbox, name)) === undefined, {
        description: `Cluster "${name}" to disappear`,
        timeoutMs,
    });
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

describe("e2e sandbox with kubesphere-emulator: KubeSphere 3.4 host, 3.2 and 3.3 members (smoke)", function () {
    this.timeout(120_000);
    const RECONCILE_DELAY_MS = 1500;
    const HOST_INSTALLER_DELAY_MS = 3000;
    const env = useSandbox({
        members: 2,
        memberVersions: ["3.2", "3.3"],
        reconcileDelayMs: RECONCILE_DELAY_MS,
        hostInstallerDelayMs: HOST_INSTALLER_DELAY_MS,
    });

    it("has a host and two members, each answering with its own kubeconfig", async () => {
        const sandbox = env.sandbox();
        assert.deepStrictEqual(
            sandbox.clusters.map((c) => [c.name, c.role, c.kubesphereVersion]),
            [
                ["host", "host", "3.4"],
                ["member1", "member", "3.2"],
                ["member2", "member", "3.3"],
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

    it("has each version's KubeSphere CRDs: typed Cluster schema, kubeconfig as bytes, 3.x printer columns", async () => {
        const sandbox = env.sandbox();
        for (const cluster of sandbox.clusters) {
            const extensions = sandbox.loadKubeConfig(cluster.name).makeApiClient(ApiextensionsV1Api);
            const installerCrd = await extensions.readCustomResourceDefinition({
                name: "clusterconfigurations.installer.kubesphere.io",
            });
            assert.ok(installerCrd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"));
            const crd = await extensions.readCustomResourceDefinition({ name: "clusters.cluster.kubesphere.io" });
            const version = crd.spec.versions[0];
            assert.deepStrictEqual(
                version.additionalPrinterColumns?.map((column) => column.name),
                ["Federated", "Provider", "Active", "Version"],
            );
            const spec = version.schema?.openAPIV3Schema?.properties?.spec;
            assert.strictEqual(spec?.properties?.connection?.properties?.kubeconfig?.format, "byte");
            assert.strictEqual(spec?.properties?.config, undefined, "3.x has no spec.config");
            assert.strictEqual(
                spec?.x_kubernetes_preserve_unknown_fields,
                undefined,
                "typed: unknown fields are pruned",
            );
            const hasUid = version.schema?.openAPIV3Schema?.properties?.status?.properties?.uid !== undefined;
            assert.strictEqual(
                hasUid,
                cluster.kubesphereVersion !== "3.2",
                `status.uid in the ${cluster.kubesphereVersion} CRD`,
            );
        }
    });

    it("fills in ServiceAccount token Secrets and collects garbage on member1 (kube-controller-manager)", async () => {
        const sandbox = env.sandbox();
        const { core } = clients(sandbox, "member1");
        const namespace = KUBESPHERE_NAMESPACE;
        const account = await core.createNamespacedServiceAccount({
            namespace,
            body: { metadata: { name: "smoke-admin" } },
        });
        const createdAt = Date.now();
        await core.createNamespacedSecret({
            namespace,
            body: {
                metadata: {
                    name: "smoke-admin-token",
                    annotations: { "kubernetes.io/service-account.name": "smoke-admin" },
                },
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
            kubeconfigYaml({
                name: "member1",
                server: sandbox.cluster("member1").server,
                caData: data["ca.crt"],
                token: Buffer.from(data.token, "base64").toString(),
            }),
        );
        const asAccount = tokenConfig.makeApiClient(CoreV1Api);
        await assert.rejects(
            asAccount.listNamespace(),
            (err: unknown) => httpStatus(err) === 403,
            "the ServiceAccount must need RBAC first",
        );
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
        const namespaces = await waitFor(
            async () => (await asAccount.listNamespace()).items.map((ns) => ns.metadata?.name),
            {
                description: "the ServiceAccount token to list namespaces",
                timeoutMs: 5_000,
                intervalMs: 100,
            },
        );
        assert.ok(namespaces.includes("kube-system"));

        // Garbage collection: a ConfigMap owned by the ServiceAccount goes with it (so does the token Secret).
        await core.createNamespacedConfigMap({
            namespace,
            body: {
                metadata: {
                    name: "smoke-owned",
                    ownerReferences: [
                        {
                            apiVersion: "v1",
                            kind: "ServiceAccount",
                            name: "smoke-admin",
                            uid: account.metadata?.uid as string,
                        },
                    ],
                },
            },
        });
        await core.deleteNamespacedServiceAccount({ name: "smoke-admin", namespace });
        for (const read of [
            () => core.readNamespacedConfigMap({ name: "smoke-owned", namespace }),
            () => core.readNamespacedSecret({ name: "smoke-admin-token", namespace }),
        ]) {
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
            const adminToken = (
                yaml.load(sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token: string } }> }
            ).users[0].user.token;
            assert.ok(!text.includes(adminToken), `${cluster.execKubeconfigPath} must not hold the token`);
            const kubeConfig = new KubeConfig();
            kubeConfig.loadFromFile(cluster.execKubeconfigPath);
            assert.strictEqual(kubeConfig.getCurrentContext(), `${cluster.name}-exec`);
            assert.strictEqual(kubeConfig.getCurrentCluster()?.server, cluster.server);
            const exec = kubeConfig.getCurrentUser()?.exec as {
                apiVersion: string;
                command: string;
                interactiveMode: string;
            };
            assert.strictEqual(exec.apiVersion, "client.authentication.k8s.io/v1beta1");
            assert.strictEqual(exec.interactiveMode, "Never");
            assert.ok(
                path.isAbsolute(exec.command) && exec.command.startsWith(path.join(sandbox.dir, "bin")),
                exec.command,
            );
            const names = (await kubeConfig.makeApiClient(CoreV1Api).listNamespace()).items.map(
                (ns) => ns.metadata?.name,
            );
            assert.ok(names.includes("kube-system"), `listing namespaces of ${cluster.name} through the exec plugin`);
        }
    });

    it("mints client-certificate kubeconfigs signed by the cluster's CA (kubeadm-style)", async () => {
        const sandbox = env.sandbox();
        const file = await sandbox.clientCertificateKubeconfig("member2", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 3,
        });
        const kubeConfig = new KubeConfig();
        kubeConfig.loadFromFile(file);
        assert.ok(kubeConfig.getCurrentUser()?.certData && !kubeConfig.getCurrentUser()?.token);
        const names = (await kubeConfig.makeApiClient(CoreV1Api).listNamespace()).items.map((ns) => ns.metadata?.name);
        assert.ok(names.includes("kube-system"));
    });

    it("seeds each cluster as a fresh KubeSphere 3.x install of its version, with its own jwtSecret", async () => {
        const sandbox = env.sandbox();
        const secrets = new Set<string>();
        const releases: Record<string, string> = { host: "v3.4.1", member1: "v3.2.1", member2: "v3.3.2" };
        for (const cluster of sandbox.clusters) {
            const installer = await readInstaller(sandbox, cluster.name);
            assert.strictEqual(installer?.spec.multicluster.clusterRole, "none");
            assert.strictEqual(
                installer?.status?.core?.version,
                releases[cluster.name],
                `${cluster.name}: ks-installer status.core.version`,
            );
            assert.ok(
                installer?.spec.authentication.jwtSecret === "",
                `ks-installer on ${cluster.name} must start with an empty jwtSecret`,
            );
            const settings = await kubesphereSettings(sandbox, cluster.name);
            // 3.2 renders no multicluster block except on a host (docs/kubesphere.md §9).
            assert.strictEqual(settings.clusterRole, cluster.kubesphereVersion === "3.2" ? undefined : "none");
            assert.ok(
                /^[A-Za-z0-9]{32}$/.test(settings.jwtSecret ?? ""),
                `${cluster.name}'s jwtSecret must be 32 alphanumeric characters`,
            );
            secrets.add(settings.jwtSecret as string);
        }
        assert.strictEqual(secrets.size, 3, "every cluster must start with a different jwtSecret");
    });

    it("re-renders members' kubesphere-config only after the reconcile delay, per version", async () => {
        const sandbox = env.sandbox();
        const patchedAt = Date.now();
        await configureAsMember(sandbox, "member1");
        await configureAsMember(sandbox, "member2");
        assert.strictEqual(
            (await kubesphereSettings(sandbox, "member2")).clusterRole,
            "none",
            "re-rendered without any delay",
        );
        const rendered = await waitForMemberRole(sandbox, "member2", RECONCILE_DELAY_MS + 10_000);
        assert.ok(Date.now() - patchedAt >= RECONCILE_DELAY_MS, "kubesphere-config changed before the reconcile delay");
        const hostSecret = (await kubesphereSettings(sandbox, "host")).jwtSecret;
        assert.ok(rendered.jwtSecret === hostSecret, "member2's jwtSecret must now equal the host's");
        assert.strictEqual(
            (
                yaml.load((await kubesphereYamlText(sandbox, "member2")) as string) as {
                    multicluster: { enable: boolean };
                }
            ).multicluster.enable,
            false,
        );
        // 3.2: the host's secret and accessTokenMaxAge 0, and still no multicluster block at all.
        const member1 = await waitFor(
            async () => {
                const text = (await kubesphereYamlText(sandbox, "member1")) as string;
                return readKubesphereYaml(text).jwtSecret === hostSecret
                    ? (yaml.load(text) as Record<string, any>)
                    : undefined;
            },
            { description: "member1 (3.2) to get the host's jwtSecret", timeoutMs: 10_000 },
        );
        assert.strictEqual(member1.multicluster, undefined);
        assert.strictEqual(member1.authentication.oauthOptions.accessTokenMaxAge, 0);
    });

    it("starts the host's cluster controller only once the host role is rendered, after the host installer delay", async () => {
        const sandbox = env.sandbox();
        // A member's Cluster created before the host is a host sits without status.
        await createCluster(sandbox, "member1");
        await configureAsHost(sandbox);
        const patchedAt = Date.now();
        await sleep(1_000);
        const early = await readCluster(sandbox, "member1");
        assert.strictEqual(early?.status, undefined, "no controller runs before the host role is rendered");
        assert.strictEqual(early?.metadata.finalizers, undefined);
        const hostEntry = await waitForHostEntry(sandbox, HOST_INSTALLER_DELAY_MS + 15_000);
        assert.ok(
            Date.now() - patchedAt >= HOST_INSTALLER_DELAY_MS,
            "the host became a host before the installer delay",
        );
        assert.strictEqual(hostEntry.metadata.labels?.[CLUSTER_LABELS.host], "");
        const settings = await kubesphereSettings(sandbox, "host");
        assert.strictEqual(settings.clusterRole, "host");
        assert.strictEqual(settings.enable, true);
        // The 3.4 installer applied the Cluster webhook with the host role.
        const webhook = await sandbox
            .loadKubeConfig("host")
            .makeApiClient(AdmissionregistrationV1Api)
            .readValidatingWebhookConfiguration({ name: CLUSTER_WEBHOOK.configurationName });
        assert.strictEqual(webhook.webhooks?.[0].name, CLUSTER_WEBHOOK.webhookName);
        assert.match(webhook.webhooks?.[0].clientConfig.url ?? "", /^https:\/\/127\.0\.0\.1:\d+\//);
    });

    it("joins member1 (3.2) under the 3.4 host: Federated and Ready with KubeSphere's messages, no Initialized", async () => {
        const sandbox = env.sandbox();
        const cluster = await waitForCluster(
            sandbox,
            "member1",
            "to be Ready",
            (c) => conditionOf(c, "Ready")?.status === "True",
        );
        assert.deepStrictEqual(cluster.metadata.finalizers, [CLUSTER.finalizer]);
        assert.deepStrictEqual(
            cluster.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
            [
                ["Federated", "True", "", "Cluster has joined federation control plane successfully"],
                ["Ready", "True", "Ready", "Cluster is available now"],
                // A token kubeconfig never expires for 3.4.
                ["KubeConfigCertExpiresInSevenDays", "False", "KubeConfigCertExpiresInSevenDays", ""],
            ],
        );
        const kubeSystem = await clients(sandbox, "member1").core.readNamespace({ name: "kube-system" });
        assert.strictEqual(cluster.status?.uid, kubeSystem.metadata?.uid);
        assert.match(cluster.status?.kubernetesVersion ?? "", /^v1\.\d+\.\d+/);
        assert.strictEqual(cluster.status?.kubeSphereVersion, "v3.2.1", "what the member's ks-apiserver reports");
        assert.strictEqual(cluster.spec?.connection?.kubernetesAPIEndpoint, sandbox.cluster("member1").server);
        await waitFor(async () => (await kubesphereSettings(sandbox, "member1")).clusterName === "member1", {
            description: "the 3.4 controller to write multicluster.clusterName into member1's kubesphere-config",
            timeoutMs: 10_000,
        });
    });

    it("prunes spec.config from a Cluster on a 3.x host (typed CRD)", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member2", { name: "member2-config", config: "cloud:\n  enabled: false\n" });
        assert.strictEqual((await readCluster(sandbox, "member2-config"))?.spec?.config, undefined);
        await deleteCluster(sandbox, "member2-config");
        await waitForClusterGone(sandbox, "member2-config");
    });

    it("never checks jwtSecret or clusterRole on the Cluster: a member still at clusterRole none joins Ready", async () => {
        const sandbox = env.sandbox();
        const hostEntry = await readCluster(sandbox, "host");
        assert.ok(hostEntry);
        await clients(sandbox, "member2").customObjects.patchNamespacedCustomObject(
            {
                group: INSTALLER.group,
                version: INSTALLER.version,
                namespace: KUBESPHERE_NAMESPACE,
                plural: INSTALLER.plural,
                name: INSTALLER.name,
                body: { spec: { multicluster: { clusterRole: "none" } } },
            },
            MERGE_PATCH,
        );
        await waitFor(async () => (await kubesphereSettings(sandbox, "member2")).clusterRole === "none", {
            description: "member2 back to clusterRole none",
            timeoutMs: 10_000,
        });
        await createCluster(sandbox, "member2");
        const cluster = await waitForCluster(
            sandbox,
            "member2",
            "to be Ready",
            (c) => conditionOf(c, "Ready")?.status === "True",
        );
        assert.strictEqual(cluster.status?.kubeSphereVersion, "v3.3.2");
    });

    it("reports an exec-plugin kubeconfig as a failed federation join, as KubeSphere's pods cannot run the plugin", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member1", {
            name: "member1-exec",
            kubeconfig: fs.readFileSync(sandbox.cluster("member1").execKubeconfigPath, "utf8"),
        });
        const cluster = await waitForCluster(
            sandbox,
            "member1-exec",
            "to be Ready=False",
            (c) => conditionOf(c, "Ready")?.status === "False",
        );
        assert.deepStrictEqual(
            cluster.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
            [
                [
                    "Federated",
                    "False",
                    "getting credentials: exec: executable aws not found",
                    "Cluster can not join federation control plane",
                ],
                ["Ready", "False", "Cluster join federation control plane failed", "Cluster is Not Ready now"],
            ],
        );
        await deleteCluster(sandbox, "member1-exec");
        await waitForClusterGone(sandbox, "member1-exec");
    });

    it("reports a client certificate's expiry (KubeConfigCertExpiresInSevenDays)", async () => {
        const sandbox = env.sandbox();
        const file = await sandbox.clientCertificateKubeconfig("member2", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 3,
        });
        await createCluster(sandbox, "member2", { name: "member2-cert", kubeconfig: fs.readFileSync(file, "utf8") });
        const cluster = await waitForCluster(
            sandbox,
            "member2-cert",
            "to be Ready",
            (c) => conditionOf(c, "Ready")?.status === "True",
        );
        const expiry = conditionOf(cluster, "KubeConfigCertExpiresInSevenDays");
        assert.strictEqual(expiry?.status, "True");
        assert.match(expiry?.message ?? "", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
        await deleteCluster(sandbox, "member2-cert");
        await waitForClusterGone(sandbox, "member2-cert");
    });

    it("leaves a Ready Cluster untouched between resyncs (no churn for pulumi up)", async () => {
        const sandbox = env.sandbox();
        const before = (await readCluster(sandbox, "member2")) as ClusterObject;
        // Proving an absence of writes needs time to pass: three of the emulator's one-second resyncs.
        await sleep(3_000);
        const after = (await readCluster(sandbox, "member2")) as ClusterObject;
        assert.strictEqual(
            after.metadata.resourceVersion,
            before.metadata.resourceVersion,
            "the emulator rewrote an unchanged Cluster",
        );
    });

    it("3.4's webhook refuses a kubeconfig of another cluster", async () => {
        const sandbox = env.sandbox();
        const kubeconfig = Buffer.from(sandbox.kubeconfig("member2")).toString("base64");
        await assert.rejects(
            clients(sandbox, "host").customObjects.patchClusterCustomObject(
                { ...CLUSTER, name: "member1", body: { spec: { connection: { kubeconfig } } } },
                MERGE_PATCH,
            ),
            (err: unknown) => {
                assert.strictEqual(httpStatus(err), 403);
                assert.match(
                    String((err as { body?: unknown }).body),
                    /admission webhook \\"validating-cluster.kubesphere.io\\" denied the request: this kubeconfig corresponds to a different cluster than the previous one/,
                );
                return true;
            },
        );
    });

    it("3.4's webhook: with member1 down, every update of its Cluster is refused, its stale Ready=True stays and a delete hangs", async () => {
        const sandbox = env.sandbox();
        await sandbox.stopApiServer("member1");
        assert.strictEqual(sandbox.isApiServerRunning("member1"), false);
        assert.strictEqual(sandbox.isControllerManagerRunning("member1"), false);
        await assert.rejects(
            clients(sandbox, "host").customObjects.patchClusterCustomObject(
                { ...CLUSTER, name: "member1", body: { metadata: { labels: { edited: "yes" } } } },
                MERGE_PATCH,
            ),
            (err: unknown) =>
                httpStatus(err) === 403 &&
                /denied the request: .*ECONNREFUSED/.test(String((err as { body?: unknown }).body)),
        );
        await deleteCluster(sandbox, "member1");
        // Absence of progress needs time to pass: a few of the emulator's one-second resyncs.
        await sleep(3_000);
        const stuck = await readCluster(sandbox, "member1");
        assert.ok(stuck?.metadata.deletionTimestamp, "the Cluster should be marked for deletion");
        assert.deepStrictEqual(stuck?.metadata.finalizers, [CLUSTER.finalizer]);
        assert.strictEqual(
            conditionOf(stuck, "Ready")?.status,
            "True",
            "the controller's own status write is refused too: the stale Ready stays",
        );
        await sandbox.startApiServer("member1");
        assert.strictEqual(sandbox.isControllerManagerRunning("member1"), true);
        await waitForClusterGone(sandbox, "member1", 30_000);
    });

    it("stops every process it started, idempotently", async () => {
        const sandbox = env.sandbox();
        const processes = sandbox.processes();
        assert.strictEqual(
            processes.length,
            8,
            "etcd, three kube-apiservers, three kube-controller-managers and the emulator",
        );
        await sandbox.stop();
        await sandbox.stop();
        assert.deepStrictEqual(
            processesMentioning(env.dir()),
            [],
            "processes still running with the sandbox dir in their command line",
        );
        for (const p of processes) {
            // isRunning: not there, not a zombie (exited, not yet reaped under load), not a recycled pid.
            assert.ok(!isRunning(p), `${p.name} (pid ${p.pid}) is still there`);
        }
    });
});

// KubeSphere 3.3's emulation (empty CertData, no webhook) is checked on the 3.3 sandbox of versions.e2e.test.ts.

describe("e2e sandbox with kubesphere-emulator: KubeSphere 4.1 host and bare 4.1 member (smoke)", function () {
    this.timeout(120_000);
    const INSTALL_DELAY_MS = 500;
    const env = useSandbox({ members: 1, kubesphereVersion: "4.1", reconcileDelayMs: INSTALL_DELAY_MS });
    const valuesV1 = "cloud:\n  enabled: false\n";
    const valuesV2 = "cloud:\n  enabled: true\n";

    it("seeds the host as a 4.x host (no ClusterConfiguration, issuer jwtSecret) with its own Cluster entry, and a bare member", async () => {
        const sandbox = env.sandbox();
        assert.strictEqual(await readInstaller(sandbox, "host"), undefined);
        const document = yaml.load((await kubesphereYamlText(sandbox, "host")) as string) as {
            authentication: Record<string, unknown>;
        };
        assert.strictEqual(
            document.authentication.jwtSecret,
            undefined,
            "4.x keeps the secret under authentication.issuer",
        );
        const settings = await kubesphereSettings(sandbox, "host");
        assert.ok(/^[A-Za-z0-9]{32}$/.test(settings.jwtSecret ?? ""), "authentication.issuer.jwtSecret must be set");
        assert.strictEqual(settings.clusterRole, "host");
        const hostEntry = await waitForHostEntry(sandbox, 10_000);
        assert.strictEqual(hostEntry.status?.kubeSphereVersion, "v4.1.3");
        const crd = await sandbox
            .loadKubeConfig("host")
            .makeApiClient(ApiextensionsV1Api)
            .readCustomResourceDefinition({ name: "clusters.cluster.kubesphere.io" });
        assert.deepStrictEqual(
            crd.spec.versions[0].additionalPrinterColumns?.map((column) => column.name),
            ["Provider", "Version"],
        );
        assert.strictEqual(
            crd.spec.versions[0].schema?.openAPIV3Schema?.properties?.spec?.properties?.config?.format,
            "byte",
        );
        await assert.rejects(
            clients(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE }),
            (err: unknown) => httpStatus(err) === 404,
        );
    });

    it("installs ks-core on the bare member: kubesphere-system, role member, the host's secret, KSCoreReady, config-hash, the host-cluster annotation", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member1", { config: valuesV1 });
        const cluster = await waitForCluster(
            sandbox,
            "member1",
            "to be Ready",
            (c) => conditionOf(c, "Ready")?.status === "True",
        );
        assert.deepStrictEqual(
            [
                conditionOf(cluster, "KSCoreReady")?.status,
                conditionOf(cluster, "KSCoreReady")?.reason,
                conditionOf(cluster, "KSCoreReady")?.message,
            ],
            ["True", "KSCoreReady", "KS Core is available now"],
        );
        assert.strictEqual(
            cluster.metadata.annotations?.[CLUSTER_ANNOTATIONS.configHash],
            fnv1a64Hex(Buffer.from(valuesV1)),
        );
        assert.strictEqual(cluster.status?.kubeSphereVersion, "v4.1.3");
        const member = await kubesphereSettings(sandbox, "member1");
        assert.strictEqual(member.clusterRole, "member");
        assert.ok(
            member.jwtSecret === (await kubesphereSettings(sandbox, "host")).jwtSecret,
            "member1 has the host's issuer jwtSecret",
        );
        const namespace = await waitFor(
            async () => {
                const ns = await clients(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE });
                return ns.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName] ? ns : undefined;
            },
            { description: "the host-cluster annotation on member1's kubesphere-system", timeoutMs: 10_000 },
        );
        assert.strictEqual(namespace.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName], "host");
    });

    it("reinstalls ks-core when spec.config changes: KSCoreReady stays True, the hash follows after the install", async () => {
        const sandbox = env.sandbox();
        await clients(sandbox, "host").customObjects.patchClusterCustomObject(
            { ...CLUSTER, name: "member1", body: { spec: { config: Buffer.from(valuesV2).toString("base64") } } },
            MERGE_PATCH,
        );
        const changedAt = Date.now();
        const during = await readCluster(sandbox, "member1");
        assert.strictEqual(conditionOf(during, "KSCoreReady")?.status, "True");
        assert.strictEqual(
            during?.metadata.annotations?.[CLUSTER_ANNOTATIONS.configHash],
            fnv1a64Hex(Buffer.from(valuesV1)),
        );
        await waitForCluster(
            sandbox,
            "member1",
            "to carry the new config hash",
            (c) => c.metadata.annotations?.[CLUSTER_ANNOTATIONS.configHash] === fnv1a64Hex(Buffer.from(valuesV2)),
        );
        assert.ok(
            Date.now() - changedAt >= INSTALL_DELAY_MS,
            "the hash followed before the (emulated) Helm install took its time",
        );
    });

    it("renews a client certificate with 7 days or less left in spec.connection.kubeconfig", async () => {
        const sandbox = env.sandbox();
        const masters = await sandbox.clientCertificateKubeconfig("member1", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 3,
        });
        const alice = await sandbox.clientCertificateKubeconfig("member1", {
            user: "alice",
            days: 3,
            clusterAdmin: true,
        });
        await createCluster(sandbox, "member1", {
            name: "member1-masters",
            kubeconfig: fs.readFileSync(masters, "utf8"),
            config: valuesV2,
        });
        await createCluster(sandbox, "member1", {
            name: "member1-alice",
            kubeconfig: fs.readFileSync(alice, "utf8"),
            config: valuesV2,
        });
        const userOf = (cluster: ClusterObject) => {
            const kubeConfig = new KubeConfig();
            kubeConfig.loadFromString(Buffer.from(cluster.spec!.connection!.kubeconfig!, "base64").toString("utf8"));
            return kubeConfig.getCurrentUser();
        };
        // system:masters (kubeadm's admin.conf): swapped for the token of the member's kubesphere ServiceAccount.
        const swapped = await waitForCluster(
            sandbox,
            "member1-masters",
            "to get a token kubeconfig",
            (c) => Boolean(userOf(c)?.token),
            30_000,
        );
        assert.strictEqual(userOf(swapped)?.certData, undefined);
        // Any other certificate: re-issued through a CSR on the member, for about a year.
        const renewed = await waitForCluster(
            sandbox,
            "member1-alice",
            "to get a renewed certificate",
            (c) => {
                const message = conditionOf(c, "KubeConfigCertExpiresInSevenDays")?.message ?? "";
                return (
                    message !== "" &&
                    new Date(message.replace(" +0000 UTC", "Z").replace(" ", "T")).getTime() >
                        Date.now() + 300 * 86400_000
                );
            },
            40_000,
        );
        assert.strictEqual(userOf(renewed)?.name, "alice");
        assert.strictEqual(
            conditionOf(renewed, "KubeConfigCertExpiresInSevenDays")?.status,
            "",
            "v4.1.3 writes this condition without a status",
        );
    });

    it("reports an exec-plugin kubeconfig as Ready=False with reason Ready, and installs nothing", async () => {
        const sandbox = env.sandbox();
        await createCluster(sandbox, "member1", {
            name: "member1-exec",
            kubeconfig: fs.readFileSync(sandbox.cluster("member1").execKubeconfigPath, "utf8"),
        });
        const cluster = await waitForCluster(
            sandbox,
            "member1-exec",
            "to be Ready=False",
            (c) => conditionOf(c, "Ready")?.status === "False",
        );
        assert.deepStrictEqual(
            cluster.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
            [
                [
                    "Ready",
                    "False",
                    "Ready",
                    "failed to get kube-system namespace for member1-exec: getting credentials: exec: executable aws not found",
                ],
            ],
        );
        await deleteCluster(sandbox, "member1-exec");
        await waitForClusterGone(sandbox, "member1-exec");
    });

    it("removes a Cluster whose member is unreachable (no webhook on 4.1), and removes the annotations on a clean delete", async () => {
        const sandbox = env.sandbox();
        await sandbox.stopApiServer("member1");
        for (const name of ["member1-masters", "member1-alice"]) await deleteCluster(sandbox, name);
        for (const name of ["member1-masters", "member1-alice"]) await waitForClusterGone(sandbox, name);
        await sandbox.startApiServer("member1");
        await waitForCluster(
            sandbox,
            "member1",
            "to be Ready again",
            (c) => conditionOf(c, "Ready")?.status === "True",
            30_000,
        );
        await deleteCluster(sandbox, "member1");
        await waitForClusterGone(sandbox, "member1");
        const namespace = await clients(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE });
        assert.strictEqual(namespace.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName], undefined);
    });
});
