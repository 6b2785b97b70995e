/**
 * A stack as the commands beside the program read it (program/doctor.ts, program/removeMember.ts): the stack file the
 * way Pulumi reads it (`<stackConfigDir>/Pulumi.<stack>.yaml`, validated by the program's own config parser),
 * kubeconfig `path` sources as the program reads them, `secretConfig` values decrypted by the Pulumi CLI
 * (`pulumi config get --stack <stack> <key>`: the stack file holds only ciphertext), and a member stack's host
 * (`host.stackReference`) from the host stack's `federationHost` output (`pulumi stack output --show-secrets`).
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
import { FederationConfigError } from "../components/config/errors";
import { ClusterAccess } from "../components/kubesphere/clusterAccess";
import { ParsedKubeconfig, readKubeconfigFile, resolveKubeconfig } from "../components/kubernetes/kubeconfig";
import { parseHostStackOutput } from "./federation";

/** A stack's host as a command needs it; no kubeconfig when it could not be read (with a source only a program reads). */
export interface StackHost {
    hostKubeconfig?: ParsedKubeconfig;
    hostMajor: "v3" | "v4";
    hostClusterName: string;
}

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
export function resolveSource(
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
export function hostFromStack(hostStack: string, projectDir: string, readStackOutput: StackOutputReader): StackHost {
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

/** The host of a host or single stack, from its own config; `auto` read from its kubesphere-config. */
export async function ownHost(
    host: HostConfig,
    projectDir: string,
    stack: string,
    access: ClusterAccess,
): Promise<StackHost> {
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
