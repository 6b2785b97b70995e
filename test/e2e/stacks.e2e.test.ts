/**
 * End-to-end: a fleet split across stacks (docs/host-and-member-stacks.md), on the real Pulumi engine with
 * one file backend: a host-only stack, and two member stacks that take the host from it through a StackReference
 * (`host: { stackReference: organization/kubesphere-federation/fleet-host }`), one member each.
 * The stacks run one after the other here: inline programs share this process's Pulumi runtime; in CI each member
 * stack is its own `pulumi up` process and they run in parallel. Also: the stack mark on each Cluster and what it
 * refuses across stacks, member-stack fixes naming the host stack, and `npm run doctor` on a member stack.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import {
    conditionOf,
    contextBefore,
    HOST_ENTRY_LABEL,
    hostClusters,
    installerSpecOf,
    jwtSecretOf,
    memberClusters,
} from "./harness/clusterQueries";
import { createFederationStack, FederationStack } from "./harness/federationStack";
import { doctor } from "../../program/doctor";
import { liveClusterAccess } from "../../components/kubesphere/clusterAccess";
import { Sandbox, startSandbox } from "./sandbox/sandbox";

const PROJECT = "kubesphere-federation";
const HOST_STACK = `organization/${PROJECT}/fleet-host`;

describe("host stack + member stacks on a local sandbox (e2e)", function () {
    this.timeout(10 * 60_000);

    let sandbox: Sandbox;
    let workDir: string;
    let host: FederationStack;
    const members: Record<string, FederationStack> = {};

    const memberEntry = (name: string) => ({
        name,
        provider: "generic",
        kubeconfig: { path: sandbox.cluster(name).kubeconfigPath },
        readyTimeoutSeconds: 120,
    });
    /** Changes of an `up` other than reads and unchanged resources. */
    const changesOf = (summary: { resourceChanges?: Record<string, number> }) =>
        Object.entries(summary.resourceChanges ?? {}).filter(([op]) => op !== "same" && op !== "read");

    before(async function () {
        this.timeout(5 * 60_000);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-e2e-stacks-"));
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 2, reconcileDelayMs: 1000 });
        // One directory: one file backend (StackReference reads the host stack's state there) and one workspace.
        const stackDir = path.join(workDir, "stacks");
        host = await createFederationStack("fleet-host", stackDir);
        await host.setFederationConfig({
            host: { name: "host", kubeconfig: { path: sandbox.host.kubeconfigPath } },
            members: [],
        });
        for (const [stack, member] of [
            ["fleet-members-a", "member1"],
            ["fleet-members-b", "member2"],
        ] as const) {
            members[member] = await createFederationStack(stack, stackDir);
            await members[member].setFederationConfig({
                host: { stackReference: HOST_STACK },
                members: [memberEntry(member)],
            });
        }
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("the host stack makes the host a host and exports federationHost as a secret", async () => {
        const result = await host.up();
        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual((await installerSpecOf(sandbox, "host"))!.multicluster.clusterRole, "host");
        assert.strictEqual(result.outputs.hostName.value, "host");
        assert.strictEqual(result.outputs.federationHost.secret, true, "federationHost is a secret output");
        const exported = result.outputs.federationHost.value as {
            name: string;
            jwtSecret: string;
            kubeconfig: string;
            kubesphereMajor: string;
            kubesphereVersion: string;
            detectedKubesphereVersion: string;
        };
        assert.strictEqual(exported.name, "host");
        assert.strictEqual(exported.jwtSecret, await jwtSecretOf(sandbox, "host"));
        assert.strictEqual(exported.kubesphereMajor, "v3");
        assert.strictEqual(exported.kubesphereVersion, "v3", "still written for member stacks on an older program");
        assert.match(exported.detectedKubesphereVersion, /^v3\./);
        assert.ok(exported.kubeconfig.includes("server: https://127."), "the host's kubeconfig, on loopback");
        const hostEntries = (await hostClusters(sandbox)).filter(
            (cluster) => cluster.metadata.labels?.[HOST_ENTRY_LABEL] !== undefined,
        );
        assert.deepStrictEqual(
            hostEntries.map((cluster) => cluster.metadata.name),
            ["host"],
        );
        assert.deepStrictEqual(await memberClusters(sandbox), []);
    });

    it("each member stack joins its member without changing the host; both Clusters reach Ready", async () => {
        const hostInstallerBefore = JSON.stringify(await installerSpecOf(sandbox, "host"));
        for (const name of ["member1", "member2"]) {
            const preview = await members[name].preview();
            assert.ok(
                !preview.stdout.includes("kubesphere-federation:index:HostCluster"),
                `${name}'s stack registers no HostCluster`,
            );
            const result = await members[name].up();
            assert.strictEqual(result.summary.result, "succeeded");
            const exported = result.outputs.members.value as Record<string, { ready: boolean; message: string }>;
            assert.deepStrictEqual(Object.keys(exported), [name]);
            assert.strictEqual(exported[name].ready, true, `${name}: ${exported[name].message}`);
            assert.strictEqual(result.outputs.hostName.value, "host");
            assert.strictEqual(result.outputs.federationHost, undefined, "a member stack exports no host");
            assert.strictEqual(
                await jwtSecretOf(sandbox, name),
                await jwtSecretOf(sandbox, "host"),
                `${name} shares the host's jwtSecret`,
            );
        }
        assert.strictEqual(
            JSON.stringify(await installerSpecOf(sandbox, "host")),
            hostInstallerBefore,
            "no member stack changed the host's ks-installer",
        );
        const clusters = await memberClusters(sandbox);
        assert.deepStrictEqual(clusters.map((cluster) => cluster.metadata.name).sort(), ["member1", "member2"]);
        for (const cluster of clusters) assert.strictEqual(conditionOf(cluster)?.status, "True");
    });

    it("a second up of each stack changes nothing", async () => {
        for (const stack of [host, members.member1, members.member2]) {
            const result = await stack.up();
            assert.deepStrictEqual(
                changesOf(result.summary),
                [],
                `${stack.stack.name}: second up changed ${JSON.stringify(result.summary.resourceChanges)}`,
            );
        }
    });

    it("keeps the jwtSecret, tokens and the host's kubeconfig out of every stack's state and output", async () => {
        const secrets: string[] = [await jwtSecretOf(sandbox, "host")];
        for (const cluster of sandbox.clusters) {
            const kubeconfig = yaml.load(sandbox.kubeconfig(cluster.name)) as {
                users: Array<{ user: { token: string } }>;
            };
            secrets.push(kubeconfig.users[0].user.token);
        }
        // The checkpoint files of all three stacks (one backend).
        const checkpoints = host.checkpointFiles();
        assert.ok(
            checkpoints.includes("fleet-members-a") && checkpoints.includes("fleet-members-b"),
            "the backend holds all three stacks",
        );
        for (const stack of [host, members.member1, members.member2]) {
            const exported = await stack.exportState();
            for (const [index, secret] of secrets.entries()) {
                const base64 = Buffer.from(secret).toString("base64").slice(0, 24);
                for (const [where, text] of [
                    [`${stack.stack.name}: pulumi stack export`, exported],
                    ["the checkpoint files", checkpoints],
                    [`${stack.stack.name}: engine output`, stack.output()],
                ]) {
                    assert.ok(
                        !text.includes(secret),
                        `secret #${index} is in ${where} in plain text, after: ${contextBefore(text, secret)}`,
                    );
                    assert.ok(!text.includes(base64), `secret #${index} is in ${where} as base64`);
                }
            }
            assert.match(exported, /"ciphertext"/, `${stack.stack.name}: secrets are stored encrypted`);
        }
    });

    it("marks each Cluster with its stack; a second stack listing the same member, or the same cluster under another name, is refused before any change; host fixes name the host stack", async () => {
        const marks = Object.fromEntries(
            (await memberClusters(sandbox)).map((cluster) => [
                cluster.metadata.name,
                cluster.metadata.annotations?.["kubesphere-federation.io/stack"],
            ]),
        );
        assert.deepStrictEqual(marks, {
            member1: `organization/${PROJECT}/fleet-members-a`,
            member2: `organization/${PROJECT}/fleet-members-b`,
        });
        const before = JSON.stringify(await memberClusters(sandbox));
        const member2Installer = JSON.stringify(await installerSpecOf(sandbox, "member2"));
        const stray = await createFederationStack("fleet-members-dup", path.join(workDir, "stacks"));
        try {
            // The same member name as fleet-members-b's: refused in the pre-flight, so a preview shows it.
            await stray.setFederationConfig({
                host: { stackReference: HOST_STACK },
                members: [memberEntry("member2")],
            });
            await assert.rejects(
                () => stray.preview(),
                (err: Error) => {
                    assert.match(
                        `${err.message}\n${stray.output()}`,
                        /member "member2" \(members\[0\]\) belongs to another stack: host "host" already has its Cluster "member2", created by stack organization\/kubesphere-federation\/fleet-members-b \(annotation kubesphere-federation\.io\/stack\), not by this stack organization\/kubesphere-federation\/fleet-members-dup\. Fix: keep each member in one stack/,
                    );
                    return true;
                },
            );
            // `up` too refuses it before any change (the member's ks-installer and the host's Clusters stay as they are).
            await assert.rejects(() => stray.up(), /belongs to another stack/);
            // The same cluster (member2's kubeconfig) under another name: refused by kube-system UID, naming the stack.
            await stray.setFederationConfig({
                host: { stackReference: HOST_STACK },
                members: [{ ...memberEntry("member2"), name: "member2-again" }],
            });
            await assert.rejects(
                () => stray.preview(),
                (err: Error) => {
                    assert.match(
                        `${err.message}\n${stray.output()}`,
                        /member "member2-again" is already imported on the host as Cluster "member2", which stack organization\/kubesphere-federation\/fleet-members-b manages/,
                    );
                    return true;
                },
            );
            // A host-side fix in a member stack names the host stack's key: an agent member, and the host stack set
            // no host.agentProxyAddress (nor has tower a load-balancer address).
            await stray.setFederationConfig({
                host: { stackReference: HOST_STACK },
                members: [{ ...memberEntry("member2"), name: "member2-agent", connection: "agent" }],
            });
            await assert.rejects(
                () => stray.preview(),
                (err: Error) => {
                    assert.match(
                        `${err.message}\n${stray.output()}`,
                        /member "member2-agent" \(members\[0\]\.connection: agent\): no proxy address for the agent to dial: host\.agentProxyAddress in host stack organization\/kubesphere-federation\/fleet-host is not set .*Fix: set host\.agentProxyAddress in host stack organization\/kubesphere-federation\/fleet-host to where .*, run `pulumi up` of stack organization\/kubesphere-federation\/fleet-host, then this stack's again/,
                    );
                    return true;
                },
            );
            assert.strictEqual(JSON.stringify(await memberClusters(sandbox)), before, "no Cluster changed on the host");
            assert.strictEqual(
                JSON.stringify(await installerSpecOf(sandbox, "member2")),
                member2Installer,
                "the member's ks-installer is unchanged",
            );
        } finally {
            await stray.destroy().catch(() => undefined);
            await stray.stack.workspace.removeStack(stray.stack.name, { force: true });
        }
    });

    it("npm run doctor on a member stack reads the host from the host stack through the Pulumi CLI; without it, says what it needs", async () => {
        const member = members.member2;
        const readStackOutput = (stack: string, output: string) =>
            member.cli(["stack", "output", "--stack", stack, "--show-secrets", "--json", output]);
        const diagnoses = await doctor(member.workDir, "fleet-members-b", liveClusterAccess, readStackOutput);
        assert.deepStrictEqual(
            diagnoses.map((diagnosis) => diagnosis.member),
            ["member2"],
        );
        const verdicts = Object.fromEntries(diagnoses[0].findings.map((found) => [found.check, found.verdict]));
        assert.strictEqual(diagnoses[0].cause, undefined, JSON.stringify(diagnoses[0].findings));
        // Host-side checks ran against the host from federationHost: the joined member's jwtSecret matches the host's.
        assert.strictEqual(verdicts.jwtSecret, "ok", JSON.stringify(diagnoses[0].findings));
        await assert.rejects(
            () =>
                doctor(member.workDir, "fleet-members-b", liveClusterAccess, (_stack, output) =>
                    readStackOutput(`organization/${PROJECT}/no-such-stack`, output),
                ),
            /^FederationConfigError: kubesphere-federation:host\.stackReference: the doctor reads the host from output "federationHost" of stack organization\/kubesphere-federation\/fleet-host with the Pulumi CLI .*which failed: .*no-such-stack.*\. Fix: install the Pulumi CLI, `pulumi login`/,
        );
    });

    it("refuses a bad host.stackReference before any change: an unknown stack, and a stack without federationHost", async () => {
        const clustersBefore = JSON.stringify(
            (await memberClusters(sandbox)).map((cluster) => cluster.metadata.name).sort(),
        );
        const stray = await createFederationStack("fleet-members-stray", path.join(workDir, "stacks"));
        // An unknown stack: the engine's own StackReference read fails, naming the stack.
        await stray.setFederationConfig({
            host: { stackReference: `organization/${PROJECT}/no-such-stack` },
            members: [memberEntry("member1")],
        });
        await assert.rejects(
            () => stray.preview(),
            (err: Error) => {
                assert.match(
                    `${err.message}\n${stray.output()}`,
                    /unknown stack "organization\/kubesphere-federation\/no-such-stack"/,
                );
                return true;
            },
        );
        // A stack that is not a host-only stack (a member stack has no federationHost): the program's config error.
        await stray.setFederationConfig({
            host: { stackReference: `organization/${PROJECT}/fleet-members-b` },
            members: [memberEntry("member1")],
        });
        await assert.rejects(
            () => stray.up(),
            (err: Error) => {
                assert.match(
                    `${err.message}\n${stray.output()}`,
                    /kubesphere-federation:host\.stackReference: stack organization\/kubesphere-federation\/fleet-members-b has no output "federationHost" \(found nothing\)\. Fix: point host\.stackReference at a host-only stack/,
                );
                return true;
            },
        );
        assert.strictEqual(
            JSON.stringify((await memberClusters(sandbox)).map((cluster) => cluster.metadata.name).sort()),
            clustersBefore,
            "nothing changed on the host",
        );
        // It never registered a resource but the stack itself, so there is nothing to destroy.
        await stray.stack.workspace.removeStack(stray.stack.name, { force: true });
    });

    it("destroying one member stack removes only its member's Cluster", async () => {
        const result = await members.member1.destroy();
        assert.strictEqual(result.summary.result, "succeeded");
        const clusters = await memberClusters(sandbox);
        assert.deepStrictEqual(
            clusters.map((cluster) => cluster.metadata.name),
            ["member2"],
        );
        assert.strictEqual(conditionOf(clusters[0])?.status, "True", "the other member stays joined");
        assert.strictEqual(
            (await installerSpecOf(sandbox, "host"))!.multicluster.clusterRole,
            "host",
            "the host stays a host",
        );
        const hostEntries = (await hostClusters(sandbox)).filter(
            (cluster) => cluster.metadata.labels?.[HOST_ENTRY_LABEL] !== undefined,
        );
        assert.deepStrictEqual(
            hostEntries.map((cluster) => cluster.metadata.name),
            ["host"],
            "KubeSphere's own host entry stays",
        );
        // The member's ks-installer keeps its settings (the patch is retained on delete, docs/removing-members.md "Removing a member").
        assert.strictEqual((await installerSpecOf(sandbox, "member1"))!.multicluster.clusterRole, "member");
        // The other member stack still has nothing to change.
        const again = await members.member2.up();
        assert.deepStrictEqual(changesOf(again.summary), []);
    });
});
