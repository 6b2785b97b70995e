/**
 * One configuration reference (docs/configuration.md) and Pulumi.yaml's config descriptions name every key of the
 * config schema (components/config/configSchema.ts), so neither falls behind a key added to the schema.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

/** The keys of one `const <name> = z.strictObject({ … });` of the schema source, in order. */
function schemaKeys(name: string): string[] {
    const source = fs.readFileSync(path.join(REPO, "components", "config", "configSchema.ts"), "utf8");
    const start = source.indexOf(`const ${name} = z.strictObject({\n`);
    assert.ok(start >= 0, `configSchema.ts declares ${name}`);
    const body = source.slice(start, source.indexOf("\n});", start));
    return [...body.matchAll(/^ {4}(\w+):/gm)].map((match) => match[1]);
}

const HOST_KEYS = [...schemaKeys("hostFields"), ...schemaKeys("hostStackSchema")];
const MEMBER_KEYS = schemaKeys("memberSchema");

function description(key: string): string {
    const project = yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { description: string }>;
    };
    return project.config[`kubesphere-federation:${key}`].description;
}

describe("config reference and Pulumi.yaml follow the schema", () => {
    it("reads the schema's keys", () => {
        assert.ok(HOST_KEYS.includes("kubeconfig") && HOST_KEYS.includes("stackReference"), HOST_KEYS.join());
        assert.ok(MEMBER_KEYS.includes("apiServerEndpoint") && MEMBER_KEYS.length >= 12, MEMBER_KEYS.join());
    });

    it("docs/configuration.md has a row for every host and member key", () => {
        const reference = fs.readFileSync(path.join(REPO, "docs", "configuration.md"), "utf8");
        const missing = [
            ...HOST_KEYS.map((key) => `host.${key}`),
            ...MEMBER_KEYS.map((key) => `members[i].${key}`),
        ].filter((key) => !reference.includes(`| \`${key}\` |`));
        assert.deepStrictEqual(missing, []);
    });

    it("Pulumi.yaml's config descriptions name every host and member key", () => {
        const missingHost = HOST_KEYS.filter((key) => !new RegExp(`\\b${key} \\(`).test(description("host")));
        const missingMember = MEMBER_KEYS.filter((key) => !new RegExp(`\\b${key} \\(`).test(description("members")));
        assert.deepStrictEqual({ host: missingHost, members: missingMember }, { host: [], members: [] });
    });
});
