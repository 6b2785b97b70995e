/**
 * Kubeconfig validation and normalisation, as pure functions (file reads are injected).
 *
 * The kubeconfig we hand to the Kubernetes provider and to KubeSphere is "flattened and minified", like
 * `kubectl config view --flatten --minify`: only the selected context, its cluster and user, with file references
 * (certificate-authority, client-certificate, client-key, tokenFile) inlined. The host cannot read files on the
 * machine running Pulumi, and other contexts' credentials have no business on the host.
 *
 * Kubeconfig contents are secrets: no message here ever quotes them, only names (contexts, clusters, users, keys).
 */
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { FederationConfigError } from "../config/errors";
import { asResourceError } from "./resourceErrors";

/** How the selected user authenticates; KubeSphere can only use static credentials (docs/kubesphere.md §5). */
export type KubeconfigAuthMethod = "token" | "clientCertificate" | "basic" | "exec" | "authProvider" | "none";

/**
 * A kubeconfig parsed once, where its text enters (the program's source reader; a component, once per resolved
 * Output), and passed on: what the code asks of it, and the document the client-node config for requests is built
 * from (clientConfig, components/kubernetes/transport.ts). Plain data, so it passes through `pulumi.all` (which copies objects) unchanged. Secret
 * material as a whole: it stays inside secret Outputs and is never logged.
 */
export interface ParsedKubeconfig {
    /** The kubeconfig YAML (secret): what the Kubernetes provider and KubeSphere get. */
    readonly yaml: string;
    /** The selected context. */
    readonly context: string;
    /** The API server URL of the selected cluster. */
    readonly server: string;
    /** How the selected user authenticates. */
    readonly authMethod: KubeconfigAuthMethod;
    /** The cluster's `certificate-authority-data` (base64 PEM), if inline. */
    readonly caData?: string;
    /** The cluster sets `insecure-skip-tls-verify: true`. */
    readonly insecure?: boolean;
    /** The user's `client-certificate-data` (base64 PEM), if any. */
    readonly clientCertificateData?: string;
    /** The user carries a static token. */
    readonly hasToken: boolean;
    /** The parsed document, for the client-node config (transport.ts) and {@link withServer}. */
    readonly document: KubeconfigDocument;
}

/** Reads a file's bytes; injected so validation stays testable without a file system. */
export type ReadFile = (filePath: string) => Buffer;

/** Where a kubeconfig text came from, for messages and for resolving relative file references. */
export interface KubeconfigOrigin {
    /** Config key of the kubeconfig, e.g. `members[1].kubeconfig`. */
    key: string;
    /** Human description, e.g. `file /home/me/.kube/ack.yaml` or `secret config value "ackKubeconfig"`. */
    description: string;
    /** Directory that relative file references are resolved against. */
    baseDir: string;
}

type Named<T> = { name: string } & T;
/** A kubeconfig document as js-yaml reads it. */
export type KubeconfigDocument = {
    apiVersion?: unknown;
    kind?: unknown;
    "current-context"?: unknown;
    clusters?: Array<Named<{ cluster?: Record<string, unknown> }>>;
    contexts?: Array<Named<{ context?: Record<string, unknown> }>>;
    users?: Array<Named<{ user?: Record<string, unknown> }>>;
};

/** Expands a leading `~` and makes the path absolute against `cwd`. */
export function expandPath(filePath: string, cwd: string = process.cwd(), home: string = os.homedir()): string {
    if (filePath === "~") {
        return home;
    }
    const expanded = filePath.startsWith("~/") ? path.join(home, filePath.slice(2)) : filePath;
    return path.resolve(cwd, expanded);
}

/**
 * Reads and validates a kubeconfig file.
 * @param key config key of the `kubeconfig` object, e.g. `members[2].kubeconfig`
 */
