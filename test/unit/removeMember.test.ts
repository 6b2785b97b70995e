/**
 * A member that is gone for good: the preview's verdict (components/host/removedMembers.ts) and the command's steps
 * (program/removeMember.ts) on fake hosts, states and probes. The real CLI, host and webhook: removeMember.e2e.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { removedClusters, removedMembersVerdict } from "../../components/host/removedMembers";
import type { ClusterForRemoval, ClusterRemovalAccess } from "../../components/kubesphere/clusterRemoval";
import { parseKubesphereRelease } from "../../components/kubesphere/kubesphereVersion";
import type { ImportedCluster } from "../../components/kubesphere/facts";
import { parseFederationConfig } from "../../components/config/configSchema";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";
import {
    memberResources,
    providerServer,
    removeMember,
    RemovalRefused,
    type RemoveMemberDeps,
    type StateResource,
} from "../../program/removeMember";

const STACK = "organization/kubesphere-federation/prod";
const gone = { answers: false, detail: "connection refused" };

function cluster(name: string, extra: Partial<ImportedCluster> = {}): ImportedCluster {
    return {
        name,
        isHostEntry: false,
        stack: STACK,
        connectionType: "direct",
        endpoint: `https://${name}.example.com:6443`,
        ...extra,
    };
}

const v34 = { kind: "v3" as const, release: parseKubesphereRelease("v3.4.1") };
const v33 = { kind: "v3" as const, release: parseKubesphereRelease("v3.3.2") };

describe("members removed from the config whose API server is gone (components/host/removedMembers.ts)", () => {
    it("takes only this stack's Clusters that the config no longer lists, never the host's entry", () => {
        const clusters = [
            cluster("host", { isHostEntry: true, stack: undefined }),
            cluster("kept"),
            cluster("removed"),
            cluster("other-stack", { stack: "organization/kubesphere-federation/staging" }),
            cluster("unmarked", { stack: undefined }),
        ];
        assert.deepStrictEqual(
            removedClusters(clusters, STACK, ["kept"]).map((found) => found.name),
            ["removed"],
        );
    });

    it("3.4 host: an error naming the member, the address, the webhook and the command; nothing when it answers", () => {
        const verdict = removedMembersVerdict({
            hostName: "host",
            hostInstall: v34,
            stackName: "prod",
            removed: [
                { cluster: cluster("gone"), probe: gone },
                { cluster: cluster("alive"), probe: { answers: true, detail: "connected" } },
            ],
            deleteUnreachable: false,
        });
        assert.deepStrictEqual(verdict.warnings, []);
        assert.strictEqual(verdict.errors.length, 1);
        assert.match(
            verdict.errors[0],
            /^member "gone" was removed from the config, and its API server https:\/\/gone/,
        );
        assert.match(verdict.errors[0], /connection refused/);
        assert.match(verdict.errors[0], /KubeSphere v3\.4\.1, whose Cluster webhook/);
        assert.match(verdict.errors[0], /npm run remove-member -- --stack prod --member gone/);
        assert.match(verdict.errors[0], /PULUMI_K8S_DELETE_UNREACHABLE=true/);
    });

    it("3.4 host with PULUMI_K8S_DELETE_UNREACHABLE set, and hosts without the webhook: a warning with the command", () => {
        for (const [hostInstall, deleteUnreachable] of [
            [v34, true],
            [v33, false],
            [{ kind: "v4" as const, release: parseKubesphereRelease("v4.1.3") }, false],
        ] as const) {
            const verdict = removedMembersVerdict({
                hostName: "host",
                hostInstall,
                stackName: "prod",
                removed: [{ cluster: cluster("gone"), probe: gone }],
                deleteUnreachable,
            });
            assert.deepStrictEqual(verdict.errors, []);
            assert.strictEqual(verdict.warnings.length, 1);
            assert.match(verdict.warnings[0], /npm run remove-member -- --stack prod --member gone/);
        }
    });

    it("an agent member (proxy Cluster, never dialled): a warning when its Cluster is not Ready, nothing when it is", () => {
        const proxy = cluster("agent", { connectionType: "proxy", endpoint: undefined });
        const verdict = (ready?: boolean) =>
            removedMembersVerdict({
                hostName: "host",
                hostInstall: v34,
                stackName: "prod",
                removed: [{ cluster: { ...proxy, ...(ready ? { ready } : {}) } }],
                deleteUnreachable: false,
            });
        assert.match(verdict().warnings[0], /its agent is not connected/);
        assert.deepStrictEqual(verdict(true), { errors: [], warnings: [] });
    });
});

const MEMBER_URN = "urn:pulumi:prod::kubesphere-federation::kubesphere-federation:index:MemberCluster::gone";
const STATE: StateResource[] = [
    {
        urn: "urn:pulumi:prod::kubesphere-federation::pulumi:pulumi:Stack::kubesphere-federation-prod",
        type: "pulumi:pulumi:Stack",
    },
    { urn: MEMBER_URN, type: "kubesphere-federation:index:MemberCluster" },
    {
        urn: `${MEMBER_URN.replace("::gone", "$pulumi:providers:kubernetes::gone")}`,
        type: "pulumi:providers:kubernetes",
        parent: MEMBER_URN,
        inputs: {
            kubeconfig: {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                plaintext: JSON.stringify("apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n"),
            },
        },
    },
    {
        urn: `${MEMBER_URN.replace("::gone", "$kubernetes:cluster.kubesphere.io/v1alpha1:Cluster::gone")}`,
        type: "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster",
        parent: MEMBER_URN,
    },
    {
        urn: "urn:pulumi:prod::kubesphere-federation::kubesphere-federation:index:MemberCluster::kept",
        type: "kubesphere-federation:index:MemberCluster",
    },
];
const HOST_KUBECONFIG = parseKubeconfig(
    "apiVersion: v1\nkind: Config\nclusters:\n- name: h\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: h\n  context:\n    cluster: h\n    user: h\ncurrent-context: h\nusers:\n- name: h\n  user:\n    token: t\n",
);

/** A fake host: the Cluster, its finalizer, the webhook; every write recorded. */
function fakeHost(options: { webhook: boolean; failFinalizer?: boolean; failRestore?: boolean }) {
    const writes: string[] = [];
    let cluster: ClusterForRemoval | undefined = {
        ...cluster34("gone"),
    };
    let webhook: Record<string, unknown> | undefined = options.webhook
        ? {
              apiVersion: "admissionregistration.k8s.io/v1",
              kind: "ValidatingWebhookConfiguration",
              metadata: { name: "cluster.kubesphere.io", uid: "u1", resourceVersion: "7", labels: { a: "b" } },
              webhooks: [{ name: "vcluster.kb.io", timeoutSeconds: 30 }],
          }
        : undefined;
    const removal: ClusterRemovalAccess = {
        readCluster: async () => cluster,
        deleteCluster: async () => {
            writes.push("delete Cluster");
            if (cluster !== undefined && !options.webhook) cluster = undefined;
            else if (cluster !== undefined) cluster = { ...cluster, deleting: true };
        },
        dropFinalizers: async () => {
            writes.push("drop finalizers");
            if (options.failFinalizer) throw new Error("dropping the finalizers failed: the host said no");
            cluster = undefined;
            return true;
        },
        readWebhook: async () => webhook,
        deleteWebhook: async () => {
            writes.push("delete webhook");
            webhook = undefined;
        },
        createWebhook: async (_host, object) => {
            writes.push("create webhook");
            if (options.failRestore) throw new Error("restoring failed: connection refused");
            webhook = object;
        },
    };
    return { writes, removal, webhook: () => webhook };
}

