/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). A KubeSphere 3.x host and three direct members: the host and member patches, the Clusters, their order and the exports. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { FederationSummary, federate } from "../../../program/federation";
import { kubesphereYamlV3, kubesphereYamlV4, tokenFor } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, isSecretInput, MockWorld, plain, settle } from "../pulumiMocks";
import { byType, fleetConfig, flattenedKubeconfig, JWT_SECRET, MEMBERS, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    for (const [layout, kubesphereYaml] of [
        ["3.x", kubesphereYamlV3(JWT_SECRET)],
        ["4.x", kubesphereYamlV4(JWT_SECRET)],
    ] as const) {
        // The jwtSecret is read from either layout (a 3.x host whose config was written in the 4.x shape still works).
        describe(`KubeSphere 3.x host, kubesphere-config in the ${layout} layout`, () => {
            let world: MockWorld;
            let summary: FederationSummary;

            before(async () => {
                world = await installMocks(kubesphereYaml);
                summary = await federate(
                    fleetConfig(),
                    sources(),
                    { transformations: [world.recordOptions] },
                    fakeClusterAccess(),
                );
                await resolvedSummary(summary);
                await settle();
            });

            it("registers one host and three members with their children", () => {
                assert.strictEqual(byType(world, "kubesphere-federation:index:HostCluster").length, 1);
                assert.deepStrictEqual(
                    byType(world, "kubesphere-federation:index:MemberCluster")
                        .map((r) => r.name)
                        .sort(),
                    MEMBERS.map((m) => m.name).sort(),
                );
                assert.strictEqual(byType(world, "pulumi:providers:kubernetes").length, 4);
                assert.strictEqual(
                    byType(world, "kubernetes:installer.kubesphere.io/v1alpha1:ClusterConfigurationPatch").length,
                    4,
                );
                assert.strictEqual(byType(world, "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster").length, 3);
                const reads = byType(world, "kubernetes:core/v1:ConfigMap");
                assert.deepStrictEqual(
                    reads.map((r) => r.id),
                    ["kubesphere-system/kubesphere-config"],
                );
            });

            it("patches the host's ks-installer with the host role and name", () => {
                const hostPatch = world.resources.find((r) => r.name === "host-ks-installer")!;
                assert.deepStrictEqual(plain(hostPatch.inputs.spec), {
                    multicluster: { clusterRole: "host", hostClusterName: "host" },
                });
                assert.deepStrictEqual(plain(hostPatch.inputs.metadata), {
                    name: "ks-installer",
                    namespace: "kubesphere-system",
                    annotations: { "pulumi.com/patchForce": "true" },
                });
            });

            it("flows the host's jwtSecret into every member patch, as a secret", () => {
                for (const member of MEMBERS) {
                    const patch = world.resources.find((r) => r.name === `${member.name}-ks-installer`)!;
                    assert.ok(isSecretInput(patch.inputs.spec), `${member.name} patch spec must be secret`);
                    assert.deepStrictEqual(plain(patch.inputs.spec), {
                        authentication: { jwtSecret: JWT_SECRET },
                        multicluster: { clusterRole: "member" },
                    });
                    assert.ok(
                        patch.provider?.includes(`pulumi:providers:kubernetes::${member.name}`),
                        `patch goes through ${member.name}'s provider`,
                    );
                }
            });

            it("creates each Cluster on the host with base64 of the member's kubeconfig, as a secret", () => {
                for (const member of MEMBERS) {
                    const cluster = world.resources.find((r) => r.type.endsWith(":Cluster") && r.name === member.name)!;
                    assert.ok(
                        cluster.provider?.includes("pulumi:providers:kubernetes::host"),
                        "Cluster is created through the host's provider",
                    );
                    assert.ok(isSecretInput(cluster.inputs.spec), "Cluster spec must be secret");
                    const spec = plain(cluster.inputs.spec);
                    assert.strictEqual(spec.connection.type, "direct");
                    assert.strictEqual(spec.joinFederation, true);
                    const expected = flattenedKubeconfig(`/kube/${member.name}.yaml`);
                    const imported = Buffer.from(spec.connection.kubeconfig, "base64").toString("utf8");
                    assert.strictEqual(imported, expected);
                    assert.ok(imported.includes(tokenFor(member.name)));
                    assert.ok(
                        !JSON.stringify(cluster.inputs.metadata).includes(tokenFor(member.name)),
                        "metadata holds no credentials",
                    );
                }
                const ack = world.resources.find((r) => r.type.endsWith(":Cluster") && r.name === "ack-prod")!;
                assert.strictEqual(plain(ack.inputs.spec).provider, "Alibaba Cloud ACK");
                assert.deepStrictEqual(plain(ack.inputs.metadata).labels, {
                    "cluster.kubesphere.io/group": "production",
                });
                // The program waits for Ready itself (components/members/memberJoin.ts), so the provider must not.
                assert.strictEqual(plain(ack.inputs.metadata).annotations["pulumi.com/skipAwait"], "true");
                assert.strictEqual(plain(ack.inputs.metadata).annotations["pulumi.com/waitFor"], undefined);
            });

            it("orders each Cluster after its member patch and keeps patches on delete", () => {
                for (const member of MEMBERS) {
                    const clusterOpts = world.options.find(
                        (o) => o.type.endsWith(":Cluster") && o.name === member.name,
                    )!.opts;
                    const dependsOn = ([] as unknown[]).concat(clusterOpts.dependsOn ?? []) as pulumi.Resource[];
                    const patch = dependsOn.find(
                        (resource) => (resource as any).__name === `${member.name}-ks-installer`,
                    );
                    assert.ok(patch, `${member.name}'s Cluster depends on its ks-installer patch`);
                    assert.deepStrictEqual(clusterOpts.additionalSecretOutputs, ["spec"]);
                    const patchOpts = world.options.find((o) => o.name === `${member.name}-ks-installer`)!.opts;
                    assert.strictEqual(patchOpts.retainOnDelete, true);
                    assert.deepStrictEqual(patchOpts.additionalSecretOutputs, ["spec"]);
                }
                const read = world.options.find((o) => o.name === "host-kubesphere-config")!.opts;
                assert.deepStrictEqual(
                    read.additionalSecretOutputs,
                    ["data", "__inputs"],
                    "the ConfigMap read keeps kubesphere.yaml secret in state",
                );
            });

            it("exports names and readiness, and no secret", async () => {
                const exported = await resolvedSummary(summary);
                assert.deepStrictEqual((exported.members as any)["ack-prod"], {
                    clusterName: "ack-prod",
                    provider: "Alibaba Cloud ACK",
                    ready: true,
                    reason: "Ready",
                    message: "Cluster is available now",
                    kubernetesVersion: "v1.33.2",
                    kubesphereVersion: "v3.4.1",
                    detectedKubesphereVersion: "v3.4.1",
                });
                assert.strictEqual(exported.hostKubesphereVersion, "v3.4.1");
                const text = JSON.stringify(exported);
                assert.ok(!text.includes(JWT_SECRET));
                for (const name of ["host", ...MEMBERS.map((m) => m.name)]) assert.ok(!text.includes(tokenFor(name)));
            });
        });
    }
});
