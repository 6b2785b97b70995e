/**
 * End-to-end, the pods a join needs on the member (docs/kubesphere.md §11), through the real engine on a 3.4 sandbox:
 * a member whose ks-installer image cannot be pulled (the emulator's kubelet switch, test/e2e/sandbox/README.md
 * "Pods") makes the installer wait fail with the pod, its image and ImagePullBackOff on the error's FIRST line, and
 * the doctor's row fails with the same evidence (the wait's progress line is unit-tested: the harness cancels a
 * failed run before the engine prints its diagnostics); once the image can be pulled, the
 * next `up` converges and the row passes.
 */
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { doctor } from "../../program/doctor";
import { formatTable } from "../../components/members/diagnosis/format";
import { clusterApi, hostCluster, conditionOf, jwtSecretOf } from "./harness/clusterQueries";
import { failureOf } from "./harness/federationStack";
import { useSandbox } from "./harness/useSandbox";
import { REPO_ROOT } from "./sandbox/paths";
import { waitFor } from "./sandbox/waitFor";

const IMAGE = "kubesphere/ks-installer:v3.4.1";
/** A registry of the user's own: a documentation name, never dialled (the emulator plays the pull). */
const MIRROR = "registry.example.com/kubesphere-mirror";

/** The operations of an `up` other than same/read. */
const changesOf = (summary: { resourceChanges?: Record<string, number> }) =>
    Object.entries(summary.resourceChanges ?? {}).filter(([op]) => op !== "same" && op !== "read");

