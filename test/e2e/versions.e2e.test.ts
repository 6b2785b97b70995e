/**
 * End-to-end version matrix (docs/supported-versions.md): the real program on the real engine against hosts and members of
 * different KubeSphere versions, each emulated as its source shows (test/e2e/emulator, docs/kubesphere.md §9).
 * One sandbox per host version, shared by its scenarios, which run in order.
 *
 * - 3.4 host whose installer takes 20 s to become a host, members 3.2 (token kubeconfig), 3.3 (client certificate)
 *   and 3.4 (exec plugin, imported through a ServiceAccount token); then the ownership refusals: the same cluster
 *   listed twice, and a member that is the host of another federation, with nothing changed on any cluster.
 *   (Removing an unreachable member behind 3.4's webhook by docs/removing-members.md's procedure: realWorld.e2e.test.ts.)
 * - 3.3 host: an exec-plugin member (token credentials, which 3.3 never reports Ready) is refused before any change.
 * - 4.1 host: a bare exec-plugin member reaches Ready and KSCoreReady; a ksCoreValues change waits for the
 *   reinstall; a member whose ks-core another host installed is refused; removal leaves ks-core's namespace.
 */
import * as assert from "assert";
import * as yaml from "js-yaml";
import { fnv1a64Hex } from "./emulator/fnv";
import { httpStatus, MERGE_PATCH } from "./emulator/kubeApi";
import {
    CLUSTER,
    clusterApi,
    ClusterObject,
    conditionOf,
    HOST_ENTRY_LABEL,
    hostCluster,
    hostClusters,
    INSTALLER,
    installerSpecOf,
    jwtSecretOf,
    memberClusters,
    waitUntil,
} from "./harness/clusterQueries";
import { FederationStack } from "./harness/federationStack";
import { useSandbox } from "./harness/useSandbox";
import { Sandbox } from "./sandbox/sandbox";

/**
 * What the program could change on every cluster of the sandbox: ks-installer specs, the namespaces, the
 * ServiceAccounts in kubesphere-system, and the Cluster objects on the host (names and specs). Status written by
 * KubeSphere (the emulator) is left out.
 */
async function clusterSnapshot(sandbox: Sandbox): Promise<string> {
    const parts: Record<string, unknown> = {};
    for (const cluster of sandbox.clusters) {
        const { core } = clusterApi(sandbox, cluster.name);
        const namespaces = (await core.listNamespace()).items.map((ns) => ns.metadata?.name).sort();
        let serviceAccounts: string[] = [];
        try {
            serviceAccounts = (await core.listNamespacedServiceAccount({ namespace: "kubesphere-system" })).items
                .map((sa) => sa.metadata!.name!)
                .sort();
        } catch (err) {
            if (httpStatus(err) !== 404) throw err;
        }
        parts[cluster.name] = { installer: await installerSpecOf(sandbox, cluster.name), namespaces, serviceAccounts };
    }
    parts.clusters = (await hostClusters(sandbox))
        .map((cluster) => ({ name: cluster.metadata.name, spec: cluster.spec }))
        .sort((a, b) => a.name.localeCompare(b.name));
    return JSON.stringify(parts);
}

/** The first line of a refused `up`'s error (the program's message; Pulumi adds context below). */
async function refusalOf(stack: FederationStack): Promise<string> {
    try {
        await stack.up();
    } catch (err) {
        return (err as Error).message.replace(/^the program failed: /, "").split("\n")[0];
    }
    throw new Error("pulumi up succeeded, expected a refusal");
}

const ok = (result: { summary: { result?: string } }) => assert.strictEqual(result.summary.result, "succeeded");

/** `pulumi up` (options as given), with the warnings the program logged during it. */
async function upWithWarnings(stack: FederationStack, opts: { refresh?: boolean } = {}) {
    const warnings: string[] = [];
    const result = await stack.up({
        ...opts,
        onEvent: (event) => {
            const diagnostic = event.diagnosticEvent;
            if (diagnostic?.severity === "warning") warnings.push(diagnostic.message.trim());
        },
    });
    return { result, warnings: warnings.join("\n") };
}

