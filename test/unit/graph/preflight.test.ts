/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). The pre-flight: what it reads, and what it refuses before any change. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3 } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, freshV3Facts, installMocks, plain, settle, valueOf } from "../pulumiMocks";
import { clusterChanges, failureOf, fleetConfig, JWT_SECRET, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("pre-flight reads", () => {
        it("read the host once for the whole fleet and each member once", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const reads: string[] = [];
            const access = fakeClusterAccess({
                readClusterFacts: async (cluster) => {
                    reads.push(`facts:${cluster}`);
                    return freshV3Facts(cluster);
                },
                listImportedClusters: async () => {
                    reads.push("list:host");
                    return [];
                },
                probeKsApiserver: async () => {
                    reads.push("probe");
                    return undefined;
                },
            });
            await resolvedSummary(await federate(fleetConfig(), sources(), undefined, access));
            await settle();
            assert.deepStrictEqual(reads.sort(), [
                "facts:ack-prod",
                "facts:eks-staging",
                "facts:host",
                "facts:lab",
                "list:host",
                "probe",
                "probe",
                "probe",
            ]);
        });
        it("read the host's clock once per run, each member's clock with its import probe, and skip the console's ks-apiserver probe for a member the host lists Ready", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const reads: string[] = [];
            const clock = { serverMs: 1_000_000, sentMs: 1_000_000, receivedMs: 1_000_000 };
            const access = fakeClusterAccess({
                listImportedClusters: async () => [
                    { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                    // Imported by this stack before (the mocks' stack), KubeSphere reports it Ready.
                    {
                        name: "lab",
                        uid: "uid-lab",
                        isHostEntry: false,
                        ready: true,
                        stack: "organization/kubesphere-federation/unit",
                    },
                ],
                probeKsApiserver: async (kubeconfig) => {
                    reads.push(`ks-apiserver:${kubeconfig.server}`);
                    return undefined;
                },
                readClock: async (kubeconfig) => {
                    reads.push(`clock:${kubeconfig.server}`);
                    return clock;
                },
                probeImportKubeconfig: async (kubeconfig, source) => {
                    reads.push(`import:${kubeconfig.server}`);
                    return { server: kubeconfig.server, source, reach: { ok: true }, clock };
                },
            });
            await resolvedSummary(await federate(fleetConfig(), sources(), undefined, access));
            await settle();
            const server = (cluster: string) => `https://${cluster}.example.com:6443`;
            assert.deepStrictEqual(reads.sort(), [
                `clock:${server("host")}`,
                `import:${server("ack-prod")}`,
                `import:${server("eks-staging")}`,
                `import:${server("lab")}`,
                `ks-apiserver:${server("ack-prod")}`,
                `ks-apiserver:${server("eks-staging")}`,
            ]);
        });
    });

    describe("refusals before any change", () => {
        it("refuses, on a 3.4 host, a member removed from the config whose API server does not answer, and changes no cluster", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const probed: string[] = [];
            const access = fakeClusterAccess({
                listImportedClusters: async () => [
                    { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                    {
                        name: "gone",
                        uid: "uid-gone",
                        isHostEntry: false,
                        stack: "organization/kubesphere-federation/unit",
                        connectionType: "direct",
                        endpoint: "https://127.0.0.1:1",
                    },
                    // Another stack's: never probed.
                    {
                        name: "theirs",
                        uid: "uid-theirs",
                        isHostEntry: false,
                        stack: "organization/kubesphere-federation/other",
                        connectionType: "direct",
                        endpoint: "https://127.0.0.1:2",
                    },
                ],
                probeEndpoint: async (server) => {
                    probed.push(server);
                    return { answers: false, detail: "connection refused" };
                },
            });
            const summary = await federate(fleetConfig(), sources(), undefined, access);
            const err = await failureOf(summary.members["lab"].ready);
            assert.ok(err instanceof pulumi.ResourceError, "reaches the user as Pulumi prints its own errors");
            assert.match(
                err.message,
                /^member "gone" was removed from the config, and its API server https:\/\/127\.0\.0\.1:1 does not answer from this machine \(connection refused\): host "host" runs KubeSphere v3\.4\.1/,
            );
            assert.match(err.message, /npm run remove-member -- --stack unit --member gone/);
            await settle();
            assert.deepStrictEqual(probed, ["https://127.0.0.1:1"]);
            assert.deepStrictEqual(clusterChanges(world), []);
        });
        it("refuses two members that are the same cluster, naming both, as a ResourceError, and changes no cluster", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = fakeClusterAccess({
                readClusterFacts: async (cluster) => freshV3Facts(cluster === "lab" ? "ack-prod" : cluster),
            });
            const summary = await federate(fleetConfig(), sources(), undefined, access);
            const err = (await failureOf(summary.members["lab"].detectedKubesphereVersion)) as pulumi.ResourceError;
            assert.ok(err instanceof pulumi.ResourceError, "reaches the user as Pulumi prints its own errors");
            assert.match(
                err.message,
                /member "lab" \(members\[2\]\) and member "ack-prod" \(members\[0\]\) are the same cluster/,
            );
            assert.match(
                ((await failureOf(summary.members["ack-prod"].detectedKubesphereVersion)) as Error).message,
                /member "ack-prod" \(members\[0\]\) and member "lab" \(members\[2\]\)/,
            );
            assert.strictEqual(
                await failureOf(summary.members["eks-staging"].detectedKubesphereVersion),
                undefined,
                "the other member is fine",
            );
            await settle();
            // Nothing changes on any cluster: no patch (host or member), no Cluster, nothing on the members.
            assert.deepStrictEqual(clusterChanges(world), []);
        });

        it("refuses a member on a 3.3.1 host with token credentials before any patch", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = fakeClusterAccess({ readClusterFacts: async (cluster) => freshV3Facts(cluster, "v3.3.1") });
            const summary = await federate(fleetConfig(), sources(), undefined, access);
            const err = (await failureOf(summary.members["ack-prod"].detectedKubesphereVersion)) as Error;
            // Pulumi prefixes a failed input with `error serializing property "spec": ` (runtime/rpc.js).
            assert.match(
                err.message,
                /(^|: )member "ack-prod" cannot join host "host" \(KubeSphere v3\.3\.1\): its kubeconfig authenticates without a client certificate/,
            );
            await settle();
            assert.deepStrictEqual(clusterChanges(world), [], "not even the host's patch");
        });

        it("leaves hostClusterName out of a 3.1 host's patch (3.1 has no such option)", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = fakeClusterAccess({ readClusterFacts: async (cluster) => freshV3Facts(cluster, "v3.1.1") });
            const summary = await federate(
                fleetConfig([]),
                sources(),
                { transformations: [world.recordOptions] },
                access,
            );
            assert.strictEqual(await valueOf(summary.hostKubesphereVersion), "v3.1.1");
            await settle();
            const hostPatch = world.resources.find((r) => r.name === "host-ks-installer")!;
            assert.deepStrictEqual(plain(hostPatch.inputs.spec), { multicluster: { clusterRole: "host" } });
        });

        it("refuses a 3.x host without ks-installer before patching it", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = fakeClusterAccess({
                readClusterFacts: async (cluster) =>
                    cluster === "host" ? { kubeSystemUid: "uid-host" } : freshV3Facts(cluster),
            });
            const summary = await federate(fleetConfig([]), sources(), undefined, access);
            const err = (await failureOf(summary.hostKubesphereVersion)) as Error;
            assert.ok(err instanceof pulumi.ResourceError);
            assert.match(err.message, /(^|: )KubeSphere 3\.x is not installed on host "host"/);
            await settle();
            assert.ok(!world.resources.some((r) => r.name === "host-ks-installer"));
        });
    });
});
