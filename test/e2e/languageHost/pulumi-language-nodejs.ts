#!/usr/bin/env node
/**
 * TEST TOOLING ONLY — never part of the product. A stand-in for Pulumi's Node.js language host
 * (`pulumi-language-nodejs`, shipped with the Pulumi CLI), which the suite does not build from Go modules as it
 * builds its other tools (CONTRIBUTING.md "The language host stand-in"). With it, the Pulumi CLI built from Go modules runs `index.ts` from the project directory
 * exactly as users run it (`pulumi preview`, `pulumi up`), and runs Node.js component packages (plugin/, RunPlugin and
 * InstallDependencies, as the real host in pulumi v3.248.0 does) for programs in other languages. Written from
 * what the CLI v3.248.0 calls and expects of a Node.js language host (its gRPC LanguageRuntime service, as the SDK's
 * stubs define it) and, for RunPlugin/InstallDependencies, from the real host's source; test/e2e/tools/build.sh compiles it and installs it next to the `pulumi` binary,
 * where the CLI finds it without a warning. What it does not reproduce is listed in CONTRIBUTING.md "The language host stand-in".
 *
 * It loads everything from the project's own `@pulumi/pulumi` (gRPC service definitions, `@grpc/grpc-js`,
 * `cmd/run`), resolved from the directory the CLI starts it in, as the real host resolves the SDK from the program
 * directory. Only types are imported here, so the compiled file has no dependency of its own.
 */

import type * as grpcTypes from "@grpc/grpc-js";
import type * as languageGrpcTypes from "@pulumi/pulumi/proto/language_grpc_pb";
import type * as languageTypes from "@pulumi/pulumi/proto/language_pb";
import type * as pluginTypes from "@pulumi/pulumi/proto/plugin_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";

/** The exit code with which `@pulumi/pulumi/cmd/run` says "I already printed the error": the host answers with bail. */
export const EXIT_CODE_ALREADY_REPORTED = 32;

/** How long a cancelled program gets between SIGINT and SIGKILL (the real host's WaitDelay). */
const CANCEL_GRACE_MS = 5000;

/** The `runtime.options` of Pulumi.yaml the host understands. */
export interface NodeRuntimeOptions {
    /** Default true: run TypeScript through ts-node (PULUMI_NODEJS_TYPESCRIPT). */
    typescript: boolean;
    /** `tsconfig`: path handed to ts-node (PULUMI_NODEJS_TSCONFIG_PATH). */
    tsconfig?: string;
    /** `nodeargs`: extra Node.js flags, split shell-style, placed before the runner. */
    nodeargs: string[];
}

/** Parses `runtime.options`; throws with the option's name when a value has the wrong type (as the real host). */
export function parseRuntimeOptions(options: Record<string, unknown>): NodeRuntimeOptions {
    const { typescript = true, tsconfig, nodeargs = "" } = options;
    if (typeof typescript !== "boolean") throw new Error("typescript option must be a boolean");
    if (tsconfig !== undefined && typeof tsconfig !== "string") throw new Error("tsconfigpath option must be a string");
    if (typeof nodeargs !== "string") throw new Error("nodeargs option must be a string");
    return { typescript, tsconfig: tsconfig === "" ? undefined : tsconfig, nodeargs: splitShellWords(nodeargs) };
}

/** Splits a command line into words like a POSIX shell (quotes, backslash escapes; no expansion). */
export function splitShellWords(line: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    let quote: "'" | '"' | undefined;
    for (let i = 0; i < line.length; i++) {
        const char = line[i];
        if (quote === "'") {
            if (char === "'") quote = undefined;
            else word += char;
        } else if (quote === '"') {
            if (char === '"') quote = undefined;
            else if (char === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) word += line[++i];
            else word += char;
        } else if (char === "'" || char === '"') {
            quote = char;
            word ??= "";
        } else if (char === "\\") {
            word = (word ?? "") + (line[++i] ?? "");
        } else if (/\s/.test(char)) {
            if (word !== undefined) words.push(word);
            word = undefined;
        } else {
            word = (word ?? "") + char;
        }
    }
    if (quote !== undefined) throw new Error(`unterminated ${quote} quote in nodeargs: ${line}`);
    if (word !== undefined) words.push(word);
    return words;
}

