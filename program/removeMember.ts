/**
 * `npm run remove-member -- --stack <stack> --member <name> [--dry-run]`: removes a member whose API server is gone
 * for good, which `pulumi up` alone cannot (docs/removing-members.md "A member that is gone for good"): deletes its
 * Cluster on the host — on KubeSphere 3.4 with the Cluster webhook saved, removed and always restored around the
 * finalizer's removal (docs/kubesphere.md §7) — then drops the member's resources from the stack's state with
 * `pulumi state delete`, so the next `pulumi preview` shows no change for it. Refuses, changing nothing, while the
 * member answers (a plain `pulumi up` removes it then). One line per step; nothing secret is printed.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import type { FederationConfig } from "../components/config/configSchema";
import { removeMemberCommand } from "../components/host/removedMembers";
import { type EndpointProbe, probeEndpoint } from "../components/kubernetes/endpointProbe";
import type { ParsedKubeconfig } from "../components/kubernetes/kubeconfig";
import { liveClusterAccess } from "../components/kubesphere/clusterAccess";
import {
    CLUSTER_WEBHOOK_NAME,
    type ClusterForRemoval,
    type ClusterRemovalAccess,
    liveClusterRemoval,
    restorable,
} from "../components/kubesphere/clusterRemoval";
import { STACK_ANNOTATION } from "../components/kubesphere/kubesphereObjects";
import { hostFromStack, ownHost, pulumiStackOutput, readStackConfig, type StackHost } from "./stackFiles";

const MEMBER_TYPE = "kubesphere-federation:index:MemberCluster";

/** One resource of `pulumi stack export`, as far as the command reads it. */
export interface StateResource {
    urn: string;
    type: string;
    parent?: string;
    inputs?: Record<string, unknown>;
}

/** The stack's state, through the Pulumi CLI (the real one) or a fake. */
export interface StateAccess {
    /** `pulumi stack export`; with `showSecrets`, secret values in plain text (kept in memory). */
    exportResources(showSecrets: boolean): Promise<StateResource[]>;
    /** `pulumi state delete <urn>…`: one state write for them all. */
    deleteResources(urns: string[]): Promise<void>;
}

/** Where the command reads and writes; the real ones by default, fakes in tests. */
export interface RemoveMemberDeps {
    readConfig: () => FederationConfig;
    readHost: (config: FederationConfig) => Promise<StackHost>;
    state: StateAccess;
    removal: ClusterRemovalAccess;
    probe: (server: string) => Promise<EndpointProbe>;
    /** One line of output. */
    print: (line: string) => void;
    /** Where the webhook configuration is saved while it is removed. */
    saveDir: string;
    /** Calls `handler` on Ctrl-C (SIGINT) or SIGTERM; returns what stops listening. */
    onInterrupt: (handler: () => void) => () => void;
    /** Ends the process (after an interrupt). */
    exit: (code: number) => void;
    /** How long the Cluster may take to be gone, and how often it is read. */
    goneTimeoutMs: number;
    pollIntervalMs: number;
}

/** What the command was asked. */
export interface RemoveMemberRequest {
    stack: string;
    member: string;
    dryRun: boolean;
}

/** A refusal: nothing was changed (exit code 2). */
export class RemovalRefused extends Error {}

/** The member's resources in the state: its MemberCluster and everything under it, in the state's order. */
export function memberResources(resources: StateResource[], member: string): StateResource[] {
    const root = resources.find((resource) => resource.type === MEMBER_TYPE && resource.urn.endsWith(`::${member}`));
    if (root === undefined) return [];
    const inside = new Set([root.urn]);
    // The state lists parents before children (the engine writes it in dependency order).
    for (const resource of resources)
        if (resource.parent !== undefined && inside.has(resource.parent)) inside.add(resource.urn);
    return resources.filter((resource) => inside.has(resource.urn));
}

/** A secret input of `pulumi stack export --show-secrets`: the plaintext, JSON-encoded, beside the secret signature. */
function plainValue(value: unknown): unknown {
    if (value !== null && typeof value === "object" && "plaintext" in value) {
        const text = (value as { plaintext: unknown }).plaintext;
        return typeof text === "string" ? JSON.parse(text) : text;
    }
    return value;
}

