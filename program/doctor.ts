/**
 * `npm run doctor -- --stack <stack>`: per member, every diagnosis check (components/members/diagnosis.ts) and its verdict, as
 * a table, from the stack's config, read-only. The stack file is read the way Pulumi reads it
 * (`<stackConfigDir>/Pulumi.<stack>.yaml`, validated by the program's own config parser); kubeconfig `path` sources
 * are read as the program reads them; `secretConfig` values are decrypted by the Pulumi CLI
 * (`pulumi config get --stack <stack> <key>`: the stack file holds only ciphertext); a member stack's host
 * (`host.stackReference`) is the host stack's `federationHost` output, read with `pulumi stack output --show-secrets`;
 * members' `stackReference` kubeconfig sources are reported as not checked.
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
import { diagnose } from "../components/members/diagnosis/diagnose";
import { Diagnosis, Finding } from "../components/members/diagnosis/findings";
import { formatTable } from "../components/members/diagnosis/format";
import { readDiagnosisFacts } from "../components/members/diagnosis/readFacts";
import { defaultImportCredentials } from "../components/members/direct/importCredentials";
import { FederationConfigError } from "../components/config/errors";
import { ClusterAccess, liveClusterAccess } from "../components/kubesphere/clusterAccess";
import {
    ParsedKubeconfig,
    readKubeconfigFile,
    resolveKubeconfig,
    withServer,
} from "../components/kubernetes/kubeconfig";
import { parseHostStackOutput } from "./federation";

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
 * Reads one output of a stack as `pulumi stack output --stack <stack> --show-secrets --json <output>` prints it: the
 * doctor is no Pulumi program, so it cannot use a StackReference. Throws when the CLI fails.
 */
export type StackOutputReader = (stack: string, output: string, projectDir: string) => string;

/** The Pulumi CLI on PATH, logged in to the backend that holds the stack (`pulumi login`). */
export const pulumiStackOutput: StackOutputReader = (stack, output, projectDir) =>
    execFileSync("pulumi", ["stack", "output", "--stack", stack, "--show-secrets", "--json", output], {
        cwd: projectDir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });

/**
 * A member stack's host, from the host stack's `federationHost` output as the Pulumi CLI shows it, checked as the
 * program checks it. Without it the doctor cannot tell the host's version, name or kubeconfig: an error saying what it needs.
 */
function hostFromStack(
    hostStack: string,
    projectDir: string,
    readStackOutput: StackOutputReader,
): { hostKubeconfig?: ParsedKubeconfig; hostMajor: "v3" | "v4"; hostClusterName: string } {
    const key = "host.stackReference";
    let text: string;
    try {
        text = readStackOutput(hostStack, HOST_STACK_OUTPUT, projectDir);
    } catch (err) {
        const stderr = (err as { stderr?: unknown }).stderr;
        const why = (typeof stderr === "string" && stderr.trim() !== "" ? stderr : String(err)).trim().split("\n")[0];
        throw new FederationConfigError(
            key,
            `the doctor reads the host from output "${HOST_STACK_OUTPUT}" of stack ${hostStack} with the Pulumi CLI ` +
                `(\`pulumi stack output --stack ${hostStack} --show-secrets --json ${HOST_STACK_OUTPUT}\`), which failed: ${why}. ` +
                `Fix: install the Pulumi CLI, \`pulumi login\` to the backend that holds stack ${hostStack} (with ` +
                `PULUMI_CONFIG_PASSPHRASE for a passphrase stack), and run that stack's \`pulumi up\` first`,
        );
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch {
        raw = text;
    }
    const exported = parseHostStackOutput(raw, hostStack, key);
    const origin = {
        key,
        description: `output "${HOST_STACK_OUTPUT}" of stack ${hostStack} (kubeconfig)`,
        baseDir: projectDir,
    };
    return {
        hostKubeconfig: resolveKubeconfig(exported.kubeconfig, undefined, origin, (file) => fs.readFileSync(file)),
        hostMajor: exported.kubesphereMajor,
        hostClusterName: exported.name,
    };
}

/** The host of a host or single stack, from its own config. */
async function ownHost(
    host: HostConfig,
    projectDir: string,
    stack: string,
    access: ClusterAccess,
): Promise<{ hostKubeconfig?: ParsedKubeconfig; hostMajor: "v3" | "v4"; hostClusterName: string }> {
    const resolved = resolveSource(host.kubeconfig, "host.kubeconfig", projectDir, stack);
    const hostKubeconfig = typeof resolved === "string" ? undefined : resolved;
    const hostMajor =
        host.kubesphereMajor !== "auto"
            ? host.kubesphereMajor
            : hostKubeconfig === undefined
              ? "v3"
              : await access.readKubesphereLayout(host.name, hostKubeconfig);
    return { hostKubeconfig, hostMajor, hostClusterName: host.name };
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
    readStackOutput: StackOutputReader = pulumiStackOutput,
): Promise<Diagnosis[]> {
    const config = readStackConfig(projectDir, stack);
    const { hostKubeconfig, hostMajor, hostClusterName } =
        "stackReference" in config.host
            ? hostFromStack(config.host.stackReference, projectDir, readStackOutput)
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
                    hostClusterName,
                    memberKubeconfig: resolved,
                    hostKubeconfig,
                    credentials,
                    importKubeconfig,
                    withPods: true,
                    viaAgent: member.connection === "agent",
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