/** What a Run request carries that decides the program's command line and environment. */
export interface RunSpec {
    monitorAddress: string;
    engineAddress?: string;
    organization: string;
    project: string;
    stack: string;
    rootDirectory: string;
    programDirectory: string;
    entryPoint: string;
    dryRun: boolean;
    parallel: number;
    tracing?: string;
    /** Arguments for the program itself. */
    args: string[];
    /** Config as the CLI sends it: `namespace:name` (or already `namespace:config:name`) → value. */
    config: Record<string, string>;
    secretKeys: string[];
    options: NodeRuntimeOptions;
}

/**
 * The command line of the program: `nodeargs`, the runner, its flags (empty values left out), the entry point, the
 * program's own arguments.
 */
export function programArguments(spec: RunSpec, runPath: string): string[] {
    const flags: string[] = [];
    const flag = (name: string, value: string | undefined) => {
        if (value !== undefined && value !== "") flags.push(`--${name}`, value);
    };
    flag("monitor", spec.monitorAddress);
    flag("engine", spec.engineAddress);
    flag("organization", spec.organization);
    flag("project", spec.project);
    flag("root-directory", spec.rootDirectory);
    flag("stack", spec.stack);
    flag("pwd", spec.programDirectory);
    if (spec.dryRun) flags.push("--dry-run");
    flag("parallel", String(spec.parallel));
    flag("tracing", spec.tracing);
    return [...spec.options.nodeargs, runPath, ...flags, spec.entryPoint, ...spec.args];
}

/** The variables the runner reads on top of the host's own environment. */
export function programEnvironment(spec: RunSpec): Record<string, string> {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(spec.config)) {
        // The runner expects the old key form `namespace:config:name` (it accepts both; the real host sends this one).
        const [namespace, ...rest] = key.split(":");
        const name = rest[0] === "config" && rest.length > 1 ? rest.slice(1).join(":") : rest.join(":");
        config[rest.length === 0 ? key : `${namespace}:config:${name}`] = value;
    }
    const env: Record<string, string> = {
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(spec.secretKeys),
    };
    if (spec.options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (spec.options.tsconfig !== undefined) env.PULUMI_NODEJS_TSCONFIG_PATH = spec.options.tsconfig;
    return env;
}

/** How a finished program answers Run: success, "already reported" (bail), or the exit code. */
export function runOutcome(exitCode: number | null): { error: string; bail: boolean } {
    if (exitCode === 0) return { error: "", bail: false };
    if (exitCode === EXIT_CODE_ALREADY_REPORTED) return { error: "", bail: true };
    // null: killed by a signal, which Go reports as exit code -1.
    return { error: `Program exited with non-zero exit code: ${exitCode ?? -1}`, bail: false };
}

/** What a RunPlugin request carries that decides the plugin's command line (component providers, policy packs). */
export interface PluginRunSpec {
    /** The plugin's folder (the one with PulumiPlugin.yaml / PulumiPolicy.yaml). */
    pluginDirectory: string;
    /** `resource`, `analyzer`, …: analyzers (policy packs) run through a runner of their own. */
    kind: string;
    args: string[];
    options: NodeRuntimeOptions;
}

/**
 * The command line of a plugin, as the real host builds it (sdk/nodejs/cmd/pulumi-language-nodejs RunPlugin in
 * pulumi v3.248.0): the runner, then `nodeargs` (after the runner, as the real host places them), then the plugin
 * folder and the engine's arguments; for policy packs the engine's arguments come first and the folder last.
 */
export function pluginArguments(spec: PluginRunSpec, runPath: string): string[] {
    const tail = spec.kind === "analyzer" ? [...spec.args, spec.pluginDirectory] : [spec.pluginDirectory, ...spec.args];
    return [runPath, ...spec.options.nodeargs, ...tail];
}

/** The runner module for a plugin of `kind`: policy packs have their own; everything else runs `cmd/run-plugin`. */
export function pluginRunModule(kind: string, env: NodeJS.ProcessEnv = process.env): string {
    if (kind === "analyzer") return "@pulumi/pulumi/cmd/run-policy-pack";
    return env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run-plugin";
}

