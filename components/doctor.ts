/**
 * `npm run doctor -- --stack <stack>`: per member, every diagnosis check (components/diagnosis.ts) and its verdict, as
 * a table, from the stack's config, read-only. The stack file is read the way Pulumi reads it
 * (`<stackConfigDir>/Pulumi.<stack>.yaml`, validated by the program's own config parser); kubeconfig `path` sources
 * are read as the program reads them; `secretConfig` values are decrypted by the Pulumi CLI
 * (`pulumi config get --stack <stack> <key>`: the stack file holds only ciphertext); `stackReference` sources cannot be
 * read without running a Pulumi program, so those members are reported as not checked.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { FederationConfig, KubeconfigSource, parseFederationConfig } from "./configSchema";
import { diagnose, Diagnosis, Finding, formatTable, readDiagnosisFacts } from "./diagnosis";
import { defaultImportCredentials } from "./importCredentials";
import { ClusterAccess, liveClusterAccess } from "./kubeClient";
import { readKubeconfigFile, resolveKubeconfig, ResolvedKubeconfig, withServer } from "./kubeconfig";

const PROJECT = "kubesphere-federation";

/** The stack's federation config, from `<projectDir>/<stackConfigDir>/Pulumi.<stack>.yaml`. */
export function readStackConfig(projectDir: string, stack: string): FederationConfig {
    const project = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { stackConfigDir?: string };
    const file = path.join(projectDir, project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`stack file ${file} does not exist. Fix: pass --stack with the name of a stack file in ${path.dirname(file)}`);
    const config = ((yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined)?.config ?? {}) as Record<string, unknown>;
    return parseFederationConfig({ host: config[`${PROJECT}:host`], members: config[`${PROJECT}:members`] });
}

/** Resolves one kubeconfig source as the program does; undefined (with why) for what only a Pulumi program can read. */
function resolveSource(source: KubeconfigSource, key: string, projectDir: string, stack: string): ResolvedKubeconfig | string {
    if ("path" in source) return readKubeconfigFile(source, key, (file) => fs.readFileSync(file), projectDir);
    if ("secretConfig" in source) {
        let text: string;
        try {
            text = execFileSync("pulumi", ["config", "get", "--stack", stack, source.secretConfig], { cwd: projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch {
            return `${key}.secretConfig: the Pulumi CLI could not decrypt "${source.secretConfig}" (run \`pulumi login\` and \`pulumi stack select ${stack}\` first)`;
        }
        return resolveKubeconfig(text, source.context, { key, description: `secret config value "${source.secretConfig}"`, baseDir: projectDir }, (file) => fs.readFileSync(file));
    }
    return `${key}: an output of stack ${source.stackReference} can only be read by a Pulumi program (run \`pulumi preview\`)`;
}

function notChecked(member: string, why: string): Diagnosis {
    const finding: Finding = { check: "preflight", title: "versions and pre-flight", verdict: "skip", evidence: why };
    return { member, findings: [finding] };
}

/** Diagnoses every member of the stack; reads only. */
export async function doctor(projectDir: string, stack: string, access: ClusterAccess = liveClusterAccess): Promise<Diagnosis[]> {
    const config = readStackConfig(projectDir, stack);
    const host = resolveSource(config.host.kubeconfig, "host.kubeconfig", projectDir, stack);
    const hostKubeconfig = typeof host === "string" ? undefined : host.yaml;
    const hostMajor =
        config.host.kubesphereVersion !== "auto" ? config.host.kubesphereVersion : hostKubeconfig === undefined ? "v3" : await access.readKubesphereLayout(config.host.name, hostKubeconfig);
    return Promise.all(
        config.members.map(async (member, index) => {
            const configKey = `members[${index}]`;
            const resolved = resolveSource(member.kubeconfig, `${configKey}.kubeconfig`, projectDir, stack);
            if (typeof resolved === "string") return notChecked(member.name, resolved);
            const credentials = member.credentials ?? defaultImportCredentials(resolved.authMethod, hostMajor);
            const importKubeconfig = credentials !== "kubeconfig" ? undefined : member.apiServerEndpoint === undefined ? resolved.yaml : withServer(resolved.yaml, member.apiServerEndpoint);
            const facts = await readDiagnosisFacts(
                { member: member.name, configKey, hostMajor, hostName: config.host.name, memberKubeconfig: resolved.yaml, hostKubeconfig, credentials, importKubeconfig },
                access,
            );
            return diagnose(facts);
        }),
    );
}

/** The CLI: prints the table, exits 1 when a member has a failing check, 2 on bad arguments or config. */
export async function main(argv: string[]): Promise<number> {
    const value = (flag: string) => {
        const at = argv.indexOf(flag);
        return at >= 0 ? argv[at + 1] : undefined;
    };
    const stack = value("--stack");
    if (stack === undefined) {
        process.stderr.write("usage: npm run doctor -- --stack <stack> [--dir <project directory>]\n");
        return 2;
    }
    try {
        const diagnoses = await doctor(path.resolve(value("--dir") ?? process.cwd()), stack);
        process.stdout.write(`${formatTable(diagnoses)}\n`);
        const failing = diagnoses.filter((diagnosis) => diagnosis.findings.some((found) => found.verdict === "fail"));
        process.stdout.write(
            failing.length === 0
                ? `\nNo failing check (${diagnoses.length} member(s)).\n`
                : `\n${failing.length} member(s) with a failing check: ${failing.map((diagnosis) => `${diagnosis.member} (${diagnosis.cause?.title})`).join(", ")}\n`,
        );
        return failing.length === 0 ? 0 : 1;
    } catch (err) {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        return 2;
    }
}
