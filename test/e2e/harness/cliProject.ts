/**
 * TEST/DEMO harness: the program run the way users run it — the Pulumi CLI in the project directory, running
 * index.ts through the Node.js language host (the test-only stand-in, test/e2e/languageHost/, or a user's real one;
 * see test/e2e/tools/build.sh). Commands are shell command lines, run as written in a copy of the repository (so
 * `pulumi config set` and stack files never touch the checkout), with a file backend, PULUMI_HOME and HOME in a temp
 * directory.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";
import { engineEnv } from "./federationStack";

/** The provider release the program's @pulumi/kubernetes asks for (package.json pins it; build.sh builds it). */
const KUBERNETES_PROVIDER_VERSION = (
    JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8"),
    ) as { version: string }
).version;

/**
 * One resource's group in the last "Diagnostics:" section of a CLI run (an update prints its preview's section first):
 * the header line, e.g. "kubesphere-federation:index:MemberCluster (stuck):", and its indented messages. Pulumi
 * orders the groups as it pleases, so a test finds its group by header, never by position. "" when it is absent.
 */
export function diagnosticsGroup(output: string, header: string): string {
    const lines = output.slice(output.lastIndexOf("\nDiagnostics:\n")).split("\n");
    const start = lines.findIndex((line) => line.trim() === header);
    if (start < 0) return "";
    const end = lines.findIndex((line, index) => index > start && !/^\s{4,}\S/.test(line));
    return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** What one command did. */
export interface CommandResult {
    command: string;
    code: number | null;
    stdout: string;
    stderr: string;
    /** stdout and stderr, interleaved as they came. */
    output: string;
}

export interface RunOptions {
    /** Written to the command's stdin (e.g. a kubeconfig for `pulumi config set --secret`). */
    stdin?: string;
    /** Extra environment for this command only. */
    env?: Record<string, string>;
    /** Print the output as it comes. */
    echo?: boolean;
    /** Give the command this process's terminal (the demo: Pulumi shows its interactive progress); nothing is captured. */
    inheritStdio?: boolean;
    /**
     * Run it in a process group of its own, so `process.kill(-pid, "SIGINT")` reaches every process of it, as Ctrl-C in
     * a terminal reaches the foreground group (bash, npm, node).
     */
    detached?: boolean;
}

/** A command that is still running (e.g. `pulumi up` to interrupt). */
export interface RunningCommand {
    process: ChildProcess;
    /** Everything printed so far. */
    output(): string;
    done: Promise<CommandResult>;
}

/** A copy of the repository with its own state backend, where commands run as a user types them. */
export class CliProject {
    /** Every command line run so far, in order, as written (what the documented-command tests compare against). */
    readonly commands: string[] = [];

    private constructor(
        /** The project directory (the copy). */
        readonly dir: string,
        /** Temp directory holding the copy, backend, PULUMI_HOME and HOME; removed by `dispose`. */
        readonly root: string,
        readonly env: Record<string, string>,
    ) {}

    /**
     * Copies the repository's tracked files (as they are in the working tree) into a temp directory, links
     * node_modules and the e2e tools, and points `.sandbox` at `sandboxDir` (stacks/Pulumi.local.yaml reads its
     * kubeconfigs from `.sandbox/kubeconfigs/`).
     * @param keepIn a directory to use instead of a temp one, kept between runs (the demo): the copy is refreshed,
     *   the backend kept, and so are the `encryptionsalt` lines `pulumi stack init` wrote into the copy's stack files
     *   (without them the passphrase no longer opens the stack's secrets).
     */
    static create(sandboxDir: string, keepIn?: string): CliProject {
        const root = keepIn ?? fs.mkdtempSync(path.join(os.tmpdir(), "ksf-cli-"));
        const dir = path.join(root, "project");
        const salts = keepIn === undefined ? new Map<string, string>() : encryptionSalts(dir);
        fs.rmSync(dir, { recursive: true, force: true });
        const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
            .split("\0")
            .filter(Boolean);
        for (const file of files) {
            const source = path.join(REPO_ROOT, file);
            if (!fs.existsSync(source)) continue; // deleted in the working tree
            fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
            fs.copyFileSync(source, path.join(dir, file));
        }
        fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.symlinkSync(path.dirname(toolsBinDir()), path.join(dir, "test", "e2e", ".bin"));
        fs.symlinkSync(sandboxDir, path.join(dir, ".sandbox"));
        for (const [stackFile, salt] of salts) fs.appendFileSync(path.join(dir, "stacks", stackFile), `${salt}\n`);
        const backendDir = path.join(root, "backend");
        const home = path.join(root, "home");
        fs.mkdirSync(backendDir, { recursive: true });
        fs.mkdirSync(home, { recursive: true });
        // The Kubernetes provider goes where a user's Pulumi keeps it, the plugin cache (found on PATH, the CLI would
        // warn "using pulumi-resource-kubernetes from $PATH" on every run); ambient plugins are ignored so that one
        // is used. The language host is still found beside the CLI (build.sh puts it there).
        const env: Record<string, string> = {
            ...engineEnv(backendDir),
            HOME: home,
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
        };
        const providerDir = path.join(
            env.PULUMI_HOME,
            "plugins",
            `resource-kubernetes-v${KUBERNETES_PROVIDER_VERSION}`,
        );
        fs.mkdirSync(providerDir, { recursive: true });
        const provider = path.join(providerDir, "pulumi-resource-kubernetes");
        if (!fs.existsSync(provider))
            fs.symlinkSync(fs.realpathSync(path.join(toolsBinDir(), "pulumi-resource-kubernetes")), provider);
        return new CliProject(dir, root, env);
    }

    /** Starts a command line in the project directory (bash -c), without waiting for it. */
    start(command: string, options: RunOptions = {}): RunningCommand {
        this.commands.push(command);
        const child = spawn("bash", ["-c", command], {
            cwd: this.dir,
            env: { ...process.env, ...this.env, ...options.env },
            stdio: options.inheritStdio ? "inherit" : ["pipe", "pipe", "pipe"],
            detached: options.detached ?? false,
        });
        let stdout = "";
        let stderr = "";
        let output = "";
        child.stdout?.on("data", (chunk: Buffer) => {
            stdout += chunk;
            output += chunk;
            if (options.echo) process.stdout.write(chunk);
        });
        child.stderr?.on("data", (chunk: Buffer) => {
            stderr += chunk;
            output += chunk;
            if (options.echo) process.stderr.write(chunk);
        });
        child.stdin?.end(options.stdin ?? "");
        const done = new Promise<CommandResult>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (code) => resolve({ command, code, stdout, stderr, output }));
        });
        return { process: child, output: () => output, done };
    }

    /** Runs a command line in the project directory and waits for it. */
    run(command: string, options: RunOptions = {}): Promise<CommandResult> {
        return this.start(command, options).done;
    }

    /** Runs a command line and fails, with its output, unless it exits 0. */
    async ok(command: string, options: RunOptions = {}): Promise<CommandResult> {
        const result = await this.run(command, options);
        if (result.code !== 0) throw new Error(`\`${command}\` exited ${result.code}:\n${result.output}`);
        return result;
    }

    /** A file of the project, e.g. `stacks/Pulumi.local.yaml`. */
    file(relative: string): string {
        return path.join(this.dir, relative);
    }

    dispose(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** `encryptionsalt: ...` lines of the stack files in a project's stacks/ folder, by file name. */
function encryptionSalts(projectDir: string): Map<string, string> {
    const salts = new Map<string, string>();
    const stacksDir = path.join(projectDir, "stacks");
    if (!fs.existsSync(stacksDir)) return salts;
    for (const file of fs.readdirSync(stacksDir)) {
        const salt = /^encryptionsalt: .*$/m.exec(fs.readFileSync(path.join(stacksDir, file), "utf8"));
        if (salt) salts.set(file, salt[0]);
    }
    return salts;
}
