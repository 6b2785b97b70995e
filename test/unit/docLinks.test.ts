/**
 * Every pointer resolves inside the repository: relative links in the Markdown documents (and their `#anchors`), and,
 * in source comments, `docs/<file>.md` pointers (with `§N`, `§N.M` or a quoted section name), quoted sections of
 * README.md, CONTRIBUTING.md and bench/README.md, and relative paths (`./…`, `../…`).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

/** The Markdown documents whose relative links must resolve. */
const MARKDOWN_FILES = [
    "README.md",
    "CONTRIBUTING.md",
    "bench/README.md",
    "test/e2e/sandbox/README.md",
    ...fs
        .readdirSync(path.join(REPO, "docs"))
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`),
];

/** The folders whose source comments are checked (with the top-level files below). */
const COMMENT_FOLDERS = ["components", "program", "plugin", "test", "bench"];
/** Top-level source files checked with the folders (the program's entry points). */
const COMMENT_ROOT_FILES = ["index.ts", "doctor.ts", "remove-member.ts", "compile.js", "program.js"];
const SOURCE_EXTENSIONS = [".ts", ".js", ".mjs"];
const SKIPPED_FOLDERS = new Set(["node_modules", ".bin", "results", "lib", "bin"]);

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
export function headingAnchor(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The headings of a Markdown text (outside code fences), as written. */
export function markdownHeadings(text: string): string[] {
    const headings: string[] = [];
    let fenced = false;
    for (const line of text.split("\n")) {
        if (/^\s*```/.test(line)) fenced = !fenced;
        const heading = /^#{1,6} (.*)$/.exec(line);
        if (!fenced && heading) headings.push(heading[1].trim());
    }
    return headings;
}

/** The anchors GitHub gives a Markdown text's headings (a repeated heading gets `-1`, `-2`, …). */
function markdownAnchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const heading of markdownHeadings(text)) {
        const anchor = headingAnchor(heading);
        const count = seen.get(anchor) ?? 0;
        anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
        seen.set(anchor, count + 1);
    }
    return anchors;
}

/** The link targets of a Markdown text, outside code fences and inline code. */
export function markdownLinks(text: string): string[] {
    const links: string[] = [];
    let fenced = false;
    for (const line of text.split("\n")) {
        if (/^\s*```/.test(line)) {
            fenced = !fenced;
            continue;
        }
        if (fenced) continue;
        const prose = line.replace(/`[^`]*`/g, "``");
        for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) links.push(match[1]);
    }
    return links;
}

const read = (file: string): string => fs.readFileSync(path.join(REPO, file), "utf8");

/** Whether `absolute` is the repository or inside it. */
const insideRepository = (absolute: string): boolean => !path.relative(REPO, absolute).startsWith("..");

/** Why a Markdown link of `file` does not resolve, or undefined when it does. */
function brokenLink(file: string, target: string): string | undefined {
    if (/^[a-z]+:/i.test(target)) return undefined; // https:, mailto:: not a repository path
    const [pathPart, anchor] = target.split("#", 2);
    const resolved =
        pathPart === "" ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), pathPart);
    if (!insideRepository(resolved)) return `${target} points outside the repository`;
    if (!fs.existsSync(resolved)) return `${target}: ${path.relative(REPO, resolved)} does not exist`;
    if (anchor !== undefined) {
        if (!resolved.endsWith(".md")) return `${target}: an anchor into a file that is not Markdown`;
        if (!markdownAnchors(fs.readFileSync(resolved, "utf8")).has(anchor)) {
            return `${target}: ${path.relative(REPO, resolved)} has no heading with anchor #${anchor}`;
        }
    }
    return undefined;
}

