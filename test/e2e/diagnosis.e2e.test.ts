/**
 * End-to-end, why a join is stuck (docs/troubleshooting.md): each cause the sandbox can produce, made the
 * way a user's mistake or a broken cluster makes it (a kubeconfig whose server is a closed loopback port, a server
 * name outside the certificate's SANs, a read-only identity, an expired certificate minted by the sandbox, a member
 * whose API server's clock is behind (the sandbox's Date-shifting front), a jwtSecret edited on the member), on one
 * KubeSphere 3.4 sandbox with short timeouts; on a 4.1 sandbox, a ClusterRoleBinding made with kubectl that Helm will
 * not adopt for ks-core, and a ks-apiserver that stopped answering behind the member's real service proxy (the
 * sandbox's network-namespace ks-apiserver). Each asserts that the FIRST line of the error (or the warning, for the
 * clock) names the cause, and that no secret (tokens, jwtSecrets, keys) appears in it or anything the engine
 * printed; `npm run doctor` is run as docs/troubleshooting.md writes it. First, a healthy join through the program's own Ready
 * wait. The agent that never connects is produced in agent.e2e.test.ts.
 */
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { MERGE_PATCH } from "./emulator/kubeApi";
import { clusterApi, conditionOf, hostCluster, importedKubeconfig, jwtSecretOf } from "./harness/clusterQueries";
import { CliProject, diagnosticsGroup } from "./harness/cliProject";
import { createFederationStack, failureOf, FederationStack } from "./harness/federationStack";
import { DOC_SECTIONS, docCommands } from "./harness/docCommands";
import { freePort } from "./sandbox/freePort";
import { REPO_ROOT } from "./sandbox/paths";
import { Sandbox, startSandbox } from "./sandbox/sandbox";
import { useSandbox } from "./harness/useSandbox";

const execFileAsync = promisify(execFile);

/** `npm run doctor` as docs/troubleshooting.md writes it, on a project in `project` whose stack `stack` has this config. */
async function runDoctorIn(
    project: string,
    stack: string,
    config: { host: unknown; members: unknown[] },
): Promise<{ output: string; code: number }> {
    fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    fs.writeFileSync(
        path.join(project, "stacks", `Pulumi.${stack}.yaml`),
        yaml.dump({
            config: { "kubesphere-federation:host": config.host, "kubesphere-federation:members": config.members },
        }),
    );
    const [command] = docCommands(DOC_SECTIONS.troubleshooting).filter((line) => line.startsWith("npm run doctor"));
    assert.strictEqual(command, "npm run doctor -- --stack <stack>");
    try {
        const result = await execFileAsync("bash", ["-c", command.replace("<stack>", `${stack} --dir ${project}`)], {
            cwd: REPO_ROOT,
        });
        return { output: result.stdout, code: 0 };
    } catch (err) {
        const failed = err as { stdout: string; code: number };
        return { output: failed.stdout, code: failed.code };
    }
}

/** The tokens in the sandbox's kubeconfigs and every cluster's jwtSecret (where it has one). */
async function sandboxSecrets(sandbox: Sandbox): Promise<string[]> {
    const values = [] as string[];
    for (const cluster of sandbox.clusters) {
        const user = (yaml.load(sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token?: string } }> })
            .users[0].user;
        if (user.token) values.push(user.token);
        values.push(await jwtSecretOf(sandbox, cluster.name).catch(() => ""));
    }
    return values.filter((value) => value.length >= 16);
}

