import * as assert from "assert";
import * as yaml from "js-yaml";
import * as path from "path";
import { FederationConfigError } from "../../components/config/errors";
import * as pulumi from "@pulumi/pulumi";
import {
    expandPath,
    parseKubeconfig,
    readKubeconfigFile,
    resolveKubeconfig,
    withServer,
} from "../../components/kubernetes/kubeconfig";
import { execKubeconfig, tokenFor, tokenKubeconfig } from "../fixtures/kubeconfigs";

const origin = { key: "members[2].kubeconfig", description: "file /k/member.yaml", baseDir: "/k" };

/** A fake file system: path -> content. Reading anything else fails like fs.readFileSync does. */
function files(contents: Record<string, string>) {
    return (filePath: string): Buffer => {
        if (!(filePath in contents)) {
            throw Object.assign(new Error(`ENOENT: ${filePath}`), { code: "ENOENT" });
        }
        return Buffer.from(contents[filePath]);
    };
}
const noFiles = files({});

function expectConfigError(fn: () => unknown, key: string, pattern: RegExp): FederationConfigError {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof FederationConfigError, `expected FederationConfigError, got ${err}`);
        assert.strictEqual(err.key, key);
        assert.match(err.message, pattern);
        assert.match(err.message, /Fix: /);
        return err;
    }
    assert.fail("expected an error");
}

const twoContexts = yaml.dump({
    "current-context": "a",
    clusters: [
        { name: "a", cluster: { server: "https://a:6443" } },
        { name: "b", cluster: { server: "https://b:6443", "certificate-authority": "ca.crt" } },
    ],
    contexts: [
        { name: "a", context: { cluster: "a", user: "ua" } },
        { name: "b", context: { cluster: "b", user: "ub" } },
        { name: "broken-cluster", context: { cluster: "nope", user: "ua" } },
        { name: "broken-user", context: { cluster: "a", user: "nobody" } },
    ],
    users: [
        { name: "ua", user: { token: "secret-token-a" } },
        { name: "ub", user: { "client-certificate": "/certs/b.crt", "client-key": "b.key", tokenFile: "tok" } },
    ],
});

describe("expandPath", () => {
    it("expands ~ and resolves relative paths", () => {
        assert.strictEqual(expandPath("~/.kube/config", "/work", "/home/me"), "/home/me/.kube/config");
        assert.strictEqual(expandPath("~", "/work", "/home/me"), "/home/me");
        assert.strictEqual(expandPath("kc/a.yaml", "/work", "/home/me"), "/work/kc/a.yaml");
        assert.strictEqual(expandPath("/abs.yaml", "/work", "/home/me"), "/abs.yaml");
    });
});

describe("resolveKubeconfig", () => {
    it("keeps only the current context, its cluster and user", () => {
        const resolved = resolveKubeconfig(twoContexts, undefined, origin, noFiles);
        const doc = yaml.load(resolved.yaml) as any;
        assert.strictEqual(resolved.context, "a");
        assert.strictEqual(resolved.server, "https://a:6443");
        assert.strictEqual(resolved.authMethod, "token");
        assert.strictEqual(doc["current-context"], "a");
        assert.deepStrictEqual(
            doc.clusters.map((c: any) => c.name),
            ["a"],
        );
        assert.deepStrictEqual(doc.users, [{ name: "ua", user: { token: "secret-token-a" } }]);
        assert.ok(!resolved.yaml.includes("https://b:6443"), "other contexts' clusters are dropped");
    });

    it("selects a named context and inlines the files it refers to, relative to the kubeconfig", () => {
        const read = files({ "/k/ca.crt": "CA", "/certs/b.crt": "CERT", "/k/b.key": "KEY", "/k/tok": "file-token\n" });
        const resolved = resolveKubeconfig(twoContexts, "b", origin, read);
        const doc = yaml.load(resolved.yaml) as any;
        assert.strictEqual(doc["current-context"], "b");
        assert.strictEqual(doc.clusters[0].cluster["certificate-authority-data"], Buffer.from("CA").toString("base64"));
        assert.strictEqual(doc.clusters[0].cluster["certificate-authority"], undefined);
        assert.deepStrictEqual(doc.users[0].user, {
            "client-certificate-data": Buffer.from("CERT").toString("base64"),
            "client-key-data": Buffer.from("KEY").toString("base64"),
            token: "file-token",
        });
        assert.strictEqual(resolved.authMethod, "token");
    });

    it("classifies exec-plugin users", () => {
        assert.strictEqual(resolveKubeconfig(execKubeconfig("eks1"), undefined, origin, noFiles).authMethod, "exec");
    });

    it("rejects text that is not YAML without quoting it", () => {
        const err = expectConfigError(
            () =>
                resolveKubeconfig(`users:\n  - name: u\n    user: {token: "leaky-token"\n`, undefined, origin, noFiles),
            "members[2].kubeconfig",
            /file \/k\/member.yaml is not valid YAML .*line \d+/,
        );
        assert.ok(!err.message.includes("leaky-token"), "the message must not quote the file");
    });

    it("rejects YAML that is not a kubeconfig", () => {
        expectConfigError(
            () => resolveKubeconfig("just a string", undefined, origin, noFiles),
            "members[2].kubeconfig",
            /is not a kubeconfig/,
        );
        expectConfigError(
            () => resolveKubeconfig("", undefined, origin, noFiles),
            "members[2].kubeconfig",
            /empty document/,
        );
    });

    it("rejects a kubeconfig without current-context and lists the contexts", () => {
        const text = twoContexts.replace(/current-context: a\n/, "");
        expectConfigError(
            () => resolveKubeconfig(text, undefined, origin, noFiles),
            "members[2].kubeconfig",
            /has no current-context.*"a", "b"/,
        );
    });

    it("rejects a context that does not exist", () => {
        expectConfigError(
            () => resolveKubeconfig(twoContexts, "c", origin, noFiles),
            "members[2].kubeconfig.context",
            /has no context "c"/,
        );
    });

    it("rejects a context whose cluster or user is missing", () => {
        expectConfigError(
            () => resolveKubeconfig(twoContexts, "broken-cluster", origin, noFiles),
            "members[2].kubeconfig.context",
            /names cluster "nope", which is not in its clusters \("a", "b"\)/,
        );
        expectConfigError(
            () => resolveKubeconfig(twoContexts, "broken-user", origin, noFiles),
            "members[2].kubeconfig.context",
            /names user "nobody", which is not in its users/,
        );
    });

    it("rejects a current-context whose cluster is missing, naming the kubeconfig key", () => {
        const text = twoContexts.replace("current-context: a", "current-context: broken-cluster");
        expectConfigError(
            () => resolveKubeconfig(text, undefined, origin, noFiles),
            "members[2].kubeconfig",
            /names cluster "nope"/,
        );
    });

    it("rejects a cluster without a server URL", () => {
        const text = yaml.dump({
            "current-context": "x",
            clusters: [{ name: "x", cluster: {} }],
            contexts: [{ name: "x", context: { cluster: "x", user: "u" } }],
            users: [{ name: "u", user: {} }],
        });
        expectConfigError(
            () => resolveKubeconfig(text, undefined, origin, noFiles),
            "members[2].kubeconfig",
            /has no https:\/\/ server URL/,
        );
    });

    it("rejects a referenced file that cannot be read", () => {
        expectConfigError(
            () => resolveKubeconfig(twoContexts, "b", origin, noFiles),
            "members[2].kubeconfig",
            /refers to certificate-authority \/k\/ca.crt, which cannot be read \(ENOENT\)/,
        );
    });
});