export function readKubeconfigFile(
    source: { path: string; context?: string },
    key: string,
    readFile: ReadFile,
    cwd: string = process.cwd(),
): ParsedKubeconfig {
    const filePath = expandPath(source.path, cwd);
    let text: string;
    try {
        text = readFile(filePath).toString("utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const problem = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(err)})`;
        throw new FederationConfigError(
            `${key}.path`,
            `file ${filePath} ${problem}. Fix: point path at the cluster's kubeconfig file (e.g. ~/.kube/config), or use secretConfig/stackReference`,
        );
    }
    return resolveKubeconfig(
        text,
        source.context,
        { key, description: `file ${filePath}`, baseDir: path.dirname(filePath) },
        readFile,
    );
}

/**
 * Validates kubeconfig text and returns its selected context, flattened and minified.
 * @param context the context to use; default the kubeconfig's current-context
 */
export function resolveKubeconfig(
    text: string,
    context: string | undefined,
    origin: KubeconfigOrigin,
    readFile: ReadFile,
): ParsedKubeconfig {
    const doc = parseDocument(text, origin);
    const contextKey = context === undefined ? origin.key : `${origin.key}.context`;
    const contextName = context ?? doc["current-context"];
    if (typeof contextName !== "string" || contextName === "") {
        throw new FederationConfigError(
            origin.key,
            `${origin.description} has no current-context. Fix: set kubeconfig.context to one of ${listNames(doc.contexts)}, or run \`kubectl config use-context\` on that file`,
        );
    }
    const selected = findNamed(doc.contexts, contextName);
    if (selected === undefined) {
        throw new FederationConfigError(
            contextKey,
            `${origin.description} has no context "${contextName}". Fix: use one of ${listNames(doc.contexts)}`,
        );
    }
    const clusterName = selected.context?.cluster;
    const cluster = typeof clusterName === "string" ? findNamed(doc.clusters, clusterName) : undefined;
    if (cluster === undefined || cluster.cluster === undefined) {
        throw new FederationConfigError(
            contextKey,
            `context "${contextName}" in ${origin.description} names cluster ${JSON.stringify(clusterName ?? null)}, which is not in its clusters (${listNames(doc.clusters)}). Fix: correct the context's cluster or add the cluster entry`,
        );
    }
    const server = cluster.cluster.server;
    if (typeof server !== "string" || !/^https?:\/\//.test(server)) {
        throw new FederationConfigError(
            contextKey,
            `cluster "${clusterName}" in ${origin.description} has no https:// server URL (found ${JSON.stringify(server ?? null)}). Fix: set clusters[].cluster.server to the API server address`,
        );
    }
    const userName = selected.context?.user;
    const user = typeof userName === "string" ? findNamed(doc.users, userName) : undefined;
    if (user === undefined) {
        throw new FederationConfigError(
            contextKey,
            `context "${contextName}" in ${origin.description} names user ${JSON.stringify(userName ?? null)}, which is not in its users (${listNames(doc.users)}). Fix: correct the context's user or add the user entry`,
        );
    }
    const userFields = user.user ?? {};
    const inline = (fields: Record<string, unknown>, fileKey: string, dataKey: string, what: string) =>
        inlineFile(fields, fileKey, dataKey, what, origin, readFile);
    const clusterFields = inline(
        { ...cluster.cluster },
        "certificate-authority",
        "certificate-authority-data",
        `cluster "${clusterName}"`,
    );
    let flatUser = inline({ ...userFields }, "client-certificate", "client-certificate-data", `user "${userName}"`);
    flatUser = inline(flatUser, "client-key", "client-key-data", `user "${userName}"`);
    flatUser = inlineTokenFile(flatUser, `user "${userName}"`, origin, readFile);

    const minified: KubeconfigDocument = {
        apiVersion: "v1",
        kind: "Config",
        "current-context": contextName,
        clusters: [{ name: clusterName as string, cluster: clusterFields }],
        contexts: [{ name: contextName, context: selected.context }],
        users: [{ name: userName as string, user: flatUser }],
    };
    return parsedFromDocument(minified, yaml.dump(minified, { lineWidth: -1, noRefs: true }));
}

/**
 * Parses a single-context kubeconfig text that comes from elsewhere (a component's input, a Cluster on the host),
 * once. Throws, without quoting the text, when it is not a kubeconfig whose current context names a cluster with a
 * server.
 * @param description what the text is, for messages, e.g. `the kubeconfig of member "m1"`
 */
export function parseKubeconfig(text: string, description = "the kubeconfig", key = "kubeconfig"): ParsedKubeconfig {
    const doc = parseDocument(text, { key, description, baseDir: process.cwd() });
    const contextName = doc["current-context"];
    const selected = typeof contextName === "string" ? findNamed(doc.contexts, contextName) : undefined;
    const clusterName = selected?.context?.cluster;
    const cluster = typeof clusterName === "string" ? findNamed(doc.clusters, clusterName) : undefined;
    if (selected === undefined || typeof cluster?.cluster?.server !== "string") {
        throw new FederationConfigError(
            key,
            `${description} has no current-context naming a cluster with a server. Fix: give it one context (as \`kubectl config view --flatten --minify\` prints)`,
        );
    }
    return parsedFromDocument(doc, text);
}

/**
 * A component's kubeconfig input, parsed once when it resolves and kept secret; a text that is no kubeconfig fails
 * as a ResourceError on the component.
 * @internal
 */
export function parsedKubeconfigOutput(
    kubeconfig: pulumi.Input<string>,
    description: string,
    key: string,
    component: pulumi.Resource,
): pulumi.Output<ParsedKubeconfig> {
    return pulumi.secret(kubeconfig).apply((text) => {
        try {
            return parseKubeconfig(text, description, key);
        } catch (err) {
            throw asResourceError(err, component);
        }
    });
}

/** The ParsedKubeconfig of a document whose current context names an existing cluster (checked by the callers). */
function parsedFromDocument(doc: KubeconfigDocument, text: string): ParsedKubeconfig {
    const { cluster, user } = selectedEntries(doc);
    return {
        yaml: text,
        context: doc["current-context"] as string,
        server: String(cluster.server),
        authMethod: authMethodOf(user),
        caData: asString(cluster["certificate-authority-data"]),
        insecure: cluster["insecure-skip-tls-verify"] === true ? true : undefined,
        clientCertificateData: asString(user["client-certificate-data"]),
        hasToken: typeof user.token === "string",
        document: doc,
    };
}

/**
 * The selected context of a checked document, its cluster's and its user's fields.
 * @internal
 */
export function selectedEntries(doc: KubeconfigDocument) {
    const contextName = doc["current-context"] as string;
    const context = findNamed(doc.contexts, contextName)?.context ?? {};
    const clusterName = context.cluster as string;
    const cluster = findNamed(doc.clusters, clusterName)?.cluster ?? {};
    const userName = typeof context.user === "string" ? context.user : "";
    const user = findNamed(doc.users, userName)?.user ?? {};
    return { contextName, context, clusterName, cluster, userName, user };
}

/** @internal */
export function asString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

/** Classifies the user's credentials; exec plugins and auth-providers cannot run inside KubeSphere. */
export function authMethodOf(user: Record<string, unknown>): KubeconfigAuthMethod {
    if (user.exec !== undefined) return "exec";
    if (user["auth-provider"] !== undefined) return "authProvider";
    if (user.token !== undefined || user.tokenFile !== undefined) return "token";
    if (user["client-certificate-data"] !== undefined || user["client-certificate"] !== undefined)
        return "clientCertificate";
    if (user.username !== undefined) return "basic";
    return "none";
}

/** The kubeconfig with the server URL of its selected cluster replaced (what KubeSphere gets with apiServerEndpoint). */
export function withServer(kubeconfig: ParsedKubeconfig, server: string): ParsedKubeconfig {
    const clusterName = findNamed(kubeconfig.document.contexts, kubeconfig.context)?.context?.cluster;
    const doc: KubeconfigDocument = {
        ...kubeconfig.document,
        clusters: (kubeconfig.document.clusters ?? []).map((entry) =>
            entry.name === clusterName ? { ...entry, cluster: { ...entry.cluster, server } } : entry,
        ),
    };
    return parsedFromDocument(doc, yaml.dump(doc, { lineWidth: -1, noRefs: true }));
}

function parseDocument(text: string, origin: KubeconfigOrigin): KubeconfigDocument {
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        // js-yaml's message quotes the offending lines, which may hold credentials: report only the position.
        const mark = (err as yaml.YAMLException).mark;
        const where = mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : "";
        throw new FederationConfigError(
            origin.key,
            `${origin.description} is not valid YAML (${(err as yaml.YAMLException).reason ?? "parse error"}${where}). Fix: check the file with \`kubectl --kubeconfig <file> config view\``,
        );
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new FederationConfigError(
            origin.key,
            `${origin.description} is not a kubeconfig (found ${doc === null || doc === undefined ? "an empty document" : typeof doc}). Fix: use a kubeconfig file with clusters, contexts and users`,
        );
    }
    const kubeconfig = doc as KubeconfigDocument;
    for (const list of ["clusters", "contexts", "users"] as const) {
        const entries = kubeconfig[list];
        if (
            entries !== undefined &&
            (!Array.isArray(entries) || entries.some((entry) => typeof entry?.name !== "string"))
        ) {
            throw new FederationConfigError(
                origin.key,
                `${origin.description} has a malformed "${list}" list (every entry needs a name). Fix: check the file with \`kubectl --kubeconfig <file> config view\``,
            );
        }
    }
    return kubeconfig;
}

