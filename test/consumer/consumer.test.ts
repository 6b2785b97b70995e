/**
 * The packed library in a program of its own, as a platform team installs it: a copy of examples/member-from-output
 * in a temp directory, with the tarball (`npm run pack:lib`) next to the newest @pulumi/pulumi and @pulumi/kubernetes
 * the registry serves, or the oldest versions package.json's ranges admit (with the oldest @kubernetes/client-node,
 * js-yaml and zod the library's ranges admit). Each set: exactly one copy of each SDK is installed (the library's
 * peer dependencies resolve to the program's own), the program type-checks against the packed declarations
 * (skipLibCheck off), and it runs under Pulumi mocks: HostCluster, MemberCluster and their children registered, the
 * jwtSecret and the kubeconfigs only inside secrets.
 *
 * Needs the npm registry (the installs). Not part of `npm test`; `.ci/run` runs it on Node.js 20 and 22:
 * `mocha --config test/consumer/.mocharc.json` (KSF_CONSUMER_SDKS=newest or oldest for one set).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples", "member-from-output");
const JWT_SECRET = "consumerJwtSecret0123456789abcdefg";
const ROOT_PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};

/** The lowest version a `^x.y.z` range admits (package.json uses only those; anything else is refused here). */
function lowestAdmitted(name: string, range: string): string {
    const match = /^\^(\d+\.\d+\.\d+)$/.exec(range);
    if (!match) throw new Error(`package.json: ${name} is "${range}"; this test reads only ^x.y.z ranges`);
    return match[1];
}

/** The newest version of `name` the registry serves (its `latest` tag). */
function newestVersion(name: string): string {
    return execFileSync("npm", ["view", name, "version"], { encoding: "utf8" }).trim();
}