/** The API server of the member's Kubernetes provider (the address `pulumi up` dials); only the URL is kept. */
export function providerServer(resources: StateResource[]): string | undefined {
    const provider = resources.find((resource) => resource.type === "pulumi:providers:kubernetes");
    const kubeconfig = plainValue(provider?.inputs?.kubeconfig);
    if (typeof kubeconfig !== "string") return undefined;
    const match = /^\s*server:\s*["']?([^"'\s]+)/m.exec(kubeconfig);
    return match?.[1];
}

/** `<project>/<stack>` of a stack resource's URN (`urn:pulumi:<stack>::<project>::…`). */
function projectAndStack(urn: string): string {
    const [, stack, project] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn) ?? [];
    return `${project}/${stack}`;
}

/**
 * Removes the member; resolves with the exit code: 0 removed (or nothing was left to remove), 1 a step failed (the
 * webhook configuration restored, or the saved file and the command to restore it printed), 2 refused.
 */
export async function removeMember(request: RemoveMemberRequest, deps: RemoveMemberDeps): Promise<number> {
    const { member, stack, dryRun } = request;
    const say = (line: string) => deps.print(dryRun ? `[dry-run] ${line}` : line);
    const config = deps.readConfig();
    const listed = config.members.findIndex((entry) => entry.name === member);
    if (listed >= 0)
        throw new RemovalRefused(
            `member "${member}" is still members[${listed}] of stack ${stack}'s config: the next \`pulumi up\` would add it ` +
                `again. Fix: remove it from members in the stack file, then run this command again`,
        );
    const resources = memberResources(await deps.state.exportResources(false), member);
    if (resources.length === 0)
        throw new RemovalRefused(
            `member "${member}" is not in stack ${stack}'s state (no ${MEMBER_TYPE} named "${member}"): there is nothing ` +
                `to remove. Fix: check --stack and --member (\`pulumi stack --stack ${stack}\` lists its resources)`,
        );
    say(`stack ${stack}: member "${member}" has ${resources.length} resources in the state and is not in the config`);

    const host = await deps.readHost(config);
    if (host.hostKubeconfig === undefined)
        throw new RemovalRefused(
            `host "${host.hostClusterName}": its kubeconfig cannot be read outside a Pulumi program. Fix: give host.kubeconfig as a path or secretConfig`,
        );
    const hostKubeconfig = host.hostKubeconfig;
    const cluster = await deps.removal.readCluster(hostKubeconfig, member);
    const ownMark = projectAndStack(resources[0].urn);
    if (cluster?.stack !== undefined && !cluster.stack.endsWith(`/${ownMark}`))
        throw new RemovalRefused(
            `host "${host.hostClusterName}": Cluster "${member}" belongs to stack ${cluster.stack} (annotation ${STACK_ANNOTATION}), ` +
                `not to this stack: nothing was changed. Fix: remove it from that stack`,
        );
    say(
        cluster === undefined
            ? `host "${host.hostClusterName}": Cluster "${member}" does not exist: nothing to delete on the host`
            : `host "${host.hostClusterName}": Cluster "${member}" found (${cluster.connectionType ?? "direct"} connection` +
                  `${cluster.finalizers.length > 0 ? `, finalizers ${cluster.finalizers.join(", ")}` : ""}${cluster.deleting ? ", delete pending" : ""})`,
    );

    // The member must be gone: while it answers, `pulumi up` removes it cleanly (and its credential with it).
    const withSecrets = memberResources(await deps.state.exportResources(true), member);
    const server = providerServer(withSecrets) ?? cluster?.endpoint;
    if (server === undefined)
        throw new RemovalRefused(
            `member "${member}": no API server address in the state or in its Cluster, so it cannot be checked to be gone. Fix: remove it with \`pulumi up\``,
        );
    const probe = await deps.probe(server);
    if (probe.answers)
        throw new RemovalRefused(
            `member "${member}": its API server ${server} answers, so it is not gone: nothing was changed. Fix: run ` +
                `\`pulumi up\` (the member is no longer in the config, so it deletes its Cluster and its resources)`,
        );
    say(`member "${member}": its API server ${server} does not answer (${probe.detail})`);

    let code = 0;
    if (cluster !== undefined)
        code = await deleteCluster(cluster, hostKubeconfig, host.hostClusterName, say, request, deps);
    if (code !== 0) return code;

    // Children before parents, dependents before what they depend on: the state's order, reversed.
    const urns = [...resources].reverse().map((resource) => resource.urn);
    if (!dryRun) await deps.state.deleteResources(urns);
    for (const urn of urns) say(`${dryRun ? "would drop" : "dropped"} ${urn} from the state`);
    say(
        dryRun
            ? `nothing was changed; without --dry-run, \`${removeMemberCommand(stack, member)}\` takes these steps`
            : `member "${member}" removed: the next \`pulumi preview\` shows no change for it`,
    );
    return 0;
}

