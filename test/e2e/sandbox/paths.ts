/**
 * Where the e2e sandbox finds its binaries and keeps its data. TEST ONLY.
 */
import * as fs from "fs";
import * as path from "path";

/** The repository root (this file lives in test/e2e/sandbox/). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** Default sandbox directory for the CLI; git-ignored (`/.sandbox/`). */
export const DEFAULT_SANDBOX_DIR = path.join(REPO_ROOT, ".sandbox");

/** The CRD manifests applied to every sandbox cluster. */
export const CRDS_DIR = path.join(REPO_ROOT, "test", "e2e", "crds");

/** The emulator's entry point, run as a separate process. */
export const EMULATOR_MAIN = path.join(REPO_ROOT, "test", "e2e", "emulator", "main.ts");

/** Folder holding etcd, kube-apiserver and kube-controller-manager, as built by test/e2e/tools/build.sh (override: KSF_TOOLS_BIN). */
export function toolsBinDir(): string {
    return process.env.KSF_TOOLS_BIN ?? path.join(REPO_ROOT, "test", "e2e", ".bin", "bin");
}

/** Absolute path of a tool binary; throws with the fix when it has not been built. */
export function toolBinary(
    name: "etcd" | "kube-apiserver" | "kube-controller-manager",
    binDir = toolsBinDir(),
): string {
    const binary = path.join(binDir, name);
    if (!fs.existsSync(binary)) {
        throw new Error(
            `${name} not found at ${binary}. Fix: build it with "test/e2e/tools/build.sh etcd kube-apiserver kube-controller-manager", ` +
                `or point KSF_TOOLS_BIN at a folder that holds etcd, kube-apiserver and kube-controller-manager`,
        );
    }
    return binary;
}
