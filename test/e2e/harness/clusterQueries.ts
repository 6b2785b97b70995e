/**
 * TEST ONLY: what the e2e suites read from the sandbox's clusters to judge the program's effect.
 * Values read here (jwtSecrets, kubeconfigs) are secrets: tests compare them, never print them.
 */
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import * as yaml from "js-yaml";
import { httpStatus } from "../emulator/kubeApi";
import { KubesphereSettings, readKubesphereYaml } from "../emulator/kubesphereYaml";
import { toolsBinDir } from "../sandbox/paths";
import { Sandbox } from "../sandbox/sandbox";
import { waitFor } from "../sandbox/waitFor";

const execFileAsync = promisify(execFile);

export const CLUSTER = { group: "cluster.kubesphere.io", version: "v1alpha1", plural: "clusters" };
export const INSTALLER = {
    group: "installer.kubesphere.io",
    version: "v1alpha1",
    plural: "clusterconfigurations",
    namespace: "kubesphere-system",
    name: "ks-installer",
};

/** The label KubeSphere puts on the host's own Cluster entry (which it creates itself). */
export const HOST_ENTRY_LABEL = "cluster-role.kubesphere.io/host";

export interface ClusterObject {
    metadata: {
        name: string;
        uid: string;
        resourceVersion?: string;
        finalizers?: string[];
        deletionTimestamp?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec: { connection: { kubeconfig: string; kubernetesAPIEndpoint?: string }; config?: string };
    status?: {
        conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
        uid?: string;
        kubernetesVersion?: string;
        kubeSphereVersion?: string;
    };
}

export function clusterApi(sandbox: Sandbox, cluster: string) {
    const kubeConfig = sandbox.loadKubeConfig(cluster);
    return { core: kubeConfig.makeApiClient(CoreV1Api), custom: kubeConfig.makeApiClient(CustomObjectsApi) };
}

/** The kubesphere.yaml text of a cluster's kubesphere-config. */
export async function kubesphereYamlText(sandbox: Sandbox, cluster: string): Promise<string | undefined> {
    const configMap = await clusterApi(sandbox, cluster).core.readNamespacedConfigMap({
        name: "kubesphere-config",
        namespace: "kubesphere-system",
    });
    return configMap.data?.["kubesphere.yaml"];
}

/** A cluster's kubesphere-config as the emulator reads it (jwtSecret and multicluster settings, either layout). */
export async function kubesphereSettings(sandbox: Sandbox, cluster: string): Promise<KubesphereSettings> {
    return readKubesphereYaml(await kubesphereYamlText(sandbox, cluster));
}

/** The jwtSecret in a cluster's kubesphere-config (either layout). */
export async function jwtSecretOf(sandbox: Sandbox, cluster: string): Promise<string> {
    const configMap = await clusterApi(sandbox, cluster).core.readNamespacedConfigMap({
        name: "kubesphere-config",
        namespace: "kubesphere-system",
    });
    const settings = yaml.load(configMap.data!["kubesphere.yaml"]) as {
        authentication: { jwtSecret?: string; issuer?: { jwtSecret?: string } };
    };
    return settings.authentication.jwtSecret ?? settings.authentication.issuer!.jwtSecret!;
}

/** The clusterRole in a cluster's kubesphere-config. */
export async function configRoleOf(sandbox: Sandbox, cluster: string): Promise<string | undefined> {
    const configMap = await clusterApi(sandbox, cluster).core.readNamespacedConfigMap({
        name: "kubesphere-config",
        namespace: "kubesphere-system",
    });
    return (yaml.load(configMap.data!["kubesphere.yaml"]) as { multicluster?: { clusterRole?: string } }).multicluster
        ?.clusterRole;
}

export interface InstallerObject {
    spec: Record<string, any>;
    status?: { core?: { version?: string } };
}

/** The ks-installer ClusterConfiguration of a cluster, or undefined when there is none. */
export async function installerOf(sandbox: Sandbox, cluster: string): Promise<InstallerObject | undefined> {
    try {
        return (await clusterApi(sandbox, cluster).custom.getNamespacedCustomObject(INSTALLER)) as InstallerObject;
    } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
    }
}

