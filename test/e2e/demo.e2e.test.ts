/**
 * End-to-end, the README's "Try it locally" as written: `npm run demo` on the repository's own sandbox (.sandbox/),
 * twice (the second run reuses the sandbox and changes nothing), then `npm run sandbox -- down`. A sandbox that was
 * already running before the test (a developer's) is reused and left running.
 */
import * as assert from "assert";
import { exec } from "child_process";
import { promisify } from "util";
import { jwtSecretOf } from "./harness/clusterQueries";
import { DOC_SECTIONS, docCommands } from "./harness/docCommands";
import { DEFAULT_SANDBOX_DIR, REPO_ROOT } from "./sandbox/paths";
import { loadSandbox } from "./sandbox/sandbox";
import { readState } from "./sandbox/state";

const execAsync = promisify(exec);

async function run(command: string): Promise<string> {
    const { stdout, stderr } = await execAsync(command, { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    return `${stdout}\n${stderr}`;
}

describe("npm run demo, as the README's Try it locally writes it (e2e, real CLI)", function () {
    this.timeout(600_000);
    const startedHere = readState(DEFAULT_SANDBOX_DIR) === undefined;

    after(async () => {
        if (startedHere) await run("npm run sandbox -- down");
    });

    it("joins member1 and member2 (both Ready), prints no secret, and a second run changes nothing", async () => {
        const commands = docCommands(DOC_SECTIONS.tryItLocally);
        assert.deepStrictEqual(commands.slice(0, 2), ["npm ci", "npm run demo"]);
        const first = await run("npm run demo");
        assert.match(first, /^\s+member1\s+kubeadm\s+v\S+\s+True\s/m, first);
        assert.match(first, /^\s+member2\s+Kubernetes\s+v\S+\s+True\s/m, first);
        const jwtSecret = await jwtSecretOf(loadSandbox(DEFAULT_SANDBOX_DIR), "host");
        assert.ok(jwtSecret.length > 0);
        assert.ok(!first.includes(jwtSecret), "the host's jwtSecret appears in the demo's output");
        assert.doesNotMatch(first, /BEGIN [A-Z ]*PRIVATE KEY|client-key-data|token: /);

        const second = await run("npm run demo");
        assert.match(second, /Resources:\n\s+\d+ unchanged/, second);
        assert.ok(!second.includes(jwtSecret));
    });
});