function findNamed<T extends { name: string }>(entries: T[] | undefined, name: string): T | undefined {
    return (entries ?? []).find((entry) => entry.name === name);
}

function listNames(entries: Array<{ name: string }> | undefined): string {
    const names = (entries ?? []).map((entry) => `"${entry.name}"`);
    return names.length === 0 ? "(none)" : names.join(", ");
}

function inlineFile(
    fields: Record<string, unknown>,
    fileKey: string,
    dataKey: string,
    what: string,
    origin: KubeconfigOrigin,
    readFile: ReadFile,
): Record<string, unknown> {
    const reference = fields[fileKey];
    if (typeof reference !== "string" || fields[dataKey] !== undefined) {
        return fields;
    }
    const { [fileKey]: _removed, ...rest } = fields;
    return { ...rest, [dataKey]: readReferencedFile(reference, fileKey, what, origin, readFile).toString("base64") };
}

function inlineTokenFile(fields: Record<string, unknown>, what: string, origin: KubeconfigOrigin, readFile: ReadFile) {
    const reference = fields.tokenFile;
    if (typeof reference !== "string" || fields.token !== undefined) {
        return fields;
    }
    const { tokenFile: _removed, ...rest } = fields;
    return {
        ...rest,
        token: readReferencedFile(reference, "tokenFile", what, origin, readFile).toString("utf8").trim(),
    };
}

function readReferencedFile(
    reference: string,
    fileKey: string,
    what: string,
    origin: KubeconfigOrigin,
    readFile: ReadFile,
): Buffer {
    const filePath = path.resolve(origin.baseDir, reference);
    try {
        return readFile(filePath);
    } catch (err) {
        throw new FederationConfigError(
            origin.key,
            `${what} in ${origin.description} refers to ${fileKey} ${filePath}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}). Fix: make the file readable, or embed it as ${fileKey}-data`,
        );
    }
}