/** The comments of a TypeScript or JavaScript source, line comments and block comments, with their line numbers. */
export function sourceComments(text: string): { line: number; text: string }[] {
    const comments: { line: number; text: string }[] = [];
    const lineOf = (index: number) => text.slice(0, index).split("\n").length;
    for (const match of text.matchAll(/\/\*[\s\S]*?\*\//g)) {
        comments.push({ line: lineOf(match.index), text: match[0] });
    }
    // `//` after a colon or inside a quote is a URL or a string, not a comment.
    for (const match of text.matchAll(/(^|[^:"'`\\/])\/\/(?!\/)(.*)$/gm)) {
        comments.push({ line: lineOf(match.index), text: match[2] });
    }
    return comments;
}

/** The section names of docs/kubesphere.md-style numbered documents: `§N` for `## N. …`, `§N.M` for item M of N. */
function numberedSections(text: string): Set<string> {
    const sections = new Set<string>();
    let current: string | undefined;
    for (const line of text.split("\n")) {
        const section = /^#{2,3} (\d+)\. /.exec(line);
        if (section) {
            current = section[1];
            sections.add(current);
            continue;
        }
        const item = /^(\d+)\. /.exec(line);
        if (current && item) sections.add(`${current}.${item[1]}`);
    }
    return sections;
}

/** Why one pointer in a comment of `file` does not resolve (a list: one pointer may name several sections). */
export function brokenPointers(file: string, comment: string): string[] {
    const problems: string[] = [];
    const text = comment.replace(/\s*\n\s*(\*|\/\/)?\s*/g, " ");
    // docs/<file>.md, then optionally §N[.M] (several: "§10.1, §10.4", "§1–§4") or a quoted section name.
    for (const match of text.matchAll(
        /(?<![\w/.-])((?:docs\/[\w-]+|README|CONTRIBUTING|bench\/README)(?:\.md)?)((?:[\s,–-]*§\d+(?:\.\d+)?)*)(?:,?\s+"([^"]+)")?/g,
    )) {
        const [, name, sections, quoted] = match;
        const document = name.endsWith(".md") ? name : `${name}.md`;
        if (!fs.existsSync(path.join(REPO, document))) {
            problems.push(`${name}: ${document} does not exist`);
            continue;
        }
        const doc = read(document);
        const numbered = numberedSections(doc);
        for (const section of sections.matchAll(/§(\d+(?:\.\d+)?)/g)) {
            if (!numbered.has(section[1])) problems.push(`${name} §${section[1]}: ${document} has no such section`);
        }
        if (quoted !== undefined && sections === "" && !markdownHeadings(doc).includes(quoted)) {
            problems.push(`${name} "${quoted}": ${document} has no heading "${quoted}"`);
        }
    }
    // Relative paths: from the file's folder (or, as in a quoted command line, from the repository root), they must
    // name something that exists inside the repository.
    for (const match of text.matchAll(/(?<![\w/.@-])(\.\.?\/[\w./-]*[\w-])/g)) {
        const resolved = path.resolve(path.dirname(path.join(REPO, file)), match[1]);
        const exists = (absolute: string) =>
            fs.existsSync(absolute) || SOURCE_EXTENSIONS.some((ext) => fs.existsSync(absolute + ext));
        if (!insideRepository(resolved)) problems.push(`${match[1]} points outside the repository`);
        else if (!exists(resolved) && !exists(path.resolve(REPO, match[1]))) {
            problems.push(`${match[1]}: ${path.relative(REPO, resolved)} does not exist`);
        }
    }
    // Notes and issues that live outside the repository.
    for (const match of text.matchAll(/(?<!KubeSphere |kubesphere )\b(issue \d+|[A-Za-z]+ notes §\d+)/g)) {
        problems.push(`"${match[1]}" names something outside the repository`);
    }
    return problems;
}

/** Every source file under `folders` (and the root files), repository-relative. */
function sourceFiles(folders: string[]): string[] {
    const files: string[] = COMMENT_ROOT_FILES.filter((file) => fs.existsSync(path.join(REPO, file)));
    const walk = (folder: string) => {
        for (const entry of fs.readdirSync(path.join(REPO, folder), { withFileTypes: true })) {
            const relative = `${folder}/${entry.name}`;
            if (entry.isDirectory()) {
                if (!SKIPPED_FOLDERS.has(entry.name)) walk(relative);
            } else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
                files.push(relative);
            }
        }
    };
    for (const folder of folders) walk(folder);
    return files;
}

/** Every dangling pointer in the comments of the source files under `folders`, as `file:line: problem`. */
export function danglingCommentPointers(folders: string[]): string[] {
    return sourceFiles(folders).flatMap((file) =>
        sourceComments(read(file)).flatMap((comment) =>
            brokenPointers(file, comment.text).map((problem) => `${file}:${comment.line}: ${problem}`),
        ),
    );
}

describe("documentation links and pointers resolve inside the repository", () => {
    it("every relative link in the Markdown documents names an existing file and heading", () => {
        const broken = MARKDOWN_FILES.flatMap((file) =>
            markdownLinks(read(file)).flatMap((target) => {
                const problem = brokenLink(file, target);
                return problem ? [`${file}: ${problem}`] : [];
            }),
        );
        assert.deepStrictEqual(broken, []);
    });

    it(`every docs/… pointer and relative path in the comments of ${COMMENT_FOLDERS.join(", ")} resolves`, () => {
        assert.deepStrictEqual(danglingCommentPointers(COMMENT_FOLDERS), []);
    });

    it("finds what it is meant to find", () => {
        const here = "test/unit/docLinks.test.ts";
        assert.deepStrictEqual(brokenPointers(here, "see docs/kubesphere.md §9 and §4.3"), []);
        assert.deepStrictEqual(brokenPointers(here, "docs/kubesphere.md §10.1, §10.4"), []);
        assert.deepStrictEqual(brokenPointers(here, 'docs/removing-members.md "A member that is gone for good"'), []);
        assert.deepStrictEqual(brokenPointers(here, "../e2e/harness/docCommands"), []);
        assert.strictEqual(brokenPointers(here, "docs/kubesphere.md §42").length, 1);
        assert.strictEqual(brokenPointers(here, "docs/nowhere.md").length, 1);
        assert.strictEqual(brokenPointers(here, 'README "Bad input"').length, 1);
        assert.strictEqual(brokenPointers(here, "see ../../../shared/notes.md").length, 1);
        assert.strictEqual(brokenPointers(here, "why (issue 12)").length, 1);
        assert.strictEqual(brokenPointers(here, "(agent notes §2)").length, 1);
        assert.deepStrictEqual(brokenPointers(here, "KubeSphere issues 5395 and 5664"), []);
        assert.strictEqual(brokenLink("README.md", "docs/configuration.md#no-such-heading")?.includes("#"), true);
        assert.strictEqual(headingAnchor("How `pulumi` starts the program"), "how-pulumi-starts-the-program");
        assert.strictEqual(
            headingAnchor("4. What the console checks before a join, and the controller does not"),
            "4-what-the-console-checks-before-a-join-and-the-controller-does-not",
        );
    });
});
