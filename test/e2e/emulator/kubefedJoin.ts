/**
 * KubeSphere 3.x's federation join and un-join, as the host's cluster controller runs them (v3.4.1
 * pkg/controller/cluster/join.go joinClusterForNamespace, unjoin.go unjoinCluster; v3.3.2, v3.2.1 and v3.1.1 are the
 * same steps). TEST ONLY. Join, in KubeSphere's order:
 *
 * 1. member: the ServiceAccount `<cluster>-kubesphere` in kube-federation-system is looked up (performPreflightChecks);
 * 2. member: namespace kube-federation-system (createKubeFedNamespace);
 * 3. member: that ServiceAccount, a `kubernetes.io/service-account-token` Secret `<sa>-token-<random>` listed in its
 *    `secrets`, ClusterRole and ClusterRoleBinding `kubefed-controller-manager:<sa>` granting every verb on every
 *    resource and GET on every non-resource URL (createAuthorizedServiceAccount, cluster scope);
 * 4. host: Secret `<cluster>-secret` in kube-federation-system with that token (populateSecretInHostCluster, which
 *    waits up to 30 s for kube-controller-manager to fill the token in);
 * 5. host: KubeFedCluster `<cluster>` in kube-federation-system, labelled with the Cluster's labels, pointing at the
 *    member's API server and the Secret (createKubeFedCluster: an existing one gets the spec and labels again; a new
 *    one first lists the member's Workspaces, checkWorkspaces).
 *
 * A missing CRD fails with client-go's words: the KubeFedCluster read on a host without kubefed's CRD fails with
 * controller-runtime's `no matches for kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"`, the Workspace
 * list on a member without KubeSphere's with `the server could not find the requested resource (get
 * workspaces.tenant.kubesphere.io)`. Un-join (a Cluster being deleted: `unJoinFederation(nil, name)`, so the member is
 * never touched): the host's KubeFedCluster and the Secret it names; a failed read of the KubeFedCluster fails the
 * un-join (the finalizer stays). The member keeps its namespace, ServiceAccount, token and binding.
 *
 * Deviations, for load: the real controller runs every step on every sync (and updates the ClusterRole each time);
 * the emulator writes only what differs. 3.1/3.2 create no token Secret themselves (they rely on Kubernetes < 1.24
 * generating one); the sandbox's Kubernetes generates none, so the emulator creates it for them as 3.3+ do. Workspaces
 * labelled `kubefed.io/managed=true` are not compared with the host's FederatedWorkspaces (the sandbox has none).
 */
import { ApiException, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, V1Secret } from "@kubernetes/client-node";
import { describeError, httpStatus, withTimeout } from "./kubeApi";
import { FIELD_MANAGER } from "./kubesphereObjects";
import { stableJson } from "./stableJson";

const REQUEST_TIMEOUT_MS = 3000;

/** KubeFed's names as KubeSphere 3.x uses them (v3.4.1 cluster_controller.go constants, kubefedctl util). */
export const KUBEFED = {
    namespace: "kube-federation-system",
    group: "core.kubefed.io",
    version: "v1beta1",
    plural: "kubefedclusters",
    kind: "KubeFedCluster",
    /** cluster_controller.go `hostClusterName`: "can be anything", the suffix of every joined ServiceAccount. */
    hostClusterName: "kubesphere",
} as const;

/** KubeSphere's Workspace type, which the join lists on the member (v3.4.1 join.go checkWorkspaces). */
export const WORKSPACE = { group: "tenant.kubesphere.io", version: "v1alpha1", plural: "workspaces" } as const;

/** The objects a join of `cluster` creates. */
export function kubefedNames(cluster: string) {
    const serviceAccount = `${cluster}-${KUBEFED.hostClusterName}`;
    return {
        serviceAccount,
        /** ClusterRole and ClusterRoleBinding (kubefedctl util.RoleName). */
        clusterRole: `kubefed-controller-manager:${serviceAccount}`,
        hostSecret: `${cluster}-secret`,
        kubefedCluster: cluster,
    };
}

