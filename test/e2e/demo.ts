/**
 * `npm run demo`: brings the local sandbox up (or reuses it), then runs the real `pulumi up` of the `local` stack
 * (stacks/Pulumi.local.yaml) through the Pulumi CLI, exactly as a user would in the project directory, and prints a
 * short summary of the federation from the stack's outputs.
 *
 * The CLI and language host are the ones test/e2e/tools/build.sh selected in test/e2e/.bin/bin: the user's own
 * Pulumi CLI when it is the pinned version, else the CLI built from Go modules with the test-only language host
 * stand-in. It runs in a copy of the repository under .sandbox/pulumi (so `pulumi stack init` never edits the
 * committed stack file), with the state there too; `npm run sandbox -- down` removes everything.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CliProject } from "./harness/cliProject";
import { DEFAULT_SANDBOX_DIR, toolsBinDir } from "./sandbox/paths";
import { isRunning } from "./sandbox/processes";
import { loadSandbox, Sandbox, startSandbox } from "./sandbox/sandbox";
import { readState } from "./sandbox/state";

/** What the program exports per member (index.ts). */
interface MemberOutput {
    clusterName: string;
    provider: string;
    ready: boolean;
    message: string;
    kubernetesVersion: string;
}

async function sandboxUp(dir: string): Promise<Sandbox> {
    if (readState(dir)) {
        const existing = loadSandbox(dir);
        if (existing.processes().every(isRunning)) {
            console.log(`Using the sandbox already running in ${dir}`);
            return existing;
        }
        await existing.stop({ removeData: true });
    }
    console.log(`Starting the sandbox (etcd, 3 kube-apiservers, test-only KubeSphere emulator) in ${dir} ...`);
    return startSandbox({ dir, members: 2, detached: true });
}

/** Which CLI and language host build.sh selected, for the first lines of the demo. */
function toolsInUse(): string {
    const pulumi = path.join(toolsBinDir(), "pulumi");
    const version = execFileSync(pulumi, ["version"], {
        encoding: "utf8",
        env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    }).trim();
    const host = fs.realpathSync(path.join(toolsBinDir(), "pulumi-language-nodejs"));
    const standIn = fs.readFileSync(host, "utf8").includes("TEST TOOLING ONLY");
    return `Pulumi CLI ${version} (${fs.realpathSync(pulumi)}), language host: ${standIn ? "the test-only stand-in" : "Pulumi's own"} (${host})`;
}

async function main(): Promise<void> {
    const sandbox = await sandboxUp(DEFAULT_SANDBOX_DIR);
    const project = CliProject.create(sandbox.dir, path.join(DEFAULT_SANDBOX_DIR, "pulumi"));
    console.log(toolsInUse());

    const selected = await project.run("pulumi stack select local");
    if (selected.code !== 0) await project.ok("pulumi stack init local");
    console.log(`\nRunning pulumi up on stack 'local' in ${project.dir} ...\n`);
    const up = await project.run("pulumi up --yes --refresh", { inheritStdio: true });
    if (up.code !== 0) {
        console.error(`\ndemo: pulumi up failed (exit code ${up.code}); its messages are above.`);
        process.exit(up.code ?? 1);
    }

    const outputs = JSON.parse((await project.ok("pulumi stack output --json")).stdout) as {
        hostName: string;
        members: Record<string, MemberOutput>;
    };
    console.log(`\nFederation on host "${outputs.hostName}" (pulumi up: succeeded):\n`);
    console.log(
        `  ${"CLUSTER".padEnd(10)} ${"PROVIDER".padEnd(12)} ${"KUBERNETES".padEnd(11)} ${"READY".padEnd(6)} MESSAGE`,
    );
    for (const member of Object.values(outputs.members)) {
        console.log(
            `  ${member.clusterName.padEnd(10)} ${member.provider.padEnd(12)} ${(member.kubernetesVersion || "?").padEnd(11)} ` +
                `${(member.ready ? "True" : "False").padEnd(6)} ${member.message}`,
        );
    }
    console.log(`\nKubeconfigs: ${path.join(sandbox.dir, "kubeconfigs")}   Stop everything: npm run sandbox -- down`);
}

main().catch((err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
});