function cluster34(name: string): ClusterForRemoval {
    return { ...cluster(name), finalizers: ["finalizer.cluster.kubesphere.io"], deleting: false };
}

function deps(host: ReturnType<typeof fakeHost>, overrides: Partial<RemoveMemberDeps> = {}) {
    const lines: string[] = [];
    const dropped: string[] = [];
    const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-remove-member-"));
    const value: RemoveMemberDeps = {
        readConfig: () =>
            parseFederationConfig({
                host: { name: "host", kubeconfig: { path: "host.yaml" } },
                members: [{ name: "kept", provider: "kubeadm", kubeconfig: { path: "kept.yaml" } }],
            }),
        readHost: async () => ({ hostKubeconfig: HOST_KUBECONFIG, hostMajor: "v3", hostClusterName: "host" }),
        state: {
            exportResources: async () => STATE,
            deleteResources: async (urns) => void dropped.push(...urns),
        },
        removal: host.removal,
        probe: async () => gone,
        print: (line) => lines.push(line),
        saveDir,
        onInterrupt: () => () => undefined,
        exit: () => undefined,
        goneTimeoutMs: 1000,
        pollIntervalMs: 1,
        ...overrides,
    };
    return { value, lines, dropped, saveDir };
}

describe("npm run remove-member (program/removeMember.ts)", () => {
    it("finds the member's resources in the state and its provider's server, never another member's", () => {
        assert.deepStrictEqual(
            memberResources(STATE, "gone").map((resource) => resource.urn),
            STATE.slice(1, 4).map((resource) => resource.urn),
        );
        assert.strictEqual(providerServer(memberResources(STATE, "gone")), "https://127.0.0.1:1");
    });

    it("3.4: saves the webhook, removes it, deletes the Cluster without its finalizer, restores it, drops the state", async () => {
        const host = fakeHost({ webhook: true });
        const before = host.webhook();
        const { value, lines, dropped } = deps(host);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: false }, value), 0);
        assert.deepStrictEqual(host.writes, ["delete webhook", "delete Cluster", "drop finalizers", "create webhook"]);
        const restored = host.webhook()!;
        assert.deepStrictEqual(restored.webhooks, before!.webhooks);
        assert.deepStrictEqual(restored.metadata, { name: "cluster.kubesphere.io", labels: { a: "b" } });
        // Children first, the component last.
        assert.deepStrictEqual(
            dropped,
            STATE.slice(1, 4)
                .map((resource) => resource.urn)
                .reverse(),
        );
        assert.ok(
            lines.every((line) => !line.includes("token")),
            lines.join("\n"),
        );
        assert.match(lines.at(-1)!, /member "gone" removed/);
    });

    it("--dry-run reads only and prints every step", async () => {
        const host = fakeHost({ webhook: true });
        const { value, lines, dropped } = deps(host);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: true }, value), 0);
        assert.deepStrictEqual(host.writes, []);
        assert.deepStrictEqual(dropped, []);
        for (const step of [
            /would save/,
            /would delete ValidatingWebhookConfiguration/,
            /would restore/,
            /would drop urn:/,
        ])
            assert.ok(
                lines.some((line) => step.test(line)),
                `${step} in:\n${lines.join("\n")}`,
            );
        assert.ok(lines.every((line) => line.startsWith("[dry-run] ")));
    });

    it("refuses, changing nothing, while the member answers, while the config lists it, or when the state lacks it", async () => {
        for (const [request, overrides, expected] of [
            [
                { member: "gone" },
                { probe: async () => ({ answers: true, detail: "connected" }) },
                /answers, so it is not gone.*run `pulumi up`/,
            ],
            [{ member: "kept" }, {}, /still members\[0\].*remove it from members/],
            [
                { member: "nowhere" },
                {
                    readConfig: () =>
                        parseFederationConfig({ host: { name: "host", kubeconfig: { path: "h" } }, members: [] }),
                },
                /not in stack prod's state/,
            ],
        ] as const) {
            const host = fakeHost({ webhook: true });
            const { value, dropped } = deps(host, overrides as Partial<RemoveMemberDeps>);
            await assert.rejects(
                removeMember({ stack: "prod", dryRun: false, ...request }, value),
                (err: Error) => err instanceof RemovalRefused && expected.test(err.message),
            );
            assert.deepStrictEqual(host.writes, []);
            assert.deepStrictEqual(dropped, []);
        }
    });

    it("a step that fails still restores the webhook, exits 1 and keeps the state", async () => {
        const host = fakeHost({ webhook: true, failFinalizer: true });
        const { value, lines, dropped } = deps(host);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: false }, value), 1);
        assert.deepStrictEqual(host.writes.at(-1), "create webhook");
        assert.ok(host.webhook() !== undefined, "the webhook is back");
        assert.deepStrictEqual(dropped, []);
        assert.ok(lines.some((line) => /the host said no/.test(line)));
    });

    it("a restore that fails prints the saved file and the command, and exits 1", async () => {
        const host = fakeHost({ webhook: true, failRestore: true });
        const { value, lines, saveDir } = deps(host);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: false }, value), 1);
        const file = path.join(saveDir, "prod.gone.cluster.kubesphere.io.json");
        assert.ok(fs.existsSync(file), "the saved configuration is kept");
        assert.ok(
            lines.some((line) => line.includes(`kubectl create -f ${file}`)),
            lines.join("\n"),
        );
    });

    it("Ctrl-C after the webhook is removed restores it before exiting", async () => {
        const host = fakeHost({ webhook: true });
        let interrupt: (() => void) | undefined;
        let exited: number | undefined;
        const { value } = deps(host, {
            onInterrupt: (handler) => {
                interrupt = handler;
                return () => undefined;
            },
            exit: (code) => void (exited = code),
        });
        // The finalizer's patch never returns: the user presses Ctrl-C while it waits.
        value.removal = { ...host.removal, dropFinalizers: () => new Promise<boolean>(() => undefined) };
        void removeMember({ stack: "prod", member: "gone", dryRun: false }, value);
        while (host.webhook() !== undefined) await new Promise((resolve) => setTimeout(resolve, 1));
        await new Promise((resolve) => setTimeout(resolve, 5));
        interrupt!();
        while (exited === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
        assert.strictEqual(exited, 130);
        assert.ok(host.webhook() !== undefined, "the webhook is back");
    });

    it("without the webhook (3.2, 3.3, 4.x): deletes the Cluster and waits, touching no webhook", async () => {
        const host = fakeHost({ webhook: false });
        const { value, dropped } = deps(host);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: false }, value), 0);
        assert.deepStrictEqual(host.writes, ["delete Cluster"]);
        assert.strictEqual(dropped.length, 3);
        const quiet = fakeHost({ webhook: false });
        const dry = deps(quiet);
        assert.strictEqual(await removeMember({ stack: "prod", member: "gone", dryRun: true }, dry.value), 0);
        assert.deepStrictEqual(quiet.writes, []);
        assert.deepStrictEqual(dry.dropped, []);
        for (const step of [
            /would delete Cluster "gone"/,
            /would wait for Cluster "gone" to be gone/,
            /would drop urn:/,
        ])
            assert.ok(
                dry.lines.some((line) => step.test(line)),
                `${step} in:\n${dry.lines.join("\n")}`,
            );
    });
});