describe("diagnosis: why a join is stuck (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = {} as { sandbox: Sandbox; stack: FederationStack; dir: string; secrets: string[] };
    before(async function () {
        this.timeout(5 * 60_000);
        ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-e2e-diagnosis-"));
        ctx.sandbox = await startSandbox({ dir: path.join(ctx.dir, "sandbox"), members: 2, reconcileDelayMs: 1000 });
        ctx.stack = await createFederationStack("diagnosis", path.join(ctx.dir, "stack"));
    });
    after(async function () {
        this.timeout(2 * 60_000);
        await ctx.sandbox?.stop();
        if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
    });

    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    const member1 = (extra: Record<string, unknown> = {}) => ({
        name: "member1",
        provider: "kubeadm",
        kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
        readyTimeoutSeconds: 120,
        ...extra,
    });
    const member2 = (extra: Record<string, unknown>) => ({
        name: "member2",
        provider: "generic",
        kubeconfig: { path: ctx.sandbox.cluster("member2").kubeconfigPath },
        readyTimeoutSeconds: 240,
        ...extra,
    });
    const configure = (members: unknown[]) => ctx.stack.setFederationConfig({ host: host(), members });
    const runDoctor = (stack: string, members: unknown[]) =>
        runDoctorIn(path.join(ctx.dir, "project"), stack, { host: host(), members });
    const memberPort = (name: string) => new URL(ctx.sandbox.cluster(name).server).port;

    /** Every secret the runs could leak: the clusters' tokens and jwtSecrets, the client keys the tests mint. */
    const secrets = async (...files: string[]) => {
        const values = [] as string[];
        for (const cluster of ctx.sandbox.clusters) {
            const user = (
                yaml.load(ctx.sandbox.kubeconfig(cluster.name)) as { users: Array<{ user: { token?: string } }> }
            ).users[0].user;
            if (user.token) values.push(user.token);
            values.push(await jwtSecretOf(ctx.sandbox, cluster.name));
        }
        for (const file of files) {
            const user = (
                yaml.load(fs.readFileSync(file, "utf8")) as { users: Array<{ user: Record<string, string> }> }
            ).users[0].user;
            if (user["client-key-data"]) values.push(user["client-key-data"]);
        }
        return values.filter((value) => value.length >= 16);
    };
    const assertNoSecret = async (text: string, ...files: string[]) => {
        for (const secret of await secrets(...files)) {
            assert.ok(!text.includes(secret), "a secret appears in the error");
            assert.ok(!ctx.stack.output().includes(secret), "a secret appears in the engine's output");
        }
    };

    it("a healthy join: the program's own wait returns once Ready, the exports stay plain, a second up changes nothing", async () => {
        await configure([member1()]);
        const first = await ctx.stack.up();
        assert.strictEqual(first.summary.result, "succeeded");
        const members = first.outputs.members;
        assert.strictEqual(members.secret, false, "the members export is not a secret");
        assert.deepStrictEqual(
            [members.value.member1.ready, members.value.member1.message],
            [true, "Cluster is available now"],
        );
        assert.strictEqual(
            (await hostCluster(ctx.sandbox, "member1"))!.metadata.annotations?.["pulumi.com/skipAwait"],
            "true",
        );
        const second = await ctx.stack.up();
        assert.deepStrictEqual(
            Object.keys(second.summary.resourceChanges ?? {}).filter((op) => op !== "same" && op !== "read"),
            [],
        );
    });

    it("an unreachable server in the kubeconfig KubeSphere got: up stops as soon as KubeSphere reports the failure, naming the server", async () => {
        const closed = await freePort();
        await configure([member1(), member2({ apiServerEndpoint: `https://127.0.0.1:${closed}` })]);
        const started = Date.now();
        const failure = await failureOf(ctx.stack);
        const seconds = (Date.now() - started) / 1000;
        assert.match(
            failure.first,
            new RegExp(
                `^member "member2": kubeconfig KubeSphere got: server reachable: the Cluster's spec\\.connection\\.kubeconfig points at https://127\\.0\\.0\\.1:${closed}, which does not answer from the machine running Pulumi \\(connection refused\\)\\. Fix: .*members\\[1\\]\\.apiServerEndpoint`,
            ),
            failure.all.slice(0, 4000),
        );
        assert.match(failure.all, /KubeSphere reports .*Federated=False/);
        assert.ok(seconds < 200, `failed after ${seconds}s, before the 240s readyTimeoutSeconds`);
        // The pre-flight's check only warned (from here is not from the host's network): the Cluster was created.
        assert.strictEqual(
            importedKubeconfig((await hostCluster(ctx.sandbox, "member2"))!).clusters[0].cluster.server,
            `https://127.0.0.1:${closed}`,
        );
        assert.strictEqual(
            conditionOf(await hostCluster(ctx.sandbox, "member1"))?.status,
            "True",
            "the healthy member joined",
        );
        await assertNoSecret(failure.all);
    });

    it("a server name outside the API server certificate's SANs is refused before any change", async () => {
        const before = importedKubeconfig((await hostCluster(ctx.sandbox, "member2"))!).clusters[0].cluster.server;
        await configure([member1(), member2({ apiServerEndpoint: `https://localhost:${memberPort("member2")}` })]);
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            new RegExp(
                `^member "member2": kubeconfig KubeSphere got: server certificate: TLS to https://localhost:${memberPort("member2")} fails: the server certificate does not cover the server name.*Fix: use a server name that is in the API server certificate's SANs`,
            ),
        );
        assert.strictEqual(
            importedKubeconfig((await hostCluster(ctx.sandbox, "member2"))!).clusters[0].cluster.server,
            before,
            "the Cluster was not changed",
        );
        await assertNoSecret(failure.all);
    });

    it("an identity that may only read is refused before any change: KubeSphere manages the whole member", async () => {
        // What a user does with a read-only kubeconfig: a ClusterRole that gets, lists and watches everything.
        const rbac = ctx.sandbox.loadKubeConfig("member2").makeApiClient(RbacAuthorizationV1Api);
        await rbac.createClusterRole({
            body: {
                metadata: { name: "read-everything" },
                rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] }],
            },
        });
        await rbac.createClusterRoleBinding({
            body: {
                metadata: { name: "reader-read-everything" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "read-everything" },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "reader" }],
            },
        });
        const readOnly = await ctx.sandbox.clientCertificateKubeconfig("member2", { user: "reader", days: 365 });
        await configure([member1(), member2({ kubeconfig: { path: readOnly } })]);
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member2": kubeconfig KubeSphere got: rights: the identity in the kubeconfig the program will import may not do everything \(cluster-admin\) \(SelfSubjectAccessReview\)\. Fix: .*cluster-admin/,
        );
        await assertNoSecret(failure.all, readOnly);
    });

    it("an expired client certificate is named as the reason the member rejects the kubeconfig", async () => {
        const expired = await ctx.sandbox.clientCertificateKubeconfig("member2", {
            user: "expired-admin",
            groups: ["system:masters"],
            days: 0,
        });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await configure([member1(), member2({ kubeconfig: { path: expired } })]);
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^cluster "member2": the API server https:\/\/127\.0\.0\.1:\d+ rejects the kubeconfig's credentials \(the kubeconfig's client certificate: expired on .*\) \(HTTP 401.*Fix: renew the credentials/,
        );
        await assertNoSecret(failure.all, expired);
    });

    it("a member whose clock is 60s behind the host's: up warns naming the skew (Ready does not need the clock), the doctor fails the check", async () => {
        // What a member on a machine with a skewed clock answers: its API server's Date header, 60s behind.
        const skewed = await ctx.sandbox.skewedClockKubeconfig("member2", -60);
        await configure([member1(), member2({ kubeconfig: { path: skewed } })]);
        const warnings: string[] = [];
        const up = await ctx.stack.up({
            onEvent: (event) => {
                const diagnostic = event.diagnosticEvent;
                if (diagnostic?.severity === "warning") warnings.push(diagnostic.message.trim());
            },
        });
        assert.strictEqual(up.summary.result, "succeeded");
        const printed = warnings.join("\n");
        assert.match(
            printed,
            /^member "member2": clock skew host\/member: the host's clock is (59|60|61)s ahead of the member's \(±\d+s, from the API servers' Date headers\), more than the member's maximumClockSkew [^:]+: the member rejects the host's tokens \("jwt: token used before issued"\)\. Fix: synchronise both clusters' clocks/m,
            printed,
        );
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member2"))?.status, "True");
        const doctor = await runDoctor("skew", [member2({ kubeconfig: { path: skewed } })]);
        assert.strictEqual(doctor.code, 1, doctor.output);
        assert.match(
            doctor.output,
            /^member2\s+clock skew host\/member\s+FAIL\s+the host's clock is (59|60|61)s ahead of the member's/m,
        );
        assert.match(doctor.output, /1 member\(s\) with a failing check: member2 \(clock skew host\/member\)/);
        await assertNoSecret(printed + doctor.output, skewed);
        for (const secret of await secrets())
            assert.ok(!doctor.output.includes(secret), "a secret appears in the doctor's output");
        // member2 leaves the stack: its Ready Cluster (with the member's kube-system UID) must not stay behind.
        await configure([member1()]);
        assert.strictEqual((await ctx.stack.up()).summary.result, "succeeded");
        assert.strictEqual(await hostCluster(ctx.sandbox, "member2"), undefined);
    });

    it("a jwtSecret edited on the member: the installer wait's timeout says the member's jwtSecret differs from the host's", async () => {
        // A user "fixes" the member by editing kubesphere-config by hand; KubeSphere 3.x keeps the Cluster Ready.
        const core = clusterApi(ctx.sandbox, "member1").core;
        const configMap = await core.readNamespacedConfigMap({
            name: "kubesphere-config",
            namespace: "kubesphere-system",
        });
        const text = configMap.data!["kubesphere.yaml"];
        const edited = text.replace(await jwtSecretOf(ctx.sandbox, "member1"), "editedByHand0123456789abcdefghij");
        assert.notStrictEqual(edited, text);
        await core.patchNamespacedConfigMap(
            {
                name: "kubesphere-config",
                namespace: "kubesphere-system",
                body: { data: { "kubesphere.yaml": edited } },
            },
            MERGE_PATCH,
        );
        await configure([member1({ installerTimeoutSeconds: 15 })]);
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member1": member jwtSecret and role: the jwtSecret in its kubesphere-config differs from host "host"'s \(its ks-installer spec has the host's: the installer has not applied it\)\. Fix: .*rollout restart deploy\/ks-installer/,
        );
        assert.match(failure.all, /ks-installer did not apply the host's jwtSecret and clusterRole member within 15s/);
        assert.ok(
            !failure.all.includes("editedByHand0123456789abcdefghij"),
            "the member's (wrong) jwtSecret is not printed either",
        );
        await assertNoSecret(failure.all);
    });

    it("through the Pulumi CLI, the stuck join's error is the diagnosis alone, cause first, attached to the member", async function () {
        this.timeout(8 * 60_000);
        const project = CliProject.create(ctx.sandbox.dir);
        try {
            const closed = await freePort();
            // Another Cluster name for the same member: this stack's state is its own.
            fs.writeFileSync(
                path.join(project.dir, "stacks", "Pulumi.stuck.yaml"),
                yaml.dump({
                    config: {
                        "kubesphere-federation:host": {
                            name: "host",
                            kubeconfig: { path: ".sandbox/kubeconfigs/host.yaml" },
                        },
                        "kubesphere-federation:members": [
                            {
                                name: "stuck",
                                provider: "generic",
                                kubeconfig: { path: ".sandbox/kubeconfigs/member2.yaml" },
                                apiServerEndpoint: `https://127.0.0.1:${closed}`,
                                readyTimeoutSeconds: 240,
                            },
                        ],
                    },
                }),
            );
            await project.ok("pulumi stack init stuck");
            const up = await project.run("pulumi up --yes");
            assert.notStrictEqual(up.code, 0, up.output);
            // The update's Diagnostics (the preview before it has a group with the warnings only).
            const block = diagnosticsGroup(up.output, "kubesphere-federation:index:MemberCluster (stuck):");
            assert.match(
                block,
                new RegExp(
                    `^\\s+error: member "stuck": kubeconfig KubeSphere got: server reachable: the Cluster's spec\\.connection\\.kubeconfig points at https://127\\.0\\.0\\.1:${closed}, which does not answer`,
                    "m",
                ),
                up.output,
            );
            assert.doesNotMatch(up.output, /^\s+at .+[:(]\d+/m, `a stack trace in:\n${up.output}`);
            assert.doesNotMatch(up.output, /unhandled exception|Program exited with non-zero exit code/i, up.output);
            for (const secret of await secrets())
                assert.ok(!up.output.includes(secret), "a secret appears in the CLI's output");
            await project.run("pulumi destroy --yes");
        } finally {
            project.dispose();
        }
    });

    it("npm run doctor, as docs/troubleshooting.md writes it, prints the checks per member and exits 1 for the failing one", async () => {
        const { output, code } = await runDoctor("diag", [member1()]);
        assert.strictEqual(code, 1, output);
        assert.match(output, /^MEMBER\s+CHECK\s+VERDICT\s+EVIDENCE/m);
        assert.match(
            output,
            /^member1\s+member jwtSecret and role\s+FAIL\s+the jwtSecret in its kubesphere-config differs from host "host"'s/m,
        );
        assert.match(output, /^member1\s+kubeconfig KubeSphere got: server reachable\s+OK/m);
        assert.match(output, /1 member\(s\) with a failing check: member1 \(member jwtSecret and role\)/);
        for (const secret of await secrets())
            assert.ok(!output.includes(secret), "a secret appears in the doctor's output");
    });
});

