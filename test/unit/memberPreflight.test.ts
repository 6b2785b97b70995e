import * as assert from "assert";
import { PreflightInput, preflightVerdict } from "../../components/memberPreflight";
import { tokenKubeconfig } from "../fixtures/kubeconfigs";

const base: PreflightInput = {
    member: "m1",
    configKey: "members[0]",
    facts: { kubeSystemUid: "uid-m1", installerExists: true },
    requireInstaller: true,
    host: { name: "host", kubeSystemUid: "uid-host", clusters: [{ name: "m1", uid: "uid-m1" }, { name: "other", uid: "uid-other" }] },
    importKubeconfig: tokenKubeconfig("m1"),
};

describe("preflightVerdict", () => {
    it("passes a member with KubeSphere that is not imported elsewhere (its own Cluster does not count)", () => {
        assert.deepStrictEqual(preflightVerdict(base), { errors: [], warnings: [] });
    });

    it("refuses a member without ks-installer, saying KubeSphere is not installed", () => {
        const verdict = preflightVerdict({ ...base, facts: { ...base.facts, installerExists: false } });
        assert.strictEqual(verdict.errors.length, 1);
        assert.match(verdict.errors[0], /KubeSphere is not installed on member "m1": ClusterConfiguration kubesphere-system\/ks-installer was not found\. Fix: install KubeSphere/);
        assert.deepStrictEqual(preflightVerdict({ ...base, facts: { ...base.facts, installerExists: false }, requireInstaller: false }).errors, []);
    });

    it("refuses a member imported under another name", () => {
        const verdict = preflightVerdict({ ...base, facts: { ...base.facts, kubeSystemUid: "uid-other" } });
        assert.match(verdict.errors.join(), /member "m1" is already imported on the host as Cluster "other" .*MUST not import the same cluster twice.*Fix: /);
    });

    it("refuses a member that is the host itself", () => {
        const verdict = preflightVerdict({ ...base, facts: { ...base.facts, kubeSystemUid: "uid-host" } });
        assert.match(verdict.errors.join(), /member "m1" is the host cluster "host" itself.*Fix: point members\[0\]\.kubeconfig/);
    });

    it("skips the host checks when the host's kubeconfig is not available", () => {
        assert.deepStrictEqual(preflightVerdict({ ...base, host: undefined, facts: { ...base.facts, kubeSystemUid: "uid-other" } }).errors, []);
    });
});
