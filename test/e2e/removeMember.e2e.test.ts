/**
 * A member that is gone for good, removed with `npm run remove-member` through the Pulumi CLI (program/removeMember.ts,
 * docs/removing-members.md "A member that is gone for good"): on a 3.4 host, whose Cluster webhook holds the delete,
 * the preview refuses naming the command, the command refuses while the member answers, `--dry-run` changes nothing,
 * Ctrl-C after the webhook is removed restores it, and the real run removes the Cluster, restores the webhook byte
 * for byte and leaves a state that `pulumi preview --expect-no-changes` accepts. On a 4.1 host the same member is
 * removed without touching any webhook.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { conditionOf, hostCluster, memberClusters, warmOpenApi } from "./harness/clusterQueries";
import { CliProject, CommandResult } from "./harness/cliProject";
import { DOC_SECTIONS, docCommands } from "./harness/docCommands";
import { Sandbox, startSandbox } from "./sandbox/sandbox";
import { KubesphereVersion } from "./emulator/versions";
import { waitFor } from "./sandbox/waitFor";

/** docs/removing-members.md "A member that is gone for good", as written, for stack `local` and member1. */
const DOCUMENTED = (() => {
    const byHand = docCommands(DOC_SECTIONS.memberGoneForGoodByHand);
    return docCommands(DOC_SECTIONS.memberGoneForGood)
        .filter((command) => !byHand.includes(command))
        .map((command) => command.replace("<stack>", "local").replace("<member>", "member1"));
})();
const COMMAND = DOCUMENTED.find(
    (command) => command.startsWith("npm run remove-member") && !command.includes("--dry-run"),
)!;
const DRY_RUN = DOCUMENTED.find((command) => command.includes("--dry-run"))!;
const NO_CHANGES = DOCUMENTED.find((command) => command.startsWith("pulumi preview"))!;
const WEBHOOKS = { group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations" };

/** A webhook configuration without what the API server sets on every create: what a restore must give back. */
function asWritten(object: Record<string, any>): string {
    const {
        uid: _u,
        resourceVersion: _r,
        creationTimestamp: _c,
        generation: _g,
        managedFields: _m,
        ...metadata
    } = object.metadata;
    return JSON.stringify({ ...object, metadata });
}

/** One federation on a sandbox of `version`, driven through the CLI in a copy of the repository. */
function federationOn(version: KubesphereVersion) {
    const ctx = {} as { workDir: string; sandbox: Sandbox; project: CliProject };
    before(async function () {
        this.timeout(6 * 60_000);
        ctx.workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-remove-member-e2e-"));
        ctx.sandbox = await startSandbox({
            dir: path.join(ctx.workDir, "sandbox"),
            members: 2,
            kubesphereVersion: version,
        });
        ctx.project = CliProject.create(ctx.sandbox.dir);
        await warmOpenApi(ctx.sandbox);
        await ctx.project.ok("pulumi stack init local");
        await ctx.project.ok("pulumi up --yes");
    });
    after(async function () {
        this.timeout(2 * 60_000);
        await ctx.sandbox?.stop();
        ctx.project?.dispose();
        if (ctx.workDir) fs.rmSync(ctx.workDir, { recursive: true, force: true });
    });
    return ctx;
}

/** Drops member1 from the stack file, as the user does first. */
function removeFromConfig(project: CliProject): void {
    const file = project.file("stacks/Pulumi.local.yaml");
    const stack = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, Array<{ name: string }>> };
    stack.config["kubesphere-federation:members"] = stack.config["kubesphere-federation:members"].filter(
        (member) => member.name !== "member1",
    );
    fs.writeFileSync(file, yaml.dump(stack));
}

function webhookApi(sandbox: Sandbox): CustomObjectsApi {
    return sandbox.loadKubeConfig("host").makeApiClient(CustomObjectsApi);
}

async function webhooksOnHost(sandbox: Sandbox): Promise<Array<Record<string, any>>> {
    return ((await webhookApi(sandbox).listClusterCustomObject(WEBHOOKS)) as { items: Array<Record<string, any>> })
        .items;
}

