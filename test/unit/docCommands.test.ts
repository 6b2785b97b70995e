/**
 * The documented commands the e2e suite runs are where it looks for them: every section of DOC_SECTIONS exists in its
 * file and has commands, and every ```bash block of the documentation is in one of those sections or is listed here
 * as run by something else. A heading renamed or commands moved to another file fail here, in `npm test`, rather than
 * in a 25-minute e2e run.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DOC_SECTIONS, DocSection, docCommands, docSectionLines } from "../e2e/harness/docCommands";

const REPO = path.resolve(__dirname, "..", "..");

/** The documents that show commands. */
const DOCUMENTS = [
    "README.md",
    "CONTRIBUTING.md",
    "bench/README.md",
    ...fs
        .readdirSync(path.join(REPO, "docs"))
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`),
];

/** Sections whose commands no e2e test runs as written, and what runs them instead. */
const RUN_ELSEWHERE: (DocSection & { runBy: string })[] = [
    { file: "README.md", heading: "Tests", runBy: "`npm test` is what .ci/run and the preview workflow run" },
    { file: "CONTRIBUTING.md", heading: "Tests", runBy: "`npm test` and `npm run test:e2e` are what .ci/run runs" },
    { file: "bench/README.md", heading: "Benchmark", runBy: "the benchmark itself (`npm run bench`)" },
];

/** The line numbers (0-based) of a section: its heading and everything up to the next heading of its level. */
function sectionRange(section: DocSection): { first: number; last: number } {
    const lines = fs.readFileSync(path.join(REPO, section.file), "utf8").split("\n");
    const sectionLines = docSectionLines(section);
    const first = lines.indexOf(sectionLines[0]);
    return { first, last: first + sectionLines.length - 1 };
}

describe("documented commands: where the e2e suite reads them", () => {
    for (const [name, section] of Object.entries(DOC_SECTIONS)) {
        it(`${name}: ${section.file} "${section.heading}" exists and has bash commands`, () => {
            assert.ok(docCommands(section).length > 0, `${section.file} "${section.heading}" has no bash command`);
        });
    }

    it("every ```bash block of the documentation is in a section a test runs, or is run elsewhere", () => {
        const sections = [...Object.values(DOC_SECTIONS), ...RUN_ELSEWHERE];
        const unrun: string[] = [];
        for (const file of DOCUMENTS) {
            const ranges = sections.filter((section) => section.file === file).map(sectionRange);
            let fenced = false;
            fs.readFileSync(path.join(REPO, file), "utf8")
                .split("\n")
                .forEach((line, index) => {
                    if (!/^\s*```/.test(line)) return;
                    if (!fenced && /^\s*```bash\s*$/.test(line)) {
                        if (!ranges.some((range) => range.first < index && index <= range.last)) {
                            unrun.push(`${file}:${index + 1}`);
                        }
                    }
                    fenced = !fenced;
                });
        }
        assert.deepStrictEqual(unrun, [], "bash blocks no test runs: add their section to DOC_SECTIONS and a test");
    });

    it("keeps the harness's reading rules: bash blocks only, comments dropped, subsections included", () => {
        const text = [
            "## Section",
            "```bash",
            "first --flag   # a comment",
            "# a comment line",
            "```",
            "```yaml",
            "not: a command",
            "```",
            "### Subsection",
            "```bash",
            "second",
            "```",
            "## Next",
            "```bash",
            "third",
            "```",
        ].join("\n");
        assert.deepStrictEqual(docCommands({ file: "x.md", heading: "Section" }, text), ["first --flag", "second"]);
        assert.throws(() => docCommands({ file: "x.md", heading: "Missing" }, text), /x\.md has no section "Missing"/);
    });

    it("README's stack file is the committed stacks/Pulumi.kubeadm-lab.yaml without its header comment", () => {
        const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
        const block = /## A stack file\n[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
        assert.ok(block, 'README "A stack file" has a ```yaml block');
        const stackFile = fs.readFileSync(path.join(REPO, "stacks", "Pulumi.kubeadm-lab.yaml"), "utf8");
        assert.strictEqual(block, stackFile.replace(/^(#.*\n)+/, ""));
    });
});
