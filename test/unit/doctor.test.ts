import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { doctor, readStackConfig } from "../../program/doctor";
import { tokenKubeconfig } from "../fixtures/kubeconfigs";
import { fakeClusterAccess } from "./pulumiMocks";

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
    kubesphereVersion: v3
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
        assert.strictEqual(diagnoses[0].findings.length, 10);
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
});
