/**
 * Runs examples/member-from-output under Pulumi mocks in a process of its own (as a separate program would run:
 * its own @pulumi/pulumi copy, nothing shared with the unit suite's), and prints what it registered as one `RESULT <json>` line on stdout.
 * Used by example.test.ts: `node -r ts-node/register/transpile-only test/unit/exampleUnderMocks.ts <jwtSecret>`, and
 * by test/consumer (a copy of the example with other SDK versions installed): `... <jwtSecret> <program directory>`.
 */
import { createRequire } from "module";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { tokenKubeconfig, kubesphereYamlV3 } from "../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, isSecretInput, plain, settle, valueOf } from "./pulumiMocks";

async function main(jwtSecret: string, EXAMPLE: string): Promise<void> {
    const exampleRequire = createRequire(path.join(EXAMPLE, "index.ts"));
    const sdk = exampleRequire("@pulumi/pulumi") as typeof pulumi;
    const libraryEntry = exampleRequire.resolve("kubesphere-federation");
    // The packed library's real cluster reads (an internal module: required by path, as no program would), replaced
    // by fakes in this process only: the example builds its components itself, so it cannot be handed an access.
    const packedClusterAccess = require(path.join(path.dirname(libraryEntry), "kubesphere", "clusterAccess.js"));
    // Where the program and the library each find their SDKs (one copy: the same files).
    const libraryRequire = createRequire(libraryEntry);
    const sdkFiles = {
        program: {
            pulumi: exampleRequire.resolve("@pulumi/pulumi"),
            kubernetes: exampleRequire.resolve("@pulumi/kubernetes"),
        },
        library: {
            pulumi: libraryRequire.resolve("@pulumi/pulumi"),
            kubernetes: libraryRequire.resolve("@pulumi/kubernetes"),
        },
    };
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
                sdkFiles,
                clusterKubeconfig,
                cluster: cluster && {
                    name: cluster.name,
                    provider: cluster.provider,
                    specIsSecret: isSecretInput(cluster.inputs.spec),
                    connectionType: connection.type,
                    importedKubeconfig: Buffer.from(connection.kubeconfig, "base64").toString("utf8"),
                },
                memberJwtSecret: memberPatch && plain(memberPatch.inputs.spec).authentication.jwtSecret,
                memberPatchSpecIsSecret: memberPatch && isSecretInput(memberPatch.inputs.spec),
                // Resources whose inputs hold the jwtSecret outside a secret (none may).
                jwtSecretInPlaintext: world.resources
                    .filter((r) => plaintextHolds(r.inputs, jwtSecret))
                    .map((r) => `${r.type}::${r.name}`),
            }),
    );
}

/** True when `value` holds `needle` in a string that is not inside a secret (as the engine receives inputs). */
function plaintextHolds(value: unknown, needle: string): boolean {
    if (isSecretInput(value)) return false;
    if (typeof value === "string") return value.includes(needle);
    if (Array.isArray(value)) return value.some((item) => plaintextHolds(item, needle));
    if (typeof value === "object" && value !== null)
        return Object.values(value).some((item) => plaintextHolds(item, needle));
    return false;
}

main(process.argv[2], path.resolve(process.argv[3] ?? path.join(__dirname, "../../examples/member-from-output"))).then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(String(err instanceof Error ? err.stack : err));
        process.exit(1);
    },
);
