/**
 * End-to-end, an upgrade as a user makes it: the `local` stack deployed (`pulumi up`) with the previous program (the
 * last release, harness/previousProgram.ts: UPGRADE_FROM_REF, else the last `v*` tag, else the commit before the
 * change), then `pulumi preview` of the same stack, state and stack file with the current program. Nothing may be
 * replaced or deleted: a member re-created is a member that leaves the federation. Renamed resource types and names
 * need aliases for this to hold, so a missing alias fails here, naming the URNs.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliProject } from "./harness/cliProject";
import { checkOutProgram, kubernetesSdkVersion, UpgradeFrom, upgradeFromCommit } from "./harness/previousProgram";
import { REPO_ROOT, toolsBinDir } from "./sandbox/paths";
import { Sandbox, startSandbox } from "./sandbox/sandbox";
import { warmOpenApi } from "./harness/clusterQueries";

/** Step operations that replace or delete something that exists (Pulumi's display ops, `pulumi preview --json`). */
const DESTRUCTIVE_OPS = new Set([
    "replace",
    "create-replacement",
    "delete-replaced",
    "delete",
    "discard",
    "discard-replaced",
    "read-replacement",
    "import-replacement",
    "remove-pending-replace",
]);

interface PreviewStep {
    op: string;
    urn: string;
    replaceReasons?: string[];
    diffReasons?: string[];
}

describe("upgrades keep stacks intact: pulumi up with the previous program, pulumi preview with this one (e2e, CLI path)", function () {
    this.timeout(10 * 60_000);

    let from: UpgradeFrom;
    let workDir: string;
    let sandbox: Sandbox;
    let project: CliProject;
    let previousDir: string;

    before(async function () {
        this.timeout(5 * 60_000);
        from = upgradeFromCommit();
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-upgrade-e2e-"));
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 2 });
        // The current program (a copy of this checkout) owns the backend and the plugin cache both programs use.
        project = CliProject.create(sandbox.dir);
        previousDir = path.join(workDir, "previous");
        const install = checkOutProgram(from.commit, previousDir);
        console.log(`      upgrading from ${from.commit.slice(0, 12)} (${from.why}); its dependencies: ${install}`);
        fs.symlinkSync(path.dirname(toolsBinDir()), path.join(previousDir, "test", "e2e", ".bin"));
        fs.symlinkSync(sandbox.dir, path.join(previousDir, ".sandbox"));
        const previousProvider = kubernetesSdkVersion(previousDir);
        const currentProvider = kubernetesSdkVersion(REPO_ROOT);
        if (previousProvider !== currentProvider)
            throw new Error(
                `${from.commit.slice(0, 12)} uses @pulumi/kubernetes ${previousProvider}, this checkout ${currentProvider}: ` +
                    `the suite has only the provider for ${currentProvider} (test/e2e/tools/build.sh) and no network to fetch another; ` +
                    `fix: set UPGRADE_FROM_REF to a commit on ${currentProvider}, or build that provider version`,
            );
        await warmOpenApi(sandbox);
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        project?.dispose();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("pulumi up of the local stack with the previous program federates both members", async () => {
        const inPrevious = `cd ${JSON.stringify(previousDir)} && `;
        await project.ok(`${inPrevious}pulumi stack init local`);
        await project.ok(`${inPrevious}pulumi up --yes`);
        const outputs = JSON.parse((await project.ok(`${inPrevious}pulumi stack output --json`)).stdout) as {
            members: Record<string, { ready: boolean }>;
        };
        assert.deepStrictEqual(
            Object.entries(outputs.members)
                .map(([name, member]) => `${name}:${member.ready}`)
                .sort(),
            ["member1:true", "member2:true"],
        );
        // The user's stack file (and its encryption salt, without which the passphrase opens no secret) stays theirs.
        fs.copyFileSync(
            path.join(previousDir, "stacks", "Pulumi.local.yaml"),
            project.file(path.join("stacks", "Pulumi.local.yaml")),
        );
    });

    it("pulumi preview with the current program on that stack: no replace, no delete", async () => {
        await project.ok("pulumi stack select local");
        const preview = await project.run("pulumi preview --json --show-sames");
        let steps: PreviewStep[];
        try {
            steps = (JSON.parse(preview.stdout) as { steps?: PreviewStep[] }).steps ?? [];
        } catch {
            throw new Error(`\`pulumi preview --json\` exited ${preview.code} without its JSON:\n${preview.output}`);
        }
        assert.strictEqual(preview.code, 0, `\`pulumi preview --json\` failed:\n${preview.output}`);
        assert.ok(steps.length > 0, `no steps in the preview:\n${preview.stdout}`);
        const destructive = steps.filter((step) => DESTRUCTIVE_OPS.has(step.op));
        const ops = steps.reduce<Record<string, number>>((count, step) => {
            count[step.op] = (count[step.op] ?? 0) + 1;
            return count;
        }, {});
        assert.deepStrictEqual(
            destructive.map((step) => {
                const reasons = step.replaceReasons ?? step.diffReasons ?? [];
                return `${step.op} ${step.urn}${reasons.length ? ` (${reasons.join(", ")})` : ""}`;
            }),
            [],
            `upgrading from ${from.commit.slice(0, 12)} (${from.why}) would replace or delete these resources ` +
                `(a renamed type or name needs an alias); all steps: ${JSON.stringify(ops)}`,
        );
        // (--show-sames: without it the JSON lists only the Stack among unchanged resources.) The members the previous
        // program federated are still there, unreplaced.
        for (const member of ["member1", "member2"])
            assert.ok(
                steps.some(
                    (step) =>
                        step.urn.endsWith(`::${member}`) &&
                        step.urn.includes("kubesphere-federation:index:MemberCluster") &&
                        ["same", "update"].includes(step.op),
                ),
                `${member}'s MemberCluster is not kept (same/update): ${JSON.stringify(ops)}\n${steps.map((step) => `${step.op} ${step.urn}`).join("\n")}`,
            );
    });
});
