/**
 * TEST ONLY: runs shell commands exactly as the README documents them, so the documented procedure itself is
 * what the e2e suite exercises (a README edit changes the test).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";

const execFileAsync = promisify(execFile);

/**
 * The command lines of a README section's ```bash blocks (comments and blank lines dropped), e.g. to check that a
 * test ran every documented command as written.
 * @param heading the section's heading text, e.g. "Quick start" (its `##`/`###` subsections included)
 */
export function readmeCommands(
    heading: string,
    readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8"),
): string[] {
    const lines = readme.split("\n");
    const start = lines.findIndex((line) => /^#{2,3} /.test(line) && line.replace(/^#+ /, "").trim() === heading);
    if (start < 0) throw new Error(`README has no section "${heading}"`);
    const level = lines[start].indexOf(" ");
    const commands: string[] = [];
    let block: "none" | "bash" | "other" = "none";
    for (const line of lines.slice(start + 1)) {
        const heading = /^(#+) /.exec(line);
        if (block === "none" && heading && heading[1].length <= level) break;
        if (/^\s*```/.test(line)) {
            block = block !== "none" ? "none" : /^\s*```bash\s*$/.test(line) ? "bash" : "other";
            continue;
        }
        if (block !== "bash") continue;
        const command = line.replace(/\s+#.*$/, "").trim();
        if (command !== "" && !command.startsWith("#")) commands.push(command);
    }
    return commands;
}

/**
 * Runs each command with bash in `cwd`, with the e2e tools (kubectl) first on PATH and `env` added; `substitute`
 * fills placeholders such as `<member>`. Returns each command's output; a failing command throws naming it.
 */
export async function runCommands(
    commands: string[],
    options: {
        cwd: string;
        env: Record<string, string>;
        substitute: Record<string, string>;
        /** Commands matching this may fail with `Error from server (NotFound)`: the object is already gone. */
        mayFindNothing?: RegExp;
    },
): Promise<string[]> {
    const kubectl = path.join(toolsBinDir(), "kubectl");
    if (!fs.existsSync(kubectl)) {
        throw new Error(`kubectl not found at ${kubectl}. Fix: bash test/e2e/tools/build.sh kubectl`);
    }
    const outputs: string[] = [];
    for (const template of commands) {
        const command = Object.entries(options.substitute).reduce(
            (text, [placeholder, value]) => text.split(placeholder).join(value),
            template,
        );
        try {
            const { stdout, stderr } = await execFileAsync("bash", ["-c", command], {
                cwd: options.cwd,
                env: {
                    ...process.env,
                    ...options.env,
                    PATH: `${toolsBinDir()}${path.delimiter}${process.env.PATH ?? ""}`,
                },
            });
            outputs.push(stdout + stderr);
        } catch (err) {
            const { stderr, stdout } = err as { stderr?: string; stdout?: string };
            if (options.mayFindNothing?.test(command) && /Error from server \(NotFound\)/.test(stderr ?? "")) {
                outputs.push(stderr ?? "");
                continue;
            }
            throw new Error(
                `README command failed: ${command}\n${(stderr || stdout || (err as Error).message).trim()}`,
            );
        }
    }
    return outputs;
}
