/**
 * The stack config contract (`kubesphere-federation:host`, `kubesphere-federation:members`) as zod schemas, and the
 * pure function that validates it. No Pulumi here: the same code checks stack files in unit tests.
 */
import { z } from "zod";
import { FederationConfigError, formatKey, throwProblems } from "./errors";

/** KubeSphere's host cluster name rule (seed 002), which we apply to member names too: they become object names. */
export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const CLUSTER_NAME_RULE = `lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`;

/** Where a member runs; picks the display text KubeSphere shows (`spec.provider`). */
export const MEMBER_PROVIDERS = ["ack", "eks", "kubeadm", "generic"] as const;
export type MemberProvider = (typeof MEMBER_PROVIDERS)[number];

/**
 * How KubeSphere authenticates to a member: with the member's own kubeconfig, or with a token of a ServiceAccount
 * the program creates on the member (needed when the kubeconfig runs an exec plugin, like EKS's `aws eks get-token`).
 */
export const IMPORT_CREDENTIALS = ["kubeconfig", "serviceAccount"] as const;
export type ImportCredentials = (typeof IMPORT_CREDENTIALS)[number];

/**
 * How the host reaches a member: `direct` (KubeSphere gets a kubeconfig of the member's API server) or `agent`
 * (the member runs tower's agent, which dials the host's tower; for members whose API server the host cannot reach).
 */
export const MEMBER_CONNECTIONS = ["direct", "agent"] as const;
export type MemberConnection = (typeof MEMBER_CONNECTIONS)[number];

/** An address the agent dials: tower's URL as KubeSphere's `proxyPublishAddress` holds it (tower serves plain HTTP). */
export const PROXY_ADDRESS_PATTERN = /^https?:\/\/[^\s/:]+(:\d+)?\/?$/;

/** Kubernetes label value rule, for `cluster.kubesphere.io/group`. */
const LABEL_VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Default wait for a Cluster's Ready condition; KubeSphere's own join usually takes one to three minutes. */
export const DEFAULT_READY_TIMEOUT_SECONDS = 600;
/** Default wait for a member's ks-installer to apply the jwtSecret and role (it re-runs its whole playbook). */
export const DEFAULT_INSTALLER_TIMEOUT_SECONDS = 600;
/** Default wait for a 3.x host to run as a host after its ks-installer patch (kubefed's install alone may take 30 minutes). */
export const DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS = 1800;

const found = (input: unknown): string => (input === undefined ? "nothing" : JSON.stringify(input));

const clusterName = z
    .string({
        error: (issue) =>
            `expected a cluster name, found ${found(issue.input)}. Fix: set a name of ${CLUSTER_NAME_RULE}`,
    })
    .max(63, { error: (issue) => `${found(issue.input)} is longer than 63 characters. Fix: use a shorter name` })
    .regex(CLUSTER_NAME_PATTERN, {
        error: (issue) =>
            `${found(issue.input)} is not a valid cluster name. Fix: use ${CLUSTER_NAME_RULE}, e.g. "ack-prod"`,
    });

const contextName = z
    .string({
        error: (issue) =>
            `expected a context name, found ${found(issue.input)}. Fix: name a context of the kubeconfig, or remove the key to use its current-context`,
    })
    .min(1, { error: "is empty. Fix: name a context of the kubeconfig, or remove the key to use its current-context" });

const nonEmpty = (what: string, fix: string) =>
    z
        .string({ error: (issue) => `expected ${what}, found ${found(issue.input)}. Fix: ${fix}` })
        .min(1, { error: `is empty. Fix: ${fix}` });

/** A kubeconfig file on the machine running Pulumi. */
const kubeconfigFile = z.strictObject({
    path: nonEmpty("a file path", "set the path of the cluster's kubeconfig file, e.g. ~/.kube/ack-prod.yaml"),
    context: contextName.optional(),
});

/** The name of another config key holding the kubeconfig, set with `pulumi config set --secret <key> < file`. */
const kubeconfigSecretConfig = z.strictObject({
    secretConfig: nonEmpty(
        "a config key name",
        "name the config key set with `pulumi config set --secret <key> < kubeconfig.yaml`",
    ),
    context: contextName.optional(),
});

/** An output of another stack (e.g. the stack that provisioned the cluster). */
const kubeconfigStackOutput = z.strictObject({
    stackReference: nonEmpty("a stack name", 'set the fully qualified stack, e.g. "acme/ack-clusters/prod"'),
    output: nonEmpty("an output name", 'set the name of that stack\'s kubeconfig output, e.g. "kubeconfig"'),
    context: contextName.optional(),
});

const KUBECONFIG_FORMS =
    "one of { path, context? }, { secretConfig, context? } or { stackReference, output, context? }";

