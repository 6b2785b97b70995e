/**
 * End-to-end from another Pulumi language: a Pulumi YAML program (runtime: yaml, its own Pulumi.yaml) that lists this
 * repository's component package (plugin/, PulumiPlugin.yaml `runtime: nodejs`) under `packages:`, as `pulumi package
 * add <path>` writes it, creates a `Host` and a `Member`, and the real Pulumi CLI runs it against the sandbox: one
 * member joining a KubeSphere 3.4 host (the emulator). Nothing here goes through TypeScript except the package itself,
 * which the engine starts as a plugin through the Node.js language host's RunPlugin.
 *
 * Language hosts: the Pulumi YAML one is the real one, built from its Go module (test/e2e/tools/build.sh yaml); the
 * Node.js one is the test-only stand-in (test/e2e/languageHost/), compiled here from this checkout's source so its
 * RunPlugin is the one under test. Both sit beside a hard link of the suite's `pulumi` binary in the test's own folder:
 * the CLI (and the YAML host, which loads package schemas through a plugin host of its own) takes bundled language
 * hosts from beside its own executable (a project's `plugins.languages` does not reach the plugin context that runs a
 * package), so the YAML program is exactly what a user writes.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import {
    conditionOf,
    contextBefore,
    jwtSecretOf,
    memberClusters,
    waitUntil,
    warmOpenApi,
} from "./harness/clusterQueries";
import { engineEnv } from "./harness/federationStack";
import { DOC_SECTIONS, docBlocks, docCommands } from "./harness/docCommands";
import { compileNodejsStandIn } from "./harness/languageHosts";
import { REPO_ROOT, toolsBinDir } from "./sandbox/paths";
import { Sandbox, startSandbox } from "./sandbox/sandbox";

const PLUGIN_DIR = path.join(REPO_ROOT, "plugin");
const KUBERNETES_PROVIDER_VERSION = (
    JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8"),
    ) as { version: string }
).version;

interface Result {
    code: number | null;
    output: string;
    stdout: string;
}

/** The ```yaml block of docs/other-languages.md: the resources a YAML user writes. */
function documentedYamlProgram(): {
    packages: Record<string, string>;
    resources: Record<string, unknown>;
    outputs: Record<string, string>;
} {
    const [block] = docBlocks(DOC_SECTIONS.otherLanguages, "yaml");
    if (!block) throw new Error('docs/other-languages.md "Other Pulumi languages" has no ```yaml block');
    return yaml.load(block.split("<checkout>").join(REPO_ROOT)) as {
        packages: Record<string, string>;
        resources: Record<string, unknown>;
        outputs: Record<string, string>;
    };
}

/**
 * The YAML program's Pulumi.yaml: docs/other-languages.md's packages, resources and outputs (plus a few outputs to check) and its
 * config.
 */
function yamlProject(): string {
    const program = documentedYamlProgram();
    return yaml.dump({
        name: "ksf-yaml",
        runtime: "yaml",
        packages: program.packages,
        config: {
            hostKubeconfig: { type: "string", secret: true },
            memberKubeconfig: { type: "string", secret: true },
        },
        resources: program.resources,
        outputs: {
            ready: "${member1.ready}",
            hostKubesphereVersion: "${host.detectedKubesphereVersion}",
            clusterName: "${member1.clusterName}",
            kubesphereVersion: "${member1.kubesphereVersion}",
        },
    });
}

