/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). ServiceAccount import credentials for a member whose kubeconfig runs an exec plugin (EKS). */
import * as assert from "assert";
import * as yaml from "js-yaml";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { federate } from "../../../program/federation";
import { execKubeconfig, kubesphereYamlV3 } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, isSecretInput, MockWorld, plain, settle } from "../pulumiMocks";
import { JWT_SECRET, kubeconfigFiles, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
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
});
