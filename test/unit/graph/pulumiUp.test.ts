/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). `pulumi up` (not a preview): the order of the host's patch, the waits and the Clusters. */
import * as assert from "assert";
import { parseKubeconfig } from "../../../components/kubernetes/kubeconfig";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, settle, valueOf } from "../pulumiMocks";
import { fleetConfig, JWT_SECRET, sources } from "./graphWorld";

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
    });
});
