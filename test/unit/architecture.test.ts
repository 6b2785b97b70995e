/**
 * The architecture sketch (docs/architecture.md) matches the folders: every folder of the library and the program, and every source
 * file in them, is named in it, and every path it names exists.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

function sketch(): string {
    const doc = fs.readFileSync(path.join(REPO, "docs", "architecture.md"), "utf8");
    const block = /```\n([\s\S]*?)```/.exec(doc);
    assert.ok(block, "docs/architecture.md has a code block");
    return block[1];
}

describe("architecture sketch (docs/architecture.md)", () => {
    it("names every folder and source file of components/ and program/", () => {
        const text = sketch();
        // A folder is a line of its own, indented two spaces per level; its files are named anywhere in the sketch.
        const check = (dir: string, depth: number) => {
            for (const entry of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
                const relative = `${dir}/${entry.name}`;
                if (entry.isDirectory()) {
                    assert.match(text, new RegExp(`^${" ".repeat(depth * 2)}${entry.name}/`, "m"), `${relative}/`);
                    check(relative, depth + 1);
                } else if (entry.name !== "index.ts") {
                    // The per-folder index.ts is stated once, in the sketch's heading line.
                    assert.ok(text.includes(entry.name), relative);
                }
            }
        };
        for (const root of ["components", "program"]) {
            assert.match(text, new RegExp(`^${root}/`, "m"), root);
            check(root, 1);
        }
    });

    it("names only paths that exist", () => {
        for (const line of sketch().split("\n")) {
            const named = /^(\S+)\s/.exec(line)?.[1];
            if (named && /[/.]/.test(named)) assert.ok(fs.existsSync(path.join(REPO, named)), named);
        }
    });
});
