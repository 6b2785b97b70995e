/**
 * The sandbox's own test (run by the e2e suite, not by the unit tests): the clusters it starts - a KubeSphere 3.4
 * host and 3.2 and 3.3 members, each a real kube-apiserver and kube-controller-manager - their kubeconfigs, CRDs and
 * seeds. The emulated KubeSphere on them: kubesphere3.test.ts, kubesphere4.test.ts. Alone:
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/clusters.test.ts
 *
 * The tests run in order on one sandbox. A failing run keeps its sandbox directory (data and logs) and prints where;
 * KSF_SANDBOX_KEEP=1 keeps it always. jwtSecrets are compared with assert.ok, never assert.equal, so a failure
 * cannot print them.
 */
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { httpStatus } from "../emulator/kubeApi";
import { KUBESPHERE_NAMESPACE } from "../emulator/kubesphereObjects";
import { clusterApi, installerOf, kubesphereSettings } from "../harness/clusterQueries";
import { useSandbox } from "../harness/useSandbox";
import { kubeconfigYaml } from "./kubeconfigFile";
import { waitFor } from "./waitFor";

describe("e2e sandbox: KubeSphere 3.4 host, 3.2 and 3.3 members as clusters: kubeconfigs, CRDs, seeds (smoke)", function () {
    this.timeout(120_000);
    const env = useSandbox("sandbox-clusters", {
        withStack: false,
        keepOnFailure: true,
        members: 2,
        memberVersions: ["3.2", "3.3"],
    });
    before(() => console.log(`      sandbox started in ${(env.startedInMs / 1000).toFixed(1)} s`));

    it("has a host and two members, each answering with its own kubeconfig", async () => {
        const sandbox = env.sandbox;
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
            const kubeSystem = await clusterApi(sandbox, cluster.name).core.readNamespace({ name: "kube-system" });
            uids.add(kubeSystem.metadata?.uid as string);
        }
        assert.strictEqual(uids.size, 3, "each cluster must be a separate cluster (own kube-system UID)");
    });

    it("has each version's KubeSphere CRDs: typed Cluster schema, kubeconfig as bytes, 3.x printer columns", async () => {
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
        const { core } = clusterApi(sandbox, "member1");
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
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
        const secrets = new Set<string>();
        const releases: Record<string, string> = { host: "v3.4.1", member1: "v3.2.1", member2: "v3.3.2" };
        for (const cluster of sandbox.clusters) {
            const installer = await installerOf(sandbox, cluster.name);
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
});
