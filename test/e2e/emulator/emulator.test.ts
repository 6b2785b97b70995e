/**
 * The emulator's pure pieces, without clusters (run with the e2e suite: the emulator is test-only code).
 * Values come from KubeSphere's source (docs/kubesphere.md §9) or from the algorithms' published test vectors.
 */
import * as assert from "assert";
import * as yaml from "js-yaml";
import { reviewClusterUpdate } from "./clusterWebhook";
import { fnv1a64Hex } from "./fnv";
import { helmOwnershipProblem, ksCoreRegistryValues, ksCoreWorkloads } from "./ksCoreInstall";
import { fromDockerHub, kubeletStatus, podName } from "./kubelet";
import { readKubesphereYaml, renderKubesphereYamlV3, withClusterName } from "./kubesphereYaml";
import { credentialPluginError, goTimeString, MemberClientCache } from "./memberClient";
import { VERSION_TRAITS } from "./versions";

describe("kubesphere-emulator (pure parts)", () => {
    it("hashes spec.config like KubeSphere's hashutil.FNVString (FNV-1a 64, hex)", () => {
        // FNV-1a 64 test vectors: "" → offset basis, "a" → af63dc4c8601ec8c.
        assert.strictEqual(fnv1a64Hex(Buffer.from("")), "cbf29ce484222325");
        assert.strictEqual(fnv1a64Hex(Buffer.from("a")), "af63dc4c8601ec8c");
        assert.strictEqual(fnv1a64Hex(Buffer.from("foobar")), "85944171f73967e8");
    });

    it("renders kubesphere-config per version: 3.2 members get no multicluster block, 3.2 hosts no clusterRole", () => {
        const current = yaml.dump({
            authentication: { jwtSecret: "own-secret", oauthOptions: { accessTokenMaxAge: "2h0m0s" } },
            monitoring: { endpoint: "x" },
        });
        const member = { multicluster: { clusterRole: "member" }, authentication: { jwtSecret: "host-secret" } };
        const host = { multicluster: { clusterRole: "host", hostClusterName: "prod" } };
        const member32 = yaml.load(renderKubesphereYamlV3(current, member, VERSION_TRAITS["3.2"])) as Record<
            string,
            any
        >;
        assert.strictEqual(member32.multicluster, undefined);
        assert.strictEqual(member32.authentication.jwtSecret, "host-secret");
        assert.strictEqual(member32.authentication.oauthOptions.accessTokenMaxAge, 0);
        assert.strictEqual(member32.monitoring.endpoint, "x", "unrelated settings survive");
        assert.deepStrictEqual(
            (yaml.load(renderKubesphereYamlV3(current, host, VERSION_TRAITS["3.2"])) as Record<string, any>)
                .multicluster,
            { enable: true, hostClusterName: "prod" },
        );
        assert.deepStrictEqual(
            (yaml.load(renderKubesphereYamlV3(current, member, VERSION_TRAITS["3.3"])) as Record<string, any>)
                .multicluster,
            { clusterRole: "member", enable: false },
        );
        assert.deepStrictEqual(
            (yaml.load(renderKubesphereYamlV3(current, host, VERSION_TRAITS["3.4"])) as Record<string, any>)
                .multicluster,
            { clusterRole: "host", enable: true, hostClusterName: "prod" },
        );
    });

    it("renders 3.1's kubesphere-config: no hostClusterName on a host, a spec's oauthOptions win over a member's accessTokenMaxAge: 0", () => {
        const current = yaml.dump({
            authentication: { jwtSecret: "own-secret", oauthOptions: { accessTokenMaxAge: "2h0m0s" } },
        });
        const host = yaml.load(
            renderKubesphereYamlV3(
                current,
                { multicluster: { clusterRole: "host", hostClusterName: "prod" } },
                VERSION_TRAITS["3.1"],
            ),
        ) as Record<string, any>;
        assert.deepStrictEqual(host.multicluster, { enable: true });
        const member = { multicluster: { clusterRole: "member" }, authentication: { jwtSecret: "host-secret" } };
        const member31 = yaml.load(renderKubesphereYamlV3(current, member, VERSION_TRAITS["3.1"])) as Record<
            string,
            any
        >;
        assert.strictEqual(member31.multicluster, undefined);
        assert.strictEqual(member31.authentication.oauthOptions.accessTokenMaxAge, 0);
        const withOptions = {
            ...member,
            authentication: { jwtSecret: "host-secret", oauthOptions: { accessTokenMaxAge: "1h" } },
        };
        assert.deepStrictEqual(
            (yaml.load(renderKubesphereYamlV3(current, withOptions, VERSION_TRAITS["3.1"])) as Record<string, any>)
                .authentication.oauthOptions,
            { accessTokenMaxAge: "1h" },
        );
        assert.strictEqual(
            (yaml.load(renderKubesphereYamlV3(current, withOptions, VERSION_TRAITS["3.2"])) as Record<string, any>)
                .authentication.oauthOptions.accessTokenMaxAge,
            0,
        );
    });

    it("drops the controller's multicluster.clusterName on a re-render (it is not in ks-installer's template)", () => {
        const named = withClusterName(
            yaml.dump({ authentication: { jwtSecret: "s" }, multicluster: { clusterRole: "member", enable: false } }),
            "member1",
        );
        assert.strictEqual(readKubesphereYaml(named).clusterName, "member1");
        const rendered = renderKubesphereYamlV3(
            named,
            { multicluster: { clusterRole: "member" } },
            VERSION_TRAITS["3.4"],
        );
        assert.strictEqual(readKubesphereYaml(rendered).clusterName, undefined);
    });

    it("says what client-go inside KubeSphere says for credential plugins", () => {
        assert.strictEqual(
            credentialPluginError({ exec: { command: "/usr/local/bin/aws" } }),
            "getting credentials: exec: executable aws not found",
        );
        assert.strictEqual(
            credentialPluginError({ authProvider: { name: "gcp" } }),
            'no Auth Provider found for name "gcp"',
        );
        assert.strictEqual(credentialPluginError({}), undefined);
    });

    it("formats certificate expiry like Go's time.Time.String() in UTC", () => {
        assert.strictEqual(goTimeString(new Date("2026-12-04T08:26:45.123Z")), "2026-12-04 08:26:45 +0000 UTC");
    });

    it("3.4's webhook allows everything but UPDATEs of Clusters that already have status.uid", async () => {
        const members = new MemberClientCache();
        const cluster = { metadata: { name: "m" }, spec: { connection: { kubeconfig: "" } } };
        assert.strictEqual(await reviewClusterUpdate("CREATE", cluster, undefined, members), undefined);
        assert.strictEqual(
            await reviewClusterUpdate("UPDATE", cluster, { ...cluster, status: {} }, members),
            undefined,
            "first status write",
        );
        const denial = await reviewClusterUpdate("UPDATE", cluster, { ...cluster, status: { uid: "u" } }, members);
        assert.match(denial ?? "", /^failed to load cluster config for m: /);
    });
    it("refuses to adopt objects like Helm v3.16.2's checkOwnership (v4.1.3's ks-core install)", () => {
        assert.strictEqual(
            helmOwnershipProblem({}),
            'invalid ownership metadata; label validation error: missing key "app.kubernetes.io/managed-by": must be set to "Helm"; ' +
                'annotation validation error: missing key "meta.helm.sh/release-name": must be set to "ks-core"; ' +
                'annotation validation error: missing key "meta.helm.sh/release-namespace": must be set to "kubesphere-system"',
        );
        assert.strictEqual(
            helmOwnershipProblem({
                labels: { "app.kubernetes.io/managed-by": "Helm" },
                annotations: {
                    "meta.helm.sh/release-name": "other",
                    "meta.helm.sh/release-namespace": "kubesphere-system",
                },
            }),
            'invalid ownership metadata; annotation validation error: key "meta.helm.sh/release-name" must equal "ks-core": current value is "other"',
        );
        assert.strictEqual(
            helmOwnershipProblem({
                labels: { "app.kubernetes.io/managed-by": "Helm" },
                annotations: {
                    "meta.helm.sh/release-name": "ks-core",
                    "meta.helm.sh/release-namespace": "kubesphere-system",
                },
            }),
            undefined,
        );
    });

    it("plays the kubelet: a running pod, then ErrImagePull with the runtime's error and ImagePullBackOff with image_manager.go's message", () => {
        const workload = {
            workload: "ks-installer",
            namespace: "kubesphere-system",
            labels: { app: "ks-installer" },
            container: "installer",
            image: "kubesphere/ks-installer:v3.4.1",
        };
        assert.match(podName("member1", workload), /^ks-installer-[0-9a-f]{10}-[0-9a-f]{5}$/);
        const since = "2026-12-03T06:00:00Z";
        const running = kubeletStatus(workload, "running", since, 0);
        assert.strictEqual(running.phase, "Running");
        assert.deepStrictEqual(
            [running.containerStatuses[0].ready, running.containerStatuses[0].state],
            [true, { running: { startedAt: since } }],
        );
        const first = kubeletStatus(workload, "unpullable", since, 1);
        assert.strictEqual(first.phase, "Pending");
        assert.strictEqual(first.containerStatuses[0].state.waiting?.reason, "ErrImagePull");
        assert.match(
            first.containerStatuses[0].state.waiting!.message,
            /^rpc error: code = Unknown desc = failed to pull and unpack image "docker\.io\/kubesphere\/ks-installer:v3\.4\.1": /,
        );
        assert.deepStrictEqual(kubeletStatus(workload, "unpullable", since, 2).containerStatuses[0].state.waiting, {
            reason: "ImagePullBackOff",
            message: 'Back-off pulling image "kubesphere/ks-installer:v3.4.1"',
        });
        assert.deepStrictEqual(
            first.conditions.find((found) => found.type === "Ready"),
            {
                type: "Ready",
                status: "False",
                reason: "ContainersNotReady",
                message: "containers with unready status: [installer]",
                lastTransitionTime: since,
            },
        );
    });

    it("plays a crash loop: Running, CrashLoopBackOff with kuberuntime's back-off message, restartCount and lastState.terminated", () => {
        const workload = {
            workload: "ks-apiserver",
            namespace: "kubesphere-system",
            labels: { app: "ks-apiserver" },
            container: "ks-apiserver",
            image: "kubesphere/ks-apiserver:v4.1.3",
        };
        const status = kubeletStatus(workload, "crashLoop", "2026-12-03T06:00:00Z", 3, {
            name: "ks-apiserver-x",
            uid: "u1",
        });
        assert.strictEqual(status.phase, "Running");
        const container = status.containerStatuses[0];
        assert.deepStrictEqual(container.state.waiting, {
            reason: "CrashLoopBackOff",
            message: "back-off 40s restarting failed container=ks-apiserver pod=ks-apiserver-x_kubesphere-system(u1)",
        });
        assert.strictEqual(container.restartCount, 3);
        assert.deepStrictEqual(
            [container.lastState?.terminated?.exitCode, container.lastState?.terminated?.reason],
            [1, "Error"],
        );
        assert.match(
            kubeletStatus(workload, "crashLoop", "2026-12-03T06:00:00Z", 9).containerStatuses[0].state.waiting!.message,
            /^back-off 5m0s /,
        );
    });

    it("unpullable stands for Docker Hub: an image with no registry part or docker.io; another registry pulls", () => {
        assert.strictEqual(fromDockerHub("kubesphere/tower:v0.2.1"), true);
        assert.strictEqual(fromDockerHub("docker.io/kubesphere/ks-apiserver:v4.1.3"), true);
        assert.strictEqual(fromDockerHub("registry.example.com/mirror/kubesphere/tower:v0.2.1"), false);
        assert.strictEqual(fromDockerHub("localhost:5000/tower:v1"), false);
    });

    it("ks-core's images as the chart renders them: global.imageRegistry (default docker.io) and global.imagePullSecrets", () => {
        assert.deepStrictEqual(
            ksCoreWorkloads("v4.1.3").map((workload) => [workload.image, workload.imagePullSecrets]),
            [
                ["docker.io/kubesphere/ks-apiserver:v4.1.3", []],
                ["docker.io/kubesphere/ks-controller-manager:v4.1.3", []],
            ],
        );
        const values = Buffer.from(
            yaml.dump({ global: { imageRegistry: "registry.example.com/m", imagePullSecrets: ["p"] } }),
        );
        assert.deepStrictEqual(
            ksCoreWorkloads("v4.1.3", ksCoreRegistryValues(values)).map((workload) => [
                workload.image,
                workload.imagePullSecrets,
            ]),
            [
                ["registry.example.com/m/kubesphere/ks-apiserver:v4.1.3", ["p"]],
                ["registry.example.com/m/kubesphere/ks-controller-manager:v4.1.3", ["p"]],
            ],
        );
        assert.deepStrictEqual(ksCoreRegistryValues(Buffer.from("cloud: {enabled: false}\n")), {
            imageRegistry: "docker.io",
            imagePullSecrets: [],
        });
    });
});
