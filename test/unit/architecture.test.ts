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
        for (const root of ["components", "program"]) {
            assert.match(text, new RegExp(`^${root}/`, "m"), root);
            for (const entry of fs.readdirSync(path.join(REPO, root), { withFileTypes: true })) {
                if (entry.isDirectory()) {
                    assert.match(text, new RegExp(`^  ${entry.name}/`, "m"), `${root}/${entry.name}/`);
                    for (const file of fs.readdirSync(path.join(REPO, root, entry.name))) {
                        // The per-folder index.ts is stated once, in the sketch's heading line.
                        if (file !== "index.ts") assert.ok(text.includes(file), `${root}/${entry.name}/${file}`);
                    }
                } else if (entry.name !== "index.ts") {
                    assert.ok(text.includes(entry.name), `${root}/${entry.name}`);
                }
            }
        }
    });

    it("names only paths that exist", () => {
        for (const line of sketch().split("\n")) {
            const named = /^(\S+)\s/.exec(line)?.[1];
            if (named && /[/.]/.test(named)) assert.ok(fs.existsSync(path.join(REPO, named)), named);
        }
    });
});
