/**
 * End-to-end, the imports that go wrong in real life (docs/kubesphere.md §4, §5, §7): an exec-plugin (EKS-like) member
 * imported through a ServiceAccount token and its rotation, an endpoint override, a duplicate import, a member
 * without KubeSphere, removing an unreachable member the documented way, and a KubeSphere 4.x host.
 */
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { MERGE_PATCH } from "./emulator/kubeApi";
import {
    CLUSTER,
    clusterApi,
    conditionOf,
    configRoleOf,
    hostCluster,
    importedKubeconfig,
    INSTALLER,
    installerSpecOf,
    jwtSecretOf,
    waitUntil,
} from "./harness/clusterQueries";
import { useSandbox } from "./harness/useSandbox";
import { DOC_SECTIONS, docCommands, runCommands } from "./harness/docCommands";

// The program creates the import ServiceAccount in kube-system (components/members/importCredentials.ts IMPORT_SERVICE_ACCOUNT).
const SERVICE_ACCOUNT = { name: "kubesphere-multicluster", namespace: "kube-system" };

describe("real-world members (e2e)", function () {
    this.timeout(10 * 60_000);
    // KubeSphere 3.4 everywhere (the default): its Cluster webhook makes the removal of an unreachable member hang.
    const ctx = useSandbox("real", { members: 3 });
    const memberPort = (name: string) => new URL(ctx.sandbox.cluster(name).server).port;
    const configure = (members: Array<Record<string, unknown>>) =>
        ctx.stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } },
            members,
        });
    const eksLike = (extra: Record<string, unknown> = {}) => ({
        name: "member1",
        provider: "eks",
        // `aws eks get-token`-style exec plugin: credentials default to serviceAccount.
        kubeconfig: { path: ctx.sandbox.cluster("member1").execKubeconfigPath },
        readyTimeoutSeconds: 120,
        ...extra,
    });
    /**
     * Pulumi reaches member2 as `localhost` (a kubeconfig without CA, as many lab kubeconfigs are); KubeSphere must
     * use the address in apiServerEndpoint, 127.0.0.1, the only one in the serving certificate.
     */
    const withEndpoint = () => {
        const localhostKubeconfig = path.join(ctx.dir, "member2-localhost.yaml");
        const original = yaml.load(ctx.sandbox.kubeconfig("member2")) as {
            clusters: Array<{ cluster: Record<string, unknown> }>;
        };
        original.clusters[0].cluster = {
            server: `https://localhost:${memberPort("member2")}`,
            "insecure-skip-tls-verify": true,
        };
        fs.writeFileSync(localhostKubeconfig, yaml.dump(original), { mode: 0o600 });
        return {
            name: "member2",
            provider: "kubeadm",
            kubeconfig: { path: localhostKubeconfig },
            apiServerEndpoint: `https://127.0.0.1:${memberPort("member2")}`,
            readyTimeoutSeconds: 120,
        };
    };
    const secretNames = async () =>
        (
            await clusterApi(ctx.sandbox, "member1").core.listNamespacedSecret({ namespace: SERVICE_ACCOUNT.namespace })
        ).items
            .map((secret) => secret.metadata!.name!)
            .filter((name) => name.startsWith(SERVICE_ACCOUNT.name))
            .sort();
    let firstClusterUid = "";
    let firstToken = "";

    it("imports an exec-plugin member through a ServiceAccount token, and honours apiServerEndpoint", async () => {
        await configure([eksLike(), withEndpoint()]);
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const eks = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(eks)?.status, "True", conditionOf(eks)?.message);
        const imported = importedKubeconfig(eks);
        assert.strictEqual(imported.users[0].user.exec, undefined, "no exec plugin reaches KubeSphere");
        assert.strictEqual(typeof imported.users[0].user.token, "string");
        assert.deepStrictEqual(await secretNames(), ["kubesphere-multicluster-token-r1"]);
        firstClusterUid = eks.metadata.uid;
        firstToken = String(imported.users[0].user.token);
        const state = await ctx.stack.exportState();
        assert.ok(
            !state.includes(firstToken) && !ctx.stack.output().includes(firstToken),
            "the ServiceAccount token stays secret",
        );

        const overridden = (await hostCluster(ctx.sandbox, "member2"))!;
        assert.strictEqual(
            importedKubeconfig(overridden).clusters[0].cluster.server,
            `https://127.0.0.1:${memberPort("member2")}`,
        );
        assert.strictEqual(conditionOf(overridden)?.status, "True", conditionOf(overridden)?.message);
    });

    it("rotates the token in place when credentialsRevision is bumped", async () => {
        await configure([eksLike({ credentialsRevision: 2 }), withEndpoint()]);
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const eks = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(eks.metadata.uid, firstClusterUid, "the Cluster was updated, not deleted and re-created");
        assert.notStrictEqual(importedKubeconfig(eks).users[0].user.token, firstToken, "a new token");
        assert.deepStrictEqual(
            await secretNames(),
            ["kubesphere-multicluster-token-r2"],
            "the old token Secret is gone",
        );
        await waitUntil(
            async () => conditionOf(await hostCluster(ctx.sandbox, "member1"))?.status === "True",
            "member1 Ready with the new token",
        );
    });

    it("refuses to import the same cluster twice", async () => {
        const twin = {
            name: "member2-again",
            provider: "generic",
            kubeconfig: { path: ctx.sandbox.cluster("member2").kubeconfigPath },
        };
        await configure([eksLike({ credentialsRevision: 2 }), withEndpoint(), twin]);
        // Both entries are refused, each naming the other (the program checks the config's members against each
        // other too); member2-again's refusal also says member2 is already imported. Either refusal may come first.
        await assert.rejects(ctx.stack.up(), (err: Error) => {
            // Both entries are in the config: the program names the pair (docs/preflight-checks.md) rather than the Cluster.
            assert.match(
                err.message,
                /member "member2(-again)?" \(members\[[12]\]\) and member "member2(-again)?" \(members\[[12]\]\) are the same cluster/,
            );
            assert.match(err.message, /"member2-again"/);
            assert.match(err.message, /MUST not import the same cluster twice/);
            return true;
        });
        assert.strictEqual(await hostCluster(ctx.sandbox, "member2-again"), undefined);
    });

    it("refuses a member without KubeSphere, and creates nothing on it", async () => {
        await clusterApi(ctx.sandbox, "member3").custom.deleteNamespacedCustomObject(INSTALLER);
        const bare = {
            name: "member3",
            provider: "generic",
            kubeconfig: { path: ctx.sandbox.cluster("member3").kubeconfigPath },
        };
        await configure([eksLike({ credentialsRevision: 2 }), withEndpoint(), bare]);
        await assert.rejects(
            ctx.stack.up(),
            /KubeSphere is not installed on member "member3": ClusterConfiguration kubesphere-system\/ks-installer was not found/,
        );
        assert.strictEqual(
            await installerSpecOf(ctx.sandbox, "member3"),
            undefined,
            "no bare ks-installer was created",
        );
        assert.strictEqual(await hostCluster(ctx.sandbox, "member3"), undefined);
    });

    it("removes an unreachable member the documented way", async () => {
        await configure([eksLike({ credentialsRevision: 2 }), withEndpoint()]);
        assert.strictEqual((await ctx.stack.up()).summary.result, "succeeded", "back to the two members");
        await ctx.sandbox.stopApiServer("member1");
        await configure([withEndpoint()]);
        // docs/removing-members.md "By hand": PULUMI_K8S_DELETE_UNREACHABLE, and the kubectl steps while `pulumi up` waits.
        ctx.stack.setEngineEnv("PULUMI_K8S_DELETE_UNREACHABLE", "true");
        const host = clusterApi(ctx.sandbox, "host").custom;
        const removal = ctx.stack.up();
        await waitUntil(
            async () => Boolean((await hostCluster(ctx.sandbox, "member1"))?.metadata.deletionTimestamp),
            "the Cluster delete is pending",
        );
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.ok(
            (await hostCluster(ctx.sandbox, "member1"))?.metadata.finalizers?.length,
            "KubeSphere's finalizer holds the delete",
        );
        // Without the documented procedure the finalizer cannot be dropped: 3.4's webhook refuses the update.
        await assert.rejects(
            host.patchClusterCustomObject(
                { ...CLUSTER, name: "member1", body: { metadata: { finalizers: null } } },
                MERGE_PATCH,
            ),
            /denied the request/,
        );
        await runCommands(docCommands(DOC_SECTIONS.memberGoneForGoodByHand), {
            cwd: ctx.dir,
            env: { KUBECONFIG: ctx.sandbox.host.kubeconfigPath },
            substitute: { "<member>": "member1" },
            // Once the webhook configuration is deleted, KubeSphere's own finalizer removal goes through (its
            // un-join is host-side only, v3.4.1 unJoinFederation(nil, ...)); it can beat the kubectl patch.
            mayFindNothing: /^kubectl patch clusters/,
        });
        const result = await removal;
        ctx.stack.setEngineEnv("PULUMI_K8S_DELETE_UNREACHABLE", undefined);
        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual(await hostCluster(ctx.sandbox, "member1"), undefined);
        const state = await ctx.stack.exportState();
        assert.ok(!state.includes("member1-import"), "the unreachable member's resources left the state");
        const webhooks = await ctx.sandbox
            .loadKubeConfig("host")
            .makeApiClient(AdmissionregistrationV1Api)
            .listValidatingWebhookConfiguration();
        assert.deepStrictEqual(
            webhooks.items.map((item) => item.metadata?.name),
            ["cluster.kubesphere.io"],
            "the documented procedure re-applies the webhook",
        );
    });
});