/** Every installed copy of package `name` under `dir`'s node_modules (nested ones too), with its version. */
function installedCopies(dir: string, name: string): Array<{ path: string; version: string }> {
    const copies: Array<{ path: string; version: string }> = [];
    const walk = (modules: string) => {
        if (!fs.existsSync(modules)) return;
        for (const entry of fs.readdirSync(modules)) {
            if (entry.startsWith(".")) continue;
            const names = entry.startsWith("@")
                ? fs.readdirSync(path.join(modules, entry)).map((scoped) => `${entry}/${scoped}`)
                : [entry];
            for (const packageName of names) {
                const packageDir = path.join(modules, packageName);
                const manifest = path.join(packageDir, "package.json");
                if (packageName === name && fs.existsSync(manifest))
                    copies.push({
                        path: path.relative(dir, packageDir),
                        version: (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version,
                    });
                walk(path.join(packageDir, "node_modules"));
            }
        }
    };
    walk(path.join(dir, "node_modules"));
    return copies;
}

/** `npm ls <name> --all --json`: every version npm's tree has of `name`, with where it sits. */
function npmLsVersions(dir: string, name: string): string[] {
    const tree = JSON.parse(
        execFileSync("npm", ["ls", name, "--all", "--json"], { cwd: dir, encoding: "utf8" }),
    ) as NpmTree;
    const found: string[] = [];
    const walk = (node: NpmTree, where: string) => {
        for (const [child, sub] of Object.entries(node.dependencies ?? {})) {
            if (child === name) found.push(`${where} > ${child}@${sub.version}`);
            walk(sub, `${where} > ${child}`);
        }
    };
    walk(tree, "consumer");
    return found;
}

interface NpmTree {
    version?: string;
    dependencies?: Record<string, NpmTree>;
}

interface SdkSet {
    name: "newest" | "oldest";
    pulumi: string;
    kubernetes: string;
    /** Versions forced for the library's own dependencies (npm `overrides`), or none: what npm picks. */
    libraryDependencies?: Record<string, string>;
}

function sdkSet(name: string): SdkSet {
    if (name === "newest")
        return { name, pulumi: newestVersion("@pulumi/pulumi"), kubernetes: newestVersion("@pulumi/kubernetes") };
    if (name === "oldest")
        return {
            name,
            pulumi: lowestAdmitted("@pulumi/pulumi", ROOT_PACKAGE.peerDependencies["@pulumi/pulumi"]),
            kubernetes: lowestAdmitted("@pulumi/kubernetes", ROOT_PACKAGE.peerDependencies["@pulumi/kubernetes"]),
            libraryDependencies: Object.fromEntries(
                Object.entries(ROOT_PACKAGE.dependencies).map(([dep, range]) => [dep, lowestAdmitted(dep, range)]),
            ),
        };
    throw new Error(`KSF_CONSUMER_SDKS: "${name}" is not a set; use newest, oldest or both (newest,oldest)`);
}

const SETS = (process.env.KSF_CONSUMER_SDKS ?? "newest,oldest").split(",").map((name) => name.trim());

/** The library's tarball, packed once for all sets. */
let tarball: string | undefined;
function packedTarball(): string {
    if (!tarball) {
        execFileSync("npm", ["run", "pack:lib"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        tarball = path.join(ROOT, `kubesphere-federation-${ROOT_PACKAGE.version}.tgz`);
        assert.ok(fs.existsSync(tarball), `npm run pack:lib did not write ${tarball}`);
    }
    return tarball;
}

for (const setName of SETS) {
    describe(`the packed library in a consumer program, ${setName} SDKs (Node.js ${process.version})`, function () {
        this.timeout(10 * 60_000);
        let set: SdkSet;
        let dir: string;

        before(function () {
            set = sdkSet(setName);
            dir = fs.mkdtempSync(path.join(os.tmpdir(), `ksf-consumer-${setName}-`));
            for (const file of ["index.ts", "tsconfig.json", "Pulumi.yaml"])
                fs.copyFileSync(path.join(EXAMPLE, file), path.join(dir, file));
            const packed = packedTarball();
            fs.copyFileSync(packed, path.join(dir, path.basename(packed)));
            const manifest = {
                name: "member-from-output",
                version: "0.1.0",
                private: true,
                main: "index.ts",
                dependencies: {
                    "@pulumi/kubernetes": set.kubernetes,
                    "@pulumi/pulumi": set.pulumi,
                    "kubesphere-federation": `file:./${path.basename(packed)}`,
                },
                devDependencies: {
                    "@types/node": ROOT_PACKAGE.devDependencies["@types/node"],
                    typescript: ROOT_PACKAGE.devDependencies.typescript,
                },
                ...(set.libraryDependencies ? { overrides: { "kubesphere-federation": set.libraryDependencies } } : {}),
            };
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
            // As a user installs: no --legacy-peer-deps (a peer range the program's SDK misses fails here).
            execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
                cwd: dir,
                stdio: ["ignore", "pipe", "pipe"],
            });
        });

        after(() => {
            if (dir && !process.env.KSF_CONSUMER_KEEP) fs.rmSync(dir, { recursive: true, force: true });
        });

        for (const sdk of ["@pulumi/pulumi", "@pulumi/kubernetes"] as const) {
            it(`installs exactly one ${sdk}, the program's own version`, () => {
                const wanted = sdk === "@pulumi/pulumi" ? set.pulumi : set.kubernetes;
                const copies = installedCopies(dir, sdk);
                assert.deepStrictEqual(copies, [{ path: path.join("node_modules", sdk), version: wanted }]);
                const versions = new Set(npmLsVersions(dir, sdk).map((line) => line.split("@").pop()));
                assert.deepStrictEqual([...versions], [wanted], `npm ls ${sdk}: ${npmLsVersions(dir, sdk).join("; ")}`);
            });
        }

        if (setName === "oldest")
            it("the library runs on the oldest @kubernetes/client-node, js-yaml and zod its ranges admit", () => {
                for (const [dep, version] of Object.entries(set.libraryDependencies ?? {})) {
                    const copies = installedCopies(dir, dep).filter(
                        (copy) =>
                            copy.path === path.join("node_modules", dep) ||
                            copy.path.startsWith(path.join("node_modules", "kubesphere-federation")),
                    );
                    assert.deepStrictEqual(
                        copies.map((copy) => copy.version),
                        [version],
                        `${dep}: ${JSON.stringify(copies)}`,
                    );
                }
            });

        it("type-checks against the packed declarations (skipLibCheck off)", () => {
            try {
                execFileSync(
                    process.execPath,
                    [path.join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "."],
                    {
                        cwd: dir,
                        encoding: "utf8",
                        stdio: ["ignore", "pipe", "pipe"],
                    },
                );
            } catch (err) {
                const failed = err as { stdout?: string; stderr?: string };
                assert.fail(`tsc -p . in the consumer:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
            }
        });

        it("runs under mocks on its own SDK copy: HostCluster, MemberCluster and their children registered, secrets kept secret", () => {
            const stdout = execFileSync(
                process.execPath,
                [
                    "-r",
                    "ts-node/register/transpile-only",
                    path.join(ROOT, "test", "unit", "exampleUnderMocks.ts"),
                    JWT_SECRET,
                    dir,
                ],
                { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
            );
            const found = JSON.parse(
                stdout
                    .split("\n")
                    .find((line) => line.startsWith("RESULT "))!
                    .slice("RESULT ".length),
            );
            // The library's SDK imports land on the program's files: one runtime, one set of resources.
            const real = (file: string) => fs.realpathSync(file);
            assert.strictEqual(real(found.sdkFiles.library.pulumi), real(found.sdkFiles.program.pulumi));
            assert.strictEqual(real(found.sdkFiles.library.kubernetes), real(found.sdkFiles.program.kubernetes));
            assert.ok(real(found.sdkFiles.program.pulumi).startsWith(real(dir)), found.sdkFiles.program.pulumi);
            // The components and their children (the Kubernetes providers, the installer patches, the host's
            // kubesphere-config read, the member's Cluster on the host).
            for (const event of [
                "register:HostCluster:host",
                "register:kubernetes:host",
                "register:ClusterConfigurationPatch:host-ks-installer",
                "register:ConfigMap:host-kubesphere-config",
                "register:MemberCluster:prod",
                "register:kubernetes:prod",
                "register:ClusterConfigurationPatch:prod-ks-installer",
                "register:Cluster:prod",
            ])
                assert.ok(found.events.includes(event), `${event} missing from:\n${found.events.join("\n")}`);
            assert.deepStrictEqual(found.outputs, { clusterName: "prod", ready: true });
            assert.strictEqual(found.cluster.specIsSecret, true, "the Cluster's spec holds a kubeconfig: secret");
            assert.strictEqual(found.memberJwtSecret, JWT_SECRET, "the member takes the host's jwtSecret");
            assert.strictEqual(found.memberPatchSpecIsSecret, true, "the member's installer patch holds the jwtSecret");
            assert.deepStrictEqual(found.jwtSecretInPlaintext, [], "resources holding the jwtSecret outside a secret");
        });
    });
}