/** The ks-installer spec of a cluster, or undefined when there is none. */
export async function installerSpecOf(sandbox: Sandbox, cluster: string): Promise<Record<string, any> | undefined> {
    return (await installerOf(sandbox, cluster))?.spec;
}

export async function hostClusters(sandbox: Sandbox): Promise<ClusterObject[]> {
    return ((await clusterApi(sandbox, "host").custom.listClusterCustomObject(CLUSTER)) as { items: ClusterObject[] })
        .items;
}

/** The Clusters on the host except KubeSphere's own host entry: the members a program imported. */
export async function memberClusters(sandbox: Sandbox): Promise<ClusterObject[]> {
    return (await hostClusters(sandbox)).filter((cluster) => cluster.metadata.labels?.[HOST_ENTRY_LABEL] === undefined);
}

export async function hostCluster(sandbox: Sandbox, name: string): Promise<ClusterObject | undefined> {
    return (await hostClusters(sandbox)).find((cluster) => cluster.metadata.name === name);
}

export function conditionOf(cluster: ClusterObject | undefined, type = "Ready") {
    return cluster?.status?.conditions?.find((condition) => condition.type === type);
}

/** Waits until the Cluster `name` on the host satisfies `accept`, and returns it; `what` says what is awaited. */
export async function waitForCluster(
    sandbox: Sandbox,
    name: string,
    what: string,
    accept: (cluster: ClusterObject) => boolean,
    timeoutMs = 20_000,
): Promise<ClusterObject> {
    return waitFor(
        async () => {
            const cluster = await hostCluster(sandbox, name);
            return cluster && accept(cluster) ? cluster : undefined;
        },
        { description: `Cluster "${name}" ${what}`, timeoutMs, intervalMs: 200 },
    );
}

/** Waits until the Cluster `name` is gone from the host (its finalizer done). */
export async function waitForClusterGone(sandbox: Sandbox, name: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => (await hostCluster(sandbox, name)) === undefined, {
        description: `Cluster "${name}" to disappear`,
        timeoutMs,
    });
}

/** The kubeconfig KubeSphere got for a member (decoded from spec.connection.kubeconfig). */
export function importedKubeconfig(cluster: ClusterObject): {
    clusters: Array<{ cluster: { server: string } }>;
    users: Array<{ user: Record<string, unknown> }>;
} {
    return yaml.load(Buffer.from(cluster.spec.connection.kubeconfig, "base64").toString("utf8")) as never;
}

/** Polls a condition every 250 ms for up to a minute. */
export async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
    await waitFor(condition, { description: what, timeoutMs: 60_000, intervalMs: 250 });
}

/** The 120 characters before a secret's first occurrence, to say where it leaked without printing it. */
export function contextBefore(text: string, secret: string): string {
    const at = text.indexOf(secret);
    return JSON.stringify(text.slice(Math.max(0, at - 120), at));
}

/**
 * Has every kube-apiserver of the sandbox build its OpenAPI documents now: a fresh one builds them on the first
 * request (seconds; over the provider's 32 s timeout on a loaded machine), clusters that have run a while answer
 * from a cache. Tests that run the CLI call it before their first `pulumi` command.
 */
export async function warmOpenApi(sandbox: Sandbox): Promise<void> {
    for (const cluster of sandbox.clusters) {
        await execFileAsync(
            path.join(toolsBinDir(), "kubectl"),
            ["--kubeconfig", cluster.kubeconfigPath, "get", "--raw", "/openapi/v2"],
            { maxBuffer: 256 * 1024 * 1024 },
        );
    }
}

/**
 * What {@link kubefedObjects} finds on a member KubeSphere 3.x joined as `name` (v3.4.1 join.go, as
 * docs/kubesphere.md §12 lists it): its namespace, ServiceAccount and token, the all-rights ClusterRole and its binding.
 */