describe("KubeSphere 4.x host (e2e)", function () {
    this.timeout(10 * 60_000);
    // A bare member (plain Kubernetes): the 4.1 host Helm-installs ks-core on it. A 3.x member is refused under a 4.x
    // host, and the version-by-version cases are in versions.e2e.test.ts.
    const ctx = useSandbox("real", { members: 1, hostVersion: "4.1", memberVersions: ["4.1"] });

    it("joins a member with the Cluster alone, without any ClusterConfiguration patch", async () => {
        await ctx.stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } },
            members: [
                {
                    name: "member1",
                    provider: "generic",
                    kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
                    ksCoreValues: { cloud: { enabled: false } },
                },
            ],
        });
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        assert.doesNotMatch(await ctx.stack.exportState(), /ClusterConfigurationPatch/);
        const cluster = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(cluster)?.status, "True");
        assert.strictEqual(conditionOf(cluster, "KSCoreReady")?.status, "True");
        assert.ok(cluster.spec.config, "ks-core values are passed in spec.config");
        assert.strictEqual(await configRoleOf(ctx.sandbox, "member1"), "member");
        assert.strictEqual(await jwtSecretOf(ctx.sandbox, "member1"), await jwtSecretOf(ctx.sandbox, "host"));
        const second = await ctx.stack.up();
        assert.deepStrictEqual(
            Object.keys(second.summary.resourceChanges ?? {}).filter((op) => op !== "same" && op !== "read"),
            [],
        );
    });
});