/** The host side: 3.4's webhook saved and removed, the Cluster deleted without its finalizer, the webhook restored. */
async function deleteCluster(
    cluster: ClusterForRemoval,
    host: ParsedKubeconfig,
    hostName: string,
    say: (line: string) => void,
    request: RemoveMemberRequest,
    deps: RemoveMemberDeps,
): Promise<number> {
    const { member, dryRun } = request;
    const webhook = await deps.removal.readWebhook(host);
    if (webhook === undefined) {
        // 3.2, 3.3 and 4.x un-join on the host side only: the delete completes on its own (docs/kubesphere.md §7).
        say(
            `host "${hostName}": no ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME}: the Cluster's delete is not held`,
        );
        if (dryRun) {
            say(`would delete Cluster "${member}"`);
            say(`would wait for Cluster "${member}" to be gone`);
            return 0;
        }
        await deps.removal.deleteCluster(host, member);
        say(`deleted Cluster "${member}"`);
        await waitGone(host, member, say, deps);
        return 0;
    }
    const file = path.join(deps.saveDir, `${request.stack}.${member}.${CLUSTER_WEBHOOK_NAME}.json`);
    const saved = restorable(webhook);
    if (dryRun) {
        for (const step of [
            `would save ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} to ${file}`,
            `would delete ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} (KubeSphere 3.4's webhook refuses every update of Cluster "${member}" while its member does not answer)`,
            `would delete Cluster "${member}" and drop its finalizers`,
            `would wait for Cluster "${member}" to be gone`,
            `would restore ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} from ${file}`,
        ])
            say(step);
        return 0;
    }
    fs.mkdirSync(deps.saveDir, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
    say(`saved ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} to ${file}`);

    let removed: Promise<void> | undefined;
    let restoring: Promise<number> | undefined;
    // Once: from the steps' end, or from Ctrl-C while a step runs. 0 restored (or never removed), 1 not restored.
    const restore = () =>
        (restoring ??= (async () => {
            if (removed === undefined) return 0;
            await removed.catch(() => undefined);
            try {
                await deps.removal.createWebhook(host, saved);
            } catch (err) {
                // Already back (another run, or by hand): nothing to restore.
                if ((await deps.removal.readWebhook(host).catch(() => undefined)) !== undefined) return 0;
                deps.print(
                    `${err instanceof Error ? err.message : String(err)}\nthe host runs WITHOUT its Cluster webhook. Fix: ` +
                        `kubectl create -f ${file} (with the host's kubeconfig)`,
                );
                return 1;
            }
            say(`restored ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME}`);
            fs.rmSync(file, { force: true });
            return 0;
        })());
    const stopListening = deps.onInterrupt(() => {
        deps.print(`interrupted: restoring ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} before exiting`);
        void restore().then((restored) => deps.exit(restored === 0 ? 130 : 1));
    });
    try {
        removed = deps.removal.deleteWebhook(host);
        await removed;
        say(
            `deleted ValidatingWebhookConfiguration ${CLUSTER_WEBHOOK_NAME} (KubeSphere 3.4's webhook refuses every update of Cluster "${member}" while its member does not answer)`,
        );
        if (!cluster.deleting) await deps.removal.deleteCluster(host, member);
        say(`deleted Cluster "${member}"`);
        const dropped = await deps.removal.dropFinalizers(host, member);
        say(
            dropped
                ? `dropped the finalizers of Cluster "${member}"`
                : `Cluster "${member}" was already gone (KubeSphere dropped its finalizer once the webhook was gone)`,
        );
        await waitGone(host, member, say, deps);
    } catch (err) {
        deps.print(err instanceof Error ? err.message : String(err));
        return Math.max(1, await restore());
    } finally {
        stopListening();
    }
    return await restore();
}

/** Polls until the Cluster is gone, a progress line every 10 s; fails at the timeout. */
async function waitGone(host: ParsedKubeconfig, member: string, say: (line: string) => void, deps: RemoveMemberDeps) {
    const started = Date.now();
    let lastLine = started;
    say(`waiting for Cluster "${member}" to be gone (up to ${Math.round(deps.goneTimeoutMs / 1000)} s)`);
    for (;;) {
        const found = await deps.removal.readCluster(host, member);
        if (found === undefined) {
            say(`Cluster "${member}" is gone (${((Date.now() - started) / 1000).toFixed(1)} s)`);
            return;
        }
        if (Date.now() - started > deps.goneTimeoutMs)
            throw new Error(
                `Cluster "${member}" is still on the host after ${Math.round(deps.goneTimeoutMs / 1000)} s (finalizers: ` +
                    `${found.finalizers.join(", ") || "none"}). Fix: check ks-controller-manager on the host, then run this command again`,
            );
        if (Date.now() - lastLine >= 10_000) {
            lastLine = Date.now();
            say(`still waiting for Cluster "${member}" (${Math.round((lastLine - started) / 1000)} s)`);
        }
        await new Promise((resolve) => setTimeout(resolve, deps.pollIntervalMs));
    }
}

const run = promisify(execFile);

/** The stack's state through the Pulumi CLI on PATH, in `projectDir`. */
export function cliState(stack: string, projectDir: string): StateAccess {
    const pulumi = (args: string[]) =>
        run("pulumi", args, { cwd: projectDir, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" }).catch(
            (err: { stderr?: string; message: string }) => {
                const why = (err.stderr?.trim() || err.message).split("\n")[0];
                throw new Error(`\`pulumi ${args.join(" ")}\` failed: ${why}`);
            },
        );
    return {
        async exportResources(showSecrets) {
            const { stdout } = await pulumi([
                "stack",
                "export",
                "--stack",
                stack,
                ...(showSecrets ? ["--show-secrets"] : []),
            ]);
            return (JSON.parse(stdout) as { deployment?: { resources?: StateResource[] } }).deployment?.resources ?? [];
        },
        async deleteResources(urns) {
            await pulumi(["state", "delete", "--stack", stack, "--yes", ...urns]);
        },
    };
}

/** The real dependencies, for a project directory and stack. */
export function liveDeps(projectDir: string, stack: string): RemoveMemberDeps {
    return {
        readConfig: () => readStackConfig(projectDir, stack),
        readHost: (config) =>
            "stackReference" in config.host
                ? Promise.resolve(hostFromStack(config.host.stackReference, projectDir, pulumiStackOutput))
                : ownHost(config.host, projectDir, stack, liveClusterAccess),
        state: cliState(stack, projectDir),
        removal: liveClusterRemoval,
        probe: (server) => probeEndpoint(server),
        print: (line) => process.stdout.write(`${line}\n`),
        saveDir: path.join(projectDir, ".remove-member"),
        onInterrupt: (handler) => {
            process.on("SIGINT", handler);
            process.on("SIGTERM", handler);
            return () => {
                process.off("SIGINT", handler);
                process.off("SIGTERM", handler);
            };
        },
        exit: (code) => process.exit(code),
        goneTimeoutMs: 120_000,
        pollIntervalMs: 500,
    };
}

const USAGE = "usage: npm run remove-member -- --stack <stack> --member <name> [--dry-run] [--dir <project directory>]";

/** The CLI: exit 0 removed, 1 a step failed, 2 refused or bad arguments (nothing changed). */
export async function main(argv: string[], depsFor = liveDeps): Promise<number> {
    const value = (flag: string) => {
        const at = argv.indexOf(flag);
        return at >= 0 ? argv[at + 1] : undefined;
    };
    const stack = value("--stack");
    const member = value("--member");
    if (stack === undefined || member === undefined) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
    const deps = depsFor(path.resolve(value("--dir") ?? process.cwd()), stack);
    try {
        return await removeMember({ stack, member, dryRun: argv.includes("--dry-run") }, deps);
    } catch (err) {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        return err instanceof RemovalRefused || (err as { name?: string }).name === "FederationConfigError" ? 2 : 1;
    }
}