describe("version matrix: KubeSphere 3.4 host with 3.2, 3.3 and 3.4 members (e2e)", function () {
    this.timeout(10 * 60_000);
    const HOST_INSTALLER_DELAY_MS = 20_000;
    // member4 is a fresh cluster to list twice; member5 is made the host of another federation.
    const ctx = useSandbox("versions", {
        members: 5,
        hostVersion: "3.4",
        memberVersions: ["3.2", "3.3", "3.4", "3.4", "3.4"],
        hostInstallerDelayMs: HOST_INSTALLER_DELAY_MS,
    });
    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    let certificateKubeconfig = "";
    const fleet = () => [
        // 3.2, token kubeconfig passed on as it is.
        {
            name: "member1",
            provider: "generic",
            kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
            credentials: "kubeconfig",
            readyTimeoutSeconds: 120,
        },
        // 3.3, client certificate (kubeadm's admin.conf).
        { name: "member2", provider: "kubeadm", kubeconfig: { path: certificateKubeconfig }, readyTimeoutSeconds: 120 },
        // 3.4, exec plugin (EKS): imported through a ServiceAccount token.
        {
            name: "member3",
            provider: "eks",
            kubeconfig: { path: ctx.sandbox.cluster("member3").execKubeconfigPath },
            readyTimeoutSeconds: 120,
        },
    ];

    it("waits until the host is a host (its installer takes 20 s), then joins all three members", async () => {
        // member5 becomes the host of its own federation meanwhile (its installer takes the same 20 s).
        await clusterApi(ctx.sandbox, "member5").custom.patchNamespacedCustomObject(
            { ...INSTALLER, body: { spec: { multicluster: { clusterRole: "host" } } } },
            MERGE_PATCH,
        );
        certificateKubeconfig = await ctx.sandbox.clientCertificateKubeconfig("member2", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 365,
        });
        await ctx.stack.setFederationConfig({ host: host(), members: fleet() });
        const started = Date.now();
        ok(await ctx.stack.up());
        assert.ok(Date.now() - started >= HOST_INSTALLER_DELAY_MS, "up returned before the host installer finished");
        const hostEntry = (await hostCluster(ctx.sandbox, "host"))!;
        assert.ok(hostEntry.metadata.labels?.[HOST_ENTRY_LABEL] !== undefined, "KubeSphere created its own host entry");
        const members = await memberClusters(ctx.sandbox);
        assert.deepStrictEqual(members.map((cluster) => cluster.metadata.name).sort(), [
            "member1",
            "member2",
            "member3",
        ]);
        for (const cluster of members) {
            assert.strictEqual(
                conditionOf(cluster)?.status,
                "True",
                `${cluster.metadata.name}: ${conditionOf(cluster)?.message}`,
            );
            // The program waits for the host to be a host before any member Cluster is created (docs/kubesphere.md §9.3).
            assert.ok(
                (cluster as ClusterObject & { metadata: { creationTimestamp: string } }).metadata.creationTimestamp >=
                    (hostEntry as ClusterObject & { metadata: { creationTimestamp: string } }).metadata
                        .creationTimestamp,
                `${cluster.metadata.name} was created before the host was a host`,
            );
        }
        for (const name of ["member1", "member2", "member3"]) {
            assert.ok(
                (await jwtSecretOf(ctx.sandbox, name)) === (await jwtSecretOf(ctx.sandbox, "host")),
                `${name} has the host's jwtSecret`,
            );
        }
        const exported = (await ctx.stack.stack.outputs()).members?.value as Record<string, unknown>;
        assert.ok(exported && Object.keys(exported).length === 3, "the three members are exported");
    });

    it("reports no changes on a second up", async () => {
        const result = await ctx.stack.up();
        const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(
            ([op]) => op !== "same" && op !== "read",
        );
        assert.deepStrictEqual(changes, [], `second up changed: ${JSON.stringify(result.summary.resourceChanges)}`);
    });

    it("refuses the same cluster listed twice, naming both, with nothing changed on any cluster", async () => {
        const twice = [
            {
                name: "member4",
                provider: "generic",
                kubeconfig: { path: ctx.sandbox.cluster("member4").kubeconfigPath },
            },
            {
                name: "member4-again",
                provider: "generic",
                kubeconfig: { path: ctx.sandbox.cluster("member4").kubeconfigPath },
            },
        ];
        await ctx.stack.setFederationConfig({ host: host(), members: [...fleet(), ...twice] });
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(refusal, /member4/);
        assert.match(refusal, /member4-again/);
        assert.match(refusal, /same cluster/i);
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
    });

    it("refuses a member that is the host of another federation, with nothing changed on any cluster", async () => {
        // member5 was made a host in the first scenario: its kubesphere-config shows it once its installer is done.
        await waitUntil(async () => {
            const { core } = clusterApi(ctx.sandbox, "member5");
            const configMap = await core.readNamespacedConfigMap({
                name: "kubesphere-config",
                namespace: "kubesphere-system",
            });
            return /clusterRole: host/.test(configMap.data?.["kubesphere.yaml"] ?? "");
        }, "member5's kubesphere-config shows clusterRole host");
        await ctx.stack.setFederationConfig({
            host: host(),
            members: [
                ...fleet(),
                {
                    name: "member5",
                    provider: "generic",
                    kubeconfig: { path: ctx.sandbox.cluster("member5").kubeconfigPath },
                },
            ],
        });
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(refusal, /member5/);
        assert.match(refusal, /host/);
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
    });
});

