/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). A KubeSphere 4.x host: no ClusterConfiguration, ks-core values in the Cluster, a bare member's ServiceAccount, a renewed kubeconfig kept. */
import * as assert from "assert";
import * as yaml from "js-yaml";
import { ksCoreConfigHash } from "../../../components/kubesphere/kubesphereVersion";
import { FederationSummary, federate } from "../../../program/federation";
import { certificateKubeconfig, kubesphereYamlV4, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import {
    fakeV4ClusterAccess as v4Access,
    installMocks,
    isSecretInput,
    MockWorld,
    plain,
    settle,
    valueOf,
} from "../pulumiMocks";
import { byType, fleetConfig, JWT_SECRET, kubeconfigFiles, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
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
});
