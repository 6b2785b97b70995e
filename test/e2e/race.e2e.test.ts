/**
 * End-to-end: two member stacks adding the same cluster at the same moment (docs/host-and-member-stacks.md "Two
 * stacks, one cluster"), through the Pulumi CLI: each `pulumi up` is its own process, as in CI, so the two really run
 * in parallel (inline programs share this process's Pulumi runtime, see stacks.e2e.test.ts). A host-only stack, then
 * two member stacks listing the sandbox's member1 under two names, launched together: exactly one joins it, the
 * other is refused naming the first, the host never has two Clusters of it, and no join lease is left behind.
 * Three rounds, destroying both member stacks between them, so the outcome is not the luck of one start order.
 * Then a lease held by another stack (made here) refuses, and taken over once stale.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CoordinationV1Api, CoreV1Api, V1MicroTime } from "@kubernetes/client-node";
import { conditionOf, memberClusters, warmOpenApi } from "./harness/clusterQueries";
import { CliProject, CommandResult } from "./harness/cliProject";
import { Sandbox, startSandbox } from "./sandbox/sandbox";

const PROJECT = "kubesphere-federation";
const HOST_STACK = "race-host";
const MEMBER_STACKS = ["race-a", "race-b"] as const;
const qualified = (stack: string) => `organization/${PROJECT}/${stack}`;
/** Each member stack names the same cluster (member1's kubeconfig) its own way. */
const memberName = (stack: string) => `edge-${stack.slice("race-".length)}`;