describe("pods: a KubeSphere pod on the member that cannot run (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("pods", { members: 2, hostVersion: "3.4", memberVersions: ["3.4", "3.4"] });

    const direct = {
        name: "member1",
        provider: "kubeadm",
        installerTimeoutSeconds: 15,
        readyTimeoutSeconds: 120,
    };
    const agent: Record<string, unknown> = {
        name: "member2",
        provider: "generic",
        connection: "agent",
        readyTimeoutSeconds: 20,
    };
    let members: Array<Record<string, unknown>> = [direct];
    const config = () => ({
        host: {
            name: "host",
            kubeconfig: { path: ctx.sandbox.host.kubeconfigPath },
            agentProxyAddress: ctx.sandbox.towerAddress,
        },
        members: members.map((member) => ({
            ...member,
            kubeconfig: { path: ctx.sandbox.cluster(String(member.name)).kubeconfigPath },
        })),
    });
    /** The doctor's pods row for `member`, as `npm run doctor` prints it (program/doctor.ts on a stack file). */
    const doctorPodRow = async (member = "member1") => {
        const project = path.join(ctx.dir, "project");
        fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        const { host, members } = config();
        fs.writeFileSync(
            path.join(project, "stacks", "Pulumi.pods.yaml"),
            yaml.dump({ config: { "kubesphere-federation:host": host, "kubesphere-federation:members": members } }),
        );
        const table = formatTable(await doctor(project, "pods")).split("\n");
        const row = table.find(
            (line) => line.startsWith(`${member} `) && line.includes("KubeSphere's pods on the member"),
        );
        assert.ok(row, `the doctor prints a pods row:\n${table.join("\n")}`);
        return row;
    };
    const installerPodWaiting = async () => {
        const pods = await clusterApi(ctx.sandbox, "member1").core.listNamespacedPod({
            namespace: "kubesphere-system",
            labelSelector: "app=ks-installer",
        });
        return pods.items[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    };

    it("a 3.4 member whose ks-installer image cannot be pulled: the installer wait's error names the pod, image and ImagePullBackOff first; fixed, the next up converges", async () => {
        ctx.sandbox.setEmulatedPod("member1", "ks-installer", "unpullable");
        await waitFor(async () => (await installerPodWaiting()) === "ImagePullBackOff", {
            description: "the emulated kubelet to report ImagePullBackOff for member1's ks-installer",
            timeoutMs: 15_000,
            intervalMs: 200,
        });
        await ctx.stack.setFederationConfig(config());
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            new RegExp(
                `^member "member1": KubeSphere's pods on the member: pod kubesphere-system/ks-installer-[0-9a-f]{10}-[0-9a-f]{5} ` +
                    `container installer cannot pull image ${IMAGE.replace(/\./g, "\\.")}: ImagePullBackOff \\(Back-off pulling image "${IMAGE.replace(/\./g, "\\.")}"\\); ` +
                    `no imagePullSecrets\\. Fix: make .* pullable from the member's nodes: .*registry.*imagePullSecrets`,
            ),
        );
        assert.match(failure.all, /ks-installer did not apply the host's jwtSecret and clusterRole member within 15s/);
        for (const secret of [await jwtSecretOf(ctx.sandbox, "host")].filter((value) => value.length >= 16)) {
            assert.ok(!failure.all.includes(secret), "the host's jwtSecret is not printed");
        }
        const failing = await doctorPodRow();
        assert.match(failing, /\bFAIL\b.*cannot pull image kubesphere\/ks-installer:v3\.4\.1: ImagePullBackOff/);

        ctx.sandbox.setEmulatedPod("member1", "ks-installer", "running");
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member1"))?.status, "True");
        assert.match(
            await doctorPodRow(),
            /\bOK\b.*pod kubesphere-system\/ks-installer-\S+ runs \(kubesphere\/ks-installer:v3\.4\.1\)/,
        );
    });

    it("an agent member whose cluster-agent image cannot be pulled: the join wait's error names the pod, image and the pull error first; fixed, the next up converges", async () => {
        ctx.sandbox.setEmulatedPod("member2", "cluster-agent", "unpullable");
        members = [direct, agent];
        await ctx.stack.setFederationConfig(config());
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            new RegExp(
                `^member "member2": KubeSphere's pods on the member: pod kubesphere-system/cluster-agent-[0-9a-f]{10}-[0-9a-f]{5} ` +
                    `container agent cannot pull image kubesphere/tower:v0\\.2\\.1: (ImagePullBackOff|ErrImagePull) \\(.*kubesphere/tower:v0\\.2\\.1.*\\); ` +
                    `no imagePullSecrets\\. Fix: copy kubesphere/tower:v0\\.2\\.1 to a registry the member's nodes can reach and set members\\[1\\]\\.imageRegistry`,
            ),
            failure.first,
        );
        assert.match(failure.all, /FAIL {2}agent connection \(proxy\)/, "the agent check fails too, below");
        const token = (await hostCluster(ctx.sandbox, "member2")) as { spec: { connection: { token?: string } } };
        const agentToken = token.spec.connection.token ?? "";
        assert.ok(agentToken.length > 16 && !failure.all.includes(agentToken), "the agent token is not printed");
        assert.match(
            await doctorPodRow("member2"),
            /\bFAIL\b.*container agent cannot pull image kubesphere\/tower:v0\.2\.1/,
        );

        // The fix users have since KubeSphere withdrew its public images: a registry of their own. The emulator's
        // "unpullable" is Docker Hub's refusal; the mirror's image pulls (test/e2e/sandbox/README.md, "Pods").
        agent.imageRegistry = MIRROR;
        await ctx.stack.setFederationConfig(config());
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const joined = await hostCluster(ctx.sandbox, "member2");
        assert.strictEqual(conditionOf(joined, "AgentAvailable")?.status, "True");
        assert.strictEqual(conditionOf(joined)?.status, "True");
        assert.match(
            await doctorPodRow("member2"),
            /\bOK\b.*cluster-agent-\S+ runs \(registry\.example\.com\/kubesphere-mirror\/kubesphere\/tower:v0\.2\.1\)/,
        );
        const again = await ctx.stack.up();
        assert.deepStrictEqual(changesOf(again.summary), [], "a second up changes nothing");
    });

    it("an agent member whose imagePullSecrets name a Secret it does not have: refused before any change; once the Secret exists, the next up converges", async () => {
        const deployment = async () =>
            (
                await ctx.sandbox.loadKubeConfig("member2").makeApiClient(AppsV1Api).readNamespacedDeployment({
                    name: "cluster-agent",
                    namespace: "kubesphere-system",
                })
            ).spec?.template.spec?.imagePullSecrets?.map((secret) => secret.name);
        const before = await deployment();
        agent.imagePullSecrets = ["registry-login"];
        await ctx.stack.setFederationConfig(config());
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member2": members\[1\]\.imagePullSecrets \(or host\.imagePullSecrets\) names Secret "registry-login", which does not exist in namespace kubesphere-system on the member: the cluster-agent would pull without it.*Fix: create it on the member first \(kubectl -n kubesphere-system create secret docker-registry registry-login /,
            failure.first,
        );
        assert.deepStrictEqual(await deployment(), before, "nothing changed on the member");

        // The Secret's data is a placeholder: the emulated kubelet plays the pull (test/e2e/sandbox/README.md, "Pods").
        await clusterApi(ctx.sandbox, "member2").core.createNamespacedSecret({
            namespace: "kubesphere-system",
            body: {
                metadata: { name: "registry-login" },
                type: "kubernetes.io/dockerconfigjson",
                stringData: { ".dockerconfigjson": JSON.stringify({ auths: {} }) },
            },
        });
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        assert.deepStrictEqual(await deployment(), ["registry-login"]);
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member2"))?.status, "True");
    });
});

