/**
 * test/e2e/tools/build.sh uses what the machine already has and builds only what is missing: envtest binaries
 * ($KUBEBUILDER_ASSETS), the user's Pulumi CLI with its real language host, the provider in the user's plugin cache.
 * Each case runs the script on its own bin folder (E2E_BIN_DIR); "built" versions are links to the suite's real
 * builds, so nothing is compiled from Go here.
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { REPO_ROOT, toolsBinDir } from "../sandbox/paths";

const execFileAsync = promisify(execFile);
const BUILD_SH = path.join(REPO_ROOT, "test", "e2e", "tools", "build.sh");
const PINNED = { etcd: "v3.5.35", kube: "v1.33.13", pulumi: "v3.248.0" };

describe("build.sh: tools the machine already has", function () {
    this.timeout(120_000);
    let dir: string;
    let binDir: string;

    /** A fresh E2E_BIN_DIR whose pinned builds are links to the suite's real ones ("cached"). */
    const freshBinDir = (...tools: Array<[name: string, binary: string]>) => {
        const root = fs.mkdtempSync(path.join(dir, "bin-"));
        for (const [key, binary] of tools) {
            fs.mkdirSync(path.join(root, key));
            fs.symlinkSync(fs.realpathSync(path.join(toolsBinDir(), binary)), path.join(root, key, binary));
        }
        return root;
    };
    const script = (file: string, body: string) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
        return file;
    };
    const run = async (env: Record<string, string>, ...tools: string[]) => {
        const { stdout, stderr } = await execFileAsync("bash", [BUILD_SH, ...tools], {
            env: {
                ...process.env,
                KUBEBUILDER_ASSETS: "",
                KSF_BUILD_TOOLS: "",
                PULUMI_HOME: path.join(dir, "no-pulumi-home"),
                E2E_BIN_DIR: binDir,
                ...env,
            },
        });
        return { stdout, stderr };
    };
    const linkOf = (binary: string) => fs.readlinkSync(path.join(binDir, "bin", binary));
    const statusOf = (stdout: string, binary: string) =>
        new RegExp(`^${binary}\\s+\\S+\\s+(\\w+)`, "m").exec(stdout)?.[1];

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-tools-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("links etcd and kube-apiserver from KUBEBUILDER_ASSETS when their minor versions match, building nothing", async () => {
        binDir = freshBinDir();
        const assets = path.join(dir, "envtest-match");
        fs.mkdirSync(assets);
        for (const binary of ["etcd", "kube-apiserver"])
            fs.symlinkSync(fs.realpathSync(path.join(toolsBinDir(), binary)), path.join(assets, binary));
        const { stdout } = await run({ KUBEBUILDER_ASSETS: assets }, "etcd", "kube-apiserver");
        assert.strictEqual(statusOf(stdout, "etcd"), "found", stdout);
        assert.strictEqual(statusOf(stdout, "kube-apiserver"), "found", stdout);
        assert.strictEqual(linkOf("etcd"), path.join(assets, "etcd"));
        assert.strictEqual(linkOf("kube-apiserver"), path.join(assets, "kube-apiserver"));
        assert.deepStrictEqual(
            fs
                .readdirSync(binDir)
                .filter((entry) => !entry.startsWith("."))
                .sort(),
            ["bin"],
            "nothing was built",
        );
    });

    it("uses the pinned build when an envtest binary has another minor version, saying why", async () => {
        binDir = freshBinDir([`kube-apiserver-${PINNED.kube}`, "kube-apiserver"]);
        const assets = path.join(dir, "envtest-old");
        script(path.join(assets, "kube-apiserver"), 'echo "Kubernetes v1.20.4"');
        const { stdout, stderr } = await run({ KUBEBUILDER_ASSETS: assets }, "kube-apiserver");
        assert.match(
            stderr,
            new RegExp(`${assets}/kube-apiserver is v1\\.20\\.4, not v1\\.33\\.x: using the build of ${PINNED.kube}`),
        );
        assert.strictEqual(statusOf(stdout, "kube-apiserver"), "cached", stdout);
        assert.strictEqual(linkOf("kube-apiserver"), `../kube-apiserver-${PINNED.kube}/kube-apiserver`);
    });

    it("KSF_BUILD_TOOLS=1 ignores KUBEBUILDER_ASSETS", async () => {
        binDir = freshBinDir([`etcd-${PINNED.etcd}`, "etcd"]);
        const assets = path.join(dir, "envtest-match");
        const { stdout } = await run({ KUBEBUILDER_ASSETS: assets, KSF_BUILD_TOOLS: "1" }, "etcd");
        assert.strictEqual(statusOf(stdout, "etcd"), "cached", stdout);
        assert.strictEqual(linkOf("etcd"), `../etcd-${PINNED.etcd}/etcd`);
    });

    it("uses the user's Pulumi CLI of the pinned version and the real language host beside it", async () => {
        binDir = freshBinDir();
        const userBin = path.join(dir, "user-pulumi", "bin");
        script(path.join(userBin, "pulumi"), `echo ${PINNED.pulumi}`);
        script(path.join(userBin, "pulumi-language-nodejs"), "exit 0");
        const { stdout } = await run(
            { PATH: `${userBin}${path.delimiter}${process.env.PATH}` },
            "pulumi",
            "language-host",
        );
        assert.strictEqual(statusOf(stdout, "pulumi"), "found", stdout);
        assert.strictEqual(statusOf(stdout, "pulumi-language-nodejs"), "found", stdout);
        assert.strictEqual(linkOf("pulumi"), path.join(userBin, "pulumi"));
        assert.strictEqual(
            linkOf("pulumi-language-nodejs"),
            path.join(fs.realpathSync(userBin), "pulumi-language-nodejs"),
        );
    });

    it("installs the stand-in next to the pinned build when the user's Pulumi CLI is another version", async () => {
        binDir = freshBinDir([`pulumi-${PINNED.pulumi}`, "pulumi"]);
        const userBin = path.join(dir, "user-pulumi-old", "bin");
        script(path.join(userBin, "pulumi"), "echo v3.100.0");
        script(path.join(userBin, "pulumi-language-nodejs"), "exit 0");
        const { stdout, stderr } = await run(
            { PATH: `${userBin}${path.delimiter}${process.env.PATH}` },
            "pulumi",
            "language-host",
        );
        assert.match(stderr, /pulumi is v3\.100\.0, not v3\.248\.0: using the build of v3\.248\.0/);
        assert.strictEqual(statusOf(stdout, "pulumi"), "cached", stdout);
        assert.strictEqual(linkOf("pulumi"), `../pulumi-${PINNED.pulumi}/pulumi`);
        // A real file beside the CLI's resolved path, and .bin/bin links to it: the CLI finds it without a warning.
        const standIn = path.join(binDir, `pulumi-${PINNED.pulumi}`, "pulumi-language-nodejs");
        assert.ok(fs.lstatSync(standIn).isFile() && (fs.statSync(standIn).mode & 0o111) !== 0);
        assert.match(fs.readFileSync(standIn, "utf8"), /TEST TOOLING ONLY/);
        assert.strictEqual(linkOf("pulumi-language-nodejs"), `../pulumi-${PINNED.pulumi}/pulumi-language-nodejs`);
    });

    it("links the Kubernetes provider from the user's plugin cache when it holds the pinned release", async () => {
        binDir = freshBinDir();
        const pulumiHome = path.join(dir, "user-pulumi-home");
        const plugin = script(
            path.join(pulumiHome, "plugins", "resource-kubernetes-v4.25.0", "pulumi-resource-kubernetes"),
            "exit 0",
        );
        const { stdout } = await run({ PULUMI_HOME: pulumiHome }, "provider");
        assert.strictEqual(statusOf(stdout, "pulumi-resource-kubernetes"), "found", stdout);
        assert.strictEqual(linkOf("pulumi-resource-kubernetes"), plugin);
    });
});
