/**
 * The sandbox's own test (run by the e2e suite, not by the unit tests): KubeSphere 3.x's federation join as the
 * emulator plays it (../emulator/kubefedJoin.ts, docs/kubesphere.md §12) — the CRDs a 3.x install has, the KubeFed
 * objects a join creates on the member and the host, the host-side un-join on deletion, and KubeSphere's messages
 * when a CRD is missing. The program's writes are made by hand (../harness/kubesphereByHand.ts). Alone:
 *
 *   npx mocha --no-config --require ts-node/register/transpile-only --timeout 300000 test/e2e/sandbox/kubefed.test.ts
 */
import { ApiextensionsV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import { httpStatus } from "../emulator/kubeApi";
import {
    conditionOf,
    hostCluster,
    joinedMemberObjects,
    kubefedObjects,
    waitForCluster,
    waitForClusterGone,
} from "../harness/clusterQueries";
import { configureAsHost, createCluster, deleteCluster } from "../harness/kubesphereByHand";
import { useSandbox } from "../harness/useSandbox";
import { Sandbox } from "./sandbox";
import { sleep } from "./waitFor";

async function hasCrd(sandbox: Sandbox, cluster: string, name: string): Promise<boolean> {
    try {
        await sandbox.loadKubeConfig(cluster).makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
        return true;
    } catch (err) {
        if (httpStatus(err) === 404) return false;
        throw err;
    }
}

const conditions = (cluster: { status?: { conditions?: Array<Record<string, string | undefined>> } } | undefined) =>
    cluster?.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]);

describe("e2e sandbox: KubeSphere 3.4's KubeFed join, member2 without the Workspace CRD (smoke)", function () {
    this.timeout(120_000);
    const env = useSandbox("sandbox-kubefed", {
        withStack: false,
        keepOnFailure: true,
        members: 2,
        reconcileDelayMs: 500,
        missingCrds: { member2: ["Workspace"] },
    });

    it("seeds the Workspace CRD on every 3.x cluster but member2, and kubefed's CRD on the host once it is a host", async () => {
        const sandbox = env.sandbox;
        assert.strictEqual(await hasCrd(sandbox, "host", "workspaces.tenant.kubesphere.io"), true);
        assert.strictEqual(await hasCrd(sandbox, "member1", "workspaces.tenant.kubesphere.io"), true);
        assert.strictEqual(await hasCrd(sandbox, "member2", "workspaces.tenant.kubesphere.io"), false);
        assert.strictEqual(
            await hasCrd(sandbox, "host", "kubefedclusters.core.kubefed.io"),
            false,
            "before the host role",
        );
        await configureAsHost(sandbox);
        await waitForCluster(
            sandbox,
            "host",
            "(the host's own entry) to be Ready",
            (c) => conditionOf(c)?.status === "True",
        );
        assert.strictEqual(await hasCrd(sandbox, "host", "kubefedclusters.core.kubefed.io"), true);
        assert.strictEqual(await hasCrd(sandbox, "member1", "kubefedclusters.core.kubefed.io"), false);
        // The host's own entry joins the host itself as KubeFed cluster "host".
        const hostEntry = await kubefedObjects(sandbox, "host");
        assert.strictEqual(hostEntry.member.serviceAccount, true);
        assert.ok(hostEntry.host.kubefedCluster, "KubeFedCluster host");
    });

    it("a join creates the KubeFed objects on the member and the host, the KubeFedCluster with the Cluster's labels", async () => {
        const sandbox = env.sandbox;
        await createCluster(sandbox, "member1", { labels: { "cluster.kubesphere.io/group": "development" } });
        await waitForCluster(sandbox, "member1", "to be Ready", (c) => conditionOf(c)?.status === "True");
        const objects = await kubefedObjects(sandbox, "member1");
        assert.deepStrictEqual(objects.member, joinedMemberObjects("member1"));
        assert.strictEqual(objects.host.secret, true);
        assert.strictEqual(objects.host.secretMatchesToken, true, "the host's Secret holds the member's token");
        assert.strictEqual(objects.host.kubefedCluster?.secretRef, "member1-secret");
        assert.strictEqual(objects.host.kubefedCluster?.apiEndpoint, sandbox.cluster("member1").server);
        const cluster = await hostCluster(sandbox, "member1");
        assert.strictEqual(objects.host.kubefedCluster?.labels["cluster.kubesphere.io/group"], "development");
        assert.deepStrictEqual(objects.host.kubefedCluster?.labels, cluster?.metadata.labels);
    });

    it("a member without the Workspace CRD: Federated=False with client-go's message, never Ready", async () => {
        const sandbox = env.sandbox;
        await createCluster(sandbox, "member2");
        const cluster = await waitForCluster(
            sandbox,
            "member2",
            "to be Ready=False",
            (c) => conditionOf(c)?.status === "False",
        );
        assert.deepStrictEqual(conditions(cluster), [
            [
                "Federated",
                "False",
                "the server could not find the requested resource (get workspaces.tenant.kubesphere.io)",
                "Cluster can not join federation control plane",
            ],
            ["Ready", "False", "Cluster join federation control plane failed", "Cluster is Not Ready now"],
        ]);
        // The member-side steps and the host's Secret come before the Workspace list; the KubeFedCluster after it.
        const objects = await kubefedObjects(sandbox, "member2");
        assert.strictEqual(objects.member.serviceAccount, true);
        assert.strictEqual(objects.host.secret, true);
        assert.strictEqual(objects.host.kubefedCluster, undefined);
        await sleep(2_000);
        assert.strictEqual(conditionOf(await hostCluster(sandbox, "member2"))?.status, "False", "still not Ready");
        await deleteCluster(sandbox, "member2");
        await waitForClusterGone(sandbox, "member2");
    });

    it("deleting a Cluster un-joins on the host side only: the member keeps its ServiceAccount, token and binding", async () => {
        const sandbox = env.sandbox;
        await deleteCluster(sandbox, "member1");
        await waitForClusterGone(sandbox, "member1");
        const objects = await kubefedObjects(sandbox, "member1");
        assert.strictEqual(objects.host.secret, false, "the host's Secret member1-secret is deleted");
        assert.strictEqual(objects.host.kubefedCluster, undefined, "the KubeFedCluster is deleted");
        assert.strictEqual(objects.member.namespace, true);
        assert.strictEqual(objects.member.serviceAccount, true);
        assert.deepStrictEqual(objects.member.tokenSecret, {
            type: "kubernetes.io/service-account-token",
            hasToken: true,
        });
        assert.strictEqual(objects.member.bindingRole, "kubefed-controller-manager:member1-kubesphere");
    });
});

