/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). One host stack and member stacks: what each exports and registers, and what a member stack refuses. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { FederationConfigError } from "../../../components/config/errors";
import { ClusterAccess } from "../../../components/kubesphere/clusterAccess";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, freshV3Facts, installMocks, isSecretInput, plain, settle, valueOf } from "../pulumiMocks";
import {
    byType,
    failureOf,
    fleetConfig,
    flattenedKubeconfig,
    JWT_SECRET,
    MEMBERS,
    resolvedSummary,
    sources,
} from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("host stack + member stacks", () => {
        const HOST_STACK = "organization/kubesphere-federation/fleet-host";
        const hostOutput = {
            name: "host",
            kubeconfig: tokenKubeconfig("host"),
            jwtSecret: JWT_SECRET,
            kubesphereVersion: "v3",
            detectedKubesphereVersion: "v3.4.1",
        };
        /** The host after the host stack's `up`: KubeSphere runs as a host. */
        const hostIsHost = (overrides: Parameters<typeof fakeClusterAccess>[0] = {}) =>
            fakeClusterAccess({
                readClusterFacts: async (cluster) =>
                    cluster === "host"
                        ? {
                              ...freshV3Facts("host"),
                              installer: { clusterRole: "host", version: "v3.4.1" },
                              config: {
                                  jwtSecret: JWT_SECRET,
                                  layout: "v3",
                                  clusterRole: "host",
                                  multiclusterEnable: true,
                              },
                          }
                        : freshV3Facts(cluster),
                ...overrides,
            });
        const memberStack = (members = [MEMBERS[0]]) =>
            parseFederationConfig({
                host: { stackReference: HOST_STACK },
                members: members.map((m) => ({ ...m, kubeconfig: { path: `/kube/${m.name}.yaml` } })),
            });
        const fromHostStack = (output: unknown, asked: string[] = []) =>
            sources(undefined, async (stack, name) => {
                asked.push(`${stack}:${name}`);
                return { secretValue: output };
            });
        /** The message member ack-prod's pre-flight refuses it with, in a member stack of `hostOutput`'s host. */
        const memberStackRefusal = async (access: ClusterAccess): Promise<string> => {
            const summary = await federate(memberStack(), fromHostStack(hostOutput), undefined, access);
            const failure = await failureOf(summary.members["ack-prod"].detectedKubesphereVersion);
            return failure?.message ?? "no refusal";
        };

        it("a host-only stack exports the host's kubeconfig, jwtSecret, name and version as one secret", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const summary = await federate(fleetConfig([]), sources(), undefined, fakeClusterAccess());
            assert.ok(summary.federationHost !== undefined);
            assert.ok(await pulumi.isSecret(summary.federationHost), "federationHost is a secret output");
            const exported = await valueOf(summary.federationHost);
            const hostYaml = flattenedKubeconfig("/kube/host.yaml");
            assert.deepStrictEqual(exported, {
                name: "host",
                kubeconfig: hostYaml,
                jwtSecret: JWT_SECRET,
                kubesphereMajor: "v3",
                kubesphereVersion: "v3",
                detectedKubesphereVersion: "v3.4.1",
            });
        });

        it("a stack with members exports no federationHost", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const summary = await federate(fleetConfig(), sources(), undefined, fakeClusterAccess());
            assert.strictEqual(summary.federationHost, undefined);
        });

        it("a member stack registers no host resources: no HostCluster, no host patch, no kubesphere-config read", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const asked: string[] = [];
            const summary = await federate(
                memberStack(),
                fromHostStack(hostOutput, asked),
                { transformations: [world.recordOptions] },
                hostIsHost(),
            );
            await resolvedSummary(summary);
            await settle();
            assert.deepStrictEqual(asked, [`${HOST_STACK}:federationHost`]);
            assert.strictEqual(byType(world, "kubesphere-federation:index:HostCluster").length, 0);
            assert.ok(!world.resources.some((r) => r.name === "host-ks-installer"), "no host patch");
            assert.strictEqual(
                byType(world, "kubernetes:core/v1:ConfigMap").length,
                0,
                "the jwtSecret comes from the host stack",
            );
            assert.strictEqual(summary.hostName, "host");
            assert.strictEqual(await valueOf(summary.hostKubesphereVersion), "v3.4.1");
            assert.strictEqual(summary.federationHost, undefined);
            // The host's provider (from the host stack's kubeconfig), and the member's.
            const providers = byType(world, "pulumi:providers:kubernetes");
            assert.deepStrictEqual(providers.map((r) => r.name).sort(), ["ack-prod", "host-from-stack"]);
            const hostProvider = providers.find((r) => r.name === "host-from-stack")!;
            assert.ok(isSecretInput(hostProvider.inputs.kubeconfig), "the host's kubeconfig stays a secret");
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster") && r.name === "ack-prod")!;
            assert.ok(
                cluster.provider?.includes("pulumi:providers:kubernetes::host-from-stack"),
                "Cluster is created through the host's provider",
            );
            const patch = world.resources.find((r) => r.name === "ack-prod-ks-installer")!;
            assert.ok(isSecretInput(patch.inputs.spec));
            assert.deepStrictEqual(plain(patch.inputs.spec), {
                authentication: { jwtSecret: JWT_SECRET },
                multicluster: { clusterRole: "member" },
            });
            // The program can read the host, so it waits for Ready itself (with the diagnosis), not the provider.
            assert.strictEqual(plain(cluster.inputs.metadata).annotations["pulumi.com/skipAwait"], "true");
            // The stack that manages the Cluster, so another stack listing the same member is refused (next test).
            assert.match(
                plain(cluster.inputs.metadata).annotations["kubesphere-federation.io/stack"],
                /^organization\/[^/]+\/unit$/,
            );
        });

        it("a member stack refuses a member whose Cluster another stack created, naming that stack, before any change", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = hostIsHost({
                listImportedClusters: async () => [
                    { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                    {
                        name: "ack-prod",
                        uid: "uid-ack-prod",
                        isHostEntry: false,
                        stack: "organization/kubesphere-federation/fleet-members-b",
                    },
                ],
            });
            assert.match(
                await memberStackRefusal(access),
                /member "ack-prod" \(members\[0\]\) belongs to another stack: host "host" already has its Cluster "ack-prod", created by stack organization\/kubesphere-federation\/fleet-members-b/,
            );
        });

        it("a member stack that cannot read the host says the kubeconfig is the host stack's", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = hostIsHost({
                listImportedClusters: async () => {
                    throw new Error(
                        'cluster "host": the API server https://127.0.0.1:1 does not answer (ECONNREFUSED)',
                    );
                },
            });
            await assert.rejects(
                () => federate(memberStack(), fromHostStack(hostOutput), undefined, access),
                (err: Error) =>
                    pulumi.RunError.isInstance(err) &&
                    /does not answer \(ECONNREFUSED\)\n\(this stack reads host "host" with the kubeconfig of output "federationHost" of stack organization\/kubesphere-federation\/fleet-host: fix host\.kubeconfig in host stack organization\/kubesphere-federation\/fleet-host, run `pulumi up` of stack/.test(
                        err.message,
                    ),
            );
        });

        it("a member stack's pre-flight reads the host: a cluster already imported under another name is refused", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const access = hostIsHost({
                listImportedClusters: async () => [
                    { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
                    { name: "ack-prod-old", uid: "uid-ack-prod", isHostEntry: false },
                ],
            });
            assert.match(
                await memberStackRefusal(access),
                /member "ack-prod" is already imported on the host as Cluster "ack-prod-old"/,
            );
        });

        it("refuses, before any resource, a missing or malformed host stack output, naming host.stackReference and the fix", async () => {
            for (const [output, pattern] of [
                [
                    undefined,
                    /kubesphere-federation:host\.stackReference: stack organization\/kubesphere-federation\/fleet-host has no output "federationHost" \(found nothing\)\. Fix: point host\.stackReference at a host-only stack/,
                ],
                ["text", /output "federationHost" of stack .* is a string, not a host stack's output\. Fix: /],
                [{ ...hostOutput, jwtSecret: undefined }, /is a mapping without jwtSecret, not a host stack's output/],
                [{ ...hostOutput, kubesphereVersion: "v5" }, /is kubesphereVersion "v5"/],
                [{ ...hostOutput, kubesphereMajor: "v5" }, /is kubesphereMajor "v5"/],
            ] as const) {
                const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
                await assert.rejects(
                    () =>
                        federate(
                            memberStack(),
                            fromHostStack(output),
                            { transformations: [world.recordOptions] },
                            hostIsHost(),
                        ),
                    (err: Error) => {
                        assert.ok(err instanceof FederationConfigError, String(err));
                        assert.match(err.message, pattern);
                        assert.ok(!err.message.includes(JWT_SECRET), "no secret in the message");
                        return true;
                    },
                );
                await settle();
                assert.strictEqual(world.resources.length, 0);
            }
        });

        it("refuses a stack reference that cannot be read, and a member named like the host", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const unreadable = sources(undefined, async () => {
                throw new Error("unknown stack");
            });
            await assert.rejects(
                () => federate(memberStack(), unreadable, undefined, hostIsHost()),
                /host\.stackReference: stack organization\/kubesphere-federation\/fleet-host could not be read \(unknown stack\)\. Fix: /,
            );
            const named = parseFederationConfig({
                host: { stackReference: HOST_STACK },
                members: [{ name: "host", provider: "ack", kubeconfig: { path: "/kube/ack-prod.yaml" } }],
            });
            await assert.rejects(
                () => federate(named, fromHostStack(hostOutput), undefined, hostIsHost()),
                /members\[0\]\.name: "host" is the name of the host of stack .*\. Fix: /,
            );
        });

        it("refuses a host that is not a host yet (the host stack has not run), before any resource", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            await assert.rejects(
                () =>
                    federate(
                        memberStack(),
                        fromHostStack(hostOutput),
                        { transformations: [world.recordOptions] },
                        fakeClusterAccess(),
                    ),
                (err: Error) =>
                    pulumi.RunError.isInstance(err) &&
                    /host "host" \(from stack .*\) is not a host yet\. Fix: run `pulumi up` of stack/.test(err.message),
            );
            await settle();
            assert.strictEqual(world.resources.length, 0);
        });
    });
});
