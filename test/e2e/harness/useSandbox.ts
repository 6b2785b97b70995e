/**
 * One sandbox and one Pulumi stack per mocha describe block, started before its first test and removed after its
 * last, whatever happened. Shared by the e2e files that need a fresh sandbox per block (realWorld, versions, agent).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Sandbox, startSandbox, StartSandboxOptions } from "../sandbox/sandbox";
import { createFederationStack, FederationStack } from "./federationStack";

export interface SandboxContext {
    sandbox: Sandbox;
    stack: FederationStack;
    dir: string;
}

/** `stackName` names the stack and the temporary folder (`ksf-e2e-<stackName>-…`); options go to startSandbox. */
export function useSandbox(stackName: string, options: Omit<StartSandboxOptions, "dir">): SandboxContext {
    const context = {} as SandboxContext;
    before(async function () {
        this.timeout(5 * 60_000);
        context.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ksf-e2e-${stackName}-`));
        context.sandbox = await startSandbox({
            dir: path.join(context.dir, "sandbox"),
            reconcileDelayMs: 1000,
            ...options,
        });
        context.stack = await createFederationStack(stackName, path.join(context.dir, "stack"));
    });
    after(async function () {
        this.timeout(2 * 60_000);
        await context.sandbox?.stop();
        if (context.dir) fs.rmSync(context.dir, { recursive: true, force: true });
    });
    return context;
}
