import * as assert from "assert";
import {
    describeInstall,
    failsWithoutClientCertificate,
    FIXED_HOST_ENTRY_NAME,
    hasHostClusterNameOption,
    ksCoreConfigHash,
    oauthOptionsReplaceMemberDefault,
    parseKubesphereRelease,
    rendersNoMemberRole,
} from "../../components/kubesphere/kubesphereVersion";

describe("KubeSphere versions", () => {
    it("parses the versions KubeSphere writes, and nothing else", () => {
        assert.deepStrictEqual(parseKubesphereRelease("v3.4.1"), { major: 3, minor: 4, patch: 1, text: "v3.4.1" });
        assert.deepStrictEqual(parseKubesphereRelease("3.3.2"), { major: 3, minor: 3, patch: 2, text: "3.3.2" });
        assert.deepStrictEqual(parseKubesphereRelease("v3.2"), { major: 3, minor: 2, patch: 0, text: "v3.2" });
        assert.deepStrictEqual(parseKubesphereRelease("v4.1.3-rc.0"), {
            major: 4,
            minor: 1,
            patch: 3,
            text: "v4.1.3-rc.0",
        });
        for (const text of [undefined, "", "latest", "v3", "3.x"])
            assert.strictEqual(parseKubesphereRelease(text), undefined, String(text));
    });

    it("knows which releases break token kubeconfigs (3.3.0–3.3.2) and which render no member role (3.1/3.2)", () => {
        const at = (text: string) => parseKubesphereRelease(text);
        assert.deepStrictEqual(
            ["v3.2.1", "v3.3.0", "v3.3.1", "v3.3.2", "v3.3.3", "v3.4.0", "v4.1.3"].map((v) =>
                failsWithoutClientCertificate(at(v)),
            ),
            [false, true, true, true, false, false, false],
        );
        assert.strictEqual(failsWithoutClientCertificate(undefined), false);
        assert.deepStrictEqual(
            ["v3.1.1", "v3.2.1", "v3.3.0", "v3.4.1", "v4.1.3"].map((v) => rendersNoMemberRole(at(v))),
            [true, true, false, false, false],
        );
        assert.strictEqual(rendersNoMemberRole(undefined), false);
    });

    it('knows which releases have no hostClusterName option (3.1 and older; the host entry is always "host")', () => {
        assert.deepStrictEqual(
            ["v3.0.0", "v3.1.1", "v3.2.1", "v3.4.1", "v4.1.3"].map((v) =>
                hasHostClusterNameOption(parseKubesphereRelease(v)),
            ),
            [false, false, true, true, true],
        );
        assert.strictEqual(hasHostClusterNameOption(undefined), true, "an unknown 3.x release is taken to be 3.2+");
        assert.strictEqual(FIXED_HOST_ENTRY_NAME, "host");
        assert.deepStrictEqual(
            ["v3.1.1", "v3.2.1", "v4.1.3"].map((v) => oauthOptionsReplaceMemberDefault(parseKubesphereRelease(v))),
            [true, false, false],
        );
        assert.strictEqual(oauthOptionsReplaceMemberDefault(undefined), false);
    });

    it("describes an install for messages and exports", () => {
        assert.strictEqual(describeInstall({ kind: "v3", release: parseKubesphereRelease("v3.4.1") }), "v3.4.1");
        assert.match(describeInstall({ kind: "v3" }), /^3\.x \(ks-installer reports no status\.core\.version yet\)$/);
        assert.strictEqual(describeInstall({ kind: "v4" }), "4.x");
        assert.strictEqual(describeInstall({ kind: "none" }), "none");
    });

    it("hashes spec.config like KubeSphere 4.x: FNV-1a 64, hex, 16 digits", () => {
        // The FNV-1a 64-bit reference vectors (offset basis for the empty input).
        assert.strictEqual(ksCoreConfigHash(new Uint8Array()), "cbf29ce484222325");
        assert.strictEqual(ksCoreConfigHash(Buffer.from("a")), "af63dc4c8601ec8c");
        assert.strictEqual(ksCoreConfigHash(Buffer.from("foobar")), "85944171f73967e8");
        assert.match(ksCoreConfigHash(Buffer.from("cloud:\n  enabled: false\n")), /^[0-9a-f]{16}$/);
    });
});