async function clusterWebhook(sandbox: Sandbox): Promise<Record<string, any> | undefined> {
    return (await webhooksOnHost(sandbox)).find((item) => item.metadata.name === "cluster.kubesphere.io");
}

async function stateUrns(project: CliProject): Promise<string[]> {
    const exported = await project.ok("pulumi stack export");
    return (JSON.parse(exported.stdout) as { deployment: { resources: Array<{ urn: string }> } }).deployment.resources
        .map((resource) => resource.urn)
        .sort();
}

function assertNoToken(sandbox: Sandbox, result: CommandResult): void {
    for (const cluster of sandbox.clusters) {
        const token = (yaml.load(sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token: string } }> })
            .users[0].user.token;
        assert.ok(!result.output.includes(token), `the token of ${cluster.name} is in \`${result.command}\``);
    }
}

describe("npm run remove-member on a 3.4 host: a member that is gone for good (e2e, CLI path)", function () {
    this.timeout(15 * 60_000);
    const ctx = federationOn("3.4");

    it("refuses while the member answers, changing nothing", async () => {
        removeFromConfig(ctx.project);
        const refused = await ctx.project.run(COMMAND);
        assert.strictEqual(refused.code, 2, refused.output);
        assert.match(
            refused.output,
            /member "member1": its API server \S+ answers, so it is not gone: nothing was changed/,
        );
        assert.match(refused.output, /run `pulumi up`/);
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member1"))?.status, "True");
    });

    it("pulumi preview refuses the delete that would hang, naming the command; with PULUMI_K8S_DELETE_UNREACHABLE it warns", async () => {
        await ctx.sandbox.stopApiServer("member1");
        const preview = await ctx.project.run("pulumi preview");
        assert.notStrictEqual(preview.code, 0, preview.output);
        assert.match(
            preview.output,
            /member "member1" was removed from the config, and its API server \S+ does not answer/,
        );
        assert.ok(preview.output.includes(`\`${COMMAND}\``), preview.output);
        assert.doesNotMatch(preview.output, /^\s+at .+[:(]\d+/m, "no stack trace");
        const optedIn = await ctx.project.run("PULUMI_K8S_DELETE_UNREACHABLE=true pulumi preview");
        assert.strictEqual(optedIn.code, 0, optedIn.output);
        assert.match(optedIn.output, /warning: member "member1" was removed from the config/);
        assert.ok(optedIn.output.includes(COMMAND), optedIn.output);
    });

    it("--dry-run prints every step and changes nothing", async () => {
        const webhook = await clusterWebhook(ctx.sandbox);
        const urns = await stateUrns(ctx.project);
        const dryRun = await ctx.project.run(DRY_RUN);
        assert.strictEqual(dryRun.code, 0, dryRun.output);
        for (const step of [
            /would save/,
            /would delete ValidatingWebhookConfiguration/,
            /would restore/,
            /would drop urn:pulumi:local::/,
        ])
            assert.match(dryRun.output, step);
        assertNoToken(ctx.sandbox, dryRun);
        assert.strictEqual(
            (await clusterWebhook(ctx.sandbox))?.metadata.resourceVersion,
            webhook?.metadata.resourceVersion,
        );
        assert.strictEqual((await hostCluster(ctx.sandbox, "member1"))?.metadata.deletionTimestamp, undefined);
        assert.deepStrictEqual(await stateUrns(ctx.project), urns);
    });

    it("Ctrl-C after the webhook is removed restores it", async () => {
        const saved = asWritten((await clusterWebhook(ctx.sandbox))!);
        // A test-only webhook whose server accepts and never answers: the finalizer's update hangs (10 s), so the
        // interrupt lands while the command waits, with KubeSphere's webhook removed.
        const silent = net.createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const hold = {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingWebhookConfiguration",
            metadata: { name: "test-hold-cluster-updates" },
            webhooks: [
                {
                    name: "hold.clusters.test.invalid",
                    clientConfig: { url: `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/` },
                    rules: [
                        {
                            apiGroups: ["cluster.kubesphere.io"],
                            apiVersions: ["*"],
                            operations: ["UPDATE"],
                            resources: ["clusters"],
                        },
                    ],
                    failurePolicy: "Fail",
                    sideEffects: "None",
                    admissionReviewVersions: ["v1"],
                    timeoutSeconds: 10,
                },
            ],
        };
        await webhookApi(ctx.sandbox).createClusterCustomObject({ ...WEBHOOKS, body: hold });
        try {
            const running = ctx.project.start(COMMAND, { detached: true });
            await waitFor(async () => running.output().includes('deleted Cluster "member1"'), {
                description: "the command to delete the Cluster",
                timeoutMs: 60_000,
                intervalMs: 100,
            });
            assert.strictEqual(await clusterWebhook(ctx.sandbox), undefined, "KubeSphere's webhook is removed");
            process.kill(-running.process.pid!, "SIGINT");
            const interrupted = await running.done;
            assert.notStrictEqual(interrupted.code, 0, interrupted.output);
            assert.match(
                interrupted.output,
                /interrupted: restoring ValidatingWebhookConfiguration cluster.kubesphere.io/,
            );
            assert.match(interrupted.output, /restored ValidatingWebhookConfiguration cluster.kubesphere.io/);
            assert.strictEqual(asWritten((await clusterWebhook(ctx.sandbox))!), saved, "the webhook is back as it was");
        } finally {
            await webhookApi(ctx.sandbox).deleteClusterCustomObject({ ...WEBHOOKS, name: hold.metadata.name });
            silent.close();
        }
    });

    it("removes the Cluster, restores the webhook byte for byte, and the next preview has no changes", async () => {
        const saved = asWritten((await clusterWebhook(ctx.sandbox))!);
        const removed = await ctx.project.run(COMMAND);
        assert.strictEqual(removed.code, 0, removed.output);
        for (const step of [
            /saved ValidatingWebhookConfiguration cluster.kubesphere.io to /,
            /deleted ValidatingWebhookConfiguration cluster.kubesphere.io/,
            /Cluster "member1" is gone/,
            /restored ValidatingWebhookConfiguration cluster.kubesphere.io/,
            /dropped urn:pulumi:local::kubesphere-federation::kubesphere-federation:index:MemberCluster::member1 from the state/,
        ])
            assert.match(removed.output, step);
        assertNoToken(ctx.sandbox, removed);
        assert.strictEqual(await hostCluster(ctx.sandbox, "member1"), undefined);
        assert.strictEqual(asWritten((await clusterWebhook(ctx.sandbox))!), saved);
        assert.ok((await stateUrns(ctx.project)).every((urn) => !urn.includes("::member1")));
        await ctx.project.ok(NO_CHANGES);
        assert.deepStrictEqual(
            (await memberClusters(ctx.sandbox)).map((cluster) => cluster.metadata.name),
            ["member2"],
        );
        assert.deepStrictEqual(
            DOCUMENTED.filter((command) => !ctx.project.commands.includes(command)),
            [],
            "every documented command ran as written",
        );
    });
});

describe("npm run remove-member on a 4.1 host: no webhook is touched (e2e, CLI path)", function () {
    this.timeout(15 * 60_000);
    const ctx = federationOn("4.1");

    it("preview warns naming the command; the command removes the member; the next preview has no changes", async () => {
        removeFromConfig(ctx.project);
        await ctx.sandbox.stopApiServer("member1");
        const preview = await ctx.project.run("pulumi preview");
        assert.strictEqual(preview.code, 0, preview.output);
        assert.match(preview.output, /warning: member "member1" was removed from the config, and its API server/);
        assert.ok(preview.output.includes(COMMAND), preview.output);
        const before = JSON.stringify(await webhooksOnHost(ctx.sandbox));
        const removed = await ctx.project.run(COMMAND);
        assert.strictEqual(removed.code, 0, removed.output);
        assert.match(removed.output, /no ValidatingWebhookConfiguration cluster.kubesphere.io/);
        assertNoToken(ctx.sandbox, removed);
        assert.strictEqual(await hostCluster(ctx.sandbox, "member1"), undefined);
        assert.strictEqual(
            JSON.stringify(await webhooksOnHost(ctx.sandbox)),
            before,
            "no webhook configuration changed",
        );
        await ctx.project.ok("pulumi preview --expect-no-changes");
    });
});
