import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { parseFederationConfig } from "../../components/config/configSchema";
import { FederationConfigError, FederationConfigErrors } from "../../components/config/errors";
import { federate, FederationSummary } from "../../program/federation";
import { HostCluster } from "../../components/host/hostCluster";
import { ClusterAccess } from "../../components/kubesphere/clusterAccess";
import { parseKubeconfig, resolveKubeconfig } from "../../components/kubernetes/kubeconfig";
import { KubeconfigSourceContext } from "../../program/kubeconfigSources";
import {
    certificateKubeconfig,
    execKubeconfig,
    kubesphereYamlV3,
    kubesphereYamlV4,
    tokenFor,
    tokenKubeconfig,
} from "../fixtures/kubeconfigs";
import * as yaml from "js-yaml";
import { ksCoreConfigHash } from "../../components/kubesphere/kubesphereVersion";
import { agentToken } from "../../components/members/agent/agentConnection";
import {
    fakeClusterAccess,
    fakeV4ClusterAccess as v4Access,
    freshV3Facts,
    installMocks,
    isSecretInput,
    MockWorld,
    plain,
    settle,
    valueOf,
} from "./pulumiMocks";

const JWT_SECRET = "hostJwtSecret0123456789abcdefghij";
const MEMBERS = [
    { name: "ack-prod", provider: "ack" },
    { name: "eks-staging", provider: "eks" },
    { name: "lab", provider: "kubeadm" },
];
const kubeconfigFiles: Record<string, string> = Object.fromEntries(
    ["host", ...MEMBERS.map((m) => m.name)].map((name) => [`/kube/${name}.yaml`, tokenKubeconfig(name)]),
);

function sources(
    stackOutput: KubeconfigSourceContext["stackOutput"] = () => pulumi.output(undefined),
    stackOutputDetails: KubeconfigSourceContext["stackOutputDetails"] = async () => ({}),
): KubeconfigSourceContext {
    return {
        config: new pulumi.Config("kubesphere-federation"),
        cwd: "/work",
        stackOutput,
        stackOutputDetails,
        readFile: (filePath) => {
            if (!(filePath in kubeconfigFiles)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
            return Buffer.from(kubeconfigFiles[filePath]);
        },
    };
}

function fleetConfig(
    members: unknown[] = MEMBERS.map((m, index) => ({
        ...m,
        kubeconfig: { path: `/kube/${m.name}.yaml` },
        group: index === 0 ? "production" : undefined,
    })),
    kubesphereVersion = "v3",
) {
    return parseFederationConfig({
        host: { name: "host", kubeconfig: { path: "/kube/host.yaml" }, kubesphereVersion },
        members,
    });
}

/** Resolves every output of the summary, as the engine would when exporting it. */
async function resolvedSummary(summary: FederationSummary) {
    const members: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(summary.members)) {
        members[name] = {
            clusterName: await valueOf(member.clusterName),
            provider: member.provider,
            ready: await valueOf(member.ready),
            reason: await valueOf(member.reason),
            message: await valueOf(member.message),
            kubernetesVersion: await valueOf(member.kubernetesVersion),
            kubesphereVersion: await valueOf(member.kubesphereVersion),
            detectedKubesphereVersion: await valueOf(member.detectedKubesphereVersion),
        };
    }
    return { hostName: summary.hostName, hostKubesphereVersion: await valueOf(summary.hostKubesphereVersion), members };
}