describe("version matrix: KubeSphere 3.3 host (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("versions", { members: 1, kubesphereVersion: "3.3" });

    it("refuses an exec-plugin member before any change: 3.3 never reports a token-authenticated Cluster Ready", async () => {
        await ctx.stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } },
            members: [
                {
                    name: "member1",
                    provider: "eks",
                    kubeconfig: { path: ctx.sandbox.cluster("member1").execKubeconfigPath },
                },
            ],
        });
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(refusal, /member1/);
        assert.match(refusal, /3\.3/);
        assert.match(refusal, /token/i);
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
        assert.strictEqual(
            (await installerSpecOf(ctx.sandbox, "host"))?.multicluster?.clusterRole,
            "none",
            "the host was not patched",
        );
    });

    it("joins the member with a client-certificate kubeconfig", async () => {
        const certificate = await ctx.sandbox.clientCertificateKubeconfig("member1", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 365,
        });
        await ctx.stack.setFederationConfig({
            host: { name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } },
            members: [
                {
                    name: "member1",
                    provider: "kubeadm",
                    kubeconfig: { path: certificate },
                    credentials: "kubeconfig",
                    readyTimeoutSeconds: 120,
                },
            ],
        });
        ok(await ctx.stack.up());
        const cluster = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(cluster)?.status, "True", conditionOf(cluster)?.message);
    });

    it("(emulator) 3.3 writes no status for a token kubeconfig (empty CertData), and has no webhook", async () => {
        // What the refusal above protects against: the same member imported with its token kubeconfig, by hand.
        const host = clusterApi(ctx.sandbox, "host").custom;
        await host.createClusterCustomObject({
            ...CLUSTER,
            body: {
                apiVersion: "cluster.kubesphere.io/v1alpha1",
                kind: "Cluster",
                metadata: { name: "member1-token" },
                spec: {
                    joinFederation: true,
                    provider: "generic",
                    connection: {
                        type: "direct",
                        kubeconfig: Buffer.from(ctx.sandbox.kubeconfig("member1")).toString("base64"),
                    },
                },
            },
        });
        await waitUntil(
            async () => ((await hostCluster(ctx.sandbox, "member1-token"))?.metadata.finalizers ?? []).length > 0,
            "KubeSphere's finalizer on member1-token",
        );
        // Absence of a write needs time to pass: a few of the emulator's one-second resyncs.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.strictEqual(
            (await hostCluster(ctx.sandbox, "member1-token"))?.status,
            undefined,
            "3.3 returns before writing any status",
        );
        // No webhook on 3.3: with the member down, the Cluster is still updated (Ready=False) and deleted.
        await ctx.sandbox.stopApiServer("member1");
        try {
            await waitUntil(
                async () =>
                    conditionOf(await hostCluster(ctx.sandbox, "member1"))?.reason ===
                    "Cluster join federation control plane failed",
                "member1 Ready=False",
            );
            await host.deleteClusterCustomObject({ ...CLUSTER, name: "member1-token" });
            await waitUntil(
                async () => (await hostCluster(ctx.sandbox, "member1-token")) === undefined,
                "member1-token deleted",
            );
        } finally {
            await ctx.sandbox.startApiServer("member1");
        }
    });
});

