/**
 * The component package for other Pulumi languages (plugin/): the schema Pulumi infers from plugin/index.ts, with the
 * same code the CLI runs (`@pulumi/pulumi/provider/experimental`, which `pulumi package get-schema` and every
 * generated SDK go through), so a change that schema inference refuses (a union type, a provider object, a map of
 * unknown) fails here first. test/e2e/multilang.e2e.test.ts runs the package from a YAML program through the real CLI.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as plugin from "../../plugin";

const PLUGIN_DIR = path.resolve(__dirname, "..", "..", "plugin");

interface Property {
    type?: string;
    plain?: boolean;
    optional?: boolean;
    description?: string;
}
interface ResourceSchema {
    isComponent: boolean;
    inputProperties: Record<string, Property>;
    requiredInputs: string[];
    properties: Record<string, Property>;
    required: string[];
}

describe("component package (plugin/): inferred schema", function () {
    // The analyzer type-checks plugin/index.ts and everything it imports (about 10 s; more on a loaded machine).
    this.timeout(180_000);
    let schema: {
        name: string;
        version: string;
        resources: Record<string, ResourceSchema>;
        types?: Record<string, unknown>;
    };

    before(async () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(PLUGIN_DIR, "package.json"), "utf8")) as { name: string };
        // What @pulumi/pulumi/cmd/run-plugin does with the package: its exported components, named after package.json.
        const components = getPulumiComponents(plugin);
        const provider = new ComponentProvider({ components, name: manifest.name, dirname: PLUGIN_DIR });
        schema = JSON.parse(await provider.getSchema());
    });

    it("exports Host and Member as components of package kubesphere-federation, and nothing else", () => {
        assert.strictEqual(schema.name, "kubesphere-federation");
        assert.deepStrictEqual(Object.keys(schema.resources).sort(), [
            "kubesphere-federation:index:Host",
            "kubesphere-federation:index:Member",
        ]);
        for (const resource of Object.values(schema.resources)) assert.strictEqual(resource.isComponent, true);
        assert.deepStrictEqual(
            schema.types ?? {},
            {},
            "no object or enum types: every input is a string, number or boolean",
        );
    });

    it("Host: a kubeconfig string (an input, so a secret Output passes as it is) and plain settings; exports what members need", () => {
        const host = schema.resources["kubesphere-federation:index:Host"];
        assert.deepStrictEqual(host.requiredInputs, ["kubeconfig"]);
        assert.deepStrictEqual(host.inputProperties.kubeconfig.type, "string");
        assert.ok(!host.inputProperties.kubeconfig.plain, "kubeconfig takes Outputs");
        assert.deepStrictEqual(Object.keys(host.inputProperties).sort(), [
            "agentProxyAddress",
            "hostClusterName",
            "installerTimeoutSeconds",
            "kubeconfig",
            "kubesphereMajor",
        ]);
        assert.strictEqual(host.inputProperties.installerTimeoutSeconds.type, "number");
        assert.deepStrictEqual(host.required.sort(), [
            "detectedKubesphereVersion",
            "hostClusterName",
            "jwtSecret",
            "kubeconfig",
        ]);
        for (const output of Object.values(host.properties)) assert.strictEqual(output.type, "string");
    });

    it("Member: member kubeconfig, host kubeconfig and jwtSecret as string inputs, provider plain; exports the join's state", () => {
        const member = schema.resources["kubesphere-federation:index:Member"];
        assert.deepStrictEqual(member.requiredInputs.sort(), ["hostKubeconfig", "jwtSecret", "kubeconfig", "provider"]);
        for (const secret of ["kubeconfig", "hostKubeconfig", "jwtSecret"]) {
            assert.strictEqual(member.inputProperties[secret].type, "string", secret);
            assert.ok(!member.inputProperties[secret].plain, `${secret} takes Outputs`);
        }
        assert.strictEqual(member.inputProperties.provider.plain, true);
        assert.strictEqual(member.inputProperties.readyTimeoutSeconds.type, "number");
        assert.deepStrictEqual(member.properties, {
            clusterName: { type: "string", description: member.properties.clusterName.description },
            ready: { type: "boolean", description: member.properties.ready.description },
            kubernetesVersion: { type: "string", description: member.properties.kubernetesVersion.description },
            kubesphereVersion: { type: "string", description: member.properties.kubesphereVersion.description },
        });
    });
});
