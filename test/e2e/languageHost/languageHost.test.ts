/**
 * The test-only language host stand-in (pulumi-language-nodejs.ts), as installed by test/e2e/tools/build.sh and run
 * by the CLI: every RPC the CLI calls (CONTRIBUTING.md "The language host stand-in" lists them), spoken to over gRPC with the
 * SDK's own client stubs. Run gets a fake runner (PULUMI_LANGUAGE_NODEJS_RUN_PATH, which the real host honours too)
 * that records its command line and environment and exits as told; cli.e2e.test.ts runs the real runner on the
 * program through the real CLI.
 */
import * as grpc from "@grpc/grpc-js";
import { LanguageRuntimeClient } from "@pulumi/pulumi/proto/language_grpc_pb";
import * as language from "@pulumi/pulumi/proto/language_pb";
import { PluginInfo } from "@pulumi/pulumi/proto/plugin_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";
import { compileNodejsStandIn } from "../harness/languageHosts";
import {
    parseRuntimeOptions,
    pluginArguments,
    pluginEnvironment,
    pluginRunModule,
    splitShellWords,
} from "./pulumi-language-nodejs";

const ENGINE_ADDRESS = "127.0.0.1:1"; // handed on to the program only; nothing listens there

/** A fake `@pulumi/pulumi/cmd/run`: writes what it got to $FAKE_RUN_RECORD, then exits with the code in its last argument. */
const FAKE_RUNNER = `
const fs = require("fs");
const pick = (name) => process.env[name];
fs.writeFileSync(process.env.FAKE_RUN_RECORD, JSON.stringify({
    argv: process.argv.slice(1), execArgv: process.execArgv, cwd: process.cwd(),
    env: { PULUMI_CONFIG: pick("PULUMI_CONFIG"), PULUMI_CONFIG_SECRET_KEYS: pick("PULUMI_CONFIG_SECRET_KEYS"),
           PULUMI_NODEJS_TYPESCRIPT: pick("PULUMI_NODEJS_TYPESCRIPT"), PULUMI_NODEJS_TSCONFIG_PATH: pick("PULUMI_NODEJS_TSCONFIG_PATH") },
}));
const last = process.argv[process.argv.length - 1];
if (last === "wait") setInterval(() => {}, 1000); else process.exit(Number(last));
`;

interface Host {
    process: ChildProcess;
    client: LanguageRuntimeClient;
    output: () => string;
}

/** A fake `@pulumi/pulumi/cmd/run-plugin`: prints a port, records what it got, says something on stderr, exits as told. */
const FAKE_PLUGIN_RUNNER = `
const fs = require("fs");
process.stdout.write("4242\\n");
fs.writeFileSync(process.env.FAKE_RUN_RECORD, JSON.stringify({
    argv: process.argv.slice(1), cwd: process.cwd(), pid: process.pid,
    env: { FROM_ENGINE: process.env.FROM_ENGINE, PULUMI_NODEJS_TYPESCRIPT: process.env.PULUMI_NODEJS_TYPESCRIPT },
}));
process.stderr.write("plugin says hi\\n");
const last = process.argv[process.argv.length - 1];
if (last === "wait") setInterval(() => {}, 1000); else process.exitCode = Number(last);
`;

async function startHost(
    env: Record<string, string> = {},
    binary = path.join(toolsBinDir(), "pulumi-language-nodejs"),
): Promise<Host> {
    const child = spawn(binary, [ENGINE_ADDRESS], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group, as the CLI starts it
    });
    let output = "";
    const port = await new Promise<string>((resolve, reject) => {
        let firstLine = "";
        child.stdout!.on("data", (chunk: Buffer) => {
            if (firstLine.includes("\n")) {
                output += chunk.toString();
                return;
            }
            firstLine += chunk.toString();
            const newline = firstLine.indexOf("\n");
            if (newline >= 0) {
                output += firstLine.slice(newline + 1);
                resolve(firstLine.slice(0, newline));
            }
        });
        child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.on("exit", (code) => reject(new Error(`the host exited (${code}) before printing its port: ${output}`)));
    });
    assert.match(port, /^\d+$/, "the first line is the port alone");
    const client = new LanguageRuntimeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return { process: child, client, output: () => output };
}

