/**
 * The layers of docs/architecture.md, checked against the imports the sources actually make: config/ ← kubernetes/ ←
 * kubesphere/ ← host/ ← members/ ← the library's entry point ← program/, plugin/ ← the root entry files. Each
 * file may import only from its own layer or below, nothing imports test code, and there is no import cycle.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

/** Layer of each source root, lowest first; a file belongs to the longest root its path starts with. */
const LAYERS: Array<[root: string, layer: number]> = [
    ["components/config/", 0],
    ["components/kubernetes/", 1],
    ["components/kubesphere/", 2],
    ["components/host/", 3],
    ["components/members/", 4],
    ["components/index.ts", 5],
    ["program/", 6],
    ["plugin/", 6],
    ["index.ts", 7],
    ["doctor.ts", 7],
    ["remove-member.ts", 7],
];

/** A source file and the repository-relative files it imports. */
export type ImportGraph = Map<string, string[]>;

/** The layer of a repository-relative path, or undefined when it is outside the layered sources (e.g. test/). */
function layerOf(file: string): number | undefined {
    const match = LAYERS.filter(([root]) => file === root || (root.endsWith("/") && file.startsWith(root))).sort(
        (a, b) => b[0].length - a[0].length,
    )[0];
    return match?.[1];
}

/** Every relative module a TypeScript source names: `import … from`, `export … from`, `import("…")`, `require("…")`. */
function importedModules(text: string): string[] {
    const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const found: string[] = [];
    const patterns = [/\bfrom\s+"(\.[^"]+)"/g, /\bimport\(\s*"(\.[^"]+)"\s*\)/g, /\brequire\(\s*"(\.[^"]+)"\s*\)/g];
    for (const pattern of patterns) for (const match of withoutComments.matchAll(pattern)) found.push(match[1]);
    return found;
}

/** The file a relative module resolves to (`x.ts` or `x/index.ts`), repository-relative. */
function resolveModule(from: string, module: string): string {
    const base = path.normalize(path.join(path.dirname(from), module));
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) {
        if (fs.existsSync(path.join(REPO, candidate)) && fs.statSync(path.join(REPO, candidate)).isFile())
            return candidate;
    }
    return `${base}.ts`;
}

/** The import graph of the layered sources, read from the files. */
export function readImportGraph(): ImportGraph {
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
            const relative = path.join(dir, entry.name);
            if (entry.isDirectory() && entry.name !== "node_modules") walk(relative);
            else if (entry.isFile() && relative.endsWith(".ts") && !relative.endsWith(".d.ts")) files.push(relative);
        }
    };
    walk("components");
    walk("program");
    files.push("plugin/index.ts", "index.ts", "doctor.ts");
    return new Map(
        files.map((file) => [
            file,
            importedModules(fs.readFileSync(path.join(REPO, file), "utf8")).map((module) =>
                resolveModule(file, module),
            ),
        ]),
    );
}

/** Imports against the direction of the layers, and imports of anything outside them (test code), as messages. */
export function layerViolations(graph: ImportGraph): string[] {
    const violations: string[] = [];
    for (const [file, imports] of graph) {
        const own = layerOf(file);
        for (const imported of imports) {
            const theirs = layerOf(imported);
            if (theirs === undefined) violations.push(`${file} imports ${imported}, which is outside the layers`);
            else if (own !== undefined && theirs > own)
                violations.push(`${file} imports ${imported}: a layer above it (docs/architecture.md "Layers")`);
        }
    }
    return violations;
}

/** Every import cycle (strongly connected set of two or more files, or a file importing itself), as file lists. */
export function importCycles(graph: ImportGraph): string[][] {
    // Tarjan's algorithm: each strongly connected component with a cycle is reported once.
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (file: string) => {
        index.set(file, counter);
        low.set(file, counter++);
        stack.push(file);
        onStack.add(file);
        for (const next of graph.get(file) ?? []) {
            if (!graph.has(next)) continue;
            if (!index.has(next)) {
                visit(next);
                low.set(file, Math.min(low.get(file)!, low.get(next)!));
            } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
        }
        if (low.get(file) === index.get(file)) {
            const component: string[] = [];
            let member: string;
            do {
                member = stack.pop()!;
                onStack.delete(member);
                component.push(member);
            } while (member !== file);
            if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
        }
    };
    for (const file of graph.keys()) if (!index.has(file)) visit(file);
    return cycles;
}

describe("layers (docs/architecture.md)", () => {
    const graph = readImportGraph();

    it("reads the imports of every layered source", () => {
        assert.ok(graph.size > 20, `only ${graph.size} files read`);
        assert.ok(
            graph.get("components/members/memberContext.ts")?.some((file) => file.startsWith("components/host/")),
            "memberContext.ts imports from host/",
        );
    });

    it("has no import against the direction of the layers", () => {
        assert.deepStrictEqual(layerViolations(graph), []);
    });

    it("has no import cycle", () => {
        assert.deepStrictEqual(importCycles(graph), []);
    });

    it("would catch an upward import and a cycle", () => {
        const broken: ImportGraph = new Map([
            ["components/kubernetes/a.ts", ["components/members/b.ts"]],
            ["components/members/b.ts", ["components/members/c.ts"]],
            ["components/members/c.ts", ["components/members/b.ts", "test/fixtures/x.ts"]],
        ]);
        assert.deepStrictEqual(layerViolations(broken), [
            `components/kubernetes/a.ts imports components/members/b.ts: a layer above it (docs/architecture.md "Layers")`,
            "components/members/c.ts imports test/fixtures/x.ts, which is outside the layers",
        ]);
        assert.deepStrictEqual(importCycles(broken), [["components/members/b.ts", "components/members/c.ts"]]);
    });
});
