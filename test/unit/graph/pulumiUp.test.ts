/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). `pulumi up` (not a preview): the order of the host's patch, the waits and the Clusters. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseKubeconfig } from "../../../components/kubernetes/kubeconfig";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, settle, valueOf } from "../pulumiMocks";
import { clusterChanges, failureOf, fleetConfig, JWT_SECRET, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("pulumi up (not a preview)", () => {
        it("creates each member's Cluster only after the host is a host and the member's installer applied our settings", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET), {}, false);
            let hostReads = 0;
            const access = fakeClusterAccess({
                hostRoleReader: () => async () => {
                    hostReads++;
                    world.events.push(`host-read:${hostReads}`);
                    // The installer needs two polls before KubeSphere runs as a host.
                    return hostReads < 3
                        ? { config: { clusterRole: "none", multiclusterEnable: false } }
                        : {
                              config: { clusterRole: "host", multiclusterEnable: true },
                              hostEntry: { name: "host", isHostEntry: true },
                          };
                },
                memberInstallerReader: (member) => async () => {
                    world.events.push(`member-read:${member}`);
                    return {
                        installer: { clusterRole: "member", jwtSecret: JWT_SECRET },
                        config: { clusterRole: "member", jwtSecret: JWT_SECRET },
                    };
                },
            });
            access.readClusterObject = async (_host, name) => {
                world.events.push(`cluster-read:${name}`);
                return {
                    connectionType: "direct",
                    conditions: [
                        { type: "Ready", status: "True", reason: "Ready", message: "read by the program's wait" },
                    ],
                    kubeconfig: parseKubeconfig(tokenKubeconfig("m1")),
                };
            };
            const members = [{ name: "m1", provider: "generic", kubeconfig: { path: "/kube/lab.yaml" } }];
            const summary = await federate(fleetConfig(members), sources(), undefined, access);
            await valueOf(summary.members["m1"].ready);
            // The program waits for Ready itself, after the Cluster exists, and reports what it read.
            assert.strictEqual(await valueOf(summary.members["m1"].message), "read by the program's wait");
            assert.ok(
                world.events.indexOf("cluster-read:m1") > world.events.indexOf("register:Cluster:m1"),
                world.events.join("\n"),
            );
            await settle();
            const clusterAt = world.events.indexOf("register:Cluster:m1");
            assert.ok(clusterAt > world.events.indexOf("host-read:3"), world.events.join("\n"));
            assert.ok(clusterAt > world.events.indexOf("member-read:m1"));
            assert.ok(
                world.events.indexOf("register:ClusterConfigurationPatch:host-ks-installer") <
                    world.events.indexOf("host-read:1"),
            );
        });

        it("takes the member's join lease before any change on the member and releases it once the member joined; refuses, unchanged, when another stack joined the same cluster meanwhile", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET), {}, false);
            let lists = 0;
            const access = fakeClusterAccess({
                hostRoleReader: () => async () => ({
                    config: { clusterRole: "host", multiclusterEnable: true },
                    hostEntry: { name: "host", isHostEntry: true },
                }),
                memberInstallerReader: () => async () => ({
                    installer: { clusterRole: "member", jwtSecret: JWT_SECRET },
                    config: { clusterRole: "member", jwtSecret: JWT_SECRET },
                }),
                createJoinLease: async (_kubeconfig, name, held) => {
                    world.events.push(`lease-create:${name}:${held.holder}`);
                    return { outcome: "written", lease: { name, ...held, resourceVersion: "1" } };
                },
                deleteJoinLease: async (_kubeconfig, lease) => {
                    world.events.push(`lease-delete:${lease.name}`);
                },
                // The pre-flight's list, then the one under the lease.
                listImportedClusters: async () => {
                    world.events.push(`list:${++lists}`);
                    return [{ name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" }];
                },
            });
            access.readClusterObject = async () => ({
                connectionType: "direct",
                conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "joined" }],
            });
            const members = [{ name: "m1", provider: "generic", kubeconfig: { path: "/kube/lab.yaml" } }];
            const summary = await federate(fleetConfig(members), sources(), undefined, access);
            await valueOf(summary.members["m1"].ready);
            await settle();
            // The lease step reads the kubeconfigs (secrets); what follows the join stays plain in the outputs.
            for (const output of ["ready", "message", "kubernetesVersion"] as const)
                assert.strictEqual(
                    await pulumi.isSecret(summary.members["m1"][output] as pulumi.Output<unknown>),
                    false,
                    output,
                );
            const at = (event: string) => world.events.indexOf(event);
            const created = at(
                "lease-create:kubesphere-federation-join-uid-m1:organization/kubesphere-federation/unit",
            );
            assert.ok(created >= 0, world.events.join("\n"));
            assert.ok(created < at("list:2"), "the checks between stacks run again under the lease");
            for (const change of world.events.filter((event) =>
                /^register:(ClusterConfigurationPatch|Cluster):m1/.test(event),
            ))
                assert.ok(created < at(change), `${change} after the lease:\n${world.events.join("\n")}`);
            assert.ok(at("lease-delete:kubesphere-federation-join-uid-m1") > at("register:Cluster:m1"));

            // Another stack's Cluster of the same cluster shows in the list under the lease: refused, nothing changed.
            const raced = await installMocks(kubesphereYamlV3(JWT_SECRET), {}, false);
            let listed = 0;
            const released: string[] = [];
            const racedAccess = fakeClusterAccess({
                listImportedClusters: async () => [
                    { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                    ...(++listed > 1
                        ? [
                              {
                                  name: "m1-b",
                                  uid: "uid-m1",
                                  isHostEntry: false,
                                  stack: "organization/kubesphere-federation/race-b",
                              },
                          ]
                        : []),
                ],
                deleteJoinLease: async (_kubeconfig, lease) => {
                    released.push(lease.name);
                },
            });
            const refused = await federate(fleetConfig(members), sources(), undefined, racedAccess);
            const err = await failureOf(refused.members["m1"].ready);
            assert.match(
                String(err?.message),
                /member "m1" is already imported on the host as Cluster "m1-b", which stack organization\/kubesphere-federation\/race-b manages/,
            );
            await settle();
            assert.deepStrictEqual(clusterChanges(raced), []);
            assert.deepStrictEqual(
                released,
                ["kubesphere-federation-join-uid-m1"],
                "the lease is released on the refusal",
            );
        });

        it("releases the join lease when a step after it fails (the member's installer wait times out), not at its expiry", async function () {
            this.timeout(20_000);
            await installMocks(kubesphereYamlV3(JWT_SECRET), {}, false);
            const released: string[] = [];
            const access = fakeClusterAccess({
                hostRoleReader: () => async () => ({
                    config: { clusterRole: "host", multiclusterEnable: true },
                    hostEntry: { name: "host", isHostEntry: true },
                }),
                // The member's installer never applies the settings.
                memberInstallerReader: () => async () => ({ installer: { clusterRole: "none" }, config: {} }),
                deleteJoinLease: async (_kubeconfig, lease) => {
                    released.push(lease.name);
                },
            });
            const members = [
                { name: "m1", provider: "generic", kubeconfig: { path: "/kube/lab.yaml" }, installerTimeoutSeconds: 1 },
            ];
            await federate(fleetConfig(members), sources(), undefined, access);
            // The Cluster is never registered, so no output after it settles: wait for the release itself.
            for (let waited = 0; released.length === 0 && waited < 10_000; waited += 100)
                await new Promise((resolve) => setTimeout(resolve, 100));
            assert.deepStrictEqual(released, ["kubesphere-federation-join-uid-m1"]);
        });

        it("takes no join lease for a member this stack has already joined, nor in a preview", async () => {
            for (const preview of [false, true]) {
                await installMocks(kubesphereYamlV3(JWT_SECRET), {}, preview);
                const leaseCalls: string[] = [];
                const record = (call: string) => async () => {
                    leaseCalls.push(call);
                    throw new Error(`${call} must not be called`);
                };
                const access = fakeClusterAccess({
                    memberInstallerReader: () => async () => ({
                        installer: { clusterRole: "member", jwtSecret: JWT_SECRET },
                        config: { clusterRole: "member", jwtSecret: JWT_SECRET },
                    }),
                    hostRoleReader: () => async () => ({
                        config: { clusterRole: "host", multiclusterEnable: true },
                        hostEntry: { name: "host", isHostEntry: true },
                    }),
                    // In a preview, also a member not joined yet: a preview never takes the lease.
                    listImportedClusters: async () => [
                        { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                        ...(preview
                            ? []
                            : [
                                  {
                                      name: "m1",
                                      uid: "uid-m1",
                                      isHostEntry: false,
                                      ready: true as const,
                                      stack: "organization/kubesphere-federation/unit",
                                  },
                              ]),
                    ],
                    createJoinLease: record("createJoinLease"),
                    readJoinLease: record("readJoinLease"),
                    replaceJoinLease: record("replaceJoinLease"),
                    deleteJoinLease: record("deleteJoinLease"),
                });
                const members = [{ name: "m1", provider: "generic", kubeconfig: { path: "/kube/lab.yaml" } }];
                const summary = await federate(fleetConfig(members), sources(), undefined, access);
                await valueOf(summary.members["m1"].ready);
                await settle();
                assert.deepStrictEqual(leaseCalls, [], preview ? "preview" : "up of a joined member");
            }
        });
    });
});
