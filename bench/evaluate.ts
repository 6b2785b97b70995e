/**
 * BENCHMARK ONLY, run as a child process per fleet size (so its peak RSS is its own): evaluates the program for
 * a host and N members under Pulumi mocks (no cluster, no engine), as the graph tests (test/unit/graph/) do, and
 * prints one JSON line: { members, resources, evaluateMs, maxRssMb }.
 *
 *   ts-node --transpile-only bench/evaluate.ts 500
 */
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../components/config/configSchema";
import { federate } from "../program/federation";
import { KubeconfigSourceContext } from "../program/kubeconfigSources";
import { kubesphereYamlV3, tokenKubeconfig } from "../test/fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, settle, valueOf } from "../test/unit/pulumiMocks";

export interface EvaluationResult {
    members: number;
    /** Resources registered with the (mock) engine. */
    resources: number;
    /** From reading the config to every exported output resolved. */
    evaluateMs: number;
    /** CPU (user + system) of this process over the same span, ms: what other load on the machine barely changes. */
    evaluateCpuMs?: number;
    /** Peak resident set size of the whole process (Node.js, modules and the program), MB. */
    maxRssMb: number;
}

async function evaluate(memberCount: number): Promise<EvaluationResult> {
    const names = Array.from({ length: memberCount }, (_, i) => `member-${i + 1}`);
    const files = new Map(["host", ...names].map((name) => [`/kube/${name}.yaml`, Buffer.from(tokenKubeconfig(name))]));
    const sources: KubeconfigSourceContext = {
        config: new pulumi.Config("kubesphere-federation"),
        cwd: "/work",
        stackOutput: () => pulumi.output(undefined),
        stackOutputDetails: async () => ({}),
        readFile: (filePath) => {
            const file = files.get(filePath);
            if (!file) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
            return file;
        },
    };
    const world = await installMocks(kubesphereYamlV3("benchJwtSecret0123456789abcdefghij"));

    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const config = parseFederationConfig({
        host: { name: "host", kubeconfig: { path: "/kube/host.yaml" }, kubesphereMajor: "v3" },
        members: names.map((name, i) => ({
            name,
            provider: (["ack", "eks", "kubeadm", "generic"] as const)[i % 4],
            kubeconfig: { path: `/kube/${name}.yaml` },
        })),
    });
    const summary = await federate(config, sources, undefined, fakeClusterAccess());
    for (const member of Object.values(summary.members)) {
        await Promise.all([valueOf(member.clusterName), valueOf(member.ready), valueOf(member.kubernetesVersion)]);
    }
    await settle();
    const evaluateMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    return {
        evaluateCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        members: memberCount,
        resources: world.resources.length,
        evaluateMs: Math.round(evaluateMs),
        maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
}

const members = Number(process.argv[2]);
if (!Number.isInteger(members) || members < 0) {
    console.error("usage: evaluate.ts <member count>");
    process.exit(2);
}
evaluate(members).then(
    (result) => {
        console.log(JSON.stringify(result));
        // Pulumi's runtime keeps handles open after a mocked run.
        process.exit(0);
    },
    (err) => {
        console.error(`evaluating ${members} members failed: ${err instanceof Error ? err.stack : String(err)}`);
        process.exit(1);
    },
);