describe("diagnosis on a KubeSphere 4.1 host: a ks-core install Helm refuses (e2e)", function () {
    this.timeout(10 * 60_000);
    const ctx = useSandbox("diagnosis4", { members: 1, hostVersion: "4.1", memberVersions: ["4.1"] });
    const host = () => ({ name: "host", kubeconfig: { path: ctx.sandbox.host.kubeconfigPath } });
    const member1 = () => ({
        name: "member1",
        provider: "kubeadm",
        kubeconfig: { path: ctx.sandbox.cluster("member1").kubeconfigPath },
        readyTimeoutSeconds: 60,
    });
    const helmRefusal =
        /^on the member, ClusterRoleBinding kubesphere \(not label app\.kubernetes\.io\/managed-by=Helm, annotation meta\.helm\.sh\/release-name=ks-core, annotation meta\.helm\.sh\/release-namespace=kubesphere-system\) exist\(s\) without Helm's ownership metadata for release ks-core, so Helm refuses to adopt it and the host's ks-core install fails \("invalid ownership metadata"\)/;

    it("a ClusterRoleBinding kubesphere made with kubectl: refused before any change, naming it; KubeSphere's install fails on it, the doctor says so, deleting it lets the install through", async () => {
        // What a user does who prepares the member by hand: the binding the ks-core chart itself renders.
        const rbac = ctx.sandbox.loadKubeConfig("member1").makeApiClient(RbacAuthorizationV1Api);
        await rbac.createClusterRoleBinding({
            body: {
                metadata: { name: "kubesphere" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                subjects: [{ kind: "ServiceAccount", name: "kubesphere", namespace: "kubesphere-system" }],
            },
        });
        await ctx.stack.setFederationConfig({ host: host(), members: [member1()] });
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            new RegExp(
                `^member "member1": ks-core install on the member \\(4\\.x\\): ${helmRefusal.source.slice(1)}\\. Fix: delete it on the member`,
            ),
            failure.all.slice(0, 3000),
        );
        assert.strictEqual(await hostCluster(ctx.sandbox, "member1"), undefined, "nothing was changed");

        // The same member added by hand (what the console does): KubeSphere's Helm install fails on the binding.
        const custom = clusterApi(ctx.sandbox, "host").custom;
        await custom.createClusterCustomObject({
            group: "cluster.kubesphere.io",
            version: "v1alpha1",
            plural: "clusters",
            body: {
                apiVersion: "cluster.kubesphere.io/v1alpha1",
                kind: "Cluster",
                metadata: { name: "member1" },
                spec: {
                    provider: "kubeadm",
                    connection: {
                        type: "direct",
                        kubeconfig: Buffer.from(ctx.sandbox.kubeconfig("member1")).toString("base64"),
                    },
                },
            },
        });
        const emulatorLog = ctx.sandbox.logFile("emulator");
        const refusedInLog = () =>
            fs
                .readFileSync(emulatorLog, "utf8")
                .includes(
                    'Unable to continue with install: ClusterRoleBinding "kubesphere" in namespace "" exists and cannot be imported into the current release: invalid ownership metadata; label validation error: missing key "app.kubernetes.io/managed-by": must be set to "Helm"',
                );
        for (let waited = 0; !refusedInLog(); waited += 500) {
            assert.ok(waited < 30_000, "the emulated Helm install did not fail within 30s");
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.strictEqual(conditionOf(await hostCluster(ctx.sandbox, "member1"), "KSCoreReady"), undefined);
        const doctor = await runDoctorIn(path.join(ctx.dir, "project"), "diag4", {
            host: host(),
            members: [member1()],
        });
        assert.strictEqual(doctor.code, 1, doctor.output);
        assert.match(
            doctor.output,
            new RegExp(
                `^member1\\s+ks-core install on the member \\(4\\.x\\)\\s+FAIL\\s+the Cluster has no KSCoreReady condition: ${helmRefusal.source.slice(1)}`,
                "m",
            ),
            doctor.output,
        );
        for (const secret of await sandboxSecrets(ctx.sandbox)) {
            assert.ok(!failure.all.includes(secret), "a secret appears in the error");
            assert.ok(!doctor.output.includes(secret), "a secret appears in the doctor's output");
            assert.ok(!ctx.stack.output().includes(secret), "a secret appears in the engine's output");
        }

        // The fix the error gives: delete the binding; KubeSphere's next attempt installs ks-core.
        await rbac.deleteClusterRoleBinding({ name: "kubesphere" });
        for (let waited = 0; ; waited += 500) {
            if (conditionOf(await hostCluster(ctx.sandbox, "member1"), "KSCoreReady")?.status === "True") break;
            assert.ok(waited < 30_000, "ks-core was not installed within 30s of deleting the binding");
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        await custom.deleteClusterCustomObject({
            group: "cluster.kubesphere.io",
            version: "v1alpha1",
            plural: "clusters",
            name: "member1",
        });
        for (let waited = 0; await hostCluster(ctx.sandbox, "member1"); waited += 500) {
            assert.ok(waited < 30_000, "the Cluster added by hand was not removed within 30s");
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    });

    it("a ks-apiserver that does not answer through the member's service proxy (4.x, Ready needs it): the Ready wait names it; answering again, up succeeds", async () => {
        // An emulated ks-apiserver in a network namespace, behind the Service's Endpoints: kube-apiserver's real
        // service proxy carries the requests. Stopped, it is what a crash-looping ks-apiserver looks like.
        const ksApiserver = await ctx.sandbox.serveKsApiserverFromNetns("member1");
        await ksApiserver.stopServer();
        await ctx.stack.setFederationConfig({ host: host(), members: [{ ...member1(), readyTimeoutSeconds: 30 }] });
        const failure = await failureOf(ctx.stack);
        assert.match(
            failure.first,
            /^member "member1": member ks-apiserver via service proxy: \/api\/v1\/namespaces\/kubesphere-system\/services\/:ks-apiserver:\/proxy\/kapis\/version: the service proxy answered HTTP 503\. Fix: make ks-apiserver run on the member/,
            failure.all.slice(0, 3000),
        );
        const cluster = await hostCluster(ctx.sandbox, "member1");
        assert.strictEqual(conditionOf(cluster, "KSCoreReady")?.status, "True");
        assert.strictEqual(conditionOf(cluster)?.status, "False");
        assert.match(
            conditionOf(cluster)?.message ?? "",
            new RegExp(
                `error trying to reach service: dial tcp ${ksApiserver.address.replace(/\./g, "\\.")}:9090: connect: connection refused`,
            ),
        );
        for (const secret of await sandboxSecrets(ctx.sandbox)) {
            assert.ok(!failure.all.includes(secret), "a secret appears in the error");
            assert.ok(!ctx.stack.output().includes(secret), "a secret appears in the engine's output");
        }

        await ksApiserver.start();
        const up = await ctx.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        const ready = await hostCluster(ctx.sandbox, "member1");
        assert.strictEqual(conditionOf(ready)?.status, "True");
        assert.strictEqual(
            ready?.status?.kubeSphereVersion,
            "v4.1.3",
            "the version ks-apiserver answered through the proxy",
        );
    });
});