export function joinedMemberObjects(name: string) {
    return {
        namespace: true,
        serviceAccount: true,
        tokenSecret: { type: "kubernetes.io/service-account-token", hasToken: true },
        clusterRoleRules: [
            { verbs: ["*"], apiGroups: ["*"], resources: ["*"], nonResourceURLs: undefined },
            { verbs: ["get"], apiGroups: undefined, resources: undefined, nonResourceURLs: ["*"] },
        ],
        bindingSubjects: [`ServiceAccount/kube-federation-system/${name}-kubesphere`],
        bindingRole: `kubefed-controller-manager:${name}-kubesphere`,
    };
}

/**
 * What KubeSphere 3.x's federation join left for the Cluster `name` (docs/kubesphere.md §12), object by object: on
 * the member cluster `member` namespace kube-federation-system, ServiceAccount `<name>-kubesphere` and its token
 * Secret, ClusterRole and ClusterRoleBinding `kubefed-controller-manager:<name>-kubesphere`; on the host Secret
 * `<name>-secret` and KubeFedCluster `<name>` (its labels). Names written out here, not taken from the emulator.
 */
export async function kubefedObjects(sandbox: Sandbox, member: string, name = member) {
    const namespace = "kube-federation-system";
    const serviceAccount = `${name}-kubesphere`;
    const clusterRole = `kubefed-controller-manager:${serviceAccount}`;
    const memberConfig = sandbox.loadKubeConfig(member);
    const core = memberConfig.makeApiClient(CoreV1Api);
    const rbac = memberConfig.makeApiClient(RbacAuthorizationV1Api);
    const host = clusterApi(sandbox, "host");
    const orUndefined = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
        try {
            return await read();
        } catch (err) {
            if (httpStatus(err) === 404) return undefined;
            throw err;
        }
    };
    const account = await orUndefined(() => core.readNamespacedServiceAccount({ name: serviceAccount, namespace }));
    const tokenSecretName = account?.secrets?.[0]?.name;
    const tokenSecret =
        tokenSecretName === undefined
            ? undefined
            : await orUndefined(() => core.readNamespacedSecret({ name: tokenSecretName, namespace }));
    const role = await orUndefined(() => rbac.readClusterRole({ name: clusterRole }));
    const binding = await orUndefined(() => rbac.readClusterRoleBinding({ name: clusterRole }));
    const hostSecret = await orUndefined(() => host.core.readNamespacedSecret({ name: `${name}-secret`, namespace }));
    const kubefedCluster = (await orUndefined(() =>
        host.custom.getNamespacedCustomObject({
            group: "core.kubefed.io",
            version: "v1beta1",
            namespace,
            plural: "kubefedclusters",
            name,
        }),
    )) as
        | { metadata: { labels?: Record<string, string> }; spec: { secretRef: { name: string }; apiEndpoint: string } }
        | undefined;
    return {
        member: {
            namespace: (await orUndefined(() => core.readNamespace({ name: namespace }))) !== undefined,
            serviceAccount: account !== undefined,
            /** The token Secret's type, and whether kube-controller-manager filled its token in (never the token). */
            tokenSecret: tokenSecret && { type: tokenSecret.type, hasToken: Boolean(tokenSecret.data?.token) },
            clusterRoleRules: role?.rules?.map((rule) => ({
                verbs: rule.verbs,
                apiGroups: rule.apiGroups,
                resources: rule.resources,
                nonResourceURLs: rule.nonResourceURLs,
            })),
            bindingSubjects: binding?.subjects?.map(
                (subject) => `${subject.kind}/${subject.namespace}/${subject.name}`,
            ),
            bindingRole: binding?.roleRef.name,
        },
        host: {
            /** Whether the host's Secret holds the same token as the member's Secret (compared, never printed). */
            secretMatchesToken:
                hostSecret === undefined ? undefined : hostSecret.data?.token === tokenSecret?.data?.token,
            secret: hostSecret !== undefined,
            kubefedCluster: kubefedCluster && {
                labels: kubefedCluster.metadata.labels ?? {},
                secretRef: kubefedCluster.spec.secretRef.name,
                apiEndpoint: kubefedCluster.spec.apiEndpoint,
            },
        },
    };
}