/** Picks the variant by its distinguishing key so errors speak of that variant, not of a failed union. */
const kubeconfigSource = z.unknown().transform((value, ctx) => {
    const variant =
        isObject(value) && "path" in value
            ? kubeconfigFile
            : isObject(value) && "secretConfig" in value
              ? kubeconfigSecretConfig
              : isObject(value) && "stackReference" in value
                ? kubeconfigStackOutput
                : undefined;
    if (variant === undefined) {
        ctx.addIssue({
            code: "custom",
            message: `expected ${KUBECONFIG_FORMS}, found ${isObject(value) ? `an object with keys ${found(Object.keys(value))}` : found(value)}. Fix: e.g. kubeconfig: { path: ~/.kube/config }`,
        });
        return z.NEVER;
    }
    const parsed = variant.safeParse(value);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            ctx.addIssue({ ...issue, code: "custom", message: issueMessage(issue), path: issue.path });
        }
        return z.NEVER;
    }
    return parsed.data;
});

/** A registry, optionally with a path: `registry.example.com`, `registry.example.com:5000/mirror` (no scheme). */
export const IMAGE_REGISTRY_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

const imageRegistry = z
    .string({
        error: (issue) =>
            `expected a registry, found ${found(issue.input)}. Fix: e.g. "registry.example.com/kubesphere-mirror"`,
    })
    .regex(IMAGE_REGISTRY_PATTERN, {
        error: (issue) =>
            `${found(issue.input)} is not a registry[:port][/path] (no scheme, no trailing slash). Fix: e.g. "registry.example.com/kubesphere-mirror"`,
    });

/** Names of Secrets of type kubernetes.io/dockerconfigjson in kubesphere-system on the member (names only). */
const imagePullSecrets = z.array(
    z
        .string({ error: (issue) => `expected a Secret name, found ${found(issue.input)}. Fix: e.g. [registry-login]` })
        .regex(CLUSTER_NAME_PATTERN, {
            error: (issue) =>
                `${found(issue.input)} is not a Secret name. Fix: lowercase letters, digits, "-" and ".", e.g. registry-login`,
        }),
    {
        error: (issue) =>
            `expected a list of Secret names, found ${found(issue.input)}. Fix: e.g. imagePullSecrets: [registry-login]`,
    },
);

const seconds = z
    .number({ error: (issue) => `expected a number of seconds, found ${found(issue.input)}. Fix: e.g. 600` })
    .int({ error: (issue) => `must be a whole number of seconds, found ${found(issue.input)}. Fix: e.g. 600` })
    .positive({ error: (issue) => `must be positive, found ${found(issue.input)}. Fix: e.g. 600` });

/** KubeSphere major version of the host; `auto` reads it from the host's kubesphere-config layout. */
const KUBESPHERE_MAJOR_SETTINGS = ["v3", "v4", "auto"] as const;

const kubesphereMajor = z.enum(KUBESPHERE_MAJOR_SETTINGS, {
    error: (issue) => `unknown version ${found(issue.input)}. Fix: use v3, v4 or auto (the default)`,
});

/**
 * `host.kubesphereVersion`, the key's name before 0.2 (it always meant the major version; "version" is kept for
 * releases such as v3.4.1): still read, with a warning naming the new key.
 */
export const DEPRECATED_KUBESPHERE_VERSION_WARNING =
    "host.kubesphereVersion is deprecated: it sets the host's KubeSphere major version, now host.kubesphereMajor. " +
    "Fix: rename the key in the stack file (host.kubesphereMajor takes the same values: v3, v4 or auto)";

const hostFields = z.strictObject({
    name: clusterName.default("host"),
    kubeconfig: kubeconfigSource,
    kubesphereMajor: kubesphereMajor.optional(),
    /** Deprecated name of kubesphereMajor. */
    kubesphereVersion: kubesphereMajor.optional(),
    installerTimeoutSeconds: seconds.default(DEFAULT_HOST_INSTALLER_TIMEOUT_SECONDS),
    agentProxyAddress: z
        .string({
            error: (issue) => `expected a URL, found ${found(issue.input)}. Fix: e.g. "http://203.0.113.10:30880"`,
        })
        .regex(PROXY_ADDRESS_PATTERN, {
            error: (issue) =>
                `${found(issue.input)} is not an http(s)://host[:port] URL. Fix: set the address where members reach tower, e.g. "http://203.0.113.10:30880"`,
        })
        .optional(),
    /** The default of every member's imageRegistry. */
    imageRegistry: imageRegistry.optional(),
    /** The default of every member's imagePullSecrets. */
    imagePullSecrets: imagePullSecrets.optional(),
});

