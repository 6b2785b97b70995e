/**
 * Every committed stack file must run through the same code path as `pulumi up`: config read through
 * pulumi.Config, validated, and the program built (under mocks, with stand-in kubeconfigs).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { federate, readFederationConfig } from "../../program/federation";
import { expandPath } from "../../components/kubernetes/kubeconfig";
import { kubesphereYamlV3, tokenKubeconfig } from "../fixtures/kubeconfigs";
import type { ClusterAccess } from "../../components/kubesphere/clusterAccess";
import { fakeClusterAccess, fakeV4ClusterAccess, freshV3Facts, installMocks, settle } from "./pulumiMocks";

const STACKS_DIR = path.join(__dirname, "..", "..", "stacks");
/** The three documented examples, and the sandbox's stack the demo runs. */
const EXAMPLE_STACKS = [
    "ack-prod",
    "eks-staging",
    "kubeadm-lab",
    "edge-agent",
    "local",
    "fleet-host",
    "fleet-members-a",
    "fleet-members-b",
];
/** The host-only stack of the split example (docs/host-and-member-stacks.md): no members, by design. */
const HOST_ONLY_STACKS = ["fleet-host"];

/** Stack config as the engine hands it to a program: every value a string, objects as JSON. */
function engineConfig(stackFile: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
    return Object.fromEntries(
        Object.entries(doc.config ?? {}).map(([key, value]) => [
            key,
            typeof value === "string" ? value : JSON.stringify(value),
        ]),
    );
}

/** A kubeconfig whose context names match what a stack file asks for; `server` tells clusters apart. */
function standInKubeconfig(context?: string, server?: string): string {
    const text = tokenKubeconfig("stand-in", server);
    return context === undefined
        ? text
        : text
              .split("stand-in")
              .join(context)
              .replace(/token-[^\n]*/, "token-stand-in");
}

/** A distinct stand-in server per kubeconfig source: the program treats identical kubeconfigs as one cluster. */
function serverFor(source: string): string {
    return `https://${source
        .replace(/[^a-z0-9]+/gi, "-")
        .replace(/^-|-$/g, "")
        .toLowerCase()}.example.com:6443`;
}

/** A 3.4 host that already is a host (what a member stack finds after the host stack's `up`), fresh 3.4 members. */
function v3HostFacts(hostName: string): ClusterAccess["readClusterFacts"] {
    return async (cluster) =>
        cluster === hostName
            ? {
                  ...freshV3Facts(cluster),
                  installer: { clusterRole: "host", version: "v3.4.1" },
                  config: { jwtSecret: "x".repeat(32), layout: "v3", clusterRole: "host", multiclusterEnable: true },
              }
            : freshV3Facts(cluster);
}

/** A 4.x host under the stack's host name, bare members. */
function v4Facts(hostName: string): ClusterAccess["readClusterFacts"] {
    return async (cluster) =>
        cluster === hostName
            ? {
                  kubeSystemUid: "uid-host",
                  config: { jwtSecret: "x", layout: "v4", clusterRole: "host", hostClusterName: hostName },
                  kubesphereNamespace: {},
              }
            : { kubeSystemUid: `uid-${cluster}` };
}

