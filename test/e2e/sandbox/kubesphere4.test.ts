/**
 * The sandbox's own test (run by the e2e suite, not by the unit tests): the emulated KubeSphere 4.1 on a 4.1 host
 * and a bare member - ks-core installs from spec.config, certificate renewal, removal. The program's writes are
 * made by hand (../harness/kubesphereByHand.ts). Alone:
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/kubesphere4.test.ts
 *
 * The tests run in order on one sandbox. A failing run keeps its sandbox directory (data and logs) and prints where;
 * KSF_SANDBOX_KEEP=1 keeps it always. jwtSecrets are compared with assert.ok, never assert.equal, so a failure
 * cannot print them.
 */
import { ApiextensionsV1Api, KubeConfig } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { httpStatus, MERGE_PATCH } from "../emulator/kubeApi";
import { CLUSTER, CLUSTER_ANNOTATIONS, KUBESPHERE_NAMESPACE } from "../emulator/kubesphereObjects";
import { fnv1a64Hex } from "../emulator/fnv";
import {
    clusterApi,
    ClusterObject,
    conditionOf,
    hostCluster,
    installerOf,
    kubesphereSettings,
    kubesphereYamlText,
    waitForCluster,
    waitForClusterGone,
} from "../harness/clusterQueries";
import { createCluster, deleteCluster, waitForHostEntry } from "../harness/kubesphereByHand";
import { useSandbox } from "../harness/useSandbox";
import { waitFor } from "./waitFor";

describe("e2e sandbox with kubesphere-emulator: KubeSphere 4.1 host and bare 4.1 member (smoke)", function () {
    this.timeout(120_000);
    const INSTALL_DELAY_MS = 500;
    const env = useSandbox("sandbox-kubesphere4", {
        withStack: false,
        keepOnFailure: true,
        members: 1,
        kubesphereVersion: "4.1",
        reconcileDelayMs: INSTALL_DELAY_MS,
    });
    before(() => console.log(`      sandbox started in ${(env.startedInMs / 1000).toFixed(1)} s`));
    const valuesV1 = "cloud:\n  enabled: false\n";
    const valuesV2 = "cloud:\n  enabled: true\n";

    it("seeds the host as a 4.x host (no ClusterConfiguration, issuer jwtSecret) with its own Cluster entry, and a bare member", async () => {
        const sandbox = env.sandbox;
        assert.strictEqual(await installerOf(sandbox, "host"), undefined);
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
            clusterApi(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE }),
            (err: unknown) => httpStatus(err) === 404,
        );
    });

    it("installs ks-core on the bare member: kubesphere-system, role member, the host's secret, KSCoreReady, config-hash, the host-cluster annotation", async () => {
        const sandbox = env.sandbox;
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
                const ns = await clusterApi(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE });
                return ns.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName] ? ns : undefined;
            },
            { description: "the host-cluster annotation on member1's kubesphere-system", timeoutMs: 10_000 },
        );
        assert.strictEqual(namespace.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName], "host");
    });

    it("reinstalls ks-core when spec.config changes: KSCoreReady stays True, the hash follows after the install", async () => {
        const sandbox = env.sandbox;
        await clusterApi(sandbox, "host").custom.patchClusterCustomObject(
            { ...CLUSTER, name: "member1", body: { spec: { config: Buffer.from(valuesV2).toString("base64") } } },
            MERGE_PATCH,
        );
        const changedAt = Date.now();
        const during = await hostCluster(sandbox, "member1");
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
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
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
        const namespace = await clusterApi(sandbox, "member1").core.readNamespace({ name: KUBESPHERE_NAMESPACE });
        assert.strictEqual(namespace.metadata?.annotations?.[CLUSTER_ANNOTATIONS.hostClusterName], undefined);
    });
});
