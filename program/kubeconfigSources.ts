/**
 * Turns a validated `kubeconfig` config entry into a secret Output of a validated kubeconfig.
 * Files and secret config values are checked now, before any resource is registered; stack outputs can only be
 * checked once the other stack's output is known, so their problems fail the deployment instead.
 */
import * as pulumi from "@pulumi/pulumi";
import type { KubeconfigSource } from "../components/config/configSchema";
import { FederationConfigError } from "../components/config/errors";
import {
    KubeconfigAuthMethod,
    readKubeconfigFile,
    ReadFile,
    ParsedKubeconfig,
    resolveKubeconfig,
} from "../components/kubernetes/kubeconfig";

/** What resolving a source needs from the Pulumi program; injected so tests can stub it. */
export interface KubeconfigSourceContext {
    /** The project's config (secret keys are read through it). */
    config: pulumi.Config;
    readFile: ReadFile;
    /** Returns the named output of a stack; the program shares one StackReference per stack. */
    stackOutput: (stack: string, output: string) => pulumi.Output<unknown>;
    /** The named output of a stack, now (before any resource is registered): a member stack's host (program/federation.ts). */
    stackOutputDetails: (stack: string, output: string) => Promise<{ value?: unknown; secretValue?: unknown }>;
    cwd: string;
}

/** A cluster's kubeconfig: parsed once here, where its text enters (secret), and how it authenticates when known up front. */
export interface KubeconfigFromSource {
    resolved: pulumi.Output<ParsedKubeconfig>;
    /** Known for files and secret config values; undefined for other stacks' outputs (known only at deployment). */
    authMethod?: KubeconfigAuthMethod;
    /** The validated kubeconfig YAML when known now (files, secret config values), for components that decide from it. */
    yaml?: string;
}

/**
 * Resolves one cluster's kubeconfig source. Throws {@link FederationConfigError} for problems it can see now.
 * @param key the config key of the source, e.g. `members[0].kubeconfig`
 */
export function resolveKubeconfigSource(
    source: KubeconfigSource,
    key: string,
    context: KubeconfigSourceContext,
): KubeconfigFromSource {
    const known = (resolved: ParsedKubeconfig) => ({
        resolved: pulumi.secret(resolved),
        authMethod: resolved.authMethod,
        yaml: resolved.yaml,
    });
    if ("path" in source) {
        return known(readKubeconfigFile(source, key, context.readFile, context.cwd));
    }
    if ("secretConfig" in source) {
        const text = context.config.get(source.secretConfig);
        if (text === undefined || text.trim() === "") {
            throw new FederationConfigError(
                `${key}.secretConfig`,
                `config key "${source.secretConfig}" is not set. Fix: \`pulumi config set --secret ${source.secretConfig} < kubeconfig.yaml\``,
            );
        }
        const origin = { key, description: `secret config value "${source.secretConfig}"`, baseDir: context.cwd };
        return known(resolveKubeconfig(text, source.context, origin, context.readFile));
    }
    const origin = {
        key,
        description: `output "${source.output}" of stack ${source.stackReference}`,
        baseDir: context.cwd,
    };
    const resolved = pulumi.secret(
        context.stackOutput(source.stackReference, source.output).apply((value) => {
            if (typeof value !== "string" || value.trim() === "") {
                throw new FederationConfigError(
                    `${key}.output`,
                    `${origin.description} is ${value === undefined ? "missing" : `a ${typeof value}`}, not kubeconfig text. Fix: export the kubeconfig as a string from that stack, or correct the output name`,
                );
            }
            return resolveKubeconfig(value, source.context, origin, context.readFile);
        }),
    );
    return { resolved };
}
