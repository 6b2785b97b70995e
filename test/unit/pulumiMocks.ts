/**
 * Pulumi mocks for graph tests: records every registered resource (inputs as the engine would receive them,
 * secrets still wrapped) and the options our components gave it, and plays the host's kubesphere-config.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterAccess } from "../../components/kubesphere/clusterAccess";
import type { ClusterFacts } from "../../components/kubesphere/facts";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider?: string;
    id?: string;
}

export interface RecordedOptions {
    type: string;
    name: string;
    opts: pulumi.ResourceOptions & {
        retainOnDelete?: boolean;
        additionalSecretOutputs?: string[];
        provider?: pulumi.ProviderResource;
    };
}

export interface MockWorld {
    resources: RecordedResource[];
    /** Registrations and test-recorded events, in order (e.g. `register:Cluster:m1`). */
    events: string[];
    options: RecordedOptions[];
    /** Transformation that records each resource's options; pass it in the components' `transformations`. */
    recordOptions: pulumi.ResourceTransformation;
}

/**
 * Installs mocks. `kubesphereYaml` is what the host's kubesphere-config holds; `stackOutputs` answer StackReferences.
 * `sdk` is the @pulumi/pulumi the code under test loads (the example program has its own copy), `project` its project.
 */
export async function installMocks(
    kubesphereYaml: string,
    stackOutputs: Record<string, unknown> = {},
    preview = true,
    sdk: typeof pulumi = pulumi,
    project = "kubesphere-federation",
): Promise<MockWorld> {
    const world: MockWorld = {
        resources: [],
        events: [],
        options: [],
        recordOptions: (args) => {
            world.options.push({ type: args.type, name: args.name, opts: args.opts as RecordedOptions["opts"] });
            return undefined;
        },
    };
    await sdk.runtime.setMocks(
        {
            newResource(args) {
                world.resources.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs,
                    provider: args.provider,
                    id: args.id,
                });
                world.events.push(`register:${args.type.split(":").pop()}:${args.name}`);
                if (args.type === "kubernetes:core/v1:ConfigMap" && args.id !== undefined) {
                    return {
                        id: args.id,
                        state: { metadata: { name: "kubesphere-config" }, data: { "kubesphere.yaml": kubesphereYaml } },
                    };
                }
                if (args.type === "pulumi:pulumi:StackReference") {
                    return { id: args.inputs.name, state: { outputs: stackOutputs, secretOutputNames: [] } };
                }
                if (
                    args.type === "kubernetes:core/v1:Secret" &&
                    (args.inputs as any).type === "kubernetes.io/service-account-token"
                ) {
                    // What the token controller fills in.
                    const data = {
                        token: Buffer.from(`sa-token-of-${args.name}`).toString("base64"),
                        "ca.crt": Buffer.from("sa-ca").toString("base64"),
                    };
                    return { id: `${args.name}-id`, state: { ...args.inputs, data } };
                }
                if (args.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster") {
                    const status = {
                        conditions: [
                            { type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" },
                        ],
                        kubernetesVersion: "v1.33.2",
                        kubeSphereVersion: "v3.4.1",
                    };
                    return { id: args.name, state: { ...args.inputs, status } };
                }
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        project,
        "unit",
        // As a preview by default: the waits (which talk to real clusters) are skipped; the e2e suite covers them.
        preview,
        // As the file backend names it: the stack mark on Clusters is organization/<project>/unit.
        "organization",
    );
    return world;
}

/** What a fresh KubeSphere 3.x install shows (ks-installer v3.4.1, clusterRole none), with its own kube-system UID. */
export function freshV3Facts(cluster: string, version = "v3.4.1"): ClusterFacts {
    return {
        kubeSystemUid: `uid-${cluster}`,
        installer: { clusterRole: "none", version },
        config: { jwtSecret: `own-secret-of-${cluster}`, layout: "v3", clusterRole: "none", multiclusterEnable: false },
        kubesphereNamespace: {},
    };
}

/**
 * Cluster reads without clusters: every cluster answers as a fresh KubeSphere 3.4.1 install with its own kube-system
 * UID (`uid-<name>`), the host is already a host, ks-apiserver answers, unless `overrides` say otherwise.
 */
export function fakeClusterAccess(overrides: Partial<ClusterAccess> = {}): ClusterAccess {
    return {
        readClusterFacts: async (cluster) => freshV3Facts(cluster),
        listImportedClusters: async () => [
            { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v3.4.1" },
        ],
        probeKsApiserver: async () => undefined,
        memberInstallerReader: () => async () => {
            throw new Error("the installer wait does not run in previews");
        },
        hostRoleReader: () => async () => {
            throw new Error("the host wait does not run in previews");
        },
        readKubesphereLayout: async () => "v3",
        readImportedKubeconfig: async () => undefined,
        readTower: async () => ({ deployment: true, service: { type: "LoadBalancer" } }),
        agentJoinReader: () => async () => {
            throw new Error("the agent join wait does not run in previews");
        },
        writeClusterAgentToken: async () => ({ written: false }),
        readClusterObject: async () => ({
            connectionType: "direct",
            conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" }],
        }),
        probeImportKubeconfig: async (_kubeconfig, source) => ({
            server: "https://203.0.113.10:6443",
            source,
            reach: { ok: true },
            access: [{ what: "everything (cluster-admin)", allowed: true }],
        }),
        readClock: async () => ({ serverMs: 1_000_000, sentMs: 1_000_000, receivedMs: 1_000_000 }),
        readKsCoreConflicts: async () => [],
        // The join lease (`up` only): always free on fake hosts.
        createJoinLease: async (_kubeconfig, name, held) => ({
            outcome: "written",
            lease: {
                name,
                holder: held.holder,
                acquireTime: held.acquireTime,
                renewTime: held.renewTime,
                durationSeconds: held.durationSeconds,
                resourceVersion: "1",
            },
        }),
        readJoinLease: async () => undefined,
        replaceJoinLease: async (_kubeconfig, current, held) => ({
            outcome: "written",
            lease: { ...current, ...held, resourceVersion: `${Number(current.resourceVersion) + 1}` },
        }),
        deleteJoinLease: async () => undefined,
        // Read only when a wait fails and by the doctor: a running ks-installer pod (3.4.1).
        readPods: async (_kubeconfig, namespace) => [
            {
                namespace,
                name: "ks-installer-5b9d4c7f8d-abcde",
                phase: "Running",
                containers: [
                    {
                        name: "installer",
                        image: "kubesphere/ks-installer:v3.4.1",
                        ready: true,
                        restartCount: 0,
                        running: true,
                    },
                ],
                imagePullSecrets: [],
            },
        ],
        // Every pull Secret named exists.
        readSecretPresence: async (_kubeconfig, _namespace, names) => names.map((name) => ({ name, found: true })),
        // Probed only for members removed from the config: every API server answers.
        probeEndpoint: async () => ({ answers: true, detail: "connected" }),
        // Every CRD a KubeSphere 3.x install has is there (kubefed's on the host, the Workspace CRD on members).
        readCrdPresence: async (_kubeconfig, name) => ({ name, found: true }),
        ...overrides,
    };
}

/** A KubeSphere 4.1.3 host (its own Cluster entry reports the version) and bare members. */
export function fakeV4ClusterAccess(overrides: Partial<ClusterAccess> = {}): ClusterAccess {
    return fakeClusterAccess({
        readKubesphereLayout: async () => "v4",
        readClusterFacts: async (cluster) =>
            cluster === "host"
                ? {
                      kubeSystemUid: "uid-host",
                      config: { jwtSecret: "x", layout: "v4", clusterRole: "host", hostClusterName: "host" },
                      kubesphereNamespace: {},
                  }
                : { kubeSystemUid: `uid-${cluster}` },
        listImportedClusters: async () => [
            { name: "host", uid: "uid-host", isHostEntry: true, kubeSphereVersion: "v4.1.3" },
        ],
        ...overrides,
    });
}

/** The value of an Output, once known. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** True when a recorded input value is a secret as the engine receives it. */
export function isSecretInput(value: unknown): boolean {
    return (
        typeof value === "object" &&
        value !== null &&
        (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
    );
}

/** The plain value of a recorded input, secret or not. */
export function plain<T = any>(value: unknown): T {
    return (isSecretInput(value) ? (value as { value: unknown }).value : value) as T;
}

/** Lets the mocks' asynchronous registrations finish. */
export function settle(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 50));
}