describe("readKubeconfigFile", () => {
    it("reads a file, expanding the path against cwd", () => {
        const read = files({ "/work/kc/m.yaml": tokenKubeconfig("m") });
        const resolved = readKubeconfigFile({ path: "kc/m.yaml" }, "members[0].kubeconfig", read, "/work");
        assert.strictEqual(resolved.server, "https://m.example.com:6443");
        assert.ok(resolved.yaml.includes(tokenFor("m")));
    });

    it("rejects a file that does not exist, naming the path key", () => {
        expectConfigError(
            () => readKubeconfigFile({ path: "~/missing.yaml" }, "members[2].kubeconfig", noFiles, "/work"),
            "members[2].kubeconfig.path",
            new RegExp(`file ${path.join(require("os").homedir(), "missing.yaml")} does not exist`),
        );
    });
});

describe("withServer", () => {
    it("replaces the server and keeps the credentials", () => {
        const resolved = resolveKubeconfig(tokenKubeconfig("m"), undefined, origin, noFiles);
        const doc = yaml.load(withServer(resolved, "https://192.0.2.1:6443").yaml) as any;
        assert.strictEqual(doc.clusters[0].cluster.server, "https://192.0.2.1:6443");
        assert.strictEqual(doc.users[0].user.token, tokenFor("m"));
    });
});

describe("parseKubeconfig (parse once, pass the parsed result on)", () => {
    it("reads server, CA, auth method and certificate of the current context from one parse", () => {
        const parsed = parseKubeconfig(tokenKubeconfig("m1"));
        assert.strictEqual(parsed.server, "https://m1.example.com:6443");
        assert.strictEqual(parsed.caData, Buffer.from("ca-of-m1").toString("base64"));
        assert.strictEqual(parsed.authMethod, "token");
        assert.strictEqual(parsed.hasToken, true);
        assert.strictEqual(parsed.clientCertificateData, undefined);
        assert.strictEqual(parsed.yaml, tokenKubeconfig("m1"));
        assert.strictEqual(parseKubeconfig(execKubeconfig("eks")).authMethod, "exec");
    });

    it("rejects text that is no kubeconfig without quoting it, naming the key", () => {
        expectConfigError(
            () =>
                parseKubeconfig(`token: ${tokenFor("m1")}`, `the kubeconfig of member "m1"`, "members[m1].kubeconfig"),
            "members[m1].kubeconfig",
            /the kubeconfig of member "m1" has no current-context/,
        );
        const err = expectConfigError(() => parseKubeconfig("a: [b"), "kubeconfig", /is not valid YAML/);
        assert.ok(!err.message.includes("a: [b"));
    });

    it("is plain data: it passes through pulumi.all (which copies objects) unchanged", async () => {
        const parsed = parseKubeconfig(tokenKubeconfig("m1"));
        const copied = await new Promise((resolve) =>
            pulumi.all([pulumi.output(parsed), pulumi.output(1)]).apply(([value]) => resolve(value)),
        );
        assert.deepStrictEqual(copied, parsed);
    });
});
