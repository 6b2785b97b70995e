/**
 * Runs examples/member-from-output under Pulumi mocks in a process of its own (as a separate program would run:
 * its own @pulumi/pulumi copy, nothing shared with the unit suite's), and prints what it registered as one `RESULT <json>` line on stdout.
 * Used by example.test.ts: `node -r ts-node/register/transpile-only test/unit/exampleUnderMocks.ts <jwtSecret>`.
 */
import { createRequire } from "module";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { tokenKubeconfig, kubesphereYamlV3 } from "../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, isSecretInput, plain, settle, valueOf } from "./pulumiMocks";

const EXAMPLE = path.resolve(__dirname, "../../examples/member-from-output");

async function main(jwtSecret: string): Promise<void> {
    const exampleRequire = createRequire(path.join(EXAMPLE, "index.ts"));
    const sdk = exampleRequire("@pulumi/pulumi") as typeof pulumi;
    // The packed library's real cluster reads (an internal module: required by path, as no program would), replaced
    // by fakes in this process only: the example builds its components itself, so it cannot be handed an access.
    const packedClusterAccess = require(
        path.join(path.dirname(exampleRequire.resolve("kubesphere-federation")), "kubesphere", "clusterAccess.js"),
    );
    const world = await installMocks(kubesphereYamlV3(jwtSecret), {}, true, sdk, "member-from-output");
    const clusterKubeconfig = tokenKubeconfig("prod");
    sdk.runtime.setAllConfig(
        {
            "member-from-output:hostKubeconfig": tokenKubeconfig("host"),
            "member-from-output:clusterKubeconfig": clusterKubeconfig,
        },
        ["member-from-output:hostKubeconfig", "member-from-output:clusterKubeconfig"],
    );
    Object.assign(packedClusterAccess.liveClusterAccess, fakeClusterAccess());
    const program: Record<string, pulumi.Output<unknown>> = require(path.join(EXAMPLE, "index.ts"));
    const outputs = { clusterName: await valueOf(program.clusterName), ready: await valueOf(program.ready) };
    await settle();
    const cluster = world.resources.find((r) => r.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster");
    const memberPatch = world.resources.find(
        (r) => r.type.endsWith("ClusterConfigurationPatch") && r.name === "prod-ks-installer",
    );
    const connection = cluster && plain(cluster.inputs.spec).connection;
    // One marked line: Pulumi's mock logs share stdout.
    process.stdout.write(
        "\nRESULT " +
            JSON.stringify({
                outputs,
                events: world.events,
                clusterKubeconfig,
                cluster: cluster && {
                    name: cluster.name,
                    provider: cluster.provider,
                    specIsSecret: isSecretInput(cluster.inputs.spec),
                    connectionType: connection.type,
                    importedKubeconfig: Buffer.from(connection.kubeconfig, "base64").toString("utf8"),
                },
                memberJwtSecret: memberPatch && plain(memberPatch.inputs.spec).authentication.jwtSecret,
            }),
    );
}

main(process.argv[2]).then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(String(err instanceof Error ? err.stack : err));
        process.exit(1);
    },
);
