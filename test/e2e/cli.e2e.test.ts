/**
 * End-to-end through the Pulumi CLI, the way users run the program: `pulumi` commands in the project directory (a
 * copy of the repository, harness/cliProject.ts), the CLI running index.ts through the Node.js language host (the
 * test-only stand-in, test/e2e/languageHost/), the committed stack files, real kube-apiservers (the sandbox) and the
 * test-only KubeSphere emulator. The scenarios run in order on one sandbox, like a user's first day. Every command of
 * README.md's "Quick start" and "Adding an environment" and docs/removing-members.md's "Removing a member" runs here
 * as written (last test).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import {
    clusterApi,
    conditionOf,
    configRoleOf,
    hostCluster,
    INSTALLER,
    installerSpecOf,
    jwtSecretOf,
    memberClusters,
    warmOpenApi,
} from "./harness/clusterQueries";
import { CliProject, CommandResult, diagnosticsGroup } from "./harness/cliProject";
import { DOC_SECTIONS, docCommands } from "./harness/docCommands";
import { createFederationStack } from "./harness/federationStack";
import { Sandbox, startSandbox } from "./sandbox/sandbox";
import { waitFor } from "./sandbox/waitFor";

/** What `pulumi up` prints when run non-interactively needs `--yes`; a user answers the prompt instead. */
const ANSWER_YES = { PULUMI_SKIP_CONFIRMATIONS: "true" };

