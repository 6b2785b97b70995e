import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { doctor, main } from "../../program/doctor";
import { readStackConfig } from "../../program/stackFiles";
import { tokenKubeconfig } from "../fixtures/kubeconfigs";
import { fakeClusterAccess, freshV3Facts } from "./pulumiMocks";

/** A project directory with Pulumi.yaml (stackConfigDir: stacks) and one stack file. */
function project(stackYaml: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-doctor-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        "name: kubesphere-federation\nruntime: nodejs\nstackConfigDir: stacks\n",
    );
    fs.writeFileSync(path.join(dir, "stacks", "Pulumi.lab.yaml"), stackYaml);
    fs.writeFileSync(path.join(dir, "host.yaml"), tokenKubeconfig("host"));
    fs.writeFileSync(path.join(dir, "m1.yaml"), tokenKubeconfig("m1"));
    return dir;
}

const STACK = `config:
  kubesphere-federation:host:
    name: host
    kubesphereMajor: v3
    kubeconfig: { path: host.yaml }
  kubesphere-federation:members:
    - { name: m1, provider: kubeadm, kubeconfig: { path: m1.yaml } }
    - { name: m2, provider: generic, kubeconfig: { stackReference: acme/clusters/prod, output: kubeconfig } }
`;

describe("npm run doctor (program/doctor.ts)", () => {
    it("reads the stack file through the program's config parser", () => {
        const dir = project(STACK);
        assert.deepStrictEqual(
            readStackConfig(dir, "lab").members.map((member) => member.name),
            ["m1", "m2"],
        );
        assert.throws(
            () => readStackConfig(dir, "nope"),
            /stack file .*Pulumi\.nope\.yaml does not exist\. Fix: pass --stack/,
        );
        fs.writeFileSync(
            path.join(dir, "stacks", "Pulumi.bad.yaml"),
            "config:\n  kubesphere-federation:host: { kubeconfig: { path: host.yaml } }\n  kubesphere-federation:members: [{ name: Bad_Name, provider: x, kubeconfig: { path: m1.yaml } }]\n",
        );
        assert.throws(() => readStackConfig(dir, "bad"), /members\[0\]\.name/);
    });

    it("diagnoses each member read-only; a member from another stack is not checked, with the reason", async () => {
        const dir = project(STACK);
        const writes: string[] = [];
        const diagnoses = await doctor(
            dir,
            "lab",
            fakeClusterAccess({
                readClusterObject: async () => undefined,
                memberInstallerReader: () => async () => (writes.push("read"), {}),
            }),
        );
        assert.deepStrictEqual(
            diagnoses.map((diagnosis) => diagnosis.member),
            ["m1", "m2"],
        );
        assert.strictEqual(diagnoses[0].findings.length, 12);
        assert.strictEqual(
            diagnoses[0].cause,
            undefined,
            "a member not imported yet has nothing failing: " +
                JSON.stringify(diagnoses[0].findings.filter((found) => found.verdict === "fail")),
        );
        assert.match(
            diagnoses[1].findings[0].evidence,
            /members\[1\]\.kubeconfig: an output of stack acme\/clusters\/prod can only be read by a Pulumi program/,
        );
        assert.deepStrictEqual(writes, [], "the doctor does not run the installer wait");
    });

    describe("a member stack (host: { stackReference })", () => {
        const HOST_STACK = "acme/kubesphere-federation/fleet-host";
        const MEMBER_STACK = `config:
  kubesphere-federation:host:
    stackReference: ${HOST_STACK}
  kubesphere-federation:members:
    - { name: m1, provider: kubeadm, kubeconfig: { path: m1.yaml } }
`;
        const memberProject = () => {
            const dir = project(MEMBER_STACK);
            fs.writeFileSync(path.join(dir, "stacks", "Pulumi.members-a.yaml"), MEMBER_STACK);
            return dir;
        };
        const hostOutput = {
            name: "fleet-host",
            kubeconfig: tokenKubeconfig("fleet-host"),
            jwtSecret: "x".repeat(32),
            kubesphereVersion: "v3",
            detectedKubesphereVersion: "v3.4.1",
        };

        it("reads the host from the host stack's federationHost output with the Pulumi CLI, then diagnoses", async () => {
            const dir = memberProject();
            const asked: string[] = [];
            const readHosts: string[] = [];
            const diagnoses = await doctor(
                dir,
                "members-a",
                fakeClusterAccess({
                    readClusterObject: async () => undefined,
                    readClusterFacts: async (cluster, kubeconfig) => {
                        if (cluster === "fleet-host") readHosts.push(kubeconfig.yaml);
                        return freshV3Facts(cluster);
                    },
                }),
                (stack, output, cwd) => {
                    asked.push(`${stack} ${output} ${cwd}`);
                    return JSON.stringify(hostOutput);
                },
            );
            assert.deepStrictEqual(asked, [`${HOST_STACK} federationHost ${dir}`]);
            assert.deepStrictEqual(
                diagnoses.map((diagnosis) => diagnosis.member),
                ["m1"],
            );
            assert.strictEqual(diagnoses[0].findings.length, 12, "every check ran, the host side too");
            assert.strictEqual(diagnoses[0].cause, undefined, JSON.stringify(diagnoses[0].findings));
            assert.ok(readHosts.length > 0, "the host was read with the host stack's kubeconfig");
            assert.ok(readHosts.every((kubeconfig) => kubeconfig.includes("fleet-host")));
        });

        it("fails with what it needs when the host stack's output cannot be read, or is not a host stack's", async () => {
            const dir = memberProject();
            const cliFailure = Object.assign(new Error("Command failed: pulumi stack output"), {
                stderr: "error: no stack named 'acme/kubesphere-federation/fleet-host' found\n",
            });
            await assert.rejects(
                () =>
                    doctor(dir, "members-a", fakeClusterAccess(), () => {
                        throw cliFailure;
                    }),
                /^FederationConfigError: kubesphere-federation:host\.stackReference: the doctor reads the host from output "federationHost" of stack acme\/kubesphere-federation\/fleet-host with the Pulumi CLI \(`pulumi stack output --stack acme\/kubesphere-federation\/fleet-host --show-secrets --json federationHost`\), which failed: error: no stack named 'acme\/kubesphere-federation\/fleet-host' found\. Fix: install the Pulumi CLI, `pulumi login` to the backend that holds stack acme\/kubesphere-federation\/fleet-host/,
            );
            await assert.rejects(
                () => doctor(dir, "members-a", fakeClusterAccess(), () => JSON.stringify({ name: "fleet-host" })),
                /host\.stackReference: output "federationHost" of stack acme\/kubesphere-federation\/fleet-host is a mapping without kubeconfig, jwtSecret, kubesphereMajor, detectedKubesphereVersion, not a host stack's output\. Fix: /,
            );
        });

        it("the CLI exits 2 with that message, no stack trace", async () => {
            const dir = memberProject();
            const stderr: string[] = [];
            const write = process.stderr.write;
            process.stderr.write = ((text: string) => (stderr.push(text), true)) as typeof process.stderr.write;
            const previousPath = process.env.PATH;
            // No Pulumi CLI on PATH: the default reader fails, and the doctor says what it needs.
            process.env.PATH = path.join(dir, "no-bin");
            let code: number;
            try {
                code = await main(["--stack", "members-a", "--dir", dir]);
            } finally {
                process.env.PATH = previousPath;
                process.stderr.write = write;
            }
            assert.strictEqual(code, 2);
            assert.match(
                stderr.join(""),
                /^kubesphere-federation:host\.stackReference: the doctor reads the host .*ENOENT.*Fix: install the Pulumi CLI/,
            );
            assert.ok(!stderr.join("").includes("    at "), "no stack trace");
        });
    });
});
