/**
 * examples/member-from-output under the real Pulumi engine on the sandbox: a program of its own, with the packed
 * library installed from its tarball, joins a member whose kubeconfig is another resource's output.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { conditionOf, memberClusters } from "./harness/clusterQueries";
import { CliProject } from "./harness/cliProject";
import { Sandbox, startSandbox } from "./sandbox/sandbox";
import { EXAMPLE, installPackedExample } from "../fixtures/packedExample";

describe("examples/member-from-output on the sandbox (the packed library, the real engine)", function () {
    this.timeout(15 * 60_000);
    let workDir: string;
    let sandbox: Sandbox;
    let project: CliProject;
    const inExample = (command: string) => `cd examples/member-from-output && ${command}`;

    before(async function () {
        this.timeout(10 * 60_000);
        installPackedExample();
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-example-e2e-"));
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 1 });
        project = CliProject.create(sandbox.dir);
        // The copy holds tracked files only: the example's installed packages are linked in.
        fs.symlinkSync(
            path.join(EXAMPLE, "node_modules"),
            path.join(project.dir, "examples", "member-from-output", "node_modules"),
        );
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        project?.dispose();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("pulumi up joins the member; a second preview reports no changes", async () => {
        const host = sandbox.clusters.find((cluster) => cluster.role === "host")!;
        const member = sandbox.members[0];
        await project.ok(inExample("pulumi stack init e2e"));
        await project.ok(inExample("pulumi config set --secret hostKubeconfig"), {
            stdin: sandbox.kubeconfig(host.name),
        });
        await project.ok(inExample("pulumi config set --secret clusterKubeconfig"), {
            stdin: sandbox.kubeconfig(member.name),
        });
        await project.ok(inExample("pulumi up --yes --skip-preview"));
        const joined = (await memberClusters(sandbox)).find((cluster) => cluster.metadata.name === "prod");
        assert.ok(joined, "the Cluster prod exists on the host");
        assert.strictEqual(conditionOf(joined)?.status, "True");
        const ready = await project.ok(inExample("pulumi stack output ready"));
        assert.strictEqual(ready.stdout.trim(), "true");
        await project.ok(inExample("pulumi preview --expect-no-changes"));
    });
});