describe("version matrix: KubeSphere 3.1 host with a 3.1 member (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("versions", { members: 1, kubesphereVersion: "3.1" });
    // host.name differs from "host", the only name 3.1 gives its own Cluster entry (it has no hostClusterName option).
    const config = () => ({
        host: { name: "prod", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } },
        members: [
            {
                name: "member1",
                provider: "generic",
                kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
                credentials: "kubeconfig",
                readyTimeoutSeconds: 120,
            },
        ],
    });

    it('joins the member: no hostClusterName in the host\'s patch, a warning that 3.1 names its entry "host", member Ready', async () => {
        await ctx.stack.setFederationConfig(config());
        const { result, warnings } = await upWithWarnings(ctx.stack);
        ok(result);
        assert.match(
            warnings,
            /host "prod": KubeSphere v3\.1\.1 has no hostClusterName option, so KubeSphere will name its own host Cluster entry "host", not "prod" \(host\.name\)\. Fix: set host\.name: host/,
        );
        const hostSpec = await installerSpecOf(ctx.sandbox, "host");
        assert.strictEqual(hostSpec?.multicluster?.clusterRole, "host");
        assert.strictEqual(hostSpec?.multicluster?.hostClusterName, undefined, "3.1 has no hostClusterName option");
        const entry = (await hostCluster(ctx.sandbox, "host"))!;
        assert.ok(entry?.metadata.labels?.[HOST_ENTRY_LABEL] !== undefined, 'KubeSphere\'s own entry is "host"');
        assert.deepStrictEqual(
            (await memberClusters(ctx.sandbox)).map((cluster) => cluster.metadata.name),
            ["member1"],
        );
        const member = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(member)?.status, "True", conditionOf(member)?.message);
        assert.strictEqual(member.status?.kubeSphereVersion, "v3.1.1");
        assert.strictEqual(member.status?.uid, undefined, "the 3.1 CRD has no status.uid");
        assert.ok(
            (await jwtSecretOf(ctx.sandbox, "member1")) === (await jwtSecretOf(ctx.sandbox, "host")),
            "member1 has the host's jwtSecret",
        );
        const exported = await ctx.stack.stack.outputs();
        assert.strictEqual(exported.hostKubesphereVersion?.value, "v3.1.1");
    });

    it('reports no changes on a second up, warning that the entry is "host"', async () => {
        const { result, warnings } = await upWithWarnings(ctx.stack);
        const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(
            ([op]) => op !== "same" && op !== "read",
        );
        assert.deepStrictEqual(changes, [], `second up changed: ${JSON.stringify(result.summary.resourceChanges)}`);
        assert.match(
            warnings,
            /KubeSphere's own host Cluster entry is named "host", not "prod" \(host\.name\)\. KubeSphere v3\.1\.1 has no hostClusterName option and always names it "host"/,
        );
    });

    it("refuses a 3.1 member whose ks-installer has oauthOptions (rendered instead of accessTokenMaxAge: 0), with nothing changed", async () => {
        await clusterApi(ctx.sandbox, "member1").custom.patchNamespacedCustomObject(
            { ...INSTALLER, body: { spec: { authentication: { oauthOptions: { accessTokenMaxAge: "1h" } } } } },
            MERGE_PATCH,
        );
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(
            refusal,
            /member "member1" runs KubeSphere v3\.1\.1, whose ks-installer has spec\.authentication\.oauthOptions \(accessTokenMaxAge "1h"\).*Fix: add accessTokenMaxAge: 0/,
        );
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
    });
});