describe("stack files", () => {
    it("ships the documented examples and the local sandbox stack", () => {
        for (const stack of EXAMPLE_STACKS)
            assert.ok(fs.existsSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`)), stack);
    });

    for (const stack of EXAMPLE_STACKS) {
        it(`${stack} validates and builds through the program's code path`, async () => {
            const world = await installMocks(kubesphereYamlV3("x".repeat(32)));
            const config = engineConfig(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`));
            pulumi.runtime.setAllConfig(config);
            const pulumiConfig = new pulumi.Config("kubesphere-federation");
            const federation = readFederationConfig(pulumiConfig);
            const host = federation.host;
            const kubeconfigs = [...("stackReference" in host ? [] : [host]), ...federation.members];
            for (const cluster of kubeconfigs) {
                if ("secretConfig" in cluster.kubeconfig) {
                    pulumi.runtime.setConfig(
                        `kubesphere-federation:${cluster.kubeconfig.secretConfig}`,
                        standInKubeconfig(undefined, serverFor(cluster.kubeconfig.secretConfig)),
                    );
                }
            }
            const contexts = new Map<string, string | undefined>();
            for (const cluster of kubeconfigs) {
                if ("path" in cluster.kubeconfig)
                    contexts.set(expandPath(cluster.kubeconfig.path, "/"), cluster.kubeconfig.context);
            }
            // A member stack's host: what a v3 host stack exports (program/federation.ts, HostStackOutput).
            const hostName = "stackReference" in host ? "fleet-host" : host.name;
            const summary = await federate(
                federation,
                {
                    config: pulumiConfig,
                    cwd: "/",
                    readFile: (filePath) => {
                        assert.ok(contexts.has(filePath), `unexpected read of ${filePath}`);
                        return Buffer.from(standInKubeconfig(contexts.get(filePath), serverFor(filePath)));
                    },
                    stackOutput: (_stack, output) => pulumi.output(standInKubeconfig(undefined, serverFor(output))),
                    stackOutputDetails: async () => ({
                        secretValue: {
                            name: hostName,
                            kubeconfig: standInKubeconfig(undefined, serverFor("host-stack")),
                            jwtSecret: "x".repeat(32),
                            kubesphereVersion: "v3",
                            detectedKubesphereVersion: "v3.4.1",
                        },
                    }),
                },
                undefined,
                "kubesphereMajor" in host && host.kubesphereMajor === "v4"
                    ? fakeV4ClusterAccess({ readClusterFacts: v4Facts(hostName) })
                    : fakeClusterAccess({ readClusterFacts: v3HostFacts(hostName) }),
            );
            await settle();
            assert.deepStrictEqual(
                Object.keys(summary.members),
                federation.members.map((m) => m.name),
            );
            const hostClusters = world.resources.filter((r) => r.type === "kubesphere-federation:index:HostCluster");
            if (HOST_ONLY_STACKS.includes(stack)) {
                assert.strictEqual(federation.members.length, 0, "a host-only stack");
                assert.ok(summary.federationHost !== undefined, "a host-only stack exports what member stacks need");
                assert.strictEqual(hostClusters.length, 1);
            } else {
                assert.ok(federation.members.length >= 2, "an example shows more than one member");
                assert.strictEqual(
                    hostClusters.length,
                    "stackReference" in host ? 0 : 1,
                    "a member stack registers no HostCluster",
                );
            }
            const clusters = world.resources.filter(
                (r) => r.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster",
            );
            assert.strictEqual(clusters.length, federation.members.length);
            pulumi.runtime.setAllConfig({});
        });
    }
});

describe("workflows cover the stacks", () => {
    const WORKFLOWS_DIR = path.join(__dirname, "..", "..", ".github", "workflows");
    type Workflow = {
        jobs: Record<
            string,
            {
                needs?: string;
                strategy?: { matrix?: { include?: Array<{ stack: string; kubeconfigs: string }> } };
                steps: Array<{ with?: Record<string, string> }>;
            }
        >;
    };
    const workflow = (file: string) => yaml.load(fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow;
    const matrixOf = (file: string, job: string) => workflow(file).jobs[job].strategy!.matrix!.include!;
    /** The stack files whose host is another stack (`host: { stackReference }`), by that host stack's name. */
    const memberStacksByHost = () => {
        const byHost = new Map<string, string[]>();
        for (const file of fs.readdirSync(STACKS_DIR).filter((name) => /^Pulumi\..+\.yaml$/.test(name))) {
            const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
            const doc = yaml.load(fs.readFileSync(path.join(STACKS_DIR, file), "utf8")) as {
                config?: Record<string, { stackReference?: string } | undefined>;
            };
            const reference = doc.config?.["kubesphere-federation:host"]?.stackReference;
            if (reference === undefined) continue;
            const hostStack = reference.split("/").pop()!;
            byHost.set(hostStack, [...(byHost.get(hostStack) ?? []), stack]);
        }
        return byHost;
    };
    /** The secret a matrix entry unpacks: KUBECONFIGS_ and the stack name in upper case. */
    const secretFor = (stack: string) => `KUBECONFIGS_${stack.toUpperCase().replace(/-/g, "_")}`;

    it("preview.yml and drift.yml preview the same stacks, each with its own kubeconfigs secret", () => {
        const preview = matrixOf("preview.yml", "preview");
        const drift = matrixOf("drift.yml", "drift");
        assert.deepStrictEqual(drift, preview);
        for (const entry of preview) {
            assert.ok(
                fs.existsSync(path.join(STACKS_DIR, `Pulumi.${entry.stack}.yaml`)),
                `${entry.stack} has a stack file`,
            );
            assert.strictEqual(entry.kubeconfigs, secretFor(entry.stack));
        }
    });

    it("every member stack and its host stack are previewed and drift-checked, and run by fleet.yml (host first)", () => {
        const byHost = memberStacksByHost();
        assert.ok(byHost.size > 0, "the examples have member stacks");
        const previewed = matrixOf("preview.yml", "preview").map((entry) => entry.stack);
        const fleet = workflow("fleet.yml");
        for (const [hostStack, memberStacks] of byHost) {
            for (const stack of [hostStack, ...memberStacks])
                assert.ok(previewed.includes(stack), `${stack} is in the preview and drift matrices`);
            assert.strictEqual(
                fleet.jobs.host.steps.find((step) => step.with?.["stack-name"])!.with!["stack-name"],
                hostStack,
            );
            assert.strictEqual(fleet.jobs.members.needs, "host", "member stacks run after the host stack");
            assert.deepStrictEqual(
                matrixOf("fleet.yml", "members").map((entry) => [entry.stack, entry.kubeconfigs]),
                memberStacks.sort().map((stack) => [stack, secretFor(stack)]),
            );
        }
    });
});
