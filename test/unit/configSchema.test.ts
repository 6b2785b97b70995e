import * as assert from "assert";
import {
    DEPRECATED_KUBESPHERE_VERSION_WARNING,
    DEFAULT_READY_TIMEOUT_SECONDS,
    FederationConfig,
    HostConfig,
    parseFederationConfig,
} from "../../components/config/configSchema";
import { FederationConfigError, FederationConfigErrors } from "../../components/config/errors";

const kubeconfig = { path: "~/.kube/config" };
const host = { name: "host", kubeconfig };
const member = (name: string, extra: Record<string, unknown> = {}) => ({ name, provider: "ack", kubeconfig, ...extra });

/** The host of a host or single stack (not a member stack's `{ stackReference }`). */
function ownHost(config: FederationConfig): HostConfig {
    assert.ok(!("stackReference" in config.host), "a host with its own kubeconfig");
    return config.host as HostConfig;
}

/** Asserts that parsing throws problems for exactly these keys, each message matching its pattern. */
function assertProblems(raw: { host: unknown; members: unknown }, expected: Array<[string, RegExp]>) {
    let caught: unknown;
    try {
        parseFederationConfig(raw);
    } catch (err) {
        caught = err;
    }
    const problems = caught instanceof FederationConfigErrors ? caught.problems : [caught];
    assert.ok(
        problems.every((problem) => problem instanceof FederationConfigError),
        `unexpected error: ${caught}`,
    );
    const found = (problems as FederationConfigError[]).map((problem) => [problem.key, problem.message] as const);
    assert.deepStrictEqual(
        found.map(([key]) => key),
        expected.map(([key]) => key),
    );
    found.forEach(([key, message], index) => {
        assert.match(message, expected[index][1], `message for ${key}`);
        assert.match(message, /Fix: /, `message for ${key} says what to do`);
        assert.ok(message.startsWith(`kubesphere-federation:${key}: `), message);
    });
}