describe("the component package from a Pulumi YAML program (e2e, real CLI, multi-language)", function () {
    this.timeout(15 * 60_000);

    let workDir: string;
    let sandbox: Sandbox;
    let programDir: string;
    let env: Record<string, string>;
    let cliDir: string;

    const pulumi = (args: string[], stdin = ""): Promise<Result> =>
        new Promise((resolve, reject) => {
            const child = spawn(path.join(cliDir, "pulumi"), args, {
                cwd: programDir,
                env: { ...process.env, ...env },
                stdio: ["pipe", "pipe", "pipe"],
            });
            let output = "";
            let stdout = "";
            child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk), (output += chunk)));
            child.stderr.on("data", (chunk: Buffer) => (output += chunk));
            child.stdin.end(stdin);
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output, stdout }));
        });
    const shell = (command: string): Promise<Result> =>
        new Promise((resolve, reject) => {
            const child = spawn("bash", ["-c", command], {
                cwd: programDir,
                env: { ...process.env, ...env },
                stdio: ["ignore", "pipe", "pipe"],
            });
            let output = "";
            let stdout = "";
            child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk), (output += chunk)));
            child.stderr.on("data", (chunk: Buffer) => (output += chunk));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, output, stdout }));
        });
    const ok = async (args: string[], stdin?: string): Promise<Result> => {
        const result = await pulumi(args, stdin);
        if (result.code !== 0) throw new Error(`\`pulumi ${args.join(" ")}\` exited ${result.code}:\n${result.output}`);
        return result;
    };
    /** Every credential the sandbox holds; none may appear in output or state. */
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
            assert.ok(!text.includes(secret), `secret #${index} is in ${where} after ${contextBefore(text, secret)}`);
    };

    before(async function () {
        this.timeout(5 * 60_000);
        const yamlHost = path.join(toolsBinDir(), "pulumi-language-yaml");
        if (!fs.existsSync(yamlHost)) throw new Error(`${yamlHost} is missing: run test/e2e/tools/build.sh yaml`);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-multilang-e2e-"));

        // The CLI, with the YAML host and the stand-in (from this checkout's source, compiled as build.sh does) beside it.
        cliDir = path.join(workDir, "cli");
        fs.mkdirSync(cliDir);
        // Hard links (a copy where linking fails), not symlinks: each binary looks for language hosts beside its own
        // resolved path, and the YAML host loads the package's schema through its own plugin host too.
        for (const binary of [path.join(toolsBinDir(), "pulumi"), yamlHost]) {
            const target = path.join(cliDir, path.basename(binary));
            try {
                fs.linkSync(fs.realpathSync(binary), target);
            } catch {
                fs.copyFileSync(fs.realpathSync(binary), target);
                fs.chmodSync(target, 0o755);
            }
        }
        compileNodejsStandIn(cliDir);
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 1 });
        programDir = path.join(workDir, "program");
        fs.mkdirSync(programDir, { recursive: true });
        fs.writeFileSync(path.join(programDir, "Pulumi.yaml"), yamlProject());

        const backendDir = path.join(workDir, "backend");
        fs.mkdirSync(backendDir, { recursive: true });
        const engine = engineEnv(backendDir);
        env = {
            ...engine,
            PATH: `${cliDir}${path.delimiter}${engine.PATH}`,
            HOME: path.join(workDir, "home"),
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
        };
        fs.mkdirSync(env.HOME, { recursive: true });
        // The Kubernetes provider the package's @pulumi/kubernetes asks for, in the plugin cache (as harness/cliProject.ts).
        const providerDir = path.join(
            env.PULUMI_HOME,
            "plugins",
            `resource-kubernetes-v${KUBERNETES_PROVIDER_VERSION}`,
        );
        fs.mkdirSync(providerDir, { recursive: true });
        fs.symlinkSync(
            fs.realpathSync(path.join(toolsBinDir(), "pulumi-resource-kubernetes")),
            path.join(providerDir, "pulumi-resource-kubernetes"),
        );
        await warmOpenApi(sandbox);
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("the documented command as written: pulumi package get-schema <checkout>/plugin reads Host and Member through RunPlugin", async () => {
        const commands = docCommands(DOC_SECTIONS.otherLanguages);
        assert.deepStrictEqual(commands, ["pulumi package get-schema <checkout>/plugin"]);
        // As written, through bash, with this test's CLI first on PATH.
        const result = await shell(commands[0].split("<checkout>").join(REPO_ROOT));
        if (result.code !== 0) throw new Error(`documented command failed: ${commands[0]}\n${result.output}`);
        const schemaText = result.stdout;
        assert.strictEqual(documentedYamlProgram().packages["kubesphere-federation"], PLUGIN_DIR);
        const schema = JSON.parse(schemaText.slice(schemaText.indexOf("{"))) as {
            name: string;
            resources: Record<string, { requiredInputs: string[] }>;
        };
        assert.strictEqual(schema.name, "kubesphere-federation");
        assert.deepStrictEqual(Object.keys(schema.resources).sort(), [
            "kubesphere-federation:index:Host",
            "kubesphere-federation:index:Member",
        ]);
        assert.deepStrictEqual(schema.resources["kubesphere-federation:index:Member"].requiredInputs.sort(), [
            "hostKubeconfig",
            "jwtSecret",
            "kubeconfig",
            "provider",
        ]);
    });

    it("pulumi package add <checkout>/plugin fails at the end as docs/other-languages.md says: pulumi-yaml v1.25.0 has no Link", async () => {
        const before = fs.readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8");
        const added = await pulumi(["package", "add", PLUGIN_DIR]);
        // Everything up to the SDK works (install, schema through RunPlugin); the YAML host's Link is missing.
        assert.match(added.output, /Successfully generated an SDK for the kubesphere-federation package/, added.output);
        assert.notStrictEqual(added.code, 0, added.output);
        assert.match(added.output, /linking package: method Link not implemented/, added.output);
        assert.strictEqual(
            fs.readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8"),
            before,
            "Pulumi.yaml unchanged",
        );
        fs.rmSync(path.join(programDir, "sdks"), { recursive: true, force: true });
    });

    it("pulumi up on the YAML program makes the host a host and joins member1: Ready, with the host's jwtSecret", async () => {
        await ok(["stack", "init", "e2e"]);
        await ok(["config", "set", "--secret", "hostKubeconfig"], sandbox.kubeconfig("host"));
        await ok(["config", "set", "--secret", "memberKubeconfig"], sandbox.kubeconfig("member1"));
        const up = await ok(["up", "--yes"]);
        await assertNoSecrets("`pulumi up` output", up.output);
        const outputs = JSON.parse((await ok(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
        assert.strictEqual(outputs.clusterName, "member1");
        assert.strictEqual(outputs.ready, true);
        assert.match(String(outputs.hostKubesphereVersion), /^v3\.4/);
        const member = (await memberClusters(sandbox)).find((cluster) => cluster.metadata.name === "member1");
        assert.strictEqual(conditionOf(member)?.status, "True", JSON.stringify(member?.status));
        assert.strictEqual(await jwtSecretOf(sandbox, "member1"), await jwtSecretOf(sandbox, "host"));
    });

    it("no secret in state: the kubeconfigs and the jwtSecret are encrypted in `pulumi stack export`", async () => {
        const exported = await ok(["stack", "export"]);
        await assertNoSecrets("`pulumi stack export`", exported.stdout);
        assert.match(exported.stdout, /"ciphertext"/, "secret values are in the state, encrypted");
    });

    it("a second run with unchanged config reports no changes (pulumi preview --expect-no-changes)", async () => {
        await ok(["preview", "--expect-no-changes"]);
    });

    it("a bad argument is refused with the component, the argument, what was found and the fix", async () => {
        fs.writeFileSync(
            path.join(programDir, "Pulumi.yaml"),
            fs
                .readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8")
                .replace("provider: kubeadm", "provider: kind"),
        );
        try {
            const preview = await pulumi(["preview"]);
            assert.notStrictEqual(preview.code, 0, preview.output);
            assert.match(preview.output, /Member: provider is "kind"; use one of "ack", "eks", "kubeadm", "generic"/);
            assert.doesNotMatch(preview.output, /^\s+at .+[:(]\d+/m, `a stack trace in:\n${preview.output}`);
        } finally {
            fs.writeFileSync(
                path.join(programDir, "Pulumi.yaml"),
                fs
                    .readFileSync(path.join(programDir, "Pulumi.yaml"), "utf8")
                    .replace("provider: kind", "provider: kubeadm"),
            );
        }
    });

    it("pulumi destroy removes the member's Cluster from the host", async () => {
        await ok(["destroy", "--yes"]);
        await waitUntil(
            async () => (await memberClusters(sandbox)).every((cluster) => cluster.metadata.name !== "member1"),
            "member1's Cluster is gone",
        );
    });
});
