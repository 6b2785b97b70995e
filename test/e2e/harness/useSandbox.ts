/**
 * One sandbox (and, unless told otherwise, one Pulumi stack) per mocha describe block, started before its first
 * test and removed after its last, whatever happened. The one way the e2e files and the sandbox's own tests get a
 * sandbox per block (realWorld, versions, agent, diagnosis's 4.x block, test/e2e/sandbox/*.test.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Sandbox, startSandbox, StartSandboxOptions } from "../sandbox/sandbox";
import { createFederationStack, FederationStack } from "./federationStack";

export interface SandboxContext {
    sandbox: Sandbox;
    stack: FederationStack;
    /** The block's temporary folder: the sandbox in `sandbox/`, the stack in `stack/`. */
    dir: string;
    /** How long the sandbox took to start. */
    startedInMs: number;
}

/** A block without a stack (`withStack: false`): the sandbox's own tests run no program. */
export type SandboxOnlyContext = Omit<SandboxContext, "stack">;

export interface UseSandboxOptions extends Omit<StartSandboxOptions, "dir"> {
    /** Create the block's Pulumi stack beside the sandbox. Default: true. */
    withStack?: boolean;
    /**
     * Keep the block's folder (the sandbox's data and logs) when one of its tests failed or the sandbox did not
     * start, and print where. Default: false. KSF_SANDBOX_KEEP=1 keeps it always, for every block.
     */
    keepOnFailure?: boolean;
}

/**
 * `stackName` names the stack and the temporary folder (`ksf-e2e-<stackName>-…`); the options other than
 * `withStack` and `keepOnFailure` go to startSandbox (reconcileDelayMs defaults to 1000 here).
 */
export function useSandbox(stackName: string, options: UseSandboxOptions & { withStack: false }): SandboxOnlyContext;
export function useSandbox(stackName: string, options: UseSandboxOptions): SandboxContext;
export function useSandbox(
    stackName: string,
    { withStack = true, keepOnFailure = false, ...sandboxOptions }: UseSandboxOptions,
): SandboxContext {
    const context = {} as SandboxContext;
    let failed = false;
    before(async function () {
        this.timeout(5 * 60_000);
        context.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ksf-e2e-${stackName}-`));
        const startedAt = Date.now();
        context.sandbox = await startSandbox({
            dir: path.join(context.dir, "sandbox"),
            reconcileDelayMs: 1000,
            ...sandboxOptions,
        });
        context.startedInMs = Date.now() - startedAt;
        if (withStack) context.stack = await createFederationStack(stackName, path.join(context.dir, "stack"));
    });
    afterEach(function () {
        failed ||= this.currentTest?.state === "failed";
    });
    after(async function () {
        this.timeout(2 * 60_000);
        if (failed && context.sandbox) {
            // What the emulator saw is the first thing to read when a wait timed out; CI keeps only the output.
            // The emulator never logs a secret (test/e2e/emulator/log.ts).
            const emulatorLog = context.sandbox.logFile("emulator");
            const tail = fs.existsSync(emulatorLog)
                ? fs.readFileSync(emulatorLog, "utf8").trimEnd().split("\n").slice(-40).join("\n")
                : "(no emulator log)";
            console.log(`      last lines of the emulator log (${emulatorLog}):\n${tail.replace(/^/gm, "        ")}`);
        }
        await context.sandbox?.stop();
        if (!context.dir) return;
        const keep =
            (keepOnFailure && (failed || context.sandbox === undefined)) || process.env.KSF_SANDBOX_KEEP === "1";
        if (keep) {
            console.log(`      sandbox data and logs kept in ${context.dir}`);
        } else {
            fs.rmSync(context.dir, { recursive: true, force: true });
        }
    });
    return context;
}