describe("parseFederationConfig", () => {
    it("accepts a host with three members and fills defaults", () => {
        const config = parseFederationConfig({
            host: { kubeconfig },
            members: [
                member("ack-prod"),
                member("eks.staging", { provider: "eks", group: "staging" }),
                member("lab1", { provider: "kubeadm", description: "Lab" }),
            ],
        });
        assert.strictEqual(ownHost(config).name, "host");
        assert.strictEqual(
            ownHost(config).installerTimeoutSeconds,
            1800,
            "the host may take the installer's 30-minute kubefed install",
        );
        assert.strictEqual(
            (
                parseFederationConfig({ host: { kubeconfig, installerTimeoutSeconds: 60 }, members: [] })
                    .host as HostConfig
            ).installerTimeoutSeconds,
            60,
        );
        assert.throws(
            () => parseFederationConfig({ host: { kubeconfig, installerTimeoutSeconds: 0 }, members: [] }),
            /host\.installerTimeoutSeconds: must be positive/,
        );
        assert.deepStrictEqual(
            config.members.map((m) => m.name),
            ["ack-prod", "eks.staging", "lab1"],
        );
        assert.strictEqual(config.members[0].readyTimeoutSeconds, DEFAULT_READY_TIMEOUT_SECONDS);
        assert.strictEqual(config.members[1].group, "staging");
    });

    it("accepts an empty or missing members list (host only)", () => {
        assert.deepStrictEqual(parseFederationConfig({ host, members: [] }).members, []);
        assert.deepStrictEqual(parseFederationConfig({ host, members: undefined }).members, []);
    });

    it("accepts each kubeconfig form", () => {
        const config = parseFederationConfig({
            host: { name: "h", kubeconfig: { secretConfig: "hostKubeconfig" } },
            members: [
                member("a", { kubeconfig: { path: "/tmp/a.yaml", context: "admin@a" } }),
                member("b", { kubeconfig: { stackReference: "acme/clusters/prod", output: "kubeconfig" } }),
            ],
        });
        assert.deepStrictEqual(ownHost(config).kubeconfig, { secretConfig: "hostKubeconfig" });
        assert.deepStrictEqual(config.members[0].kubeconfig, { path: "/tmp/a.yaml", context: "admin@a" });
        assert.deepStrictEqual(config.members[1].kubeconfig, {
            stackReference: "acme/clusters/prod",
            output: "kubeconfig",
        });
    });

    it("requires the host", () => {
        assertProblems({ host: undefined, members: [] }, [["host", /is not set/]]);
    });

    it("rejects invalid host and member names, naming the key and the value", () => {
        assertProblems(
            { host: { name: "Host_1", kubeconfig }, members: [member("ok"), member("-bad"), member("UPPER")] },
            [
                ["host.name", /"Host_1" is not a valid cluster name/],
                ["members[1].name", /"-bad" is not a valid cluster name/],
                ["members[2].name", /"UPPER" is not a valid cluster name/],
            ],
        );
    });

    it("rejects a name that ends with a dot or dash, or is too long", () => {
        assertProblems({ host, members: [member("a."), member("a".repeat(64))] }, [
            ["members[0].name", /"a\." is not a valid cluster name/],
            ["members[1].name", /longer than 63/],
        ]);
    });

    it("rejects duplicate member names", () => {
        assertProblems({ host, members: [member("m1"), member("m2"), member("m1")] }, [
            ["members[2].name", /also the name of members\[0\]/],
        ]);
    });

    it("rejects a member named like the host", () => {
        assertProblems({ host: { name: "main", kubeconfig }, members: [member("main")] }, [
            ["members[0].name", /is the host's name/],
        ]);
    });

    it("rejects an unknown provider and lists the known ones", () => {
        assertProblems({ host, members: [member("m1", { provider: "gke" })] }, [
            ["members[0].provider", /unknown provider "gke".*ack, eks, kubeadm, generic/],
        ]);
    });

    it("rejects a missing or malformed kubeconfig source", () => {
        assertProblems(
            {
                host: { name: "host" },
                members: [member("m1", { kubeconfig: { file: "x" } }), member("m2", { kubeconfig: { path: "" } })],
            },
            [
                ["host.kubeconfig", /expected one of \{ path, context\? \}.*found nothing/],
                ["members[0].kubeconfig", /found an object with keys \["file"\]/],
                ["members[1].kubeconfig.path", /is empty/],
            ],
        );
    });

    it("rejects unknown keys and a stackReference without output", () => {
        assertProblems(
            {
                host,
                members: [member("m1", { colour: "red" }), member("m2", { kubeconfig: { stackReference: "a/b/c" } })],
            },
            [
                ["members[0]", /unknown key\(s\) "colour"/],
                ["members[1].kubeconfig.output", /expected an output name, found nothing/],
            ],
        );
    });

    it("rejects a group that is not a label value and a non-numeric timeout", () => {
        assertProblems(
            { host, members: [member("m1", { group: "prod team" }), member("m2", { readyTimeoutSeconds: "10m" })] },
            [
                ["members[0].group", /"prod team" is not a valid label value/],
                ["members[1].readyTimeoutSeconds", /expected a number of seconds, found "10m"/],
            ],
        );
    });

    it("accepts the real-world member options and the host's KubeSphere major version", () => {
        const config = parseFederationConfig({
            host: { kubeconfig, kubesphereMajor: "v4" },
            members: [
                member("m1", {
                    credentials: "serviceAccount",
                    credentialsRevision: 2,
                    apiServerEndpoint: "https://203.0.113.10:6443",
                    ksCoreValues: { a: 1 },
                }),
            ],
        });
        assert.strictEqual(ownHost(config).kubesphereMajor, "v4");
        assert.strictEqual(ownHost(config).warnings, undefined);
        assert.strictEqual(config.members[0].credentials, "serviceAccount");
        assert.strictEqual(config.members[0].credentialsRevision, 2);
        assert.strictEqual(ownHost(parseFederationConfig({ host, members: [member("m1")] })).kubesphereMajor, "auto");
        assert.strictEqual(
            parseFederationConfig({ host, members: [member("m1")] }).members[0].credentials,
            undefined,
            "chosen later from the kubeconfig",
        );
    });

    it("reads host.kubesphereVersion, the old name of host.kubesphereMajor, with a warning naming the new key", () => {
        const config = parseFederationConfig({ host: { kubeconfig, kubesphereVersion: "v3" }, members: [] });
        assert.strictEqual(ownHost(config).kubesphereMajor, "v3");
        assert.deepStrictEqual(ownHost(config).warnings, [DEPRECATED_KUBESPHERE_VERSION_WARNING]);
        assert.match(
            DEPRECATED_KUBESPHERE_VERSION_WARNING,
            /host\.kubesphereVersion is deprecated.*host\.kubesphereMajor/,
        );
        // Both, agreeing: read; disagreeing: refused, naming the old key.
        const both = parseFederationConfig({
            host: { kubeconfig, kubesphereMajor: "v4", kubesphereVersion: "v4" },
            members: [],
        });
        assert.strictEqual(ownHost(both).kubesphereMajor, "v4");
        assertProblems({ host: { kubeconfig, kubesphereMajor: "v4", kubesphereVersion: "v3" }, members: [] }, [
            ["host.kubesphereVersion", /is v3, but host\.kubesphereMajor is v4.*Fix: remove host\.kubesphereVersion/],
        ]);
    });

    it("rejects bad real-world member options", () => {
        assertProblems(
            {
                host: { kubeconfig, kubesphereMajor: "5" },
                members: [
                    member("m1", {
                        credentials: "token",
                        credentialsRevision: 0,
                        apiServerEndpoint: "http://192.0.2.1:6443/api",
                        ksCoreValues: "x",
                    }),
                ],
            },
            [
                ["host.kubesphereMajor", /unknown version "5"\. Fix: use v3, v4 or auto/],
                ["members[0].credentials", /unknown credentials "token"\. Fix: use kubeconfig or serviceAccount/],
                ["members[0].credentialsRevision", /must be 1 or more, found 0/],
                ["members[0].ksCoreValues", /expected a mapping of Helm values/],
                [
                    "members[0].apiServerEndpoint",
                    /"http:\/\/192\.0\.2\.1:6443\/api" is not an https:\/\/host\[:port\] URL/,
                ],
            ],
        );
    });

    it("accepts agent members and the host's proxy address; connection defaults to direct", () => {
        const config = parseFederationConfig({
            host: { kubeconfig, agentProxyAddress: "http://203.0.113.10:30880" },
            members: [member("edge1", { connection: "agent", credentialsRevision: 2 }), member("ack-prod")],
        });
        assert.strictEqual(ownHost(config).agentProxyAddress, "http://203.0.113.10:30880");
        assert.deepStrictEqual(
            config.members.map((m) => m.connection),
            ["agent", "direct"],
        );
        assert.strictEqual(config.members[0].credentialsRevision, 2);
    });

    it("rejects a bad connection, a proxy address that is not a URL, and direct-only keys on agent members", () => {
        assertProblems(
            {
                host: { kubeconfig, agentProxyAddress: "203.0.113.10:30880" },
                members: [member("m1", { connection: "tunnel" })],
            },
            [
                ["host.agentProxyAddress", /"203\.0\.113\.10:30880" is not an http\(s\):\/\/host\[:port\] URL/],
                ["members[0].connection", /unknown connection "tunnel"\. Fix: use direct \(the default\) or agent/],
            ],
        );
        assertProblems(
            {
                host,
                members: [
                    member("m1"),
                    member("m2", {
                        connection: "agent",
                        credentials: "kubeconfig",
                        apiServerEndpoint: "https://203.0.113.10:6443",
                    }),
                ],
            },
            [
                [
                    "members[1].credentials",
                    /does not apply to an agent member.*credentialsRevision rotates the agent's token/,
                ],
                ["members[1].apiServerEndpoint", /does not apply to an agent member/],
            ],
        );
    });

    it("rejects a description that is not text, saying what it found", () => {
        assertProblems({ host, members: [member("m1", { description: 42 })] }, [
            ["members[0].description", /expected text, found 42\. Fix: quote the description/],
        ]);
    });

    it("rejects members that are not a list", () => {
        assertProblems({ host, members: { name: "m1" } }, [["members", /expected a list of members/]]);
    });

    describe("member stacks (host.stackReference)", () => {
        it("accepts a host taken from the host stack, and members", () => {
            const config = parseFederationConfig({
                host: { stackReference: "organization/kubesphere-federation/fleet-host" },
                members: [member("m1")],
            });
            assert.deepStrictEqual(config.host, { stackReference: "organization/kubesphere-federation/fleet-host" });
            assert.strictEqual(config.members[0].name, "m1");
        });

        it("refuses host keys next to stackReference: the host stack owns them", () => {
            assertProblems({ host: { stackReference: "o/p/host", kubeconfig, name: "h" }, members: [] }, [
                [
                    "host",
                    /unknown key\(s\) "kubeconfig", "name" next to host\.stackReference.*set them in the host stack/,
                ],
            ]);
        });

        it("refuses an empty or non-text stack name", () => {
            assertProblems({ host: { stackReference: "" }, members: [] }, [
                ["host.stackReference", /is empty.*fully qualified/],
            ]);
            assertProblems({ host: { stackReference: 3 }, members: [] }, [
                ["host.stackReference", /expected a stack name, found 3/],
            ]);
        });

        it("leaves the host-name clash to the program, which knows the host's name once it read the reference", () => {
            const config = parseFederationConfig({ host: { stackReference: "o/p/host" }, members: [member("host")] });
            assert.strictEqual(config.members[0].name, "host");
        });
    });
});
