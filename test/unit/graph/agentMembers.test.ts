/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). Agent members (connection: agent): the proxy Cluster, KubeSphere's agent on the member, on 3.x and 4.x hosts. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { agentToken } from "../../../components/members/agent/agentConnection";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, kubesphereYamlV4 } from "../../fixtures/kubeconfigs";
import {
    fakeClusterAccess,
    fakeV4ClusterAccess as v4Access,
    installMocks,
    isSecretInput,
    MockWorld,
    plain,
    settle,
} from "../pulumiMocks";
import { byType, clusterChanges, failureOf, JWT_SECRET, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("agent connection", () => {
        const ADDRESS = "http://203.0.113.40:30880";
        const agentConfig = (kubesphereMajor: string, withAddress = true) =>
            parseFederationConfig({
                host: {
                    name: "host",
                    kubeconfig: { path: "/kube/host.yaml" },
                    kubesphereMajor,
                    ...(withAddress ? { agentProxyAddress: ADDRESS } : {}),
                },
                members: [
                    { name: "lab", provider: "kubeadm", connection: "agent", kubeconfig: { path: "/kube/lab.yaml" } },
                ],
            });
        const deploymentOf = (world: MockWorld) =>
            world.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;

        describe("3.x host", () => {
            let world: MockWorld;
            before(async () => {
                world = await installMocks(kubesphereYamlV3(JWT_SECRET));
                const summary = await federate(
                    agentConfig("v3"),
                    sources(),
                    { transformations: [world.recordOptions] },
                    fakeClusterAccess(),
                );
                await resolvedSummary(summary);
                await settle();
            });

            it("creates a proxy Cluster with the program's token, as a secret, no kubeconfig and no Ready annotation", () => {
                const cluster = world.resources.find((r) => r.type.endsWith(":Cluster"))!;
                assert.ok(isSecretInput(cluster.inputs.spec));
                const spec = plain(cluster.inputs.spec);
                assert.deepStrictEqual(spec.connection, { type: "proxy", token: agentToken(JWT_SECRET, "lab", 1) });
                assert.strictEqual(spec.joinFederation, true);
                assert.strictEqual("pulumi.com/waitFor" in plain(cluster.inputs.metadata).annotations, false);
            });

            it("runs KubeSphere's agent on the member as its kubesphere ServiceAccount, the spec a secret; no RBAC, no import ServiceAccount", () => {
                const deployment = deploymentOf(world);
                assert.ok(deployment.provider?.includes("lab"), "created through the member's provider");
                assert.ok(isSecretInput(deployment.inputs.spec));
                const spec = plain(deployment.inputs.spec);
                assert.strictEqual(spec.template.spec.serviceAccountName, "kubesphere");
                assert.ok(spec.template.spec.containers[0].command.includes(`--proxy-server=${ADDRESS}`));
                assert.ok(
                    spec.template.spec.containers[0].command.includes(`--token=${agentToken(JWT_SECRET, "lab", 1)}`),
                );
                assert.strictEqual(spec.template.spec.containers[0].image, "kubesphere/tower:v0.2.1");
                assert.deepStrictEqual(plain(deployment.inputs.metadata), {
                    name: "cluster-agent",
                    namespace: "kubesphere-system",
                    annotations: { "pulumi.com/skipAwait": "true" },
                });
                assert.deepStrictEqual(
                    world.options.find((o) => o.type === "kubernetes:apps/v1:Deployment")!.opts.additionalSecretOutputs,
                    ["spec"],
                );
                assert.strictEqual(byType(world, "kubernetes:core/v1:ServiceAccount").length, 0);
                assert.strictEqual(
                    byType(world, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length,
                    0,
                );
            });

            it("orders the Cluster after the agent and the member's patch (removal: the Cluster first), and writes proxyPublishAddress on the host", () => {
                const clusterOpts = world.options.find((o) => o.type.endsWith(":Cluster") && o.name === "lab")!.opts;
                const dependsOn = (([] as unknown[]).concat(clusterOpts.dependsOn ?? []) as any[]).map(
                    (resource) => resource.__name,
                );
                assert.deepStrictEqual(dependsOn.sort(), ["lab-cluster-agent", "lab-ks-installer"]);
                const hostPatch = world.resources.find((r) => r.name === "host-ks-installer")!;
                assert.strictEqual(plain(hostPatch.inputs.spec).multicluster.proxyPublishAddress, ADDRESS);
            });
        });

        describe("4.x host", () => {
            let world: MockWorld;
            before(async () => {
                world = await installMocks(kubesphereYamlV4(JWT_SECRET));
                const summary = await federate(
                    agentConfig("auto"),
                    sources(),
                    { transformations: [world.recordOptions] },
                    v4Access(),
                );
                await resolvedSummary(summary);
                await settle();
            });

            it("renders the extension's manifest: kubesphere-system (retained), SA and CRB tower, the agent as tower", () => {
                const namespace = world.resources.find((r) => r.type === "kubernetes:core/v1:NamespacePatch")!;
                assert.strictEqual(plain(namespace.inputs.metadata).name, "kubesphere-system");
                assert.strictEqual(
                    world.options.find((o) => o.type === "kubernetes:core/v1:NamespacePatch")!.opts.retainOnDelete,
                    true,
                    "ks-core's namespace is never deleted",
                );
                assert.deepStrictEqual(
                    plain(world.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount")!.inputs.metadata),
                    { name: "tower", namespace: "kubesphere-system" },
                );
                const binding = world.resources.find(
                    (r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                )!;
                assert.deepStrictEqual(plain(binding.inputs.roleRef), {
                    apiGroup: "rbac.authorization.k8s.io",
                    kind: "ClusterRole",
                    name: "cluster-admin",
                });
                assert.strictEqual(plain(deploymentOf(world).inputs.spec).template.spec.serviceAccountName, "tower");
                assert.strictEqual(byType(world, "kubernetes:core/v1:Namespace").length, 0);
            });
        });

        it("refuses, before any change, an agent member of a 4.x host without the tower extension, or without a proxy address", async () => {
            const world = await installMocks(kubesphereYamlV4(JWT_SECRET));
            const access = v4Access({ readTower: async () => ({ deployment: false }) });
            const summary = await federate(agentConfig("auto", false), sources(), undefined, access);
            const err = (await failureOf(summary.members["lab"].detectedKubesphereVersion)) as Error;
            assert.ok(err instanceof pulumi.ResourceError);
            assert.match(err.message, /host "host" has no tower .*extension "tower"/);
            assert.match(err.message, /no proxy address for the agent to dial/);
            await settle();
            assert.deepStrictEqual(clusterChanges(world), []);
        });
    });
});