describe("pods on a KubeSphere 4.1 member: a ks-apiserver that crash-loops (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("pods4", { members: 1, hostVersion: "4.1", memberVersions: ["4.1"] });
    const config = (host: Record<string, unknown> = {}, member: Record<string, unknown> = {}) => ({
        host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath }, ...host },
        members: [
            {
                name: "member1",
                provider: "kubeadm",
                kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
                readyTimeoutSeconds: 20,
                ...member,
            },
        ],
    });

    it("the Ready wait's timeout names the crash-looping ks-apiserver pod first, with its restarts and last termination; running again, the next up converges", async () => {
        ctx.sandbox.setEmulatedPod("member1", "ks-apiserver", "crashLoop");
        await ctx.stack.setFederationConfig(config());
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member1": KubeSphere's pods on the member: pod kubesphere-system\/ks-apiserver-[0-9a-f]{10}-[0-9a-f]{5} container ks-apiserver \(image docker\.io\/kubesphere\/ks-apiserver:v4\.1\.3\) is in CrashLoopBackOff: restarted [1-9]\d* time\(s\), last termination Error, exit code 1\. Fix: read why it exits: kubectl -n kubesphere-system logs ks-apiserver-\S+ -c ks-apiserver --previous/,
            failure.first,
        );
        assert.match(failure.all, /no endpoints available for service/, "what KubeSphere wrote in Ready=False, below");
        ctx.sandbox.setEmulatedPod("member1", "ks-apiserver", "running");
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const joined = await hostCluster(ctx.sandbox, "member1");
        assert.strictEqual(conditionOf(joined)?.status, "True", conditionOf(joined)?.message);
    });

    it("ks-core's images from a registry of the user's own: host.imageRegistry and imagePullSecrets reach spec.config under ksCoreValues (which win), the install pulls from it; a second up changes nothing", async () => {
        // Docker Hub refuses KubeSphere's image from now on: the member's ks-apiserver cannot be pulled any more.
        ctx.sandbox.setEmulatedPod("member1", "ks-apiserver", "unpullable");
        const own = "registry.example.com/platform-team";
        // The pull Secret the config names must exist on the member (the image pre-flight refuses it otherwise); its
        // data is a placeholder: the emulated kubelet plays the pull.
        await clusterApi(ctx.sandbox, "member1").core.createNamespacedSecret({
            namespace: "kubesphere-system",
            body: {
                metadata: { name: "registry-login" },
                type: "kubernetes.io/dockerconfigjson",
                stringData: { ".dockerconfigjson": JSON.stringify({ auths: {} }) },
            },
        });
        await ctx.stack.setFederationConfig(
            config(
                { imageRegistry: MIRROR, imagePullSecrets: ["registry-login"] },
                { ksCoreValues: { global: { imageRegistry: own } } },
            ),
        );
        const result = await ctx.stack.up();
        assert.strictEqual(result.summary.result, "succeeded");
        const cluster = (await hostCluster(ctx.sandbox, "member1")) as { spec: { config?: string } };
        assert.deepStrictEqual(yaml.load(Buffer.from(cluster.spec.config ?? "", "base64").toString("utf8")), {
            global: { imageRegistry: own, imagePullSecrets: ["registry-login"] },
        });
        // KubeSphere stamps the config hash once Helm's upgrade returned; the Deployment's pods roll after it (as
        // on a real member), so the new pod is waited for, not expected at once.
        const core = ctx.sandbox.loadKubeConfig("member1").makeApiClient(CoreV1Api);
        const ksApiserverPods = async () =>
            (
                await core.listNamespacedPod({ namespace: "kubesphere-system", labelSelector: "app=ks-apiserver" })
            ).items.map((pod) => [
                pod.spec?.containers[0].image,
                pod.spec?.imagePullSecrets?.map((secret) => secret.name),
                pod.status?.phase,
            ]);
        const wanted = [[`${own}/kubesphere/ks-apiserver:v4.1.3`, ["registry-login"], "Running"]];
        await waitFor(async () => JSON.stringify(await ksApiserverPods()) === JSON.stringify(wanted), {
            description: "ks-apiserver's pod from the user's registry",
            timeoutMs: 30_000,
            intervalMs: 250,
        }).catch(async (err: Error) => {
            assert.deepStrictEqual(await ksApiserverPods(), wanted, err.message);
        });
        const joined = await hostCluster(ctx.sandbox, "member1");
        assert.strictEqual(conditionOf(joined)?.status, "True", conditionOf(joined)?.message);
        const again = await ctx.stack.up();
        assert.deepStrictEqual(changesOf(again.summary), [], "a second up changes nothing");
    });
});