const hostSchema = hostFields.transform(({ kubesphereVersion, ...host }, ctx) => {
    if (
        kubesphereVersion !== undefined &&
        host.kubesphereMajor !== undefined &&
        kubesphereVersion !== host.kubesphereMajor
    ) {
        ctx.addIssue({
            code: "custom",
            path: ["kubesphereVersion"],
            message: `is ${kubesphereVersion}, but host.kubesphereMajor is ${host.kubesphereMajor}; kubesphereVersion is the old name of kubesphereMajor. Fix: remove host.kubesphereVersion`,
        });
        return z.NEVER;
    }
    return {
        ...host,
        kubesphereMajor: host.kubesphereMajor ?? kubesphereVersion ?? ("auto" as const),
        ...(kubesphereVersion === undefined ? {} : { warnings: [DEPRECATED_KUBESPHERE_VERSION_WARNING] }),
    };
});

/** The name of the host stack's output that member stacks read (program/federation.ts, docs/host-and-member-stacks.md). */
export const HOST_STACK_OUTPUT = "federationHost";

/** A member stack: the host (its kubeconfig, jwtSecret, name and version) comes from the host stack's outputs. */
const hostStackSchema = z.strictObject({
    stackReference: nonEmpty(
        "a stack name",
        'set the host stack, fully qualified, e.g. "acme/kubesphere-federation/fleet-host"',
    ),
});

/** Picks the host form by `stackReference`, so errors speak of that form, not of a failed union. */
const hostSource = z.unknown().transform((value, ctx): HostConfig | HostStackConfig => {
    const fromStack = isObject(value) && "stackReference" in value;
    const parsed = (fromStack ? hostStackSchema : hostSchema).safeParse(value);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            const message =
                fromStack && issue.code === "unrecognized_keys"
                    ? `unknown key(s) ${issue.keys.map((key) => `"${key}"`).join(", ")} next to host.stackReference: a member stack takes the whole host (kubeconfig, name, version) from the host stack. Fix: remove them, or set them in the host stack`
                    : issueMessage(issue);
            ctx.addIssue({ ...issue, code: "custom", message, path: issue.path });
        }
        return z.NEVER;
    }
    return parsed.data;
});

const memberSchema = z.strictObject({
    name: clusterName,
    connection: z
        .enum(MEMBER_CONNECTIONS, {
            error: (issue) => `unknown connection ${found(issue.input)}. Fix: use direct (the default) or agent`,
        })
        .default("direct"),
    provider: z.enum(MEMBER_PROVIDERS, {
        error: (issue) => `unknown provider ${found(issue.input)}. Fix: use one of ${MEMBER_PROVIDERS.join(", ")}`,
    }),
    kubeconfig: kubeconfigSource,
    description: z
        .string({ error: (issue) => `expected text, found ${found(issue.input)}. Fix: quote the description` })
        .optional(),
    group: z
        .string({ error: (issue) => `expected a group name, found ${found(issue.input)}. Fix: use e.g. "production"` })
        .max(63, {
            error: (issue) => `${found(issue.input)} is longer than 63 characters. Fix: use a shorter group name`,
        })
        .regex(LABEL_VALUE_PATTERN, {
            error: (issue) =>
                `${found(issue.input)} is not a valid label value. Fix: use letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
        })
        .optional(),
    readyTimeoutSeconds: seconds.default(DEFAULT_READY_TIMEOUT_SECONDS),
    installerTimeoutSeconds: seconds.default(DEFAULT_INSTALLER_TIMEOUT_SECONDS),
    credentials: z
        .enum(IMPORT_CREDENTIALS, {
            error: (issue) =>
                `unknown credentials ${found(issue.input)}. Fix: use ${IMPORT_CREDENTIALS.join(" or ")}, or remove the key to choose by the kubeconfig's authentication`,
        })
        .optional(),
    credentialsRevision: z
        .number({
            error: (issue) =>
                `expected a whole number, found ${found(issue.input)}. Fix: e.g. 2 (bump it to rotate the ServiceAccount token)`,
        })
        .int({ error: (issue) => `must be a whole number, found ${found(issue.input)}. Fix: e.g. 2` })
        .min(1, { error: (issue) => `must be 1 or more, found ${found(issue.input)}. Fix: e.g. 2` })
        .default(1),
    ksCoreValues: z
        .record(z.string(), z.unknown(), {
            error: (issue) =>
                `expected a mapping of Helm values, found ${found(issue.input)}. Fix: e.g. ksCoreValues: { cloud: { enabled: false } }`,
        })
        .optional(),
    apiServerEndpoint: z
        .string({
            error: (issue) => `expected a URL, found ${found(issue.input)}. Fix: e.g. "https://203.0.113.10:6443"`,
        })
        .regex(/^https:\/\/[^\s/]+(:\d+)?\/?$/, {
            error: (issue) =>
                `${found(issue.input)} is not an https://host[:port] URL. Fix: e.g. "https://203.0.113.10:6443"`,
        })
        .optional(),
    imageRegistry: imageRegistry.optional(),
    imagePullSecrets: imagePullSecrets.optional(),
});