/** join.go clusterPolicyRules: everything on every resource, and GET on every non-resource URL. */
const CLUSTER_POLICY_RULES = [
    { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
    { nonResourceURLs: ["*"], verbs: ["get"] },
];

export interface JoinTarget {
    name: string;
    labels: Record<string, string>;
    /** The kubeconfig's server (the KubeFedCluster's apiEndpoint). */
    endpoint: string;
    /** The kubeconfig's CA (base64), the KubeFedCluster's caBundle; undefined when it has none. */
    caData?: string;
}

/** What a join uses on the member. */
export interface ClusterClients {
    core: CoreV1Api;
    custom: CustomObjectsApi;
    rbac: RbacAuthorizationV1Api;
}

/** What a join and an un-join use on the host (no RBAC: the host keeps only a Secret and the KubeFedCluster). */
export type HostClients = Pick<ClusterClients, "core" | "custom">;

function call<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, REQUEST_TIMEOUT_MS, what);
}

/**
 * A 404 for the object (a NotFound Status naming it in `details`), not for a resource the API server does not serve
 * (its Status names nothing: "the server could not find the requested resource").
 */
function isObjectNotFound(err: unknown): boolean {
    if (httpStatus(err) !== 404) return false;
    const body = (err as ApiException<unknown>).body;
    let status: { kind?: string; reason?: string; details?: { name?: string } } | undefined;
    if (typeof body === "string") {
        try {
            status = JSON.parse(body) as typeof status;
        } catch {
            status = undefined;
        }
    } else if (body && typeof body === "object") {
        status = body as typeof status;
    }
    return status?.kind === "Status" && status.reason === "NotFound" && Boolean(status.details?.name);
}

/** The answer for a resource the API server does not serve (its CRD is missing): a 404 that is no object's Status. */
function isNotServed(err: unknown): boolean {
    return httpStatus(err) === 404 && !isObjectNotFound(err);
}

async function getOrUndefined<T>(read: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
        return await call(read(), what);
    } catch (err) {
        if (isObjectNotFound(err)) return undefined;
        throw err;
    }
}

interface KubefedClusterObject {
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
    spec: { apiEndpoint: string; caBundle?: string; secretRef: { name: string } };
}

/** The host's KubeFedCluster of `name`; controller-runtime's error when the host does not serve the kind. */
async function readKubefedCluster(host: HostClients, name: string): Promise<KubefedClusterObject | undefined> {
    try {
        return await getOrUndefined(
            () =>
                host.custom.getNamespacedCustomObject({
                    group: KUBEFED.group,
                    version: KUBEFED.version,
                    namespace: KUBEFED.namespace,
                    plural: KUBEFED.plural,
                    name,
                }) as Promise<KubefedClusterObject>,
            `reading KubeFedCluster ${name}`,
        );
    } catch (err) {
        if (isNotServed(err)) {
            throw new Error(`no matches for kind "${KUBEFED.kind}" in version "${KUBEFED.group}/${KUBEFED.version}"`);
        }
        throw err;
    }
}

/** Whether the host's KubeFedCluster for `target` exists as the join would write it (so the join can be skipped). */
export async function kubefedClusterCurrent(host: HostClients, target: JoinTarget): Promise<boolean> {
    const existing = await readKubefedCluster(host, target.name).catch(() => undefined);
    return existing !== undefined && stableJson(existing.metadata.labels ?? {}) === stableJson(target.labels);
}

