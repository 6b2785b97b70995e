/**
 * compile.js keeps bin/ (what the Pulumi CLI runs) in step with the TypeScript sources. Each test runs it the two ways
 * it is used, in a scratch copy of the project: `node compile.js` (npm run build) and `node --require ./compile.js`
 * (Pulumi.yaml nodeargs, ahead of Pulumi's program runner).
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

function scratchProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-compile-"));
    for (const entry of ["compile.js", "index.ts", "tsconfig.json", "package.json", "program", "components"]) {
        fs.cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

function build(dir: string): string {
    return execFileSync(process.execPath, ["compile.js"], { cwd: dir, encoding: "utf8" }).trim();
}

describe("compile.js (bin/ for the Pulumi CLI)", function () {
    this.timeout(60_000);
    // One scratch project for the tests below; the first test edits sources in its own.
    let dir: string;
    before(() => (dir = scratchProject()));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("compiles every program source once, then only what changed, and drops outputs of deleted sources", () => {
        const dir = scratchProject();
        try {
            compilesWhatChanged(dir);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("is what `npm run build` and Pulumi.yaml run, and Pulumi.yaml main loads its output", () => {
        const packageJson = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
        assert.strictEqual(packageJson.scripts.build, "node compile.js");
        const project = yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as {
            main: string;
            runtime: { options: Record<string, unknown> };
        };
        assert.deepStrictEqual(project.runtime.options, { typescript: false, nodeargs: "--require ./compile.js" });
        // Named in Pulumi.yaml: left to package.json, Pulumi's runner would take "exports" (the library in lib/).
        assert.strictEqual(project.main, "program.js");
        assert.match(
            fs.readFileSync(path.join(REPO, "program.js"), "utf8"),
            /module\.exports = require\("\.\/bin\/index\.js"\)/,
        );
        assert.strictEqual(packageJson.exports["."].default, "./lib/index.js");
    });

    it("runs ahead of the program the way Pulumi.yaml loads it: what program.js loads exists when the program starts", () => {
        // No build before: the first run compiles.
        const main = path.join(dir, "bin", "index.js");
        const probe = `console.log(require("fs").existsSync(${JSON.stringify(main)}))`;
        const output = execFileSync(process.execPath, ["--require", "./compile.js", "-e", probe], {
            cwd: dir,
            encoding: "utf8",
        });
        assert.strictEqual(output.trim(), "true");
    });

    it("a stack trace from the compiled program names the TypeScript source", () => {
        const probe = `try { require("./bin/components/config/configSchema").parseFederationConfig(undefined) } catch (err) { console.log(err.stack) }`;
        const output = execFileSync(process.execPath, ["-r", "source-map-support/register", "-e", probe], {
            cwd: dir,
            encoding: "utf8",
        });
        assert.match(output, /components\/config\/configSchema\.ts:\d+/);
    });

    it("a syntax error stops the run before the program starts, naming the file, without a stack trace", () => {
        fs.appendFileSync(path.join(dir, "components", "kubernetes", "kubeconfig.ts"), "\nexport const broken = ;\n");
        const run = spawnSync(process.execPath, ["--require", "./compile.js", "-e", "console.log('program started')"], {
            cwd: dir,
            encoding: "utf8",
        });
        assert.strictEqual(run.status, 1);
        assert.doesNotMatch(run.stdout, /program started/);
        assert.match(
            run.stderr,
            /^error: cannot compile the program:\ncomponents\/kubernetes\/kubeconfig\.ts: Expression expected\.\n$/,
        );
    });
});

function compilesWhatChanged(dir: string): void {
    const sources = ["index.ts", "program", "components"].flatMap((entry) =>
        entry.endsWith(".ts")
            ? [entry]
            : (fs.readdirSync(path.join(dir, entry), { recursive: true }) as string[])
                  .filter((file) => file.endsWith(".ts"))
                  .map((file) => `${entry}/${file}`),
    );
    assert.match(build(dir), new RegExp(`^compiled ${sources.length} file\\(s\\) to bin/$`));
    for (const source of sources)
        assert.ok(fs.existsSync(path.join(dir, "bin", source.replace(/\.ts$/, ".js"))), source);
    assert.strictEqual(build(dir), "bin/ is up to date");

    // Same content, new mtime (a checkout): nothing to do. New content: that file only.
    fs.utimesSync(path.join(dir, "components", "config", "errors.ts"), new Date(), new Date());
    assert.strictEqual(build(dir), "bin/ is up to date");
    fs.appendFileSync(path.join(dir, "components", "config", "errors.ts"), "\nexport const addedByTheTest = 42;\n");
    assert.strictEqual(build(dir), "compiled 1 file(s) to bin/");
    assert.match(
        fs.readFileSync(path.join(dir, "bin", "components", "config", "errors.js"), "utf8"),
        /addedByTheTest = 42/,
    );

    fs.writeFileSync(path.join(dir, "components", "extra.ts"), "export const extra = 1;\n");
    assert.strictEqual(build(dir), "compiled 1 file(s) to bin/");
    fs.rmSync(path.join(dir, "components", "extra.ts"));
    assert.strictEqual(build(dir), "bin/ is up to date");
    assert.ok(!fs.existsSync(path.join(dir, "bin", "components", "extra.js")));

    // A compiler option change recompiles everything.
    const tsconfig = path.join(dir, "tsconfig.json");
    fs.writeFileSync(tsconfig, fs.readFileSync(tsconfig, "utf8").replace('"target": "ES2022"', '"target": "ES2021"'));
    assert.match(build(dir), new RegExp(`^compiled ${sources.length} file\\(s\\)`));
}
