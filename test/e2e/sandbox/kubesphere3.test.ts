/**
 * The sandbox's own test (run by the e2e suite, not by the unit tests): the emulated KubeSphere 3.x on a 3.4 host
 * with 3.2 and 3.3 members - ks-installer's renders and delays, the cluster controller, 3.4's Cluster webhook - and
 * the sandbox stopping every process afterwards. The program's writes are made by hand
 * (../harness/kubesphereByHand.ts). Alone:
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/kubesphere3.test.ts
 *
 * The tests run in order on one sandbox. A failing run keeps its sandbox directory (data and logs) and prints where;
 * KSF_SANDBOX_KEEP=1 keeps it always. jwtSecrets are compared with assert.ok, never assert.equal, so a failure
 * cannot print them.
 */
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { httpStatus, MERGE_PATCH } from "../emulator/kubeApi";
import { CLUSTER, CLUSTER_LABELS, CLUSTER_WEBHOOK } from "../emulator/kubesphereObjects";
import { readKubesphereYaml } from "../emulator/kubesphereYaml";
import {
    clusterApi,
    ClusterObject,
    conditionOf,
    hostCluster,
    kubesphereSettings,
    kubesphereYamlText,
    waitForCluster,
    waitForClusterGone,
} from "../harness/clusterQueries";
import {
    configureAsHost,
    configureAsMember,
    createCluster,
    deleteCluster,
    patchInstaller,
    waitForHostEntry,
    waitForMemberRole,
} from "../harness/kubesphereByHand";
import { useSandbox } from "../harness/useSandbox";
import { isRunning } from "./processes";
import { sleep, waitFor } from "./waitFor";

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
    const env = useSandbox("sandbox-kubesphere3", {
        withStack: false,
        keepOnFailure: true,
        members: 2,
        memberVersions: ["3.2", "3.3"],
        reconcileDelayMs: RECONCILE_DELAY_MS,
        hostInstallerDelayMs: HOST_INSTALLER_DELAY_MS,
    });
    before(() => console.log(`      sandbox started in ${(env.startedInMs / 1000).toFixed(1)} s`));

    it("re-renders members' kubesphere-config only after the reconcile delay, per version", async () => {
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
        // A member's Cluster created before the host is a host sits without status.
        await createCluster(sandbox, "member1");
        await configureAsHost(sandbox);
        const patchedAt = Date.now();
        await sleep(1_000);
        const early = await hostCluster(sandbox, "member1");
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
        const sandbox = env.sandbox;
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
        const kubeSystem = await clusterApi(sandbox, "member1").core.readNamespace({ name: "kube-system" });
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
        const sandbox = env.sandbox;
        await createCluster(sandbox, "member2", { name: "member2-config", config: "cloud:\n  enabled: false\n" });
        assert.strictEqual((await hostCluster(sandbox, "member2-config"))?.spec?.config, undefined);
        await deleteCluster(sandbox, "member2-config");
        await waitForClusterGone(sandbox, "member2-config");
    });

    it("never checks jwtSecret or clusterRole on the Cluster: a member still at clusterRole none joins Ready", async () => {
        const sandbox = env.sandbox;
        const hostEntry = await hostCluster(sandbox, "host");
        assert.ok(hostEntry);
        await patchInstaller(sandbox, "member2", { multicluster: { clusterRole: "none" } });
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
        const sandbox = env.sandbox;
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
        const sandbox = env.sandbox;
        const before = (await hostCluster(sandbox, "member2")) as ClusterObject;
        // Proving an absence of writes needs time to pass: three of the emulator's one-second resyncs.
        await sleep(3_000);
        const after = (await hostCluster(sandbox, "member2")) as ClusterObject;
        assert.strictEqual(
            after.metadata.resourceVersion,
            before.metadata.resourceVersion,
            "the emulator rewrote an unchanged Cluster",
        );
    });

    it("3.4's webhook refuses a kubeconfig of another cluster", async () => {
        const sandbox = env.sandbox;
        const kubeconfig = Buffer.from(sandbox.kubeconfig("member2")).toString("base64");
        await assert.rejects(
            clusterApi(sandbox, "host").custom.patchClusterCustomObject(
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
        const sandbox = env.sandbox;
        await sandbox.stopApiServer("member1");
        assert.strictEqual(sandbox.isApiServerRunning("member1"), false);
        assert.strictEqual(sandbox.isControllerManagerRunning("member1"), false);
        await assert.rejects(
            clusterApi(sandbox, "host").custom.patchClusterCustomObject(
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
        const stuck = await hostCluster(sandbox, "member1");
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
        const sandbox = env.sandbox;
        const processes = sandbox.processes();
        assert.strictEqual(
            processes.length,
            8,
            "etcd, three kube-apiservers, three kube-controller-managers and the emulator",
        );
        await sandbox.stop();
        await sandbox.stop();
        assert.deepStrictEqual(
            processesMentioning(env.dir),
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