/** Steps 1–3 on the member: namespace, ServiceAccount with its token Secret, ClusterRole and binding. */
async function authorizeOnMember(member: ClusterClients, cluster: string): Promise<string> {
    const names = kubefedNames(cluster);
    const namespace = KUBEFED.namespace;
    const readServiceAccount = () =>
        getOrUndefined(
            () => member.core.readNamespacedServiceAccount({ name: names.serviceAccount, namespace }),
            "reading the member's ServiceAccount",
        );
    await readServiceAccount(); // performPreflightChecks: an error other than NotFound fails the join.
    if (
        (await getOrUndefined(() => member.core.readNamespace({ name: namespace }), "reading the namespace")) ===
        undefined
    ) {
        await call(
            member.core
                .createNamespace({
                    body: { metadata: { name: namespace } },
                    fieldManager: FIELD_MANAGER.controllerManager,
                })
                .catch((err) => {
                    if (httpStatus(err) !== 409) throw err;
                }),
            "creating the namespace",
        );
    }
    let serviceAccount = await readServiceAccount();
    if (serviceAccount === undefined) {
        serviceAccount = await call(
            member.core.createNamespacedServiceAccount({
                namespace,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { metadata: { name: names.serviceAccount, namespace } },
            }),
            "creating the ServiceAccount",
        );
    }
    if ((serviceAccount.secrets ?? []).length === 0) {
        // The ServiceAccount first, then its Secret, then the ServiceAccount's reference (else kube-controller-manager deletes it).
        const secret = await call(
            member.core.createNamespacedSecret({
                namespace,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: {
                    metadata: {
                        generateName: `${names.serviceAccount}-token-`,
                        namespace,
                        annotations: { "kubernetes.io/service-account.name": names.serviceAccount },
                    },
                    type: "kubernetes.io/service-account-token",
                },
            }),
            "creating the token Secret",
        );
        await call(
            member.core.replaceNamespacedServiceAccount({
                name: names.serviceAccount,
                namespace,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { ...serviceAccount, secrets: [{ name: secret.metadata?.name }] },
            }),
            "updating the ServiceAccount",
        );
    }
    const role = await getOrUndefined(
        () => member.rbac.readClusterRole({ name: names.clusterRole }),
        "reading the ClusterRole",
    );
    if (role === undefined) {
        await call(
            member.rbac.createClusterRole({
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { metadata: { name: names.clusterRole }, rules: CLUSTER_POLICY_RULES },
            }),
            "creating the ClusterRole",
        );
    } else if (stableJson(role.rules ?? []) !== stableJson(CLUSTER_POLICY_RULES)) {
        await call(
            member.rbac.replaceClusterRole({
                name: names.clusterRole,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { ...role, rules: CLUSTER_POLICY_RULES },
            }),
            "updating the ClusterRole",
        );
    }
    const subjects = [{ kind: "ServiceAccount", name: names.serviceAccount, namespace }];
    const roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: names.clusterRole };
    const binding = await getOrUndefined(
        () => member.rbac.readClusterRoleBinding({ name: names.clusterRole }),
        "reading the ClusterRoleBinding",
    );
    const createBinding = () =>
        call(
            member.rbac.createClusterRoleBinding({
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { metadata: { name: names.clusterRole }, subjects, roleRef },
            }),
            "creating the ClusterRoleBinding",
        );
    if (binding === undefined) {
        await createBinding();
    } else if (stableJson(binding.roleRef) !== stableJson(roleRef)) {
        // roleRef cannot change: KubeSphere deletes and recreates the binding.
        await call(
            member.rbac.deleteClusterRoleBinding({ name: names.clusterRole }),
            "deleting the ClusterRoleBinding",
        );
        await createBinding();
    } else if (stableJson(binding.subjects ?? []) !== stableJson(subjects)) {
        await call(
            member.rbac.replaceClusterRoleBinding({
                name: names.clusterRole,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { ...binding, subjects },
            }),
            "updating the ClusterRoleBinding",
        );
    }
    return names.serviceAccount;
}

/** Step 4's wait: the ServiceAccount's token Secret once kube-controller-manager filled it in (join.go: 1 s polls, 30 s). */
async function serviceAccountToken(member: ClusterClients, serviceAccount: string): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        const account = await getOrUndefined(
            () => member.core.readNamespacedServiceAccount({ name: serviceAccount, namespace: KUBEFED.namespace }),
            "reading the member's ServiceAccount",
        ).catch(() => undefined);
        for (const reference of account?.secrets ?? []) {
            const secret: V1Secret | undefined = await getOrUndefined(
                () => member.core.readNamespacedSecret({ name: reference.name ?? "", namespace: KUBEFED.namespace }),
                "reading the token Secret",
            ).catch(() => undefined);
            if (secret?.type === "kubernetes.io/service-account-token") {
                const token = secret.data?.token;
                if (token === undefined) throw new Error(`Key "token" not found in service account secret`);
                return token;
            }
        }
        if (Date.now() >= deadline) throw new Error("timed out waiting for the condition");
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/** Step 4: the host's Secret `<cluster>-secret` with the member's token (base64, as read). */
async function populateHostSecret(host: HostClients, cluster: string, token: string): Promise<string> {
    const name = kubefedNames(cluster).hostSecret;
    const namespace = KUBEFED.namespace;
    const existing = await getOrUndefined(
        () => host.core.readNamespacedSecret({ name, namespace }),
        "reading the host's Secret",
    );
    if (existing === undefined) {
        await call(
            host.core.createNamespacedSecret({
                namespace,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { metadata: { name, namespace }, data: { token } },
            }),
            "creating the host's Secret",
        );
    } else if (existing.data?.token !== token || Object.keys(existing.data ?? {}).length !== 1) {
        await call(
            host.core.replaceNamespacedSecret({
                name,
                namespace,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: {
                    metadata: { name, namespace, resourceVersion: existing.metadata?.resourceVersion },
                    data: { token },
                },
            }),
            "updating the host's Secret",
        );
    }
    return name;
}

