/**
 * TEST/DEMO harness: runs the real program (`federationProgram`, the same function index.ts runs) on the real
 * Pulumi engine through the Automation API, with the CLI and the Kubernetes provider built from Go modules
 * (test/e2e/tools/build.sh), a file state backend and the passphrase secrets provider.
 *
 * Why an inline program: the Node.js language host (pulumi-language-nodejs) cannot be built here (the Go module
 * proxy serves no version of it); the Automation API runs the program in this process and the CLI connects to it.
 */
import {
    DestroyOptions,
    LocalWorkspace,
    PreviewOptions,
    PulumiCommand,
    RefreshOptions,
    Stack,
    StackSettings,
    UpOptions,
} from "@pulumi/pulumi/automation";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { federationProgram } from "../../../program/federation";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";

const PROJECT = "kubesphere-federation";
const execFileAsync = promisify(execFile);

/** One stack of the program on a private file backend; every engine run's output is captured. */
export class FederationStack {
    private captured = "";
    private readonly capture = (text: string) => {
        this.captured += text;
        if (this.echo) process.stdout.write(text);
    };

    constructor(
        readonly stack: Stack,
        private readonly workspace: LocalWorkspace,
        private readonly envVars: Record<string, string>,
        /** Directory holding the backend and the workspace; removed by `dispose`. */
        readonly dir: string,
        /** Also print engine output as it comes (the demo; or KSF_E2E_VERBOSE=1 for the suite). */
        private readonly echo = Boolean(process.env.KSF_E2E_VERBOSE),
    ) {}

    /** Everything the engine printed so far (previews, updates, refreshes, destroys). */
    output(): string {
        return this.captured;
    }

    preview(opts: PreviewOptions = {}) {
        return abortOnProgramError((signal) =>
            this.stack.preview({ color: "never", diff: true, ...opts, signal, onOutput: this.capture }),
        );
    }

    up(opts: UpOptions = {}) {
        return abortOnProgramError((signal) =>
            this.stack.up({ color: "never", diff: true, ...opts, signal, onOutput: this.capture }),
        );
    }

    refresh(opts: RefreshOptions = {}) {
        return abortOnProgramError((signal) =>
            this.stack.refresh({ color: "never", ...opts, signal, onOutput: this.capture }),
        );
    }

    destroy(opts: DestroyOptions = {}) {
        return abortOnProgramError((signal) =>
            this.stack.destroy({ color: "never", ...opts, signal, onOutput: this.capture }),
        );
    }

    /**
     * The state as `pulumi stack export` prints it, secrets encrypted. (The Automation API's `exportStack` passes
     * `--show-secrets`, which decrypts them, so it cannot show what the state file holds.)
     */
    async exportState(): Promise<string> {
        const { stdout } = await execFileAsync(
            path.join(toolsBinDir(), "pulumi"),
            ["stack", "export", "--stack", this.stack.name],
            {
                cwd: this.workspace.workDir,
                env: { ...process.env, ...this.envVars },
                maxBuffer: 64 * 1024 * 1024,
            },
        );
        return stdout;
    }

    /** The workspace directory: Pulumi.yaml and the stack files, a project directory as `npm run doctor -- --dir` takes it. */
    get workDir(): string {
        return this.workspace.workDir;
    }