describe("e2e sandbox: a KubeSphere 3.4 host whose installer never installed kubefed (smoke)", function () {
    this.timeout(120_000);
    const env = useSandbox("sandbox-no-kubefed", {
        withStack: false,
        keepOnFailure: true,
        members: 1,
        reconcileDelayMs: 500,
        missingCrds: { host: ["KubeFedCluster"] },
    });

    it("the host role renders, but no Cluster (the host's own entry included) joins: controller-runtime's message, never Ready", async () => {
        const sandbox = env.sandbox;
        await configureAsHost(sandbox);
        const expected = [
            [
                "Federated",
                "False",
                'no matches for kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"',
                "Cluster can not join federation control plane",
            ],
            ["Ready", "False", "Cluster join federation control plane failed", "Cluster is Not Ready now"],
        ];
        const hostEntry = await waitForCluster(
            sandbox,
            "host",
            "(the host's own entry) to be Ready=False",
            (c) => conditionOf(c)?.status === "False",
        );
        assert.deepStrictEqual(conditions(hostEntry), expected);
        assert.strictEqual(await hasCrd(sandbox, "host", "kubefedclusters.core.kubefed.io"), false);
        await createCluster(sandbox, "member1");
        const member = await waitForCluster(
            sandbox,
            "member1",
            "to be Ready=False",
            (c) => conditionOf(c)?.status === "False",
        );
        assert.deepStrictEqual(conditions(member), expected);
        await sleep(2_000);
        assert.strictEqual(conditionOf(await hostCluster(sandbox, "member1"))?.status, "False", "still not Ready");
    });

    it("a Cluster being deleted keeps its finalizer: the un-join cannot read the KubeFedCluster", async () => {
        const sandbox = env.sandbox;
        await deleteCluster(sandbox, "member1");
        // Absence of progress needs time to pass: a few of the emulator's one-second resyncs.
        await sleep(3_000);
        const stuck = await hostCluster(sandbox, "member1");
        assert.ok(stuck?.metadata.deletionTimestamp, "the Cluster should be marked for deletion");
        assert.deepStrictEqual(stuck?.metadata.finalizers, ["finalizer.cluster.kubesphere.io"]);
    });
});