const federationSchema = z.strictObject({
    host: hostSource,
    members: z
        .array(memberSchema, {
            error: (issue) =>
                `expected a list of members, found ${found(issue.input)}. Fix: use a YAML list, or [] for a host-only stack`,
        })
        .default([]),
});

export type KubeconfigFileSource = z.infer<typeof kubeconfigFile>;
export type KubeconfigSecretConfigSource = z.infer<typeof kubeconfigSecretConfig>;
export type KubeconfigStackOutputSource = z.infer<typeof kubeconfigStackOutput>;
/** Where a cluster's kubeconfig comes from. */
export type KubeconfigSource = KubeconfigFileSource | KubeconfigSecretConfigSource | KubeconfigStackOutputSource;
export type HostConfig = z.infer<typeof hostSchema>;
/** A member stack's host: `{ stackReference }` of the host stack. */
export type HostStackConfig = z.infer<typeof hostStackSchema>;
export type MemberConfig = z.infer<typeof memberSchema>;
export type FederationConfig = z.infer<typeof federationSchema>;

/**
 * Validates the raw stack config values. Throws {@link FederationConfigError} (one problem) or
 * `FederationConfigErrors` (several), each naming the exact key, what was found and the fix.
 * @param raw `{ host, members }` as read from the stack config (members may be undefined).
 */
export function parseFederationConfig(raw: { host: unknown; members: unknown }): FederationConfig {
    if (raw.host === undefined) {
        throw new FederationConfigError(
            "host",
            "is not set. Fix: `pulumi config set --path host.kubeconfig.path ~/.kube/host.yaml` (see stacks/ for examples)",
        );
    }
    const parsed = federationSchema.safeParse(raw);
    if (!parsed.success) {
        throwProblems(
            parsed.error.issues.map((issue) => new FederationConfigError(formatKey(issue.path), issueMessage(issue))),
        );
    }
    const config = parsed.data!;
    throwProblems([...nameClashes(config), ...agentMemberProblems(config)]);
    return config;
}

/** Keys that only apply to direct connection: through tower KubeSphere never sees the member's kubeconfig. */
function agentMemberProblems(config: FederationConfig): FederationConfigError[] {
    const problems: FederationConfigError[] = [];
    config.members.forEach((member, index) => {
        if (member.connection !== "agent") return;
        const why =
            "does not apply to an agent member (KubeSphere reaches it through tower's tunnel, not through its kubeconfig)";
        if (member.credentials !== undefined) {
            problems.push(
                new FederationConfigError(
                    `members[${index}].credentials`,
                    `${why}. Fix: remove the key; credentialsRevision rotates the agent's token`,
                ),
            );
        }
        if (member.apiServerEndpoint !== undefined) {
            problems.push(
                new FederationConfigError(
                    `members[${index}].apiServerEndpoint`,
                    `${why}. Fix: remove the key, or use connection: direct`,
                ),
            );
        }
    });
    return problems;
}

/** Duplicate member names, and members named like the host: both would be the same Cluster object on the host. */
function nameClashes(config: FederationConfig): FederationConfigError[] {
    const problems: FederationConfigError[] = [];
    const firstIndexByName = new Map<string, number>();
    // A host from another stack: its name is known once the reference is read (program/federation.ts checks it then).
    const hostName = "name" in config.host ? config.host.name : undefined;
    config.members.forEach((member, index) => {
        const key = `members[${index}].name`;
        if (member.name === hostName) {
            problems.push(
                new FederationConfigError(
                    key,
                    `"${member.name}" is the host's name (host.name). Fix: give the member its own name; the host's Cluster object already has this one`,
                ),
            );
        }
        const first = firstIndexByName.get(member.name);
        if (first !== undefined) {
            problems.push(
                new FederationConfigError(
                    key,
                    `"${member.name}" is also the name of members[${first}]. Fix: give each member a unique name`,
                ),
            );
        } else {
            firstIndexByName.set(member.name, index);
        }
    });
    return problems;
}

/** zod's own texts for structural issues, rewritten to say what to do. */
function issueMessage(issue: z.core.$ZodIssue): string {
    switch (issue.code) {
        case "unrecognized_keys":
            return `unknown key(s) ${issue.keys.map((key) => `"${key}"`).join(", ")}. Fix: remove or correct them (see the config reference in docs/configuration.md)`;
        case "invalid_type":
            if (issue.expected === "object") {
                return `expected a mapping, found ${issue.input === undefined ? "nothing" : typeof issue.input}. Fix: see the config reference in docs/configuration.md`;
            }
            return issue.message;
        default:
            return issue.message;
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
