/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). Kubeconfigs from another stack's output and from secret config. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, tokenFor, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, isSecretInput, plain, settle } from "../pulumiMocks";
import { JWT_SECRET, resolvedSummary, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
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
});