async function stopHost(host: Host): Promise<void> {
    host.client.close();
    if (host.process.exitCode !== null || host.process.signalCode !== null) return;
    const exited = new Promise((resolve) => host.process.once("exit", resolve));
    process.kill(-host.process.pid!, "SIGINT");
    await exited;
}

/** A unary call as a promise: `rpc<Response>((callback) => client.method(request, callback))`. */
function rpc<Res>(invoke: (callback: (err: grpc.ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
    return new Promise((resolve, reject) => invoke((err, response) => (err ? reject(err) : resolve(response))));
}

function programInfo(programDirectory: string, options: Record<string, unknown> = {}): language.ProgramInfo {
    return new language.ProgramInfo()
        .setRootDirectory(programDirectory)
        .setProgramDirectory(programDirectory)
        .setEntryPoint(".")
        .setOptions(Struct.fromJavaScript(options as Record<string, never>));
}

describe("language host stand-in (test-only pulumi-language-nodejs)", function () {
    this.timeout(60_000);
    let dir: string;
    let host: Host;
    let recordFile: string;
    let runnerFile: string;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-langhost-"));
        recordFile = path.join(dir, "record.json");
        runnerFile = path.join(dir, "fake-run.js");
        fs.writeFileSync(runnerFile, FAKE_RUNNER);
        host = await startHost({ PULUMI_LANGUAGE_NODEJS_RUN_PATH: runnerFile, FAKE_RUN_RECORD: recordFile });
    });

    after(async () => {
        if (host) await stopHost(host);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function runRequest(exit: string, options: Record<string, unknown> = { typescript: true }): language.RunRequest {
        const request = new language.RunRequest()
            .setProject("kubesphere-federation")
            .setStack("local")
            .setOrganization("organization")
            .setMonitorAddress("127.0.0.1:2")
            .setDryrun(true)
            .setParallel(16)
            .setArgsList(["first arg", exit])
            .setConfigsecretkeysList(["kubesphere-federation:token"])
            .setInfo(programInfo(dir, options));
        request.getConfigMap().set("kubesphere-federation:host", '{"name":"host"}');
        request.getConfigMap().set("kubesphere-federation:token", "s3cret");
        return request;
    }

    function record(): { argv: string[]; execArgv: string[]; cwd: string; env: Record<string, string | undefined> } {
        return JSON.parse(fs.readFileSync(recordFile, "utf8"));
    }

    it("GetPluginInfo reports the version of the project's @pulumi/pulumi", async () => {
        const info = await rpc<PluginInfo>((callback) => host.client.getPluginInfo(new Empty(), callback));
        const sdkVersion = JSON.parse(
            fs.readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
        ).version;
        assert.strictEqual(info.getVersion(), sdkVersion);
    });

    it("About names node on PATH and its version", async () => {
        const about = await rpc<language.AboutResponse>((callback) =>
            host.client.about(new language.AboutRequest().setInfo(programInfo(REPO_ROOT)), callback),
        );
        assert.ok(
            path.isAbsolute(about.getExecutable()) && path.basename(about.getExecutable()) === "node",
            about.getExecutable(),
        );
        assert.match(about.getVersion(), /^v\d+\.\d+\.\d+$/);
        assert.strictEqual(about.getMetadataMap().get("packagemanager"), "npm");
    });

    it("GetRequiredPackages lists the resource packages under node_modules: kubernetes for this project", async () => {
        const response = await rpc<language.GetRequiredPackagesResponse>((callback) =>
            host.client.getRequiredPackages(
                new language.GetRequiredPackagesRequest().setInfo(programInfo(REPO_ROOT)),
                callback,
            ),
        );
        const packages = response
            .getPackagesList()
            .map((dependency) => `${dependency.getKind()} ${dependency.getName()} ${dependency.getVersion()}`);
        // Like the real host, the walk covers every node_modules below the program directory, so once `npm test` has
        // installed examples/member-from-output, @pulumi/kubernetes is listed twice (the engine takes each package once).
        assert.deepStrictEqual([...new Set(packages)], ["resource kubernetes v4.25.0"]);
    });

    it("GetRequiredPackages reads pulumi.name, pulumi.version and server, and skips non-resource packages and packages outside node_modules", async () => {
        const project = path.join(dir, "packages");
        const write = (relative: string, content: unknown) => {
            fs.mkdirSync(path.join(project, path.dirname(relative)), { recursive: true });
            fs.writeFileSync(path.join(project, relative), JSON.stringify(content));
        };
        write("node_modules/@acme/widgets/package.json", {
            name: "@acme/widgets",
            version: "9.9.9",
            pulumi: { resource: true, name: "widgets", version: "1.2.3", server: "https://example.invalid/plugins" },
        });
        write("node_modules/@pulumi/random/package.json", {
            name: "@pulumi/random",
            version: "4.1.0",
            pulumi: { resource: true },
        });
        write("node_modules/@pulumi/random/node_modules/@pulumi/nested/package.json", {
            name: "@pulumi/nested",
            version: "v0.1.0",
            pulumi: { resource: true },
        });
        write("node_modules/left-pad/package.json", { name: "left-pad", version: "1.0.0" });
        write("vendor/@pulumi/outside/package.json", {
            name: "@pulumi/outside",
            version: "1.0.0",
            pulumi: { resource: true },
        });
        fs.symlinkSync(project, path.join(project, "node_modules", "loop")); // a cycle must not hang the walk
        const response = await rpc<language.GetRequiredPackagesResponse>((callback) =>
            host.client.getRequiredPackages(
                new language.GetRequiredPackagesRequest().setInfo(programInfo(project)),
                callback,
            ),
        );
        const packages = response
            .getPackagesList()
            .map((d) => `${d.getName()} ${d.getVersion()} ${d.getServer()}`)
            .sort();
        assert.deepStrictEqual(packages, [
            "nested v0.1.0 ",
            "random v4.1.0 ",
            "widgets v1.2.3 https://example.invalid/plugins",
        ]);
    });

    it("GetRequiredPlugins answers UNIMPLEMENTED, as the real host does", async () => {
        await assert.rejects(
            rpc<language.GetRequiredPluginsResponse>((callback) =>
                host.client.getRequiredPlugins(
                    new language.GetRequiredPluginsRequest().setInfo(programInfo(REPO_ROOT)),
                    callback,
                ),
            ),
            (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED,
        );
    });

    it("Run starts the runner with the documented flags, entry point, program args and environment; exit 0 is success", async () => {
        const response = await rpc<language.RunResponse>((callback) =>
            host.client.run(
                runRequest("0", {
                    typescript: true,
                    tsconfig: "tsconfig.build.json",
                    nodeargs: "--max-old-space-size=512 --title='ksf program'",
                }),
                callback,
            ),
        );
        assert.strictEqual(response.getError(), "");
        assert.strictEqual(response.getBail(), false);
        const got = record();
        assert.deepStrictEqual(got.argv, [
            runnerFile,
            "--monitor",
            "127.0.0.1:2",
            "--engine",
            ENGINE_ADDRESS,
            "--organization",
            "organization",
            "--project",
            "kubesphere-federation",
            "--root-directory",
            dir,
            "--stack",
            "local",
            "--pwd",
            dir,
            "--dry-run",
            "--parallel",
            "16",
            ".",
            "first arg",
            "0",
        ]);
        assert.deepStrictEqual(got.execArgv, ["--max-old-space-size=512", "--title=ksf program"]);
        assert.strictEqual(fs.realpathSync(got.cwd), fs.realpathSync(dir));
        assert.deepStrictEqual(JSON.parse(got.env.PULUMI_CONFIG!), {
            "kubesphere-federation:config:host": '{"name":"host"}',
            "kubesphere-federation:config:token": "s3cret",
        });
        assert.deepStrictEqual(JSON.parse(got.env.PULUMI_CONFIG_SECRET_KEYS!), ["kubesphere-federation:token"]);
        assert.strictEqual(got.env.PULUMI_NODEJS_TYPESCRIPT, "true");
        assert.strictEqual(got.env.PULUMI_NODEJS_TSCONFIG_PATH, "tsconfig.build.json");
    });

    it("Run without --dry-run and with typescript: false sets neither flag nor PULUMI_NODEJS_TYPESCRIPT", async () => {
        const request = runRequest("0", { typescript: false }).setDryrun(false);
        await rpc<language.RunResponse>((callback) => host.client.run(request, callback));
        const got = record();
        assert.ok(!got.argv.includes("--dry-run"));
        assert.strictEqual(got.env.PULUMI_NODEJS_TYPESCRIPT, undefined);
        assert.strictEqual(got.env.PULUMI_NODEJS_TSCONFIG_PATH, undefined);
    });

    it("Run: exit code 32 (the program already reported its error) answers bail with no message", async () => {
        const response = await rpc<language.RunResponse>((callback) => host.client.run(runRequest("32"), callback));
        assert.strictEqual(response.getBail(), true);
        assert.strictEqual(response.getError(), "");
    });

    it("Run: any other exit code answers 'Program exited with non-zero exit code: N'", async () => {
        const response = await rpc<language.RunResponse>((callback) => host.client.run(runRequest("3"), callback));
        assert.strictEqual(response.getBail(), false);
        assert.strictEqual(response.getError(), "Program exited with non-zero exit code: 3");
    });

    it("Run: a wrong runtime option type is reported as the error", async () => {
        const response = await rpc<language.RunResponse>((callback) =>
            host.client.run(runRequest("0", { typescript: "yes" }), callback),
        );
        assert.strictEqual(response.getError(), "typescript option must be a boolean");
    });

    it("Cancel during Run interrupts the program: Run answers with exit code -1 (killed by a signal)", async () => {
        fs.rmSync(recordFile, { force: true });
        const running = rpc<language.RunResponse>((callback) => host.client.run(runRequest("wait"), callback));
        const started = Date.now();
        while (!fs.existsSync(recordFile)) {
            if (Date.now() - started > 20_000) throw new Error("the fake runner never started");
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await rpc<Empty>((callback) => host.client.cancel(new Empty(), callback));
        const response = await running;
        assert.strictEqual(response.getError(), "Program exited with non-zero exit code: -1");
    });

    it("Run when the project has no @pulumi/pulumi says so", async () => {
        const bare = await startHost({ FAKE_RUN_RECORD: recordFile });
        try {
            const empty = fs.mkdtempSync(path.join(dir, "bare-"));
            const request = runRequest("0").setInfo(programInfo(empty));
            const response = await rpc<language.RunResponse>((callback) => bare.client.run(request, callback));
            assert.strictEqual(
                response.getError(),
                "It looks like the Pulumi SDK has not been installed. Have you run pulumi install?",
            );
        } finally {
            await stopHost(bare);
        }
    });

    it("SIGINT to its process group (how the CLI stops plugins) ends the host and its program", async () => {
        const stopping = await startHost({ PULUMI_LANGUAGE_NODEJS_RUN_PATH: runnerFile, FAKE_RUN_RECORD: recordFile });
        fs.rmSync(recordFile, { force: true });
        const running = rpc<language.RunResponse>((callback) =>
            stopping.client.run(runRequest("wait"), callback),
        ).catch((err: Error) => err);
        while (!fs.existsSync(recordFile)) await new Promise((resolve) => setTimeout(resolve, 50));
        const exited = new Promise<number | null>((resolve) => stopping.process.once("exit", resolve));
        process.kill(-stopping.process.pid!, "SIGINT");
        assert.strictEqual(await exited, 0);
        await running;
        // Nothing of the group is left: signal 0 to the group fails once every member is gone.
        const deadline = Date.now() + 5000;
        let alive = true;
        while (alive && Date.now() < deadline) {
            try {
                process.kill(-stopping.process.pid!, 0);
                await new Promise((resolve) => setTimeout(resolve, 50));
            } catch {
                alive = false;
            }
        }
        assert.strictEqual(alive, false, "the program outlived the host");
        stopping.client.close();
    });
});

/** What a RunPlugin stream delivered: stdout and stderr as text, the exit code message, or the error that ended it. */
interface PluginRun {
    stdout: string;
    stderr: string;
    exitcode?: number;
    error?: grpc.ServiceError;
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function runPlugin(
    client: LanguageRuntimeClient,
    request: language.RunPluginRequest,
    onStdout?: (text: string) => void,
): { call: grpc.ClientReadableStream<language.RunPluginResponse>; done: Promise<PluginRun> } {
    const call = client.runPlugin(request);
    const result: PluginRun = { stdout: "", stderr: "" };
    const done = new Promise<PluginRun>((resolve) => {
        call.on("data", (response: language.RunPluginResponse) => {
            if (response.hasStdout()) {
                result.stdout += Buffer.from(response.getStdout_asU8()).toString();
                onStdout?.(result.stdout);
            }
            if (response.hasStderr()) result.stderr += Buffer.from(response.getStderr_asU8()).toString();
            if (response.hasExitcode()) result.exitcode = response.getExitcode();
        });
        call.on("error", (err: grpc.ServiceError) => resolve({ ...result, error: err }));
        call.on("end", () => resolve(result));
    });
    return { call, done };
}

describe("language host stand-in: RunPlugin (component packages), from this checkout's source", function () {
    this.timeout(120_000);
    let dir: string;
    let host: Host;
    let recordFile: string;

    before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-langhost-plugin-"));
        recordFile = path.join(dir, "record.json");
        const runnerFile = path.join(dir, "fake-run-plugin.js");
        fs.writeFileSync(runnerFile, FAKE_PLUGIN_RUNNER);
        const binary = compileNodejsStandIn(path.join(dir, "host"));
        host = await startHost({ PULUMI_LANGUAGE_NODEJS_RUN_PATH: runnerFile, FAKE_RUN_RECORD: recordFile }, binary);
    });

    after(async () => {
        if (host) await stopHost(host);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function pluginRequest(exit: string, kind = "resource"): language.RunPluginRequest {
        return new language.RunPluginRequest()
            .setPwd(dir)
            .setKind(kind)
            .setArgsList([exit])
            .setEnvList([`PATH=${process.env.PATH}`, `FAKE_RUN_RECORD=${recordFile}`, "FROM_ENGINE=yes"])
            .setInfo(programInfo(REPO_ROOT, { typescript: true }));
    }

    it("runs the runner on the plugin folder with the engine's arguments and environment; streams stdout and stderr; exit 0 last", async () => {
        const run = await runPlugin(host.client, pluginRequest("0")).done;
        assert.strictEqual(run.error, undefined, run.error?.details);
        assert.strictEqual(run.stdout, "4242\n");
        assert.strictEqual(run.stderr, "plugin says hi\n");
        assert.strictEqual(run.exitcode, 0);
        const got = JSON.parse(fs.readFileSync(recordFile, "utf8")) as {
            argv: string[];
            cwd: string;
            env: Record<string, string | undefined>;
        };
        assert.deepStrictEqual(got.argv.slice(1), [REPO_ROOT, "0"]);
        assert.strictEqual(fs.realpathSync(got.cwd), fs.realpathSync(dir), "the engine's working directory");
        assert.deepStrictEqual(got.env, { FROM_ENGINE: "yes", PULUMI_NODEJS_TYPESCRIPT: "true" });
    });

    it("a non-zero exit ends the stream with 'Program exited with non-zero exit code: N'", async () => {
        const run = await runPlugin(host.client, pluginRequest("3")).done;
        assert.strictEqual(run.error?.details, "Program exited with non-zero exit code: 3");
        assert.strictEqual(run.stdout, "4242\n", "what it printed before arrives first");
    });

    it("cancelling the call (how the engine stops a plugin) kills the plugin", async () => {
        fs.rmSync(recordFile, { force: true });
        let started!: () => void;
        const printed = new Promise<void>((resolve) => (started = resolve));
        const { call, done } = runPlugin(host.client, pluginRequest("wait"), () => started());
        await printed;
        // writeFileSync is not atomic: the file can exist, empty or half written, before the runner's record is in it.
        let pid: number | undefined;
        const waitingSince = Date.now();
        while (pid === undefined) {
            try {
                pid = (JSON.parse(fs.readFileSync(recordFile, "utf8")) as { pid: number }).pid;
            } catch (err) {
                if (Date.now() - waitingSince > 20_000) throw err;
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }
        call.cancel();
        const run = await done;
        assert.strictEqual(run.error?.code, grpc.status.CANCELLED);
        const deadline = Date.now() + 5000;
        while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(!isAlive(pid), "the plugin outlived the cancelled call");
    });

    it("builds the command line and environment as the real host: policy packs get their own runner, folder last", () => {
        const options = parseRuntimeOptions({ nodeargs: "--x 'y z'" });
        assert.deepStrictEqual(
            pluginArguments({ pluginDirectory: "/p", kind: "resource", args: ["a"], options }, "/run-plugin"),
            ["/run-plugin", "--x", "y z", "/p", "a"],
        );
        assert.deepStrictEqual(
            pluginArguments({ pluginDirectory: "/p", kind: "analyzer", args: ["a"], options }, "/run-policy-pack"),
            ["/run-policy-pack", "--x", "y z", "a", "/p"],
        );
        assert.strictEqual(pluginRunModule("analyzer", {}), "@pulumi/pulumi/cmd/run-policy-pack");
        assert.strictEqual(pluginRunModule("resource", {}), "@pulumi/pulumi/cmd/run-plugin");
        assert.deepStrictEqual(
            pluginEnvironment(["A=1", "B=x=y"], parseRuntimeOptions({ typescript: false }), { HOST: "h" }),
            { A: "1", B: "x=y" },
        );
        assert.deepStrictEqual(pluginEnvironment([], parseRuntimeOptions({ tsconfig: "t.json" }), { HOST: "h" }), {
            HOST: "h",
            PULUMI_NODEJS_TYPESCRIPT: "true",
            PULUMI_NODEJS_TSCONFIG_PATH: "t.json",
        });
    });
});

describe("language host stand-in: option parsing", () => {
    it("splits nodeargs like a shell: quotes, escapes, no expansion", () => {
        assert.deepStrictEqual(splitShellWords(` --a  "b c" 'd "e"' f\\ g "h\\"i" $HOME `), [
            "--a",
            "b c",
            'd "e"',
            "f g",
            'h"i',
            "$HOME",
        ]);
        assert.deepStrictEqual(splitShellWords(""), []);
        assert.deepStrictEqual(splitShellWords(`""`), [""]);
        assert.throws(() => splitShellWords(`--a 'b`), /unterminated ' quote/);
    });

    it("defaults typescript to true and rejects options of the wrong type", () => {
        assert.deepStrictEqual(parseRuntimeOptions({}), { typescript: true, tsconfig: undefined, nodeargs: [] });
        assert.throws(() => parseRuntimeOptions({ nodeargs: ["--x"] }), /nodeargs option must be a string/);
        assert.throws(() => parseRuntimeOptions({ tsconfig: 1 }), /tsconfigpath option must be a string/);
    });
});