    /**
     * Runs the Pulumi CLI (the one built for the suite) on this stack's backend, as a user's shell would, and returns its
     * stdout; throws with its stderr when it fails (as execFileSync does).
     */
    cli(args: string[]): string {
        return execFileSync(path.join(toolsBinDir(), "pulumi"), args, {
            cwd: this.workspace.workDir,
            env: { ...process.env, ...this.envVars },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    }

    /** The raw checkpoint files of the file backend, as a user's state bucket would hold them. */
    checkpointFiles(): string {
        const stacksDir = path.join(this.dir, "backend", ".pulumi", "stacks");
        const files = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir, { recursive: true, encoding: "utf8" }) : [];
        return files
            .map((file) => path.join(stacksDir, file))
            .filter((file) => fs.statSync(file).isFile())
            .map((file) => fs.readFileSync(file, "utf8"))
            .join("\n");
    }

    /**
     * Sets (or with undefined, removes) an environment variable for the engine and plugins of later operations, and
     * for the inline program, which runs in this process: a program the CLI runs inherits the CLI's environment
     * (e.g. PULUMI_K8S_DELETE_UNREACHABLE, which components/host/removedMembers.ts reads).
     */
    setEngineEnv(name: string, value: string | undefined): void {
        if (value === undefined) {
            delete this.workspace.envVars[name];
            delete process.env[name];
        } else {
            this.workspace.envVars[name] = value;
            process.env[name] = value;
        }
    }

    /** Replaces the stack config with `kubesphere-federation:host` and `:members`, as objects like a stack file. */
    async setFederationConfig(config: { host: unknown; members?: unknown[] }): Promise<void> {
        await this.workspace.saveStackSettings(this.stack.name, {
            config: { [`${PROJECT}:host`]: config.host, [`${PROJECT}:members`]: config.members ?? [] },
        } as StackSettings);
    }

    async dispose(): Promise<void> {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * Runs an engine operation of the inline program and aborts it at the program's first error.
 *
 * Why: when an apply that feeds a resource's inputs throws (e.g. a failed pre-flight check), the Node.js SDK never
 * settles that resource's outputs, so an inline program waits for them forever. Under the CLI, the Node.js language
 * host exits on the first unhandled error instead; this gives the inline program the same behaviour.
 */
async function abortOnProgramError<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let programError: unknown;
    const onProgramError = (err: unknown) => {
        if (programError !== undefined) return;
        programError = err;
        // A moment for the engine to print the diagnostics the program already sent.
        setTimeout(() => controller.abort(), 1000).unref();
    };
    process.on("unhandledRejection", onProgramError);
    try {
        return await operation(controller.signal);
    } catch (err) {
        if (programError === undefined) throw err;
        const message = programError instanceof Error ? programError.message : String(programError);
        throw new Error(`the program failed: ${message}`, { cause: err });
    } finally {
        process.off("unhandledRejection", onProgramError);
    }
}

/** The first line of a failed `up`'s error (the program's message; Pulumi adds context below), and all of it. */
export async function failureOf(stack: FederationStack): Promise<{ first: string; all: string }> {
    try {
        await stack.up();
    } catch (err) {
        const all = (err as Error).message.replace(/^the program failed: /, "");
        if (process.env.KSF_E2E_VERBOSE) process.stdout.write(`\n--- up failed:\n${all}\n---\n`);
        return { first: all.split("\n")[0], all };
    }
    throw new Error("pulumi up succeeded, expected a failure");
}

/** Environment that keeps the engine offline and finds the plugins we built. */
export function engineEnv(backendDir: string): Record<string, string> {
    return {
        PATH: `${toolsBinDir()}${path.delimiter}${process.env.PATH ?? ""}`,
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: "kubesphere-federation-e2e",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_HOME: path.join(backendDir, ".pulumi-home"),
    };
}

/** The project settings from the repository's Pulumi.yaml (its config declarations included). */
function projectSettings() {
    const settings = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    // The workspace keeps its stack settings in its own directory, not in the repository's stacks/, and runs the
    // inline program, not the repository's entry point (program.js).
    delete settings.stackConfigDir;
    delete settings.main;
    return settings as { name: string; runtime: "nodejs" };
}

/**
 * Creates (or selects) a stack of the program in a fresh directory.
 * @param stackName e.g. "e2e"
 * @param dir where to keep the backend and workspace; default a new temp dir
 * @param echo print engine output as it comes
 */
export async function createFederationStack(stackName: string, dir?: string, echo?: boolean): Promise<FederationStack> {
    const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "ksf-stack-"));
    const backendDir = path.join(root, "backend");
    const workDir = path.join(root, "workspace");
    fs.mkdirSync(backendDir, { recursive: true });
    fs.mkdirSync(workDir, { recursive: true });
    const envVars = engineEnv(backendDir);
    fs.mkdirSync(envVars.PULUMI_HOME, { recursive: true });

    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(toolsBinDir()) });
    const workspace = await LocalWorkspace.create({
        workDir,
        projectSettings: projectSettings(),
        program: async () => {
            const federation = await federationProgram();
            // The same outputs as index.ts.
            return {
                hostName: federation.hostName,
                hostKubesphereVersion: federation.hostKubesphereVersion,
                members: federation.members,
                ...(federation.federationHost === undefined ? {} : { federationHost: federation.federationHost }),
            };
        },
        envVars,
        pulumiCommand,
    });
    const stack = await Stack.createOrSelect(stackName, workspace);

    return new FederationStack(stack, workspace, envVars, root, echo);
}
