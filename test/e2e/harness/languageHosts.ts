/**
 * TEST ONLY: the language hosts a test runs from this checkout rather than from test/e2e/.bin. The Node.js stand-in
 * (test/e2e/languageHost/) is compiled here exactly as test/e2e/tools/build.sh compiles it, so a test of what the
 * source says (RunPlugin, for component packages) does not depend on which stand-in .bin last installed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../sandbox/paths";

const STAND_IN_SOURCE = path.join(REPO_ROOT, "test", "e2e", "languageHost", "pulumi-language-nodejs.ts");

/** Compiles the stand-in into `outDir` as an executable `pulumi-language-nodejs` (build.sh's flags); returns its path. */
export function compileNodejsStandIn(outDir: string): string {
    execFileSync(
        path.join(REPO_ROOT, "node_modules", ".bin", "tsc"),
        [
            "--outDir",
            outDir,
            "--rootDir",
            path.dirname(STAND_IN_SOURCE),
            "--target",
            "ES2022",
            "--module",
            "commonjs",
            "--moduleResolution",
            "node",
            "--strict",
            "--esModuleInterop",
            "--skipLibCheck",
            "--types",
            "node",
            STAND_IN_SOURCE,
        ],
        { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const binary = path.join(outDir, "pulumi-language-nodejs");
    fs.renameSync(path.join(outDir, "pulumi-language-nodejs.js"), binary);
    fs.chmodSync(binary, 0o755);
    // Started outside a Node.js project (a YAML program's directory), the stand-in takes the SDK found from its own
    // location, as the copy in test/e2e/.bin finds the repository's.
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(outDir, "node_modules"));
    return binary;
}
