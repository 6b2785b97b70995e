/**
 * `npm run doctor -- --stack <stack>`: per member, every diagnosis check (components/members/diagnosis.ts) and its verdict, as
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
import {
    FederationConfig,
    HOST_STACK_OUTPUT,
    HostConfig,
    KubeconfigSource,
    parseFederationConfig,
} from "../components/config/configSchema";
import { diagnose, Diagnosis, Finding, formatTable, readDiagnosisFacts } from "../components/members/diagnosis";
import { defaultImportCredentials } from "../components/members/importCredentials";
import { ClusterAccess, liveClusterAccess } from "../components/kubernetes/kubeClient";
import {
    ParsedKubeconfig,
    parseKubeconfig,
    readKubeconfigFile,
    resolveKubeconfig,
    withServer,
} from "../components/kubernetes/kubeconfig";

const PROJECT = "kubesphere-federation";

/** The stack's federation config, from `<projectDir>/<stackConfigDir>/Pulumi.<stack>.yaml`. */
export function readStackConfig(projectDir: string, stack: string): FederationConfig {
    const project = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
        stackConfigDir?: string;
    };
    const file = path.join(projectDir, project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file))
        throw new Error(
            `stack file ${file} does not exist. Fix: pass --stack with the name of a stack file in ${path.dirname(file)}`,
        );
    const config = ((yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined)
        ?.config ?? {}) as Record<string, unknown>;
    return parseFederationConfig({ host: config[`${PROJECT}:host`], members: config[`${PROJECT}:members`] });
}

/** Resolves one kubeconfig source as the program does; undefined (with why) for what only a Pulumi program can read. */
function resolveSource(
    source: KubeconfigSource,
    key: string,
    projectDir: string,
    stack: string,
): ParsedKubeconfig | string {
    if ("path" in source) return readKubeconfigFile(source, key, (file) => fs.readFileSync(file), projectDir);
    if ("secretConfig" in source) {
        let text: string;
        try {
            text = execFileSync("pulumi", ["config", "get", "--stack", stack, source.secretConfig], {
                cwd: projectDir,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch {
            return `${key}.secretConfig: the Pulumi CLI could not decrypt "${source.secretConfig}" (run \`pulumi login\` and \`pulumi stack select ${stack}\` first)`;
        }
        return resolveKubeconfig(
            text,
            source.context,
            { key, description: `secret config value "${source.secretConfig}"`, baseDir: projectDir },
            (file) => fs.readFileSync(file),
        );
    }
    return `${key}: an output of stack ${source.stackReference} can only be read by a Pulumi program (run \`pulumi preview\`)`;
}

/**
 * A member stack's host, from the host stack's `federationHost` output as the Pulumi CLI shows it
 * (`pulumi stack output --show-secrets`); without it the host-side checks are skipped.
 */
function hostFromStack(
    hostStack: string,
    projectDir: string,
): { hostKubeconfig?: ParsedKubeconfig; hostMajor: "v3" | "v4"; hostName: string } {
    try {
        const text = execFileSync(
            "pulumi",
            ["stack", "output", "--stack", hostStack, "--show-secrets", "--json", HOST_STACK_OUTPUT],
            { cwd: projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
        );
        const host = JSON.parse(text) as { name?: string; kubeconfig?: string; kubesphereVersion?: string };
        return {
            hostKubeconfig:
                host.kubeconfig === undefined
                    ? undefined
                    : parseKubeconfig(host.kubeconfig, `the kubeconfig in stack ${hostStack}'s ${HOST_STACK_OUTPUT}`),
            hostMajor: host.kubesphereVersion === "v4" ? "v4" : "v3",
            hostName: host.name ?? "host",
        };
    } catch {
        return { hostMajor: "v3", hostName: "host" };
    }
}

/** The host of a host or single stack, from its own config. */
async function ownHost(
    host: HostConfig,
    projectDir: string,
    stack: string,
    access: ClusterAccess,
): Promise<{ hostKubeconfig?: ParsedKubeconfig; hostMajor: "v3" | "v4"; hostName: string }> {
    const resolved = resolveSource(host.kubeconfig, "host.kubeconfig", projectDir, stack);
    const hostKubeconfig = typeof resolved === "string" ? undefined : resolved;
    const hostMajor =
        host.kubesphereVersion !== "auto"
            ? host.kubesphereVersion
            : hostKubeconfig === undefined
              ? "v3"
              : await access.readKubesphereLayout(host.name, hostKubeconfig);
    return { hostKubeconfig, hostMajor, hostName: host.name };
}

function notChecked(member: string, why: string): Diagnosis {
    const finding: Finding = { check: "preflight", title: "versions and pre-flight", verdict: "skip", evidence: why };
    return { member, findings: [finding] };
}

/** Diagnoses every member of the stack; reads only. */
export async function doctor(
    projectDir: string,
    stack: string,
    access: ClusterAccess = liveClusterAccess,
): Promise<Diagnosis[]> {
    const config = readStackConfig(projectDir, stack);
    const { hostKubeconfig, hostMajor, hostName } =
        "stackReference" in config.host
            ? hostFromStack(config.host.stackReference, projectDir)
            : await ownHost(config.host, projectDir, stack, access);
    return Promise.all(
        config.members.map(async (member, index) => {
            const configKey = `members[${index}]`;
            const resolved = resolveSource(member.kubeconfig, `${configKey}.kubeconfig`, projectDir, stack);
            if (typeof resolved === "string") return notChecked(member.name, resolved);
            const credentials = member.credentials ?? defaultImportCredentials(resolved.authMethod, hostMajor);
            const importKubeconfig =
                credentials !== "kubeconfig"
                    ? undefined
                    : member.apiServerEndpoint === undefined
                      ? resolved
                      : withServer(resolved, member.apiServerEndpoint);
            const facts = await readDiagnosisFacts(
                {
                    member: member.name,
                    configKey,
                    hostMajor,
                    hostName,
                    memberKubeconfig: resolved,
                    hostKubeconfig,
                    credentials,
                    importKubeconfig,
                },
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
