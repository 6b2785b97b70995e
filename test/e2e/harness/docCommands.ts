/**
 * TEST ONLY: runs shell commands exactly as the documentation (README.md, docs/, CONTRIBUTING.md) writes them, so the
 * documented procedure itself is what the e2e suite exercises (an edit of the document changes the test).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";

const execFileAsync = promisify(execFile);

/** A documented section whose commands a test runs: the file (from the repository root) and its heading text. */
export interface DocSection {
    /** e.g. "docs/troubleshooting.md" */
    file: string;
    /** the heading's text, e.g. "Troubleshooting" (its subsections included) */
    heading: string;
}

/**
 * Every section whose ```bash commands an e2e test runs as written, and the test that runs them. Moving those
 * commands to another file or renaming the heading means changing the entry here (test/unit/docCommands.test.ts
 * checks that each exists and has commands).
 */
export const DOC_SECTIONS = {
    /** demo.e2e.test.ts */
    tryItLocally: { file: "README.md", heading: "Try it locally" },
    /** cli.e2e.test.ts (every command as written) */
    quickStart: { file: "README.md", heading: "Quick start" },
    /** cli.e2e.test.ts (every command as written) */
    addingAnEnvironment: { file: "README.md", heading: "Adding an environment" },
    /** cli.e2e.test.ts (every command as written) */
    removingAMember: { file: "docs/removing-members.md", heading: "Removing a member" },
    /** removeMember.e2e.test.ts: `npm run remove-member` */
    memberGoneForGood: { file: "docs/removing-members.md", heading: "A member that is gone for good" },
    /** realWorld.e2e.test.ts and cli.e2e.test.ts: the kubectl steps */
    memberGoneForGoodByHand: { file: "docs/removing-members.md", heading: "By hand" },
    /** diagnosis.e2e.test.ts: `npm run doctor` */
    troubleshooting: { file: "docs/troubleshooting.md", heading: "Troubleshooting" },
    /** multilang.e2e.test.ts: `pulumi package get-schema` */
    otherLanguages: { file: "docs/other-languages.md", heading: "Other Pulumi languages" },
    /** test/fixtures/packedExample.ts (npm test): pack, install and type-check the example */
    library: { file: "docs/library.md", heading: "Use it from your own program" },
} as const satisfies Record<string, DocSection>;

/** The text of a documented section's file. */
export function docText(section: DocSection): string {
    return fs.readFileSync(path.join(REPO_ROOT, section.file), "utf8");
}

/**
 * The lines of a section: from its heading (`#`, `##` or `###`) to the next heading of the same or a higher level
 * (its subsections included). Throws naming the file when there is no such heading.
 */
export function docSectionLines(section: DocSection, text = docText(section)): string[] {
    const lines = text.split("\n");
    const start = lines.findIndex(
        (line) => /^#{1,3} /.test(line) && line.replace(/^#+ /, "").trim() === section.heading,
    );
    if (start < 0) throw new Error(`${section.file} has no section "${section.heading}"`);
    const level = lines[start].indexOf(" ");
    const end = lines.findIndex((line, index) => {
        const heading = /^(#+) /.exec(line);
        return index > start && heading !== null && heading[1].length <= level && !insideFence(lines, index);
    });
    return lines.slice(start, end < 0 ? undefined : end);
}

/** Whether line `index` lies inside a ``` fence (a `#` comment in a code block is no heading). */
function insideFence(lines: string[], index: number): boolean {
    return lines.slice(0, index).filter((line) => /^\s*```/.test(line)).length % 2 === 1;
}

/**
 * The command lines of a documented section's ```bash blocks (comments and blank lines dropped), e.g. to check that
 * a test ran every documented command as written.
 * @param text the file's text; read from `section.file` by default
 */
export function docCommands(section: DocSection, text = docText(section)): string[] {
    const commands: string[] = [];
    let block: "none" | "bash" | "other" = "none";
    for (const line of docSectionLines(section, text).slice(1)) {
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
 * The contents of a documented section's ```<language> blocks, e.g. the YAML program a user writes.
 */
export function docBlocks(section: DocSection, language: string, text = docText(section)): string[] {
    const blocks: string[] = [];
    let current: string[] | undefined;
    let fenced = false;
    for (const line of docSectionLines(section, text).slice(1)) {
        if (/^\s*```/.test(line)) {
            if (fenced && current) blocks.push(current.join("\n") + "\n");
            current = !fenced && line.trim() === "```" + language ? [] : undefined;
            fenced = !fenced;
            continue;
        }
        current?.push(line);
    }
    return blocks;
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
                `documented command failed: ${command}\n${(stderr || stdout || (err as Error).message).trim()}`,
            );
        }
    }
    return outputs;
}