describe("version matrix: KubeSphere 4.1 host with bare 4.1 members (e2e)", function () {
    this.timeout(10 * 60_000);
    // The emulated Helm install of ks-core takes 5 s, so returning before it is done would show.
    const INSTALL_DELAY_MS = 5_000;
    const ctx = useSandbox("versions", { members: 2, kubesphereVersion: "4.1", reconcileDelayMs: INSTALL_DELAY_MS });
    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    const bareMember = (ksCoreValues: Record<string, unknown>) => ({
        name: "member1",
        provider: "eks",
        kubeconfig: { path: ctx.sandbox.cluster("member1").execKubeconfigPath },
        ksCoreValues,
        readyTimeoutSeconds: 120,
    });
    const configHashOf = (cluster: ClusterObject | undefined) =>
        cluster?.metadata.annotations?.["kubesphere.io/config-hash"];

    it("joins a bare exec-plugin member: Ready and KSCoreReady, ks-core installed by the host", async () => {
        await assert.rejects(
            clusterApi(ctx.sandbox, "member1").core.readNamespace({ name: "kubesphere-system" }),
            (err: unknown) => httpStatus(err) === 404,
            "member1 starts bare",
        );
        await ctx.stack.setFederationConfig({ host: host(), members: [bareMember({ cloud: { enabled: false } })] });
        ok(await ctx.stack.up());
        const cluster = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(cluster)?.status, "True", conditionOf(cluster)?.message);
        assert.strictEqual(conditionOf(cluster, "KSCoreReady")?.status, "True");
        assert.strictEqual(configHashOf(cluster), fnv1a64Hex(Buffer.from(cluster.spec.config ?? "", "base64")));
        assert.ok(
            (await jwtSecretOf(ctx.sandbox, "member1")) === (await jwtSecretOf(ctx.sandbox, "host")),
            "member1 has the host's jwtSecret",
        );
        const second = await ctx.stack.up();
        assert.deepStrictEqual(
            Object.keys(second.summary.resourceChanges ?? {}).filter((op) => op !== "same" && op !== "read"),
            [],
        );
    });

    it("waits for the ks-core reinstall after a ksCoreValues change", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [bareMember({ cloud: { enabled: true } })] });
        const started = Date.now();
        ok(await ctx.stack.up());
        const cluster = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(
            configHashOf(cluster),
            fnv1a64Hex(Buffer.from(cluster.spec.config ?? "", "base64")),
            "up returned before the reinstall was done",
        );
        assert.ok(Date.now() - started >= INSTALL_DELAY_MS);
    });

    it("refuses a member whose ks-core another host installed, with nothing changed on any cluster", async () => {
        // What another 4.x host leaves on its member (v4.1.3 syncClusterName).
        const { core } = clusterApi(ctx.sandbox, "member2");
        await core.createNamespace({
            body: {
                metadata: {
                    name: "kubesphere-system",
                    annotations: {
                        "cluster.kubesphere.io/host-cluster": "other-host",
                        "cluster.kubesphere.io/name": "member2",
                    },
                },
            },
        });
        await ctx.stack.setFederationConfig({
            host: host(),
            members: [
                bareMember({ cloud: { enabled: true } }),
                {
                    name: "member2",
                    provider: "generic",
                    kubeconfig: { path: ctx.sandbox.cluster("member2").kubeconfigPath },
                },
            ],
        });
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(refusal, /member2/);
        assert.match(refusal, /other-host/);
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
    });

    it("removing the member leaves what KubeSphere installed (kubesphere-system stays)", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: [] });
        ok(await ctx.stack.up());
        assert.deepStrictEqual(await memberClusters(ctx.sandbox), []);
        const namespace = await clusterApi(ctx.sandbox, "member1").core.readNamespace({ name: "kubesphere-system" });
        assert.ok(namespace.metadata?.name, "ks-core's namespace is still there");
        assert.strictEqual(
            namespace.metadata?.annotations?.["cluster.kubesphere.io/host-cluster"],
            undefined,
            "KubeSphere removed its annotation on a clean unjoin",
        );
    });
});