const byType = (world: MockWorld, type: string) => world.resources.filter((r) => r.type === type);

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
                    const expected = resolveKubeconfig(
                        kubeconfigFiles[`/kube/${member.name}.yaml`],
                        undefined,
                        { key: "k", description: "d", baseDir: "/" },
                        () => Buffer.from(""),
                    ).yaml;
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

    describe("KubeSphere 4.x host, a client-certificate member with credentials: kubeconfig", () => {
        const memberConfig = [
            { name: "m1", provider: "kubeadm", kubeconfig: { path: "/kube/m1-cert.yaml" }, credentials: "kubeconfig" },
        ];
        before(() => {
            kubeconfigFiles["/kube/m1-cert.yaml"] = certificateKubeconfig("m1");
        });
        const importedKubeconfig = async (kept: string | undefined) => {
            const world = await installMocks(kubesphereYamlV4(JWT_SECRET));
            const reads: string[] = [];
            const access = v4Access({
                readImportedKubeconfig: async (_host, name) => {
                    reads.push(name);
                    return kept;
                },
            });
            await resolvedSummary(await federate(fleetConfig(memberConfig, "auto"), sources(), undefined, access));
            await settle();
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster"))!;
            assert.deepStrictEqual(reads, ["m1"], "the Cluster on the host is read");
            assert.ok(isSecretInput(cluster.inputs.spec));
            return Buffer.from(plain(cluster.inputs.spec).connection.kubeconfig, "base64").toString("utf8");
        };

        it("imports the member's own kubeconfig while KubeSphere has not renewed it", async () => {
            // The program imports the flattened kubeconfig (same user, re-serialised).
            const user = (text: string) =>
                (yaml.load(text) as { users: Array<{ user: Record<string, string> }> }).users[0].user;
            assert.deepStrictEqual(user(await importedKubeconfig(undefined)), user(certificateKubeconfig("m1")));
        });

        it("keeps the kubeconfig KubeSphere renewed in the Cluster instead of putting its own back", async () => {
            assert.strictEqual(await importedKubeconfig(tokenKubeconfig("m1")), tokenKubeconfig("m1"));
        });
    });

    describe("KubeSphere 4.x host (detected)", () => {
        let world: MockWorld;
        let summary: FederationSummary;
        before(async () => {
            world = await installMocks(kubesphereYamlV4(JWT_SECRET));
            const members = [
                {
                    name: "ack-prod",
                    provider: "ack",
                    kubeconfig: { path: "/kube/ack-prod.yaml" },
                    credentials: "serviceAccount",
                    ksCoreValues: { cloud: { enabled: false } },
                },
            ];
            summary = await federate(fleetConfig(members, "auto"), sources(), undefined, v4Access());
            await resolvedSummary(summary);
            await settle();
        });

        it("patches no ClusterConfiguration on host or member", () => {
            assert.strictEqual(
                byType(world, "kubernetes:installer.kubesphere.io/v1alpha1:ClusterConfigurationPatch").length,
                0,
            );
            assert.strictEqual(byType(world, "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster").length, 1);
        });

        it("joins the member with the Cluster alone: ks-core values in spec.config; the program waits (Ready, KSCoreReady, config hash: memberJoin.test.ts)", () => {
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster"))!;
            const spec = plain(cluster.inputs.spec);
            const config = Buffer.from(spec.config, "base64");
            assert.deepStrictEqual(yaml.load(config.toString("utf8")), { cloud: { enabled: false } });
            assert.strictEqual(plain(cluster.inputs.metadata).annotations["pulumi.com/skipAwait"], "true");
            assert.notStrictEqual(ksCoreConfigHash(config), "");
            assert.ok(isSecretInput(cluster.inputs.spec));
        });

        it("imports the bare member with a ServiceAccount in kube-system, never creating a namespace", () => {
            const serviceAccount = world.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount")!;
            assert.deepStrictEqual(plain(serviceAccount.inputs.metadata), {
                name: "kubesphere-multicluster",
                namespace: "kube-system",
            });
            assert.strictEqual(byType(world, "kubernetes:core/v1:Namespace").length, 0);
        });

        it("exports the versions the pre-flight found", async () => {
            assert.strictEqual(await valueOf(summary.hostKubesphereVersion), "v4.1.3");
            assert.strictEqual(await valueOf(summary.members["ack-prod"].detectedKubesphereVersion), "none");
        });

        it("still reads the host's jwtSecret (4.x layout) as a secret", async () => {
            const exported = JSON.stringify(await resolvedSummary(summary));
            assert.ok(!exported.includes(JWT_SECRET));
        });
    });

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
    });

    describe("agent connection", () => {
        const ADDRESS = "http://203.0.113.40:30880";
        const agentConfig = (kubesphereVersion: string, withAddress = true) =>
            parseFederationConfig({
                host: {
                    name: "host",
                    kubeconfig: { path: "/kube/host.yaml" },
                    kubesphereVersion,
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
            const err = (await (
                summary.members["lab"].detectedKubesphereVersion as unknown as { promise(): Promise<unknown> }
            )
                .promise()
                .then(
                    () => undefined,
                    (e: Error) => e,
                )) as Error;
            assert.ok(err instanceof pulumi.ResourceError);
            assert.match(err.message, /host "host" has no tower .*extension "tower"/);
            assert.match(err.message, /no proxy address for the agent to dial/);
            await settle();
            assert.deepStrictEqual(
                world.resources
                    .filter(
                        (r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("kubesphere:") && r.id === undefined,
                    )
                    .map((r) => r.name),
                [],
            );
        });
    });

    describe("refusals before any change", () => {
        /** Resources that would change a cluster (everything but providers, components and reads). */
        const changes = (world: MockWorld) =>
            world.resources
                .filter((r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("kubesphere:") && r.id === undefined)
                .map((r) => r.name);
        /** The failure of an Output, as the engine would see it (Output.promise() is internal API, but the only way under mocks). */
        const failureOf = (output: pulumi.Output<unknown>) =>
            (output as unknown as { promise(): Promise<unknown> }).promise().then(
                () => undefined,
                (err: Error) => err,
            );

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
            assert.deepStrictEqual(changes(world), []);
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
            assert.deepStrictEqual(changes(world), [], "not even the host's patch");
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

    describe("HostCluster on its own", () => {
        it("exposes jwtSecret as a secret", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const host = new HostCluster("h", {
                hostClusterName: "h",
                kubeconfig: tokenKubeconfig("h"),
                clusterAccess: fakeClusterAccess(),
            });
            assert.strictEqual(await pulumi.isSecret(host.jwtSecret), true);
            assert.strictEqual(await valueOf(host.jwtSecret), JWT_SECRET);
            assert.strictEqual(await valueOf(host.kubesphereLayout), "v3");
        });
    });

    describe("ServiceAccount import credentials (EKS exec kubeconfig)", () => {
        let world: MockWorld;
        before(async () => {
            world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            kubeconfigFiles["/kube/eks.yaml"] = execKubeconfig("eks");
            const config = parseFederationConfig({
                host: { kubeconfig: { path: "/kube/host.yaml" } },
                members: [
                    {
                        name: "eks",
                        provider: "eks",
                        kubeconfig: { path: "/kube/eks.yaml" },
                        credentialsRevision: 3,
                        apiServerEndpoint: "https://eks.public.example.com",
                    },
                ],
            });
            await resolvedSummary(await federate(config, sources(), undefined, fakeClusterAccess()));
            await settle();
        });

        it("creates the ServiceAccount, its token Secret for the revision and the binding on the member", () => {
            const onMember = world.resources.filter((r) => r.provider?.includes("pulumi:providers:kubernetes::eks"));
            const byKind = (type: string) => onMember.find((r) => r.type === type)!;
            assert.deepStrictEqual(plain(byKind("kubernetes:core/v1:ServiceAccount").inputs.metadata), {
                name: "kubesphere-multicluster",
                namespace: "kube-system",
            });
            const secret = byKind("kubernetes:core/v1:Secret");
            assert.strictEqual(secret.inputs.type, "kubernetes.io/service-account-token");
            assert.strictEqual(plain(secret.inputs.metadata).name, "kubesphere-multicluster-token-r3");
            assert.strictEqual(
                plain(secret.inputs.metadata).annotations["kubernetes.io/service-account.name"],
                "kubesphere-multicluster",
            );
            const binding = byKind("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
            assert.strictEqual((binding.inputs.roleRef as any).name, "cluster-admin");
        });

        it("imports the member with a static token kubeconfig at the endpoint override, as a secret", () => {
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster") && r.name === "eks")!;
            assert.ok(isSecretInput(cluster.inputs.spec));
            const imported = yaml.load(
                Buffer.from(plain(cluster.inputs.spec).connection.kubeconfig, "base64").toString("utf8"),
            ) as any;
            assert.strictEqual(imported.users[0].user.token, "sa-token-of-eks-import-token");
            assert.strictEqual(imported.users[0].user.exec, undefined, "no exec plugin reaches KubeSphere");
            assert.strictEqual(imported.clusters[0].cluster.server, "https://eks.public.example.com");
            assert.strictEqual(
                imported.clusters[0].cluster["certificate-authority-data"],
                Buffer.from("sa-ca").toString("base64"),
            );
            assert.strictEqual(plain(cluster.inputs.spec).provider, "AWS EKS");
        });

        it("still lets Pulumi itself use the exec kubeconfig for the member", () => {
            const provider = world.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "eks")!;
            assert.match(plain<string>(provider.inputs.kubeconfig), /command: aws/);
        });
    });

    describe("kubeconfig from another stack or a secret config value", () => {
        it("takes a member kubeconfig from a StackReference output and the host's from secret config", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET), {
                kubeconfig: tokenKubeconfig("from-stack"),
            });
            pulumi.runtime.setAllConfig({ "kubesphere-federation:hostKubeconfig": tokenKubeconfig("host") }, [
                "kubesphere-federation:hostKubeconfig",
            ]);
            const reference = new pulumi.StackReference("clusters", { name: "acme/clusters/prod" });
            const config = parseFederationConfig({
                host: { kubeconfig: { secretConfig: "hostKubeconfig" } },
                members: [
                    {
                        name: "m1",
                        provider: "generic",
                        kubeconfig: { stackReference: "acme/clusters/prod", output: "kubeconfig" },
                    },
                ],
            });
            const summary = await federate(
                config,
                sources((_stack, output) => reference.getOutput(output)),
                undefined,
                fakeClusterAccess(),
            );
            await resolvedSummary(summary);
            await settle();
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster") && r.name === "m1")!;
            const imported = Buffer.from(plain(cluster.inputs.spec).connection.kubeconfig, "base64").toString("utf8");
            assert.ok(imported.includes(tokenFor("from-stack")));
            assert.ok(isSecretInput(cluster.inputs.spec));
            const hostProvider = world.resources.find(
                (r) => r.type === "pulumi:providers:kubernetes" && r.name === "host",
            )!;
            assert.ok(isSecretInput(hostProvider.inputs.kubeconfig), "provider kubeconfig is secret");
            assert.ok(plain<string>(hostProvider.inputs.kubeconfig).includes(tokenFor("host")));
            pulumi.runtime.setAllConfig({});
        });
    });

    describe("bad input", () => {
        it("reports every unreadable kubeconfig before registering any resource", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const config = fleetConfig([
                { name: "m1", provider: "ack", kubeconfig: { path: "/kube/missing.yaml" } },
                { name: "m2", provider: "eks", kubeconfig: { path: "/kube/lab.yaml", context: "nope" } },
            ] as any);
            await assert.rejects(
                () => federate(config, sources(), { transformations: [world.recordOptions] }, fakeClusterAccess()),
                (err: FederationConfigErrors) => {
                    assert.ok(err instanceof FederationConfigErrors);
                    // A RunError: the runner and the Automation API print its message alone, without a stack trace.
                    assert.ok(
                        pulumi.RunError.isInstance(err) &&
                            err.problems.every((problem) => pulumi.RunError.isInstance(problem)),
                    );
                    assert.deepStrictEqual(
                        err.problems.map((p: FederationConfigError) => p.key),
                        ["members[0].kubeconfig.path", "members[1].kubeconfig.context"],
                    );
                    assert.match(err.message, new RegExp(`file ${path.sep}kube${path.sep}missing.yaml does not exist`));
                    return true;
                },
            );
            await settle();
            assert.strictEqual(world.resources.length, 0);
            assert.strictEqual(world.options.length, 0);
        });

        it("names the secret config key that is not set", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const config = parseFederationConfig({ host: { kubeconfig: { secretConfig: "notSet" } }, members: [] });
            await assert.rejects(
                () => federate(config, sources(), undefined, fakeClusterAccess()),
                /kubesphere-federation:host\.kubeconfig\.secretConfig: config key "notSet" is not set/,
            );
        });

        it("reports a host that does not answer during version detection as a RunError (message alone), before any resource", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const unreachable = fakeClusterAccess({
                readKubesphereLayout: async () => {
                    throw new Error(
                        'cluster "host": the API server https://127.0.0.1:1 does not answer (connect ECONNREFUSED 127.0.0.1:1)',
                    );
                },
            });
            await assert.rejects(
                () =>
                    federate(
                        fleetConfig([], "auto"),
                        sources(),
                        { transformations: [world.recordOptions] },
                        unreachable,
                    ),
                (err: Error) =>
                    pulumi.RunError.isInstance(err) &&
                    /^cluster "host": the API server https:\/\/127\.0\.0\.1:1 does not answer/.test(err.message),
            );
            await settle();
            assert.strictEqual(world.resources.length, 0);
        });

        it("fails the deployment when the host's kubesphere-config has no jwtSecret", async () => {
            await installMocks("multicluster:\n  clusterRole: none\n");
            const host = new HostCluster("h", {
                hostClusterName: "h",
                kubeconfig: tokenKubeconfig("h"),
                clusterAccess: fakeClusterAccess(),
            });
            // Output.promise() is internal API, but it is the only way to observe an apply's failure under mocks.
            const jwtSecret = (host.jwtSecret as unknown as { promise(): Promise<string> }).promise();
            await assert.rejects(
                jwtSecret,
                /ConfigMap kubesphere-system\/kubesphere-config on cluster "h" has no jwtSecret/,
            );
        });
    });

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
            const failure = await (
                summary.members["ack-prod"].detectedKubesphereVersion as unknown as { promise(): Promise<unknown> }
            )
                .promise()
                .then(
                    () => undefined,
                    (err: Error) => err,
                );
            return (failure as Error | undefined)?.message ?? "no refusal";
        };

        it("a host-only stack exports the host's kubeconfig, jwtSecret, name and version as one secret", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const summary = await federate(fleetConfig([]), sources(), undefined, fakeClusterAccess());
            assert.ok(summary.federationHost !== undefined);
            assert.ok(await pulumi.isSecret(summary.federationHost), "federationHost is a secret output");
            const exported = await valueOf(summary.federationHost);
            const hostYaml = resolveKubeconfig(
                kubeconfigFiles["/kube/host.yaml"],
                undefined,
                { key: "k", description: "d", baseDir: "/" },
                () => Buffer.from(""),
            ).yaml;
            assert.deepStrictEqual(exported, {
                name: "host",
                kubeconfig: hostYaml,
                jwtSecret: JWT_SECRET,
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
