/** The pre-flight's image checks (components/members/imagePreflight.ts): pull secrets that do not exist, ks-core pods that already cannot pull. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../components/config/configSchema";
import type { ContainerState, PodState } from "../../components/kubernetes/pods";
import { KS_APISERVER_WORKLOAD } from "../../components/kubesphere/kubesphereObjects";
import { pullFailureOf } from "../../components/members/diagnosis/podChecks";
import { imagePreflightVerdict, ImagePreflightInput } from "../../components/members/imagePreflight";
import { federate } from "../../program/federation";
import { kubesphereYamlV3 } from "../fixtures/kubeconfigs";
import { clusterChanges, failureOf, JWT_SECRET, sources } from "./graph/graphWorld";
import { fakeClusterAccess, installMocks, settle } from "./pulumiMocks";

const IMAGE = "docker.io/kubesphere/ks-apiserver:v4.1.3";

function pod(container: Partial<ContainerState>, name = "ks-apiserver-7c9f8d6b5d-x2k4p"): PodState {
    return {
        namespace: "kubesphere-system",
        name,
        phase: container.running ? "Running" : "Pending",
        containers: [
            { name: "ks-apiserver", image: IMAGE, ready: false, restartCount: 0, running: false, ...container },
        ],
        imagePullSecrets: [],
    };
}
const pulling = pod({
    waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` },
});
const running = pod({ running: true, ready: true }, "ks-apiserver-7c9f8d6b5d-r7m2q");

const input = (overrides: Partial<ImagePreflightInput>): ImagePreflightInput => ({
    member: "edge",
    configKey: "members[0]",
    namespace: "kubesphere-system",
    pulledBy: "the cluster-agent",
    ...overrides,
});

describe("image pre-flight (imagePreflight.ts)", () => {
    describe("pull secrets", () => {
        it("refuses a named Secret that does not exist, naming the member, the key, the namespace and the command that creates it", () => {
            const verdict = imagePreflightVerdict(
                input({
                    pullSecrets: [
                        { name: "registry-login", found: false },
                        { name: "other", found: true },
                    ],
                }),
            );
            assert.strictEqual(verdict.errors.length, 1);
            assert.match(
                verdict.errors[0],
                /^member "edge": members\[0\]\.imagePullSecrets \(or host\.imagePullSecrets\) names Secret "registry-login", which does not exist in namespace kubesphere-system on the member: the cluster-agent would pull without it/,
            );
            assert.match(
                verdict.errors[0],
                /Fix: create it on the member first \(kubectl -n kubesphere-system create secret docker-registry registry-login /,
            );
            assert.deepStrictEqual(verdict.warnings, []);
        });

        it("passes Secrets that exist, and warns (does not refuse) when their presence cannot be told", () => {
            assert.deepStrictEqual(
                imagePreflightVerdict(input({ pullSecrets: [{ name: "registry-login", found: true }] })),
                { errors: [], warnings: [] },
            );
            const unknown = imagePreflightVerdict(
                input({
                    pullSecrets: [{ name: "registry-login", problem: "HTTP 403 (no right to get Secrets there)" }],
                }),
            );
            assert.deepStrictEqual(unknown.errors, []);
            assert.match(unknown.warnings[0], /could not check that Secret "registry-login" .*HTTP 403/);
        });
    });

    describe("a 4.x member's ks-core pods before its first join", () => {
        const ksCore = (pods: PodState[] | undefined, ksCoreRegistry?: string) =>
            imagePreflightVerdict(
                input({
                    pulledBy: "ks-core's pods",
                    ksCoreRegistry,
                    ksCorePods: [{ workload: KS_APISERVER_WORKLOAD, pods }],
                }),
            );

        it("warns when ks-apiserver already cannot pull and the install would ask for the same image", () => {
            const verdict = ksCore([pulling]);
            assert.deepStrictEqual(verdict.errors, []);
            assert.match(
                verdict.warnings[0],
                /^member "edge": its ks-apiserver pod kubesphere-system\/ks-apiserver-7c9f8d6b5d-x2k4p already cannot pull image docker\.io\/kubesphere\/ks-apiserver:v4\.1\.3 \(ImagePullBackOff: Back-off pulling image .*\), and the host's install of ks-core will ask for the same image/,
            );
            assert.match(verdict.warnings[0], /Fix: .*set members\[0\]\.imageRegistry \(or host\.imageRegistry\)/);
        });

        it("says nothing when a registry of the user's own replaces the failing image, but warns when the failing image is from it", () => {
            assert.deepStrictEqual(ksCore([pulling], "registry.example.com/mirror").warnings, []);
            const fromMirror = pod({
                image: "registry.example.com/mirror/kubesphere/ks-apiserver:v4.1.3",
                waiting: { reason: "ErrImagePull", message: "not found" },
            });
            assert.match(
                ksCore([fromMirror], "registry.example.com/mirror").warnings[0],
                /will ask for images from registry\.example\.com\/mirror again/,
            );
        });

        it("says nothing for a running pod, a missing pod or pods not read", () => {
            assert.deepStrictEqual(ksCore([pulling, running]).warnings, []);
            assert.deepStrictEqual(ksCore([]).warnings, []);
            assert.deepStrictEqual(ksCore(undefined).warnings, []);
        });
    });

    describe("pullFailureOf", () => {
        it("finds the container that cannot pull, for each pull reason; none when one pod runs or the wait is another", () => {
            for (const reason of ["ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName"]) {
                assert.strictEqual(pullFailureOf([pod({ waiting: { reason } })])?.container.waiting?.reason, reason);
            }
            assert.strictEqual(pullFailureOf([pulling, running]), undefined);
            assert.strictEqual(pullFailureOf([pod({ waiting: { reason: "CrashLoopBackOff" } })]), undefined);
            assert.strictEqual(pullFailureOf([]), undefined);
        });
    });

    describe("in the program (mocks)", () => {
        it("refuses an agent member whose imagePullSecrets name a Secret missing on it, in a preview, before any change; it reads names only", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const asked: string[] = [];
            const access = fakeClusterAccess({
                readSecretPresence: async (_kubeconfig, namespace, names) => {
                    asked.push(...names.map((name) => `${namespace}/${name}`));
                    return names.map((name) => ({ name, found: name !== "registry-login" }));
                },
            });
            const config = parseFederationConfig({
                host: {
                    name: "host",
                    kubeconfig: { path: "/kube/host.yaml" },
                    agentProxyAddress: "http://203.0.113.40:30880",
                    imagePullSecrets: ["registry-login"],
                },
                members: [
                    { name: "lab", provider: "kubeadm", connection: "agent", kubeconfig: { path: "/kube/lab.yaml" } },
                    { name: "ack-prod", provider: "ack", kubeconfig: { path: "/kube/ack-prod.yaml" } },
                ],
            });
            const summary = await federate(config, sources(), undefined, access);
            const err = (await failureOf(summary.members["lab"].detectedKubesphereVersion)) as Error;
            assert.ok(err instanceof pulumi.ResourceError);
            assert.match(
                err.message,
                /^member "lab": members\[0\]\.imagePullSecrets \(or host\.imagePullSecrets\) names Secret "registry-login", which does not exist/,
            );
            await settle();
            assert.deepStrictEqual(clusterChanges(world), []);
            // On a 3.x host the direct member deploys no image of the program's: its pull secrets are not asked for.
            assert.deepStrictEqual(asked, ["kubesphere-system/registry-login"]);
        });
    });
});