describe("two member stacks adding the same cluster at the same moment (e2e, CLI path)", function () {
    this.timeout(20 * 60_000);

    let workDir: string;
    let sandbox: Sandbox;
    let project: CliProject;

    /** The Leases in kubesphere-system on the host (the join lease lives there while a join runs). */
    const hostLeases = async () => {
        const coordination = sandbox.loadKubeConfig("host").makeApiClient(CoordinationV1Api);
        const list = await coordination.listNamespacedLease({ namespace: "kubesphere-system" });
        return list.items.map((lease) => lease.metadata?.name ?? "");
    };
    const writeStackFile = (stack: string, config: Record<string, unknown>) =>
        fs.writeFileSync(project.file(`stacks/Pulumi.${stack}.yaml`), JSON.stringify({ config }, null, 2));

    before(async function () {
        this.timeout(5 * 60_000);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ksf-race-e2e-"));
        sandbox = await startSandbox({ dir: path.join(workDir, "sandbox"), members: 1, reconcileDelayMs: 1000 });
        project = CliProject.create(sandbox.dir);
        await warmOpenApi(sandbox);
        writeStackFile(HOST_STACK, {
            "kubesphere-federation:host": { name: "host", kubeconfig: { path: ".sandbox/kubeconfigs/host.yaml" } },
            "kubesphere-federation:members": [],
        });
        for (const stack of MEMBER_STACKS) {
            writeStackFile(stack, {
                "kubesphere-federation:host": { stackReference: qualified(HOST_STACK) },
                "kubesphere-federation:members": [
                    {
                        name: memberName(stack),
                        provider: "generic",
                        kubeconfig: { path: ".sandbox/kubeconfigs/member1.yaml" },
                        readyTimeoutSeconds: 120,
                        installerTimeoutSeconds: 120,
                    },
                ],
            });
        }
        for (const stack of [HOST_STACK, ...MEMBER_STACKS]) await project.ok(`pulumi stack init ${stack}`);
        // The host stack's up also compiles bin/ once, so the two parallel runs below find it up to date.
        await project.ok(`pulumi up --yes --stack ${HOST_STACK}`);
    });

    after(async function () {
        this.timeout(2 * 60_000);
        await sandbox?.stop();
        project?.dispose();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    for (const round of [1, 2, 3]) {
        it(`round ${round}: exactly one stack joins the cluster, the other is refused naming it; one Cluster, no lease left`, async () => {
            const results: CommandResult[] = await Promise.all(
                MEMBER_STACKS.map((stack) => project.run(`pulumi up --yes --stack ${stack}`)),
            );
            const winners = MEMBER_STACKS.filter((_, index) => results[index].code === 0);
            assert.strictEqual(
                winners.length,
                1,
                `exactly one up succeeds:\n${results.map((result) => `${result.command} → ${result.code}\n${result.output}`).join("\n\n")}`,
            );
            const winner = winners[0];
            const loser = MEMBER_STACKS.find((stack) => stack !== winner)!;
            const lost = results[MEMBER_STACKS.indexOf(loser)].output;
            // Refused by the lease (the winner still joining), or by the pre-flight (the winner already joined):
            // either way naming the winning stack, and never at Kubernetes' "already exists".
            assert.match(
                lost,
                new RegExp(
                    `member "${memberName(loser)}" \\(members\\[0\\]\\): stack ${qualified(winner)} is joining the same cluster ` +
                        `\\(kube-system namespace UID [0-9a-f-]+\\) to host "host" right now: it holds the join lease \\(Lease ` +
                        `kubesphere-system/kubesphere-federation-join-[0-9a-f-]+, taken \\d+s ago|` +
                        `member "${memberName(loser)}" is already imported on the host as Cluster "${memberName(winner)}", which stack ${qualified(winner)} manages`,
                ),
                lost,
            );
            assert.doesNotMatch(lost, /already exists/, lost);
            // Which check refused it depends on how far the winner got; the CI log shows it.
            console.log(
                `      round ${round}: ${winner} joined; ${loser} refused by ${/holds the join lease/.test(lost) ? "the join lease" : "the pre-flight"}`,
            );
            const clusters = await memberClusters(sandbox);
            assert.deepStrictEqual(
                clusters.map((cluster) => cluster.metadata.name),
                [memberName(winner)],
                "the cluster is imported once",
            );
            assert.strictEqual(conditionOf(clusters[0])?.status, "True");
            assert.strictEqual(clusters[0].metadata.annotations?.["kubesphere-federation.io/stack"], qualified(winner));
            assert.deepStrictEqual(
                (await hostLeases()).filter((name) => name.startsWith("kubesphere-federation-join-")),
                [],
                "the winner released its join lease",
            );
            // Reset for the next round: both member stacks destroyed (the loser's holds only its providers).
            for (const stack of MEMBER_STACKS) await project.ok(`pulumi destroy --yes --stack ${stack}`);
            assert.deepStrictEqual(await memberClusters(sandbox), []);
        });
    }

    it("a join lease another stack holds refuses naming it and its age; once stale (its holder killed) it is taken over", async () => {
        const coordination = sandbox.loadKubeConfig("host").makeApiClient(CoordinationV1Api);
        const uid = (
            await sandbox.loadKubeConfig("member1").makeApiClient(CoreV1Api).readNamespace({ name: "kube-system" })
        ).metadata!.uid!;
        const name = `kubesphere-federation-join-${uid}`;
        const gone = qualified("race-gone");
        const secondsAgo = (seconds: number) => new V1MicroTime(Date.now() - seconds * 1000);
        await coordination.createNamespacedLease({
            namespace: "kubesphere-system",
            body: {
                metadata: { name },
                spec: {
                    holderIdentity: gone,
                    leaseDurationSeconds: 600,
                    acquireTime: secondsAgo(30),
                    renewTime: secondsAgo(5),
                },
            },
        });
        const refused = await project.run(`pulumi up --yes --stack ${MEMBER_STACKS[0]}`);
        assert.notStrictEqual(refused.code, 0, refused.output);
        assert.match(
            refused.output,
            new RegExp(
                `member "${memberName(MEMBER_STACKS[0])}" \\(members\\[0\\]\\): stack ${gone} is joining the same cluster \\(kube-system namespace UID ${uid}\\) ` +
                    `to host "host" right now: it holds the join lease \\(Lease kubesphere-system/${name}, taken \\d+s ago, last renewed \\d+s ago, for 600s\\)`,
            ),
            refused.output,
        );
        assert.deepStrictEqual(await memberClusters(sandbox), [], "refused before any change");
        // Its holder was killed: last renewed ten minutes ago, past its duration.
        const lease = await coordination.readNamespacedLease({ name, namespace: "kubesphere-system" });
        lease.spec!.renewTime = secondsAgo(900);
        await coordination.replaceNamespacedLease({ name, namespace: "kubesphere-system", body: lease });
        const taken = await project.ok(`pulumi up --yes --stack ${MEMBER_STACKS[0]}`);
        assert.match(
            taken.output,
            new RegExp(`took over the stale join lease of stack ${gone} \\(last renewed \\d+s ago\\)`),
        );
        assert.deepStrictEqual(
            (await memberClusters(sandbox)).map((cluster) => cluster.metadata.name),
            [memberName(MEMBER_STACKS[0])],
        );
        assert.deepStrictEqual(
            (await hostLeases()).filter((found) => found.startsWith("kubesphere-federation-join-")),
            [],
        );
        await project.ok(`pulumi destroy --yes --stack ${MEMBER_STACKS[0]}`);
    });
});