/** Signs that an error reached the user as a dump rather than as Pulumi prints its own. */
function assertCleanError(result: CommandResult, expected: RegExp[]): void {
    assert.notStrictEqual(result.code, 0, `\`${result.command}\` should fail:\n${result.output}`);
    for (const pattern of expected) assert.match(result.output, pattern);
    assert.doesNotMatch(result.output, /^\s+at .+[:(]\d+/m, `a stack trace in:\n${result.output}`);
    assert.doesNotMatch(result.output, /unhandled exception/i, result.output);
    assert.doesNotMatch(
        result.output,
        /FederationConfigErrors? \{|\[Symbol\(|problems: \[/,
        `a dumped error object in:\n${result.output}`,
    );
    assert.doesNotMatch(result.output, /Program exited with non-zero exit code/, result.output);
}

describe("the Pulumi CLI on index.ts (e2e, CLI path)", function () {
    this.timeout(15 * 60_000);

    let workDir: string;
    let sandbox: Sandbox;
    let project: CliProject;
    /** Every credential the sandbox holds; none may appear in a stack file, output or state. */
    const secrets = async () => {
        const values: string[] = [];
        for (const cluster of sandbox.clusters) {
            values.push(await jwtSecretOf(sandbox, cluster.name));
            values.push(
                (yaml.load(sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token: string } }> }).users[0]
                    .user.token,
            );
        }
        return values;
    };
    const assertNoSecrets = async (where: string, text: string) => {
        for (const [index, secret] of (await secrets()).entries())
            assert.ok(!text.includes(secret), `secret #${index} is in ${where}`);
    };
    const readyClusters = async () =>
        (await memberClusters(sandbox))
            .filter((cluster) => conditionOf(cluster)?.status === "True")
            .map((cluster) => cluster.metadata.name)
            .sort();

    before(async function () {
        this.timeout(5 * 60_000);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-cli-e2e-"));
        // KubeSphere 3.4 (the sandbox's default): its webhook keeps the finalizer of an unreachable member's Cluster.
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 2 });
        project = CliProject.create(sandbox.dir);
        await warmOpenApi(sandbox);
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        project?.dispose();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("pulumi stack init local takes the committed stack file; pulumi config set --secret keeps a kubeconfig encrypted in it", async () => {
        await project.ok("pulumi stack init local");
        await project.ok("pulumi config set --secret member2Kubeconfig < .sandbox/kubeconfigs/member2.yaml");
        await project.ok("pulumi config set --path 'members[1].kubeconfig.secretConfig' member2Kubeconfig");
        await project.ok("pulumi config rm --path 'members[1].kubeconfig.path'");
        const stackFile = fs.readFileSync(project.file("stacks/Pulumi.local.yaml"), "utf8");
        const config = (yaml.load(stackFile) as { config: Record<string, any> }).config;
        assert.ok(config["kubesphere-federation:member2Kubeconfig"].secure, "the kubeconfig is stored encrypted");
        assert.deepStrictEqual(config["kubesphere-federation:members"][1].kubeconfig, {
            secretConfig: "member2Kubeconfig",
        });
        assert.deepStrictEqual(config["kubesphere-federation:members"][0].kubeconfig, {
            path: ".sandbox/kubeconfigs/member1.yaml",
        });
        await assertNoSecrets("the stack file", stackFile);
    });

    it("pulumi preview lists the creates, with no warning about the language host and no secret", async () => {
        const preview = await project.ok("pulumi preview");
        for (const expected of [
            "kubesphere-federation:index:HostCluster",
            "kubesphere-federation:index:MemberCluster",
            "ClusterConfigurationPatch",
            "cluster.kubesphere.io/v1alpha1:Cluster",
        ]) {
            assert.ok(preview.output.includes(expected), `preview mentions ${expected}:\n${preview.output}`);
        }
        assert.match(preview.output, /\+ 12 to create/, preview.output);
        // Plugins are where the CLI expects them: no "warning: using pulumi-language-nodejs from $PATH" or the like.
        assert.doesNotMatch(preview.output, /warning: using pulumi-/, preview.output);
        await assertNoSecrets("preview output", preview.output);
    });

    it("Ctrl-C during pulumi up --yes stops it; pulumi up --yes again converges", async () => {
        const up = project.start("pulumi up --yes");
        await waitFor(async () => /creating/.test(up.output()), {
            description: "pulumi up to start creating resources",
            timeoutMs: 120_000,
            intervalMs: 100,
        });
        // bash -c runs a lone command in place of itself, so this is the CLI's pid: Ctrl-C in a terminal signals it.
        assert.strictEqual(fs.readFileSync(`/proc/${up.process.pid}/comm`, "utf8").trim(), "pulumi");
        up.process.kill("SIGINT");
        const interrupted = await up.done;
        assert.notStrictEqual(interrupted.code, 0, interrupted.output);
        assert.match(interrupted.output, /cancel/i, interrupted.output);

        const again = await project.ok("pulumi up --yes");
        assert.deepStrictEqual(await readyClusters(), ["member1", "member2"], again.output);
        for (const member of ["member1", "member2"]) {
            assert.strictEqual((await installerSpecOf(sandbox, member))!.multicluster.clusterRole, "member");
            assert.strictEqual(await jwtSecretOf(sandbox, member), await jwtSecretOf(sandbox, "host"));
        }
        await assertNoSecrets("up output", interrupted.output + again.output);
    });

    it("pulumi preview --expect-no-changes passes after up", async () => {
        await project.ok("pulumi preview --expect-no-changes");
    });

    it("pulumi stack output shows names and status, never a credential", async () => {
        const plain = await project.ok("pulumi stack output");
        assert.match(plain.output, /hostName\s+host/);
        const outputs = JSON.parse((await project.ok("pulumi stack output --json")).stdout);
        assert.strictEqual(outputs.hostName, "host");
        assert.deepStrictEqual(Object.keys(outputs.members).sort(), ["member1", "member2"]);
        for (const member of ["member1", "member2"]) assert.strictEqual(outputs.members[member].ready, true);
        await assertNoSecrets("stack output", plain.output + JSON.stringify(outputs));
    });

    it("Quick start: pulumi up --refresh on the federated stack changes nothing", async () => {
        const refresh = await project.ok("pulumi up --refresh", { env: ANSWER_YES });
        assert.doesNotMatch(refresh.output, /\d+ (to )?(create|update|delete|replace)d?\b/, refresh.output);
    });

    it("Removing a member: delete its entry from members and run pulumi up", async () => {
        const stackPath = project.file("stacks/Pulumi.local.yaml");
        const stackFile = yaml.load(fs.readFileSync(stackPath, "utf8")) as { config: Record<string, any> };
        stackFile.config["kubesphere-federation:members"] = stackFile.config["kubesphere-federation:members"].filter(
            (member: { name: string }) => member.name !== "member2",
        );
        fs.writeFileSync(stackPath, yaml.dump(stackFile));
        await project.ok("pulumi up", { env: ANSWER_YES });
        assert.deepStrictEqual(
            (await memberClusters(sandbox)).map((cluster) => cluster.metadata.name),
            ["member1"],
        );
        // Nothing changed on the member: its installer keeps the role and the host's jwtSecret.
        assert.strictEqual((await installerSpecOf(sandbox, "member2"))!.multicluster.clusterRole, "member");
        assert.strictEqual(await configRoleOf(sandbox, "member2"), "member");
    });

    it("A member that is gone for good: PULUMI_K8S_DELETE_UNREACHABLE=true pulumi up, and the kubectl steps on the host while it waits", async () => {
        // The sandbox's host is KubeSphere 3.4: the emulator serves its Cluster webhook, which holds the delete.
        const webhooks = sandbox.loadKubeConfig("host").makeApiClient(AdmissionregistrationV1Api);
        await sandbox.stopApiServer("member1");
        try {
            const stackPath = project.file("stacks/Pulumi.local.yaml");
            const stackFile = yaml.load(fs.readFileSync(stackPath, "utf8")) as { config: Record<string, any> };
            stackFile.config["kubesphere-federation:members"] = [];
            fs.writeFileSync(stackPath, yaml.dump(stackFile));
            const removal = project.start("PULUMI_K8S_DELETE_UNREACHABLE=true pulumi up", { env: ANSWER_YES });
            await waitFor(async () => Boolean((await hostCluster(sandbox, "member1"))?.metadata.deletionTimestamp), {
                description: "the Cluster delete to be pending",
                timeoutMs: 180_000,
                intervalMs: 250,
            });
            assert.ok(
                (await hostCluster(sandbox, "member1"))?.metadata.finalizers?.length,
                "KubeSphere's finalizer holds the delete",
            );
            const onHost = { env: { KUBECONFIG: project.file(".sandbox/kubeconfigs/host.yaml") } };
            for (const command of docCommands(DOC_SECTIONS.memberGoneForGoodByHand).filter((line) =>
                line.startsWith("kubectl "),
            )) {
                const result = await project.run(command.replace("<member>", "member1"), onHost);
                // As docs/removing-members.md says: NotFound from the patch means KubeSphere dropped its finalizer once the webhook was gone.
                const alreadyGone =
                    command.startsWith("kubectl patch clusters") &&
                    /Error from server \(NotFound\)/.test(result.output);
                if (result.code !== 0 && !alreadyGone)
                    throw new Error(`\`${command}\` exited ${result.code}:\n${result.output}`);
            }
            const removed = await removal.done;
            assert.strictEqual(removed.code, 0, removed.output);
            assert.strictEqual(await hostCluster(sandbox, "member1"), undefined);
            assert.ok(
                (await webhooks.readValidatingWebhookConfiguration({ name: "cluster.kubesphere.io" })).metadata?.uid,
                "the webhook configuration is back",
            );
        } finally {
            await sandbox.startApiServer("member1");
        }
    });

    it("pulumi destroy --yes removes every Cluster", async () => {
        await project.ok("pulumi destroy --yes");
        assert.deepStrictEqual(
            await memberClusters(sandbox),
            [],
            "no member Cluster is left (KubeSphere's own host entry stays)",
        );
    });

    it("Adding an environment: copy a stack file, edit names and kubeconfigs, stack init, preview", async () => {
        // $EDITOR: points the copied kubeadm-lab file at the sandbox's clusters, as a user points it at theirs.
        const editor = path.join(project.root, "edit-stack.js");
        fs.writeFileSync(
            editor,
            `const fs = require("fs");
             const file = process.argv[2];
             fs.writeFileSync(file, fs.readFileSync(file, "utf8")
                 .replace("path: ~/lab/host-admin.conf", "path: .sandbox/kubeconfigs/host.yaml")
                 .replace("path: ~/lab/dev-admin.conf", "path: .sandbox/kubeconfigs/member1.yaml")
                 .replace("path: ~/lab/ci-admin.conf", "path: .sandbox/kubeconfigs/member2.yaml")
                 .replace("context: kubernetes-admin@ci", "context: member2"));`,
        );
        await project.ok("cp stacks/Pulumi.kubeadm-lab.yaml stacks/Pulumi.kubeadm-prod.yaml");
        await project.ok("$EDITOR stacks/Pulumi.kubeadm-prod.yaml", { env: { EDITOR: `node ${editor}` } });
        await project.ok("pulumi stack init kubeadm-prod");
        const preview = await project.ok("pulumi preview");
        for (const member of ["lab-dev", "lab-ci"])
            assert.match(
                preview.output,
                new RegExp(`kubesphere-federation:index:MemberCluster\\s+${member}\\s+create`),
                preview.output,
            );
    });

    it("the committed kubeadm-lab stack on a machine without its kubeconfig files fails with the program's clean list of problems", async () => {
        await project.ok("pulumi stack init kubeadm-lab");
        const preview = await project.run("pulumi preview");
        const home = project.env.HOME;
        assertCleanError(preview, [
            /the stack config has 3 problem\(s\)/,
            new RegExp(
                `kubesphere-federation:host\\.kubeconfig\\.path: file ${home}/lab/host-admin\\.conf does not exist`,
            ),
            /kubesphere-federation:members\[0\]\.kubeconfig\.path: file .*dev-admin\.conf does not exist/,
            /kubesphere-federation:members\[1\]\.kubeconfig\.path: file .*ci-admin\.conf does not exist/,
        ]);
        const up = await project.run("pulumi up --yes");
        assertCleanError(up, [/the stack config has 3 problem\(s\)/]);
    });

    it("a host that does not answer fails with the program's message alone", async () => {
        await project.ok("pulumi stack select local");
        await sandbox.stopApiServer("host");
        try {
            const preview = await project.run("pulumi preview");
            assertCleanError(preview, [/cluster "host": the API server https:\/\/127\.0\.0\.1:\d+ does not answer/]);
        } finally {
            await sandbox.startApiServer("host");
        }
    });

    it("a pre-flight refusal (a member without KubeSphere) is the program's message alone, attached to the member", async () => {
        // A bare Kubernetes cluster: neither ks-installer nor kubesphere-config (the pre-flight takes either as KubeSphere 3.x).
        await clusterApi(sandbox, "member2").custom.deleteNamespacedCustomObject(INSTALLER);
        await clusterApi(sandbox, "member2").core.deleteNamespacedConfigMap({
            name: "kubesphere-config",
            namespace: "kubesphere-system",
        });
        fs.writeFileSync(
            project.file("stacks/Pulumi.refusal.yaml"),
            yaml.dump({
                config: {
                    "kubesphere-federation:host": {
                        name: "host",
                        kubeconfig: { path: ".sandbox/kubeconfigs/host.yaml" },
                    },
                    "kubesphere-federation:members": [
                        {
                            name: "member2",
                            provider: "generic",
                            kubeconfig: { path: ".sandbox/kubeconfigs/member2.yaml" },
                        },
                    ],
                },
            }),
        );
        await project.ok("pulumi stack init refusal");
        const preview = await project.run("pulumi preview");
        assertCleanError(preview, [
            /KubeSphere is not installed on member "member2": ClusterConfiguration kubesphere-system\/ks-installer was not found/,
        ]);
        // Pulumi groups diagnostics by resource, a header line per resource with its messages indented below it (the
        // order of the groups varies): the refusal is in the member component's group (a ResourceError on it).
        const memberBlock = diagnosticsGroup(preview.output, "kubesphere-federation:index:MemberCluster (member2):");
        assert.match(
            memberBlock,
            /^\s+error: KubeSphere is not installed on member "member2"/m,
            `the error is attached to the member's component:\n${preview.output}`,
        );
    });

    it("ran every command of Quick start, Adding an environment and Removing a member as written", () => {
        // npm ci and npm test are what .ci/run runs before this suite.
        // `npm run remove-member` and what follows it run in removeMember.e2e.test.ts, on a stack of their own.
        const byHand = docCommands(DOC_SECTIONS.memberGoneForGoodByHand);
        const elsewhere = docCommands(DOC_SECTIONS.memberGoneForGood).filter((command) => !byHand.includes(command));
        const documented = [DOC_SECTIONS.quickStart, DOC_SECTIONS.addingAnEnvironment, DOC_SECTIONS.removingAMember]
            .flatMap((section) => docCommands(section))
            .filter((command) => !elsewhere.includes(command))
            .map((command) => command.replace("<member>", "member1"));
        const missing = documented.filter(
            (command) => !["npm ci", "npm test"].includes(command) && !project.commands.includes(command),
        );
        assert.deepStrictEqual(missing, [], `documented commands the CLI e2e did not run: ${missing.join(" | ")}`);
    });
});

describe("config errors through the Automation API (e2e, inline program)", function () {
    this.timeout(5 * 60_000);

    it("a config error is the clean list of problems: no stack trace, no 'Unhandled exception'", async () => {
        const stack = await createFederationStack("bad-config");
        try {
            await stack.setFederationConfig({
                host: { name: "host", kubeconfig: { path: "/nonexistent/host.yaml" } },
                members: [{ name: "member1", provider: "generic", kubeconfig: { path: "/nonexistent/m1.yaml" } }],
            });
            // The Automation API itself (not the harness's abort-on-first-error wrapper): what its users see.
            let output = "";
            const error = await stack.stack.preview({ color: "never", onOutput: (text) => (output += text) }).then(
                () => assert.fail("preview should fail"),
                (err: Error) => err,
            );
            for (const text of [error.message, output]) {
                assert.match(text, /error: the stack config has 2 problem\(s\):/);
                assert.match(
                    text,
                    /- kubesphere-federation:host\.kubeconfig\.path: file \/nonexistent\/host\.yaml does not exist/,
                );
                assert.match(
                    text,
                    /- kubesphere-federation:members\[0\]\.kubeconfig\.path: file \/nonexistent\/m1\.yaml does not exist/,
                );
                assert.doesNotMatch(text, /^\s+at .+[:(]\d+/m, text);
                assert.doesNotMatch(text, /unhandled exception|FederationConfigErrors? \{/i, text);
            }
        } finally {
            await stack.dispose();
        }
    });
});