/** Step 5's check for a new KubeFedCluster: the member's Workspaces can be listed (client-go's error otherwise). */
async function checkWorkspaces(member: ClusterClients): Promise<void> {
    try {
        await call(
            member.custom.listClusterCustomObject({
                group: WORKSPACE.group,
                version: WORKSPACE.version,
                plural: WORKSPACE.plural,
                labelSelector: "kubefed.io/managed=true",
            }),
            "listing the member's Workspaces",
        );
    } catch (err) {
        if (isNotServed(err)) {
            throw new Error(
                `the server could not find the requested resource (get ${WORKSPACE.plural}.${WORKSPACE.group})`,
            );
        }
        throw err;
    }
}

/** The federation join of one Cluster; rejects with the error KubeSphere writes as Federated=False's reason. */
export async function joinFederation(host: HostClients, member: ClusterClients, target: JoinTarget): Promise<void> {
    const serviceAccount = await authorizeOnMember(member, target.name);
    const token = await serviceAccountToken(member, serviceAccount);
    const secretName = await populateHostSecret(host, target.name, token);
    const spec = {
        apiEndpoint: target.endpoint,
        ...(target.caData ? { caBundle: target.caData } : {}),
        secretRef: { name: secretName },
    };
    const existing = await readKubefedCluster(host, target.name);
    const base = {
        group: KUBEFED.group,
        version: KUBEFED.version,
        namespace: KUBEFED.namespace,
        plural: KUBEFED.plural,
    };
    if (existing === undefined) {
        await checkWorkspaces(member);
        await call(
            host.custom.createNamespacedCustomObject({
                ...base,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: {
                    apiVersion: `${KUBEFED.group}/${KUBEFED.version}`,
                    kind: KUBEFED.kind,
                    metadata: { name: target.name, namespace: KUBEFED.namespace, labels: target.labels },
                    spec,
                },
            }),
            "creating the KubeFedCluster",
        );
        return;
    }
    if (
        stableJson(existing.spec) !== stableJson(spec) ||
        stableJson(existing.metadata.labels ?? {}) !== stableJson(target.labels)
    ) {
        await call(
            host.custom.replaceNamespacedCustomObject({
                ...base,
                name: target.name,
                fieldManager: FIELD_MANAGER.controllerManager,
                body: { ...existing, metadata: { ...existing.metadata, labels: target.labels }, spec },
            }),
            "updating the KubeFedCluster",
        );
    }
}

/**
 * The un-join of a Cluster being deleted, host side only (unjoin.go deleteFederatedClusterAndSecret): the Secret the
 * KubeFedCluster names, then the KubeFedCluster. Rejects with KubeSphere's wrapped error when the read fails.
 */
export async function unjoinFederationHostSide(host: HostClients, name: string): Promise<void> {
    let existing: KubefedClusterObject | undefined;
    try {
        existing = await readKubefedCluster(host, name);
    } catch (err) {
        throw new Error(`Failed to get kubefed cluster "${KUBEFED.namespace}/${name}": ${describeError(err)}`);
    }
    if (existing === undefined) return;
    const ignoreNotFound = (err: unknown) => {
        if (!isObjectNotFound(err)) throw err;
    };
    await call(
        host.core
            .deleteNamespacedSecret({ name: existing.spec.secretRef.name, namespace: KUBEFED.namespace })
            .catch(ignoreNotFound),
        "deleting the host's Secret",
    );
    await call(
        host.custom
            .deleteNamespacedCustomObject({
                group: KUBEFED.group,
                version: KUBEFED.version,
                namespace: KUBEFED.namespace,
                plural: KUBEFED.plural,
                name,
            })
            .catch(ignoreNotFound),
        "deleting the KubeFedCluster",
    );
}
