/**
 * Every committed stack file must run through the same code path as `pulumi up`: config read through
 * pulumi.Config, validated, and the program built (under mocks, with stand-in kubeconfigs).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { federate, readFederationConfig } from "../../components/federation";
import { expandPath } from "../../components/kubeconfig";
import { kubesphereYamlV3, tokenKubeconfig } from "../fixtures/kubeconfigs";
import type { ClusterAccess } from "../../components/kubeClient";
import { fakeClusterAccess, fakeV4ClusterAccess, installMocks, settle } from "./pulumiMocks";

const STACKS_DIR = path.join(__dirname, "..", "..", "stacks");
/** The three documented examples, and the sandbox's stack the demo runs. */
const EXAMPLE_STACKS = ["ack-prod", "eks-staging", "kubeadm-lab", "edge-agent", "local"];

/** Stack config as the engine hands it to a program: every value a string, objects as JSON. */
function engineConfig(stackFile: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
    return Object.fromEntries(
        Object.entries(doc.config ?? {}).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

/** A kubeconfig whose context names match what a stack file asks for; `server` tells clusters apart. */
function standInKubeconfig(context?: string, server?: string): string {
    const text = tokenKubeconfig("stand-in", server);
    return context === undefined ? text : text.split("stand-in").join(context).replace(/token-[^\n]*/, "token-stand-in");
}

/** A distinct stand-in server per kubeconfig source: the program treats identical kubeconfigs as one cluster. */
function serverFor(source: string): string {
    return `https://${source.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase()}.example.com:6443`;
}

/** A 4.x host under the stack's host name, bare members. */
function v4Facts(hostName: string): ClusterAccess["readClusterFacts"] {
    return async (cluster) =>
        cluster === hostName
            ? { kubeSystemUid: "uid-host", config: { jwtSecret: "x", layout: "v4", clusterRole: "host", hostClusterName: hostName }, kubesphereNamespace: {} }
            : { kubeSystemUid: `uid-${cluster}` };
}

describe("stack files", () => {
    it("ships the documented examples and the local sandbox stack", () => {
        for (const stack of EXAMPLE_STACKS) assert.ok(fs.existsSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`)), stack);
    });

    for (const stack of EXAMPLE_STACKS) {
        it(`${stack} validates and builds through the program's code path`, async () => {
            const world = await installMocks(kubesphereYamlV3("x".repeat(32)));
            const config = engineConfig(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`));
            pulumi.runtime.setAllConfig(config);
            const pulumiConfig = new pulumi.Config("kubesphere-federation");
            const federation = readFederationConfig(pulumiConfig);
            for (const cluster of [federation.host, ...federation.members]) {
                if ("secretConfig" in cluster.kubeconfig) {
                    pulumi.runtime.setConfig(`kubesphere-federation:${cluster.kubeconfig.secretConfig}`, standInKubeconfig(undefined, serverFor(cluster.kubeconfig.secretConfig)));
                }
            }
            const contexts = new Map<string, string | undefined>();
            for (const cluster of [federation.host, ...federation.members]) {
                if ("path" in cluster.kubeconfig) contexts.set(expandPath(cluster.kubeconfig.path, "/"), cluster.kubeconfig.context);
            }
            const summary = await federate(federation, {
                config: pulumiConfig,
                cwd: "/",
                readFile: (filePath) => {
                    assert.ok(contexts.has(filePath), `unexpected read of ${filePath}`);
                    return Buffer.from(standInKubeconfig(contexts.get(filePath), serverFor(filePath)));
                },
                stackOutput: (_stack, output) => pulumi.output(standInKubeconfig(undefined, serverFor(output))),
            }, undefined, federation.host.kubesphereVersion === "v4" ? fakeV4ClusterAccess({ readClusterFacts: v4Facts(federation.host.name) }) : fakeClusterAccess());
            await settle();
            assert.deepStrictEqual(Object.keys(summary.members), federation.members.map((m) => m.name));
            assert.ok(federation.members.length >= 2, "an example shows more than one member");
            const clusters = world.resources.filter((r) => r.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster");
            assert.strictEqual(clusters.length, federation.members.length);
            pulumi.runtime.setAllConfig({});
        });
    }
});
