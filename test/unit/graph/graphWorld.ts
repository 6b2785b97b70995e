/**
 * The shared setup of the graph tests (test/unit/graph/*.test.ts): a fleet of one host and three members whose
 * kubeconfigs are fake files, the config builders, and readers of what the mocks recorded. The mocks themselves
 * (installMocks, fake ClusterAccess) are in ../pulumiMocks.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { resolveKubeconfig } from "../../../components/kubernetes/kubeconfig";
import { FederationSummary } from "../../../program/federation";
import { KubeconfigSourceContext } from "../../../program/kubeconfigSources";
import { tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { MockWorld, valueOf } from "../pulumiMocks";

export const JWT_SECRET = "hostJwtSecret0123456789abcdefghij";

export const MEMBERS = [
    { name: "ack-prod", provider: "ack" },
    { name: "eks-staging", provider: "eks" },
    { name: "lab", provider: "kubeadm" },
];

/** The kubeconfig files `sources()` reads, by path; a scenario adds its own in a `before` hook. */
export const kubeconfigFiles: Record<string, string> = Object.fromEntries(
    ["host", ...MEMBERS.map((m) => m.name)].map((name) => [`/kube/${name}.yaml`, tokenKubeconfig(name)]),
);

/** Where the program reads kubeconfigs from: `kubeconfigFiles`, and the given stack outputs. */
export function sources(
    stackOutput: KubeconfigSourceContext["stackOutput"] = () => pulumi.output(undefined),
    stackOutputDetails: KubeconfigSourceContext["stackOutputDetails"] = async () => ({}),
): KubeconfigSourceContext {
    return {
        config: new pulumi.Config("kubesphere-federation"),
        cwd: "/work",
        stackOutput,
        stackOutputDetails,
        readFile: (filePath) => {
            if (!(filePath in kubeconfigFiles)) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
            return Buffer.from(kubeconfigFiles[filePath]);
        },
    };
}

/** The fleet's config: the host and `members` (default: MEMBERS, the first in group production). */
export function fleetConfig(
    members: unknown[] = MEMBERS.map((m, index) => ({
        ...m,
        kubeconfig: { path: `/kube/${m.name}.yaml` },
        group: index === 0 ? "production" : undefined,
    })),
    kubesphereMajor = "v3",
) {
    return parseFederationConfig({
        host: { name: "host", kubeconfig: { path: "/kube/host.yaml" }, kubesphereMajor },
        members,
    });
}

/** The kubeconfig file at `filePath` as the program imports it (flattened, re-serialised). */
export function flattenedKubeconfig(filePath: string): string {
    return resolveKubeconfig(kubeconfigFiles[filePath], undefined, { key: "k", description: "d", baseDir: "/" }, () =>
        Buffer.from(""),
    ).yaml;
}

/** Resolves every output of the summary, as the engine would when exporting it. */
export async function resolvedSummary(summary: FederationSummary) {
    const members: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(summary.members)) {
        members[name] = {
            clusterName: await valueOf(member.clusterName),
            provider: member.provider,
            ready: await valueOf(member.ready),
            reason: await valueOf(member.reason),
            message: await valueOf(member.message),
            kubernetesVersion: await valueOf(member.kubernetesVersion),
            kubesphereVersion: await valueOf(member.kubesphereVersion),
            detectedKubesphereVersion: await valueOf(member.detectedKubesphereVersion),
        };
    }
    return { hostName: summary.hostName, hostKubesphereVersion: await valueOf(summary.hostKubesphereVersion), members };
}

export const byType = (world: MockWorld, type: string) => world.resources.filter((r) => r.type === type);

/** Resources that would change a cluster (everything but providers, components and reads). */
export const clusterChanges = (world: MockWorld) =>
    world.resources
        .filter((r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("kubesphere:") && r.id === undefined)
        .map((r) => r.name);

/** The failure of an Output, as the engine would see it (Output.promise() is internal API, but the only way under mocks). */
export const failureOf = (output: pulumi.Output<unknown>): Promise<Error | undefined> =>
    (output as unknown as { promise(): Promise<unknown> }).promise().then(
        () => undefined,
        (err: Error) => err,
    );
