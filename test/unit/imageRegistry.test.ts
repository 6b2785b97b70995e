/**
 * A registry of the user's own (MemberClusterArgs.imageRegistry, imagePullSecrets; docs/configuration.md): where the
 * agent's image and, on a 4.x host, ks-core's images come from. Pure functions, the config keys, and the graph under
 * mocks (the agent Deployment, a 4.x member's spec.config).
 */
import * as assert from "assert";
import * as yaml from "js-yaml";
import { parseFederationConfig } from "../../components/config/configSchema";
import { registryOf, withRegistry } from "../../components/kubernetes/imageReference";
import { ksCoreValuesFor } from "../../components/kubesphere/ksCoreValues";
import { agentDeploymentObject } from "../../components/members/agent/agentConnection";
import { federate } from "../../program/federation";
import { kubesphereYamlV3, kubesphereYamlV4 } from "../fixtures/kubeconfigs";
import { fakeClusterAccess, fakeV4ClusterAccess, installMocks, MockWorld, plain, settle } from "./pulumiMocks";
import { JWT_SECRET, resolvedSummary, sources } from "./graph/graphWorld";

const MIRROR = "registry.example.com/kubesphere-mirror";

describe("image registry", () => {
    it("reads the registry part of a reference as the container runtimes do", () => {
        assert.strictEqual(registryOf("kubesphere/tower:v0.2.1"), undefined);
        assert.strictEqual(registryOf("tower"), undefined);
        assert.strictEqual(registryOf("docker.io/kubesphere/tower:v0.2.1"), "docker.io");
        assert.strictEqual(
            registryOf("registry.example.com:5000/kubesphere/tower:v0.2.1"),
            "registry.example.com:5000",
        );
        assert.strictEqual(registryOf("localhost/tower:v1"), "localhost");
    });

    it("puts an image on the given registry, replacing the one it names; none leaves it as it is", () => {
        assert.strictEqual(withRegistry("kubesphere/tower:v0.2.1", MIRROR), `${MIRROR}/kubesphere/tower:v0.2.1`);
        assert.strictEqual(
            withRegistry("docker.io/kubesphere/tower:v0.2.1", `${MIRROR}/`),
            `${MIRROR}/kubesphere/tower:v0.2.1`,
        );
        assert.strictEqual(withRegistry("kubesphere/tower:v0.2.1", undefined), "kubesphere/tower:v0.2.1");
    });

    it("ks-core values: the chart's global registry values under ksCoreValues, which win; nothing set adds nothing", () => {
        assert.strictEqual(ksCoreValuesFor(undefined, {}), undefined);
        assert.deepStrictEqual(ksCoreValuesFor({ cloud: { enabled: false } }, {}), { cloud: { enabled: false } });
        assert.deepStrictEqual(
            ksCoreValuesFor({ cloud: { enabled: false } }, { imageRegistry: MIRROR, imagePullSecrets: ["pull"] }),
            {
                global: { imageRegistry: MIRROR, imagePullSecrets: ["pull"] },
                cloud: { enabled: false },
            },
        );
        assert.deepStrictEqual(
            ksCoreValuesFor(
                { global: { imageRegistry: "other.example.com", tag: "v4.1.3" } },
                { imageRegistry: MIRROR, imagePullSecrets: ["pull"] },
            ),
            { global: { imageRegistry: "other.example.com", imagePullSecrets: ["pull"], tag: "v4.1.3" } },
        );
    });

    it("the agent's Deployment pulls with the named Secrets; none: no imagePullSecrets (KubeSphere's manifest)", () => {
        const base = {
            member: "lab",
            token: "t",
            proxyAddress: "http://203.0.113.40:30880",
            image: "kubesphere/tower:v0.2.1",
            serviceAccountName: "kubesphere",
        };
        assert.deepStrictEqual(
            agentDeploymentObject({ ...base, imagePullSecrets: ["pull"] }).spec.template.spec.imagePullSecrets,
            [{ name: "pull" }],
        );
        assert.strictEqual("imagePullSecrets" in agentDeploymentObject(base).spec.template.spec, false);
    });

    it("config: host.imageRegistry and imagePullSecrets, per member too; a scheme or a bad Secret name names the key", () => {
        const parsed = parseFederationConfig({
            host: { kubeconfig: { path: "/kube/host.yaml" }, imageRegistry: MIRROR, imagePullSecrets: ["pull"] },
            members: [
                {
                    name: "m",
                    provider: "generic",
                    kubeconfig: { path: "/kube/m.yaml" },
                    imageRegistry: "registry.example.com:5000",
                },
            ],
        });
        assert.strictEqual("imageRegistry" in parsed.host && parsed.host.imageRegistry, MIRROR);
        assert.strictEqual(parsed.members[0].imageRegistry, "registry.example.com:5000");
        assert.throws(
            () =>
                parseFederationConfig({
                    host: { kubeconfig: { path: "/k" }, imageRegistry: "https://registry.example.com" },
                    members: [],
                }),
            /host\.imageRegistry: "https:\/\/registry\.example\.com" is not a registry\[:port\]\[\/path\]/,
        );
        assert.throws(
            () =>
                parseFederationConfig({
                    host: { kubeconfig: { path: "/k" } },
                    members: [
                        { name: "m", provider: "generic", kubeconfig: { path: "/k" }, imagePullSecrets: ["Bad_Name"] },
                    ],
                }),
            /members\[0\]\.imagePullSecrets\[0\]: "Bad_Name" is not a Secret name/,
        );
    });

    describe("in the graph (mocks)", () => {
        const config = (kubesphereMajor: string, member: Record<string, unknown> = {}) =>
            parseFederationConfig({
                host: {
                    name: "host",
                    kubeconfig: { path: "/kube/host.yaml" },
                    kubesphereMajor,
                    agentProxyAddress: "http://203.0.113.40:30880",
                    imageRegistry: MIRROR,
                    imagePullSecrets: ["pull"],
                },
                members: [{ name: "lab", provider: "kubeadm", kubeconfig: { path: "/kube/lab.yaml" }, ...member }],
            });

        it("3.x agent member: the agent's image from the host's registry, pulled with its Secrets; no spec.config", async () => {
            const world: MockWorld = await installMocks(kubesphereYamlV3(JWT_SECRET));
            await resolvedSummary(
                await federate(config("v3", { connection: "agent" }), sources(), undefined, fakeClusterAccess()),
            );
            await settle();
            const spec = plain(world.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec);
            assert.strictEqual(spec.template.spec.containers[0].image, `${MIRROR}/kubesphere/tower:v0.2.1`);
            assert.deepStrictEqual(spec.template.spec.imagePullSecrets, [{ name: "pull" }]);
            // spec.config is 4.x's: a 3.x Cluster's CRD has no such field.
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster"))!;
            assert.strictEqual(plain(cluster.inputs.spec).config, undefined);
        });

        it("4.x member: the member's own registry (it overrides the host's) in spec.config, under its ksCoreValues", async () => {
            const world: MockWorld = await installMocks(kubesphereYamlV4(JWT_SECRET));
            const member = {
                credentials: "serviceAccount",
                imageRegistry: "registry.example.com:5000",
                ksCoreValues: { cloud: { enabled: false } },
            };
            await resolvedSummary(await federate(config("auto", member), sources(), undefined, fakeV4ClusterAccess()));
            await settle();
            const cluster = world.resources.find((r) => r.type.endsWith(":Cluster"))!;
            const values = yaml.load(Buffer.from(plain(cluster.inputs.spec).config, "base64").toString("utf8"));
            assert.deepStrictEqual(values, {
                global: { imageRegistry: "registry.example.com:5000", imagePullSecrets: ["pull"] },
                cloud: { enabled: false },
            });
        });
    });
});