describe("version matrix: KubeSphere 4.1 host with client-certificate members and a 3.4 member (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("versions", { members: 3, hostVersion: "4.1", memberVersions: ["4.1", "4.1", "3.4"] });
    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    let defaultCertificate = "";
    let explicitCertificate = "";
    const fleet = () => [
        // kubeadm's admin.conf: default credentials, so a ServiceAccount token on a 4.x host.
        { name: "member1", provider: "kubeadm", kubeconfig: { path: defaultCertificate }, readyTimeoutSeconds: 120 },
        // The same kind of certificate, imported as it is.
        {
            name: "member2",
            provider: "kubeadm",
            kubeconfig: { path: explicitCertificate },
            credentials: "kubeconfig",
            readyTimeoutSeconds: 120,
        },
    ];
    const importedUser = async (name: string) => {
        const base64 = (await hostCluster(ctx.sandbox, name))?.spec.connection?.kubeconfig ?? "";
        const document = yaml.load(Buffer.from(base64, "base64").toString("utf8")) as {
            users?: Array<{ user?: Record<string, unknown> }>;
        };
        return { base64, user: document?.users?.[0]?.user ?? {} };
    };
    const changedOps = (result: { summary: { resourceChanges?: Record<string, number> } }) =>
        Object.keys(result.summary.resourceChanges ?? {}).filter((op) => op !== "same" && op !== "read");

    it("imports a client-certificate member through a ServiceAccount token by default (Ready, KSCoreReady); a second up changes nothing", async () => {
        defaultCertificate = await ctx.sandbox.clientCertificateKubeconfig("member1", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 365,
        });
        explicitCertificate = await ctx.sandbox.clientCertificateKubeconfig("member2", {
            user: "kubernetes-admin",
            groups: ["system:masters"],
            days: 30,
        });
        await ctx.stack.setFederationConfig({ host: host(), members: fleet().slice(0, 1) });
        ok(await ctx.stack.up());
        const cluster = (await hostCluster(ctx.sandbox, "member1"))!;
        assert.strictEqual(conditionOf(cluster)?.status, "True", conditionOf(cluster)?.message);
        assert.strictEqual(conditionOf(cluster, "KSCoreReady")?.status, "True");
        const { user } = await importedUser("member1");
        assert.strictEqual(typeof user.token, "string", "KubeSphere got a token");
        assert.strictEqual(
            user["client-certificate-data"],
            undefined,
            "the Cluster's kubeconfig has no client certificate",
        );
        const serviceAccount = await clusterApi(ctx.sandbox, "member1").core.readNamespacedServiceAccount({
            name: "kubesphere-multicluster",
            namespace: "kube-system",
        });
        assert.ok(serviceAccount.metadata?.uid, "the import ServiceAccount lives in kube-system");
        const second = await ctx.stack.up();
        assert.deepStrictEqual(changedOps(second), [], JSON.stringify(second.summary.resourceChanges));
    });

    it("credentials: kubeconfig warns, and once KubeSphere renewed the certificate in place neither up --refresh nor up puts the old one back", async () => {
        await ctx.stack.setFederationConfig({ host: host(), members: fleet() });
        const { result, warnings } = await upWithWarnings(ctx.stack);
        ok(result);
        assert.match(
            warnings,
            /member "member2": KubeSphere 4\.x renews the client certificate of an imported kubeconfig in place when 7 days or less are left \(its certificate has (29|30) day\(s\)\)/,
        );
        const joined = (await hostCluster(ctx.sandbox, "member2"))!;
        assert.strictEqual(conditionOf(joined)?.status, "True", conditionOf(joined)?.message);
        assert.strictEqual(conditionOf(joined, "KSCoreReady")?.status, "True");
        assert.strictEqual(
            typeof (await importedUser("member2")).user["client-certificate-data"],
            "string",
            "imported as it is",
        );

        // 25 days on, for KubeSphere only (the emulator's test-only clock): 5 days left, so its renewal code runs and
        // swaps in the kubesphere ServiceAccount's token (a system:masters certificate cannot be re-issued).
        ctx.sandbox.advanceEmulatorClock(25);
        try {
            await waitUntil(
                async () => typeof (await importedUser("member2")).user.token === "string",
                "KubeSphere renewed member2's kubeconfig",
            );
            const renewed = (await importedUser("member2")).base64;

            const refreshed = await ctx.stack.up({ refresh: true });
            ok(refreshed);
            assert.ok(
                !changedOps(refreshed).includes("update"),
                `up --refresh updated: ${JSON.stringify(refreshed.summary.resourceChanges)}`,
            );
            assert.strictEqual(
                (await importedUser("member2")).base64,
                renewed,
                "up --refresh put the old kubeconfig back",
            );

            const plain = await ctx.stack.up();
            assert.deepStrictEqual(changedOps(plain), [], JSON.stringify(plain.summary.resourceChanges));
            assert.strictEqual((await importedUser("member2")).base64, renewed, "up put the old kubeconfig back");
            assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member2"))?.status, "True");
        } finally {
            ctx.sandbox.advanceEmulatorClock(0);
        }
    });

    it("refuses a KubeSphere 3.4 member (ks-installer) before any change, naming it, the versions and the fix", async () => {
        await ctx.stack.setFederationConfig({
            host: host(),
            members: [
                ...fleet(),
                {
                    name: "member3",
                    provider: "generic",
                    kubeconfig: { path: ctx.sandbox.cluster("member3").kubeconfigPath },
                },
            ],
        });
        const before = await clusterSnapshot(ctx.sandbox);
        const refusal = await refusalOf(ctx.stack);
        assert.match(
            refusal,
            /member "member3" runs KubeSphere v3\.4\.1 \(ks-installer found\), but host "host" \(KubeSphere v4\.1\.3\) runs KubeSphere 4\.x/,
        );
        assert.match(refusal, /Fix: /);
        assert.strictEqual(
            await clusterSnapshot(ctx.sandbox),
            before,
            "a cluster changed although the program refused",
        );
        assert.strictEqual(await hostCluster(ctx.sandbox, "member3"), undefined);
    });
});