/**
 * The plugin's environment: exactly the engine's list (`KEY=value`, the engine sends its whole environment; an
 * empty list means the host's own, as Go's exec does with a nil Env), plus the TypeScript variables of the options.
 */
export function pluginEnvironment(
    envList: string[],
    options: NodeRuntimeOptions,
    hostEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
    const env: Record<string, string> = {};
    if (envList.length === 0) {
        for (const [key, value] of Object.entries(hostEnv)) if (value !== undefined) env[key] = value;
    }
    for (const entry of envList) {
        const at = entry.indexOf("=");
        if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    if (options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (options.tsconfig !== undefined) env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    return env;
}

/** A provider package a program needs: a `package.json` under node_modules with `pulumi.resource: true`. */
export interface RequiredPackage {
    name: string;
    version: string;
    server: string;
    parameterization?: { name: string; version: string; value: string };
}

/**
 * Every package under the program directory's node_modules (deeply, following symlinks once) whose package.json has
 * a `pulumi` section with `resource: true`. Name: `pulumi.name`, else the `@pulumi/` package's simple name; version:
 * `pulumi.version`, else the package's, with a leading `v`. Directories that cannot be read are skipped.
 */
export function requiredPackages(programDirectory: string): RequiredPackage[] {
    const found: RequiredPackage[] = [];
    const visited = new Set<string>();
    const walk = (dir: string, inNodeModules: boolean) => {
        if (visited.has(dir)) return;
        visited.add(dir);
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        const childInNodeModules = inNodeModules || path.basename(dir) === "node_modules";
        for (const entry of entries) {
            let full = path.join(dir, entry.name);
            let isDirectory = entry.isDirectory();
            if (entry.isSymbolicLink()) {
                try {
                    full = fs.realpathSync(full);
                    isDirectory = fs.statSync(full).isDirectory();
                } catch {
                    continue;
                }
            }
            if (isDirectory) {
                walk(full, childInNodeModules);
            } else if (inNodeModules && entry.name === "package.json") {
                const dependency = packageDependency(full);
                if (dependency !== undefined) found.push(dependency);
            }
        }
    };
    try {
        walk(fs.realpathSync(programDirectory), false);
    } catch {
        // no such directory: no packages
    }
    return found;
}

function packageDependency(packageJsonPath: string): RequiredPackage | undefined {
    let info: {
        name?: string;
        version?: string;
        pulumi?: {
            resource?: boolean;
            name?: string;
            version?: string;
            server?: string;
            parameterization?: RequiredPackage["parameterization"];
        };
    };
    try {
        info = JSON.parse(fs.readFileSync(packageJsonPath, "utf8"));
    } catch {
        return undefined;
    }
    if (info.pulumi?.resource !== true) return undefined;
    const name =
        info.pulumi.name || (info.name?.startsWith("@pulumi/") ? info.name.slice("@pulumi/".length) : undefined);
    const version = info.pulumi.version || info.version;
    if (!name || !version) return undefined;
    return {
        name,
        version: version.startsWith("v") ? version : `v${version}`,
        server: info.pulumi.server ?? "",
        parameterization: info.pulumi.parameterization,
    };
}

/** The host's own command line: `[flags] <engine address>`; `--tracing URL` is passed on to the program. */
export function parseHostArguments(argv: string[]): { engineAddress?: string; tracing?: string; version: boolean } {
    let engineAddress: string | undefined;
    let tracing: string | undefined;
    let version = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--tracing" || arg === "-tracing") tracing = argv[++i];
        else if (arg.startsWith("--tracing=") || arg.startsWith("-tracing=")) tracing = arg.slice(arg.indexOf("=") + 1);
        else if (arg === "--version" || arg === "-version") version = true;
        else if (arg.startsWith("-"))
            continue; // --logtostderr, -v=N: logging of the real host
        else engineAddress ??= arg;
    }
    return { engineAddress, tracing: tracing || undefined, version };
}

/** The SDK modules the host is built on, from the project's node_modules. */
interface Sdk {
    grpc: typeof grpcTypes;
    language: typeof languageTypes;
    languageGrpc: typeof languageGrpcTypes;
    plugin: typeof pluginTypes;
    empty: typeof emptyTypes;
    version: string;
}

function loadSdk(fromDirectory: string): Sdk {
    const sdkRequire = createRequire(path.join(fromDirectory, "package.json"));
    const sdkRoot = path.dirname(sdkRequire.resolve("@pulumi/pulumi/package.json"));
    // The SDK's own grpc-js and protobuf runtime: the ones its generated stubs were loaded with.
    const fromSdk = createRequire(path.join(sdkRoot, "package.json"));
    return {
        grpc: fromSdk("@grpc/grpc-js"),
        language: fromSdk("./proto/language_pb"),
        languageGrpc: fromSdk("./proto/language_grpc_pb"),
        plugin: fromSdk("./proto/plugin_pb"),
        empty: fromSdk("google-protobuf/google/protobuf/empty_pb"),
        version: (fromSdk("./package.json") as { version: string }).version,
    };
}

/** The first `name` on PATH, like exec.LookPath. */
function lookPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (dir === "") continue;
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

function runSpec(
    request: languageTypes.RunRequest,
    engineAddress: string | undefined,
    tracing: string | undefined,
): RunSpec {
    const info = request.getInfo();
    const config: Record<string, string> = {};
    request.getConfigMap().forEach((value, key) => {
        config[key] = value;
    });
    return {
        monitorAddress: request.getMonitorAddress(),
        engineAddress,
        organization: request.getOrganization(),
        project: request.getProject(),
        stack: request.getStack(),
        rootDirectory: info?.getRootDirectory() ?? "",
        programDirectory: info?.getProgramDirectory() || request.getPwd(),
        entryPoint: info?.getEntryPoint() || ".",
        dryRun: request.getDryrun(),
        parallel: request.getParallel(),
        tracing,
        args: request.getArgsList(),
        config,
        secretKeys: request.getConfigsecretkeysList(),
        options: parseRuntimeOptions((info?.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>),
    };
}

/** Starts the gRPC server, prints its port (the one line the CLI reads), and serves until SIGINT. */
function main(): void {
    const hostArgs = parseHostArguments(process.argv.slice(2));
    let sdk: Sdk;
    try {
        sdk = loadSdk(process.cwd());
    } catch (err) {
        // The real host (a Go binary) starts anywhere, e.g. in a YAML program's directory when the engine needs it
        // for a Node.js component package; the stand-in's own gRPC server needs an SDK, so it then takes the one
        // found from its own location (the repository's, for the copy build.sh installs in test/e2e/.bin).
        try {
            sdk = loadSdk(path.dirname(fs.realpathSync(__filename)));
        } catch {
            console.error(
                `It looks like the Pulumi SDK has not been installed in ${process.cwd()}. Have you run npm install? (${(err as Error).message})`,
            );
            process.exit(1);
        }
    }
    if (hostArgs.version) {
        console.log(sdk.version);
        return;
    }
    const { grpc, language, plugin, empty } = sdk;
    const programs = new Set<ChildProcess>();
    let cancelled = false;

    const stopProgram = (child: ChildProcess) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGINT");
        setTimeout(() => child.kill("SIGKILL"), CANCEL_GRACE_MS).unref();
    };

    const unary =
        <Req, Res>(handler: (request: Req) => Res | Promise<Res>): grpcTypes.handleUnaryCall<Req, Res> =>
        (call, callback) => {
            Promise.resolve()
                .then(() => handler(call.request))
                .then((response) => callback(null, response))
                .catch((err: Error) =>
                    callback(
                        { code: grpc.status.UNKNOWN, details: err.message, name: err.name, message: err.message },
                        null,
                    ),
                );
        };

    const implementation: Partial<languageGrpcTypes.ILanguageRuntimeServer> = {
        getPluginInfo: unary(() => new plugin.PluginInfo().setVersion(sdk.version)),

        getRequiredPlugins: (_call, callback) =>
            callback(
                {
                    code: grpc.status.UNIMPLEMENTED,
                    details: "method GetRequiredPlugins not implemented",
                    name: "Error",
                    message: "unimplemented",
                },
                null,
            ),

        getRequiredPackages: unary((request: languageTypes.GetRequiredPackagesRequest) => {
            const response = new language.GetRequiredPackagesResponse();
            for (const found of requiredPackages(request.getInfo()?.getProgramDirectory() || process.cwd())) {
                const dependency = new plugin.PackageDependency()
                    .setName(found.name)
                    .setKind("resource")
                    .setVersion(found.version)
                    .setServer(found.server);
                if (found.parameterization) {
                    dependency.setParameterization(
                        new plugin.PackageParameterization()
                            .setName(found.parameterization.name)
                            .setVersion(found.parameterization.version)
                            .setValue(found.parameterization.value),
                    );
                }
                response.addPackages(dependency);
            }
            return response;
        }),

        about: unary(() => {
            const node = lookPath("node");
            if (node === undefined) throw new Error('could not find executable "node"');
            let version = process.version;
            if (fs.realpathSync(node) !== fs.realpathSync(process.execPath)) {
                version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
            }
            const response = new language.AboutResponse().setExecutable(node).setVersion(version);
            response.getMetadataMap().set("packagemanager", "npm");
            return response;
        }),

        run: (call, callback) => {
            let answered = false;
            const respond = (outcome: { error: string; bail: boolean }) => {
                if (answered) return;
                answered = true;
                callback(null, new language.RunResponse().setError(outcome.error).setBail(outcome.bail));
            };
            let spec: RunSpec;
            let runPath: string;
            try {
                spec = runSpec(call.request, hostArgs.engineAddress, hostArgs.tracing);
                const runModule = process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run";
                try {
                    runPath = require.resolve(runModule, { paths: [spec.programDirectory] });
                } catch (err) {
                    const missing = (err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND";
                    throw new Error(
                        missing
                            ? "It looks like the Pulumi SDK has not been installed. Have you run pulumi install?"
                            : (err as Error).message,
                    );
                }
            } catch (err) {
                return respond({ error: (err as Error).message, bail: false });
            }
            const node = lookPath("node");
            if (node === undefined) return respond({ error: "could not find node on the $PATH", bail: false });
            const child = spawn(node, programArguments(spec, runPath), {
                cwd: spec.programDirectory,
                env: { ...process.env, ...programEnvironment(spec) },
                stdio: ["ignore", "inherit", "inherit"],
            });
            programs.add(child);
            if (cancelled) stopProgram(child);
            call.on("cancelled", () => stopProgram(child));
            child.on("error", (err) => {
                programs.delete(child);
                respond({
                    error: `Problem executing program (could not run language executor): ${err.message}`,
                    bail: false,
                });
            });
            child.on("exit", (code) => {
                programs.delete(child);
                respond(runOutcome(code));
            });
        },

        installDependencies: (call) => {
            // `pulumi install`, and `pulumi package add` for a component package folder: `npm install` there, its
            // output streamed back between the real host's two lines. (The real host first looks for an npm/yarn
            // workspace root above the folder, honours packagemanager and .nvmrc, and caches installs; none of that
            // applies to this repository.)
            const request = call.request;
            const directory = request.getInfo()?.getProgramDirectory() || request.getDirectory();
            const out = (text: string | Buffer) =>
                call.write(
                    new language.InstallDependenciesResponse().setStdout(
                        typeof text === "string" ? Buffer.from(text) : text,
                    ),
                );
            out("Installing dependencies...\n\n");
            const npm = lookPath("npm");
            if (npm === undefined) {
                call.emit("error", {
                    code: grpc.status.UNKNOWN,
                    details: 'exec: "npm": executable file not found in $PATH',
                    name: "Error",
                    message: "npm not found",
                });
                return;
            }
            const child = spawn(npm, ["install", "--loglevel=error"], {
                cwd: directory,
                stdio: ["ignore", "pipe", "pipe"],
            });
            child.stdout!.on("data", (chunk: Buffer) => out(chunk));
            child.stderr!.on("data", (chunk: Buffer) =>
                call.write(new language.InstallDependenciesResponse().setStderr(chunk)),
            );
            child.on("error", (err) =>
                call.emit("error", {
                    code: grpc.status.UNKNOWN,
                    details: err.message,
                    name: "Error",
                    message: err.message,
                }),
            );
            child.on("close", (code) => {
                if (code !== 0) {
                    const message = `npm install failed: exit status ${code ?? -1}`;
                    call.emit("error", { code: grpc.status.UNKNOWN, details: message, name: "Error", message });
                    return;
                }
                out("Finished installing dependencies\n\n");
                call.end();
            });
        },

        runPlugin: (call) => {
            // A plugin written in Node.js (a component provider with PulumiPlugin.yaml `runtime: nodejs`, a policy
            // pack): the engine reads the plugin's output from this stream (the provider prints its port first) and
            // stops it by cancelling the call.
            const request = call.request;
            // grpc-js ends a server stream with the status of an emitted error.
            const fail = (message: string) => {
                call.emit("error", { code: grpc.status.UNKNOWN, details: message, name: "Error", message });
            };
            let spec: PluginRunSpec;
            let runPath: string;
            try {
                const info = request.getInfo();
                spec = {
                    pluginDirectory: info?.getProgramDirectory() || request.getProgram(),
                    kind: request.getKind(),
                    args: request.getArgsList(),
                    options: parseRuntimeOptions((info?.getOptions()?.toJavaScript() ?? {}) as Record<string, unknown>),
                };
                runPath = require.resolve(pluginRunModule(spec.kind), { paths: [spec.pluginDirectory] });
            } catch (err) {
                return fail((err as Error).message);
            }
            const node = lookPath("node");
            if (node === undefined) return fail('exec: "node": executable file not found in $PATH');
            const child = spawn(node, pluginArguments(spec, runPath), {
                // Policy packs run in their own folder (as they always have); other plugins in the engine's directory.
                cwd: spec.kind === "analyzer" ? spec.pluginDirectory : request.getPwd() || undefined,
                env: pluginEnvironment(request.getEnvList(), spec.options),
                stdio: ["ignore", "pipe", "pipe"],
            });
            programs.add(child);
            let finished = false;
            // The real host runs plugins with exec.CommandContext: a cancelled call kills the process.
            call.on("cancelled", () => {
                finished = true;
                if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
            });
            child.stdout!.on("data", (chunk: Buffer) => {
                if (!finished) call.write(new language.RunPluginResponse().setStdout(chunk));
            });
            child.stderr!.on("data", (chunk: Buffer) => {
                if (!finished) call.write(new language.RunPluginResponse().setStderr(chunk));
            });
            child.on("error", (err) => {
                programs.delete(child);
                if (finished) return;
                finished = true;
                fail(`Problem executing plugin program (could not run language executor): ${err.message}`);
            });
            child.on("close", (code, signal) => {
                programs.delete(child);
                if (finished) return;
                finished = true;
                if (code === 0) {
                    call.write(new language.RunPluginResponse().setExitcode(0));
                    call.end();
                } else {
                    fail(`Program exited with non-zero exit code: ${code ?? (signal ? -1 : 1)}`);
                }
            });
        },

        cancel: unary(() => {
            // Like the real host: Cancel stops the program in progress (and any started later).
            cancelled = true;
            programs.forEach(stopProgram);
            return new empty.Empty();
        }),
    };

    const server = new grpc.Server();
    server.addService(
        sdk.languageGrpc.LanguageRuntimeService,
        implementation as languageGrpcTypes.ILanguageRuntimeServer,
    );
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
            console.error(`could not start language host RPC server: ${err.message}`);
            process.exit(1);
        }
        process.stdout.write(`${port}\n`);
    });

    // The CLI stops plugins with SIGINT to the process group (the program, in the same group, gets it too).
    const shutdown = () => {
        programs.forEach(stopProgram);
        server.forceShutdown();
        process.exit(0);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    // The real host health-checks the engine and exits when it is gone; the stand-in exits when its parent (the CLI)
    // is gone, so a killed CLI leaves no host behind.
    const parent = process.ppid;
    setInterval(() => {
        if (process.ppid !== parent) shutdown();
    }, 1000).unref();
}

if (require.main === module) {
    main();
}
