/**
 * examples/member-from-output as a separate program would use the library: `npm run pack:lib` packs the package, the
 * example installs the tarball (its own node_modules), tsc checks the example against the packed declarations, and
 * the example runs under Pulumi mocks loading the packed JavaScript (never components/ from source).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { createRequire } from "module";
import { EXAMPLE, installPackedExample } from "../fixtures/packedExample";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const JWT_SECRET = "exampleJwtSecret0123456789abcdefgh";

describe("examples/member-from-output (the packed package in a program of its own)", function () {
    this.timeout(600_000);
    let commands: string[] = [];
    before(() => (commands = installPackedExample()));

    it("resolves kubesphere-federation to the installed tarball's JavaScript and declarations", () => {
        // Resolved as the example's own code resolves it (from inside this repository Node would self-reference the root).
        const entry = createRequire(path.join(EXAMPLE, "index.ts")).resolve("kubesphere-federation");
        assert.strictEqual(entry, path.join(EXAMPLE, "node_modules", "kubesphere-federation", "lib", "index.js"));
        assert.ok(fs.existsSync(path.join(path.dirname(entry), "index.d.ts")));
        assert.ok(fs.existsSync(path.join(path.dirname(entry), "members", "memberCluster.d.ts")));
        // Internal helpers are stripped from the declarations (stripInternal).
        assert.doesNotMatch(
            fs.readFileSync(path.join(path.dirname(entry), "members", "memberClusterArgs.d.ts"), "utf8"),
            /fleetChecked|otherMembers/,
        );
        assert.doesNotMatch(
            fs.readFileSync(path.join(path.dirname(entry), "host", "hostCluster.d.ts"), "utf8"),
            /fleetChecked/,
        );
    });

    it("type-checks against the packed declarations (skipLibCheck off), as the commands of docs/library.md do", () => {
        assert.deepStrictEqual(commands.slice(-1), ["npx tsc -p ."]);
        assert.strictEqual(
            JSON.parse(fs.readFileSync(path.join(EXAMPLE, "tsconfig.json"), "utf8")).compilerOptions.skipLibCheck,
            false,
        );
        // The before hook ran it (and would have failed on a type error); the example's own TypeScript did.
        assert.ok(fs.existsSync(path.join(EXAMPLE, "node_modules", "typescript", "package.json")));
    });

    it("runs under mocks: the member's Cluster imports the provisioned cluster's kubeconfig output, through the host's provider", () => {
        // In a process of its own: the example's @pulumi/pulumi copy must not share a runtime with this suite's.
        const stdout = execFileSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "exampleUnderMocks.ts"), JWT_SECRET],
            {
                cwd: ROOT,
                stdio: ["ignore", "pipe", "pipe"],
                encoding: "utf8",
            },
        );
        const found = JSON.parse(
            stdout
                .split("\n")
                .find((line) => line.startsWith("RESULT "))!
                .slice("RESULT ".length),
        );
        assert.deepStrictEqual(found.outputs, { clusterName: "prod", ready: true });
        assert.ok(found.cluster, found.events.join("\n"));
        assert.strictEqual(found.cluster.name, "prod");
        assert.strictEqual(found.cluster.specIsSecret, true, "the Cluster's spec holds a kubeconfig: secret");
        assert.strictEqual(found.cluster.connectionType, "direct");
        assert.strictEqual(found.cluster.importedKubeconfig, found.clusterKubeconfig);
        assert.match(found.cluster.provider ?? "", /::host::/, "created on the host, through the host's provider");
        assert.strictEqual(found.memberJwtSecret, JWT_SECRET, "the member takes the host's jwtSecret");
        assert.ok(
            found.events.indexOf("register:ProvisionedCluster:prod-cluster") <
                found.events.indexOf("register:Cluster:prod"),
        );
    });
});
