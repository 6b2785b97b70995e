/**
 * End-to-end, KubeSphere 3.x's KubeFed join (docs/kubesphere.md §12) through the real engine on 3.4 sandboxes:
 * a host whose ks-installer never installed kubefed (the sandbox's `missingCrds`) makes the host-ready wait fail
 * naming kubefed's CRD and the fix on the error's FIRST line, and no member Cluster is created (a member's settings
 * are applied meanwhile, as on any first join); a member without KubeSphere's
 * Workspace CRD is refused before any change on any cluster; a normal join leaves the KubeFed objects KubeSphere
 * creates on the member and the host, and removing the member from the config deletes its Cluster and (KubeSphere)
 * the host-side objects, while the member keeps the ServiceAccount, token and binding the join made (what KubeSphere
 * leaves; docs/removing-members.md).
 */
import * as assert from "assert";
import {
    clusterApi,
    conditionOf,
    hostCluster,
    hostClusters,
    installerSpecOf,
    joinedMemberObjects,
    kubefedObjects,
    memberClusters,
} from "./harness/clusterQueries";
import { failureOf } from "./harness/federationStack";
import { useSandbox } from "./harness/useSandbox";
import { Sandbox } from "./sandbox/sandbox";
import { waitFor } from "./sandbox/waitFor";

/** What the program could change on each cluster: ks-installer's spec, the namespaces, the host's Clusters. */
async function clusterSnapshot(sandbox: Sandbox): Promise<string> {
    const parts: Record<string, unknown> = {};
    for (const cluster of sandbox.clusters) {
        const namespaces = (await clusterApi(sandbox, cluster.name).core.listNamespace()).items
            .map((ns) => ns.metadata?.name)
            .sort();
        parts[cluster.name] = { installer: await installerSpecOf(sandbox, cluster.name), namespaces };
    }
    parts.clusters = (await hostClusters(sandbox)).map((cluster) => ({
        name: cluster.metadata.name,
        spec: cluster.spec,
    }));
    return JSON.stringify(parts);
}

describe("kubefed: a 3.4 host whose ks-installer never installed kubefed (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("kubefed-host", { members: 1, missingCrds: { host: ["KubeFedCluster"] } });

    it("the host-ready wait fails naming kubefed's CRD and the fix on the first line; no member Cluster is created", async () => {
        await ctx.stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath }, installerTimeoutSeconds: 15 },
            members: [
                {
                    name: "member1",
                    provider: "kubeadm",
                    kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
                },
            ],
        });
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            new RegExp(
                `^host "host": kubefed's CRD kubefedclusters\\.core\\.kubefed\\.io is missing after 15s: KubeSphere 3\\.x joins no Cluster without it .*` +
                    `Fix: read the host's ks-installer log \\(kubectl -n kubesphere-system logs deploy/ks-installer\\) and its multicluster status ` +
                    `\\(kubectl get cc ks-installer -n kubesphere-system -o jsonpath='\\{\\.status\\.multicluster\\}'\\)`,
            ),
            failure.first,
        );
        // The host did become a host: the role rendered and KubeSphere's own entry exists (and cannot join).
        const hostEntry = await hostCluster(ctx.sandbox, "host");
        assert.strictEqual(
            conditionOf(hostEntry, "Federated")?.reason,
            'no matches for kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"',
        );
        assert.deepStrictEqual(
            await memberClusters(ctx.sandbox),
            [],
            "no member Cluster is created before the host is ready",
        );
    });
});

describe("kubefed: what a 3.4 join creates and what removal leaves (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("kubefed", { members: 2, missingCrds: { member2: ["Workspace"] } });
    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    const member = (name: string) => ({
        name,
        provider: "kubeadm",
        kubeconfig: { path: ctx.sandbox.cluster(name).kubeconfigPath },
        group: "development",
    });

    it("refuses a member without KubeSphere's Workspace CRD before any change on any cluster", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [member("member1"), member("member2")] });
        const before = await clusterSnapshot(ctx.sandbox);
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member2" \(members\[1\]\) has KubeSphere 3\.x without its CRD workspaces\.tenant\.kubesphere\.io: .*"the server could not find the requested resource \(get workspaces\.tenant\.kubesphere\.io\)".* Fix: repair KubeSphere's install on member "member2"/,
            failure.first,
        );
        // assert.ok, not strictEqual: the snapshot holds ks-installer specs (jwtSecrets), which must never be printed.
        assert.ok((await clusterSnapshot(ctx.sandbox)) === before, "a cluster changed although the program refused");
    });

    it("a join leaves the KubeFed objects on the member and the host; removing the member deletes the host side only", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [member("member1")] });
        const joined = await ctx.stack.up();
        assert.strictEqual(joined.summary.result, "succeeded");
        const cluster = await hostCluster(ctx.sandbox, "member1");
        assert.strictEqual(conditionOf(cluster)?.status, "True");
        const objects = await kubefedObjects(ctx.sandbox, "member1");
        assert.deepStrictEqual(objects.member, joinedMemberObjects("member1"));
        assert.strictEqual(objects.host.secret, true, "Secret kube-federation-system/member1-secret on the host");
        assert.strictEqual(objects.host.secretMatchesToken, true);
        assert.strictEqual(objects.host.kubefedCluster?.secretRef, "member1-secret");
        assert.strictEqual(cluster?.metadata.labels?.["cluster.kubesphere.io/group"], "development");
        assert.deepStrictEqual(objects.host.kubefedCluster?.labels, cluster?.metadata.labels, "the Cluster's labels");

        await ctx.stack.setFederationConfig({ host: host(), members: [] });
        const removed = await ctx.stack.up();
        assert.strictEqual(removed.summary.result, "succeeded");
        assert.strictEqual(await hostCluster(ctx.sandbox, "member1"), undefined, "the Cluster is deleted");
        const left = await waitFor(
            async () => {
                const now = await kubefedObjects(ctx.sandbox, "member1");
                return now.host.secret === false && now.host.kubefedCluster === undefined ? now : undefined;
            },
            {
                description: "KubeSphere's un-join to delete member1's Secret and KubeFedCluster on the host",
                timeoutMs: 15_000,
            },
        );
        // What KubeSphere 3.x leaves on the member (unjoin.go: host side only): a valid full-rights credential.
        assert.strictEqual(left.member.serviceAccount, true);
        assert.deepStrictEqual(left.member.tokenSecret, {
            type: "kubernetes.io/service-account-token",
            hasToken: true,
        });
        assert.strictEqual(left.member.bindingRole, "kubefed-controller-manager:member1-kubesphere");
    });
});
