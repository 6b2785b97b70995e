// @ts-check
/**
 * Keeps bin/ (the JavaScript the Pulumi CLI runs, through program.js) in step with the TypeScript sources.
 *
 * `pulumi preview` / `pulumi up` load this file first (Pulumi.yaml: runtime.options.nodeargs `--require
 * ./compile.js`), so nobody has to remember a build step: when a source changed (or bin/ is missing) the changed
 * files are transpiled before the program starts; otherwise the check is a hash of each source, a few milliseconds.
 * `npm run build` runs the same check by hand.
 *
 * Why not let Pulumi run index.ts itself: its ts-node type-checks the whole program on every run (about 3 s here)
 * and, even transpile-only, recompiles every file on every run (about 1.5 s). Type checking stays in `npm test`
 * (`tsc --noEmit`, strict) and CI; `isolatedModules` in tsconfig.json makes tsc reject what a per-file transpile
 * would get wrong. This file is plain JavaScript so that checking it needs no compiler.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = __dirname;
/** The program's sources: index.ts, program/ and components/ (tests and the benchmark are not part of it). */
const SOURCE_ROOTS = ["index.ts", "program", "components"];
const OUT_DIR = path.join(ROOT, "bin");
const MANIFEST = path.join(OUT_DIR, ".sources.json");

/**
 * @param {string} entry a file or directory relative to ROOT
 * @returns {string[]} the .ts files (not .d.ts) under it, relative to ROOT, sorted
 */
function sourcesUnder(entry) {
    const full = path.join(ROOT, entry);
    if (!fs.existsSync(full)) return [];
    if (!fs.statSync(full).isDirectory()) return entry.endsWith(".ts") && !entry.endsWith(".d.ts") ? [entry] : [];
    return fs
        .readdirSync(full)
        .sort()
        .flatMap((name) => sourcesUnder(path.join(entry, name)));
}

/** @param {string | Buffer} data */
function sha256(data) {
    return crypto.createHash("sha256").update(data).digest("hex");
}

/**
 * What the output depends on: each source's hash, tsconfig.json and the TypeScript version (from its package.json,
 * so the check never loads the compiler).
 * @returns {{ key: string, files: Record<string, string> }}
 */
function currentInputs() {
    const files = Object.fromEntries(
        SOURCE_ROOTS.flatMap(sourcesUnder).map((file) => [file, sha256(fs.readFileSync(path.join(ROOT, file)))]),
    );
    const typescriptVersion = JSON.parse(
        fs.readFileSync(require.resolve("typescript/package.json", { paths: [ROOT] }), "utf8"),
    ).version;
    const key = sha256(JSON.stringify([typescriptVersion, fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")]));
    return { key, files };
}

/** @returns {{ key?: string, files?: Record<string, string> }} */
function readManifest() {
    try {
        return JSON.parse(fs.readFileSync(MANIFEST, "utf8"));
    } catch {
        return {};
    }
}

/** @param {string} source e.g. program/federation.ts */
function outputOf(source) {
    return path.join(OUT_DIR, source.replace(/\.ts$/, ".js"));
}

/** Writes through a temporary file and a rename, so a concurrent run never reads half a file. */
function writeAtomically(/** @type {string} */ file, /** @type {string} */ text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, file);
}

/**
 * Transpiles the sources whose hash changed since the last build (all of them when tsconfig.json or TypeScript
 * changed), removes outputs of deleted sources and records the new hashes.
 * @returns {string[]} the sources it transpiled (empty when bin/ was up to date)
 */
function ensureCompiled() {
    const inputs = currentInputs();
    const previous = readManifest();
    const previousFiles = previous.key === inputs.key ? (previous.files ?? {}) : {};
    const changed = Object.keys(inputs.files).filter(
        (file) => previousFiles[file] !== inputs.files[file] || !fs.existsSync(outputOf(file)),
    );
    const removed = Object.keys(previousFiles).filter((file) => !(file in inputs.files));
    if (changed.length === 0 && removed.length === 0) return [];

    // Only now load the compiler (about 0.3 s), with the project's own compiler options.
    /** @type {typeof import("typescript")} */
    const ts = require(require.resolve("typescript", { paths: [ROOT] }));
    const parsed = ts.getParsedCommandLineOfConfigFile(
        path.join(ROOT, "tsconfig.json"),
        {},
        {
            ...ts.sys,
            onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
                throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`);
            },
        },
    );
    if (!parsed) throw new Error("tsconfig.json could not be read");
    // Inline source maps: Pulumi's runner loads source-map-support, so a stack trace names the .ts line.
    const compilerOptions = {
        ...parsed.options,
        noEmit: false,
        sourceMap: false,
        inlineSourceMap: true,
        declaration: false,
    };
    for (const file of changed) {
        const sourceRoot = path.relative(path.dirname(outputOf(file)), path.join(ROOT, path.dirname(file))) + "/";
        const result = ts.transpileModule(fs.readFileSync(path.join(ROOT, file), "utf8"), {
            compilerOptions: { ...compilerOptions, sourceRoot },
            fileName: file,
            reportDiagnostics: true,
        });
        const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
        if (errors.length > 0) {
            const messages = errors.map((d) => `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
            throw new Error(`cannot compile the program:\n${messages.join("\n")}`);
        }
        writeAtomically(outputOf(file), result.outputText);
    }
    for (const file of removed) fs.rmSync(outputOf(file), { force: true });
    writeAtomically(MANIFEST, JSON.stringify(inputs, null, 1) + "\n");
    return changed;
}

if (require.main === module) {
    // `npm run build`
    const compiled = ensureCompiled();
    console.log(compiled.length ? `compiled ${compiled.length} file(s) to bin/` : "bin/ is up to date");
} else {
    // Loaded by `node --require ./compile.js` ahead of Pulumi's program runner. An error here (a syntax error in a
    // source) ends the run before the program starts, with the message alone.
    try {
        ensureCompiled();
    } catch (err) {
        console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    }
}

module.exports = { ensureCompiled };
