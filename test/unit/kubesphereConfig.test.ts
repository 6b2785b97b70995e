import * as assert from "assert";
import { isZeroDuration, parseKubesphereConfig } from "../../components/kubesphere/kubesphereConfig";
import { kubesphereYamlV3, kubesphereYamlV4 } from "../fixtures/kubeconfigs";

const SECRET = "abcdefghijklmnopqrstuvwxyz012345";

function expectError(fn: () => unknown, pattern: RegExp) {
    assert.throws(fn, (err: Error) => {
        assert.match(err.message, pattern);
        assert.match(err.message, /cluster "h1"/);
        assert.match(err.message, /Fix: /);
        assert.ok(!err.message.includes(SECRET), "the jwtSecret must never appear in a message");
        return true;
    });
}

describe("parseKubesphereConfig", () => {
    it("reads the 3.x layout (authentication.jwtSecret)", () => {
        assert.deepStrictEqual(parseKubesphereConfig("h1", { "kubesphere.yaml": kubesphereYamlV3(SECRET, "member") }), {
            jwtSecret: SECRET,
            layout: "v3",
            clusterRole: "member",
            multiclusterEnable: false,
            accessTokenMaxAge: 0,
            hostClusterName: "host",
        });
    });

    it("reads the 4.x layout (authentication.issuer.jwtSecret)", () => {
        const settings = parseKubesphereConfig("h1", { "kubesphere.yaml": kubesphereYamlV4(SECRET) });
        assert.strictEqual(settings.jwtSecret, SECRET);
        assert.strictEqual(settings.layout, "v4");
        assert.strictEqual(settings.clusterRole, "host");
    });

    it("accepts a 3.x member before 3.3 (no clusterRole)", () => {
        const settings = parseKubesphereConfig("h1", {
            "kubesphere.yaml": `authentication:\n  jwtSecret: ${SECRET}\n`,
        });
        assert.strictEqual(settings.clusterRole, undefined);
    });

    it("rejects a ConfigMap without data or without the key", () => {
        expectError(() => parseKubesphereConfig("h1", undefined), /has no "kubesphere.yaml" key/);
        expectError(() => parseKubesphereConfig("h1", { other: "x" }), /has no "kubesphere.yaml" key/);
    });

    it("rejects kubesphere.yaml without a jwtSecret", () => {
        expectError(
            () => parseKubesphereConfig("h1", { "kubesphere.yaml": "multicluster:\n  clusterRole: host\n" }),
            /has no jwtSecret/,
        );
    });

    it("rejects invalid YAML without quoting it", () => {
        expectError(
            () =>
                parseKubesphereConfig("h1", { "kubesphere.yaml": `authentication:\n  jwtSecret: "${SECRET}\n  x: [` }),
            /is not valid YAML/,
        );
    });

    it("rejects an unexpected shape without quoting values", () => {
        expectError(
            () => parseKubesphereConfig("h1", { "kubesphere.yaml": `authentication: "${SECRET}"\n` }),
            /unexpected shape at authentication/,
        );
    });

    it("reads 3.1/3.2 settings: multicluster.enable and accessTokenMaxAge", () => {
        const settings = parseKubesphereConfig("h1", {
            "kubesphere.yaml":
                "authentication:\n  jwtSecret: s\n  oauthOptions:\n    accessTokenMaxAge: 0\nmulticluster:\n  enable: true\n",
        });
        assert.deepStrictEqual(
            [settings.clusterRole, settings.multiclusterEnable, settings.accessTokenMaxAge],
            [undefined, true, 0],
        );
    });
});

describe("isZeroDuration", () => {
    it("accepts the zero durations KubeSphere writes, nothing else", () => {
        assert.deepStrictEqual([0, "0", "0s", "0h0m0s", "0.0s"].map(isZeroDuration), [true, true, true, true, true]);
        assert.deepStrictEqual([undefined, 7200, "2h", "2h0m0s", "", "0x"].map(isZeroDuration), [
            false,
            false,
            false,
            false,
            false,
            false,
        ]);
    });
});
