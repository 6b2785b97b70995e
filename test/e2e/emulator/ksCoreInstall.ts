/**
 * What KubeSphere 4.x's host does to a member through Helm and the member's API (v4.1.3 helper.go
 * installKSCoreInMemberCluster, kubeconfig.go renewKubeConfig), reduced to the objects the federation program and
 * the tests can see. TEST ONLY. Secrets handled here (jwtSecret, tokens, keys) are never logged.
 */
import type { EmulatedWorkload } from "./kubelet";
import { V1CertificateSigningRequest } from "@kubernetes/client-node";
import { execFile } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import {
    FIELD_MANAGER,
    KS_APISERVER,
    KUBESPHERE_CONFIG_KEY,
    KUBESPHERE_CONFIG_NAME,
    KUBESPHERE_NAMESPACE,
    KUBESPHERE_SA_TOKEN_LABEL,
} from "./kubesphereObjects";
import { kubesphereYamlV4Member } from "./kubesphereYaml";
import { MemberClients } from "./memberClient";

const execFileAsync = promisify(execFile);
const REQUEST_TIMEOUT_MS = 5000;
/** ks-core's ServiceAccount on a member; the renewal of a system:masters certificate uses its token. */
const KUBESPHERE_SERVICE_ACCOUNT = "kubesphere";
/** Its token Secret (v4.1.3 config/ks-core/templates/_helpers.tpl ks-core.serviceAccountTokenName). */
const KUBESPHERE_TOKEN_SECRET = `${KUBESPHERE_SERVICE_ACCOUNT}-sa-token`;

async function ignoreConflict(create: () => Promise<unknown>): Promise<void> {
    try {
        await create();
    } catch (err) {
        if (httpStatus(err) !== 409) throw err;
    }
}

/** The ks-core release (v4.1.3 helper.go releaseName), in kubesphere-system. */
const RELEASE_NAME = "ks-core";

/**
 * What Helm stamps on every object it renders and requires of an object that already exists before it adopts it
 * (helm v3.16.2, the version v4.1.3 builds with: pkg/action/validate.go checkOwnership).
 */
const HELM_OWNERSHIP = {
    labels: { "app.kubernetes.io/managed-by": "Helm" } as Record<string, string>,
    annotations: {
        "meta.helm.sh/release-name": RELEASE_NAME,
        "meta.helm.sh/release-namespace": KUBESPHERE_NAMESPACE,
    } as Record<string, string>,
};

interface ObjectMeta {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

/** checkOwnership/requireValue: undefined when Helm may adopt the object, else Helm's "invalid ownership metadata; …". */
export function helmOwnershipProblem(meta: ObjectMeta | undefined): string | undefined {
    const problems: string[] = [];
    const require = (
        kind: "label" | "annotation",
        values: Record<string, string> | undefined,
        key: string,
        wanted: string,
    ) => {
        const actual = values?.[key];
        if (actual === undefined)
            problems.push(
                `${kind} validation error: missing key ${JSON.stringify(key)}: must be set to ${JSON.stringify(wanted)}`,
            );
        else if (actual !== wanted)
            problems.push(
                `${kind} validation error: key ${JSON.stringify(key)} must equal ${JSON.stringify(wanted)}: current value is ${JSON.stringify(actual)}`,
            );
    };
    for (const [key, wanted] of Object.entries(HELM_OWNERSHIP.labels)) require("label", meta?.labels, key, wanted);
    for (const [key, wanted] of Object.entries(HELM_OWNERSHIP.annotations))
        require("annotation", meta?.annotations, key, wanted);
    return problems.length === 0 ? undefined : ["invalid ownership metadata", ...problems].join("; ");
}

/** An object with Helm's ownership metadata added, as Helm renders it. */
function owned<T extends { metadata: ObjectMeta & { name: string } }>(object: T): T {
    return {
        ...object,
        metadata: {
            ...object.metadata,
            labels: { ...object.metadata.labels, ...HELM_OWNERSHIP.labels },
            annotations: { ...object.metadata.annotations, ...HELM_OWNERSHIP.annotations },
        },
    };
}

/**
 * Helm's existingResourceConflict, before it creates anything: every object the chart renders that already exists
 * must carry the release's ownership metadata. A first install (no ks-core release yet; the release record is not
 * emulated: "released" means kubesphere-config carries the release's metadata) says "install", later ones "update".
 * The objects checked are the ones this emulation renders (the chart renders more).
 */
async function refuseUnownedObjects(clients: MemberClients): Promise<void> {
    const read = async <T>(what: string, get: () => Promise<T>): Promise<T | undefined> => {
        try {
            return await withTimeout(get(), REQUEST_TIMEOUT_MS, `reading ${what}`);
        } catch (err) {
            if (httpStatus(err) === 404) return undefined;
            throw err;
        }
    };
    const namespace = KUBESPHERE_NAMESPACE;
    const rendered: Array<{
        kind: string;
        name: string;
        namespace: string;
        get: () => Promise<{ metadata?: ObjectMeta } | undefined>;
    }> = [
        {
            kind: "ConfigMap",
            name: KUBESPHERE_CONFIG_NAME,
            namespace,
            get: () => clients.core.readNamespacedConfigMap({ name: KUBESPHERE_CONFIG_NAME, namespace }),
        },
        {
            kind: "ServiceAccount",
            name: KUBESPHERE_SERVICE_ACCOUNT,
            namespace,
            get: () => clients.core.readNamespacedServiceAccount({ name: KUBESPHERE_SERVICE_ACCOUNT, namespace }),
        },
        {
            kind: "Secret",
            name: KUBESPHERE_TOKEN_SECRET,
            namespace,
            get: () => clients.core.readNamespacedSecret({ name: KUBESPHERE_TOKEN_SECRET, namespace }),
        },
        {
            kind: "ClusterRoleBinding",
            name: KUBESPHERE_SERVICE_ACCOUNT,
            namespace: "",
            get: () => clients.rbac.readClusterRoleBinding({ name: KUBESPHERE_SERVICE_ACCOUNT }),
        },
        {
            kind: "Service",
            name: KS_APISERVER.name,
            namespace,
            get: () => clients.core.readNamespacedService({ name: KS_APISERVER.name, namespace }),
        },
    ];
    const found = [] as Array<{ kind: string; name: string; namespace: string; meta?: ObjectMeta }>;
    for (const object of rendered) {
        const existing = await read(`${object.kind} ${object.name}`, object.get);
        if (existing !== undefined) found.push({ ...object, meta: existing.metadata });
    }
    const released = found.some(
        (object) => object.kind === "ConfigMap" && helmOwnershipProblem(object.meta) === undefined,
    );
    for (const object of found) {
        const problem = helmOwnershipProblem(object.meta);
        if (problem === undefined) continue;
        throw new Error(
            `Unable to continue with ${released ? "update" : "install"}: ${object.kind} ${JSON.stringify(object.name)} in namespace ${JSON.stringify(object.namespace)} exists and cannot be imported into the current release: ${problem}`,
        );
    }
}

/**
 * `helm install ks-core` (or upgrade) on the member with role member and the host's issuer jwtSecret: namespace
 * kubesphere-system (created by the install when missing), kubesphere-config, the `kubesphere` ServiceAccount
 * (cluster-admin) with its labelled token Secret, and the ks-apiserver Service carrying the host's release.
 * `values` (spec.config) must parse as YAML, as Helm requires; of them only the registry values change what this
 * emulation renders (ksCoreRegistryValues).
 * Every object carries Helm's ownership metadata; one that exists without it fails the install before anything is
 * written, with Helm's error (refuseUnownedObjects), e.g. a ClusterRoleBinding `kubesphere` made with kubectl.
 */
/** ks-core's registry values (config/ks-core/values.yaml `global`): where its images come from, and pull secrets. */
export interface KsCoreRegistryValues {
    imageRegistry: string;
    imagePullSecrets: string[];
}

/**
 * `global.imageRegistry` (default `docker.io`) and `global.imagePullSecrets` (names) of the values in spec.config,
 * as the chart reads them; anything unparsable or absent is the chart's default.
 */
export function ksCoreRegistryValues(values: Buffer | undefined): KsCoreRegistryValues {
    let global: Record<string, unknown> = {};
    try {
        const parsed = values && values.length > 0 ? yaml.load(values.toString("utf8")) : undefined;
        const found = (parsed as { global?: unknown } | undefined)?.global;
        if (found && typeof found === "object") global = found as Record<string, unknown>;
    } catch {
        // The install refuses unparsable values (installKsCore); the pods keep the defaults meanwhile.
    }
    const registry = typeof global.imageRegistry === "string" ? global.imageRegistry : "";
    const secrets = Array.isArray(global.imagePullSecrets) ? global.imagePullSecrets : [];
    return {
        imageRegistry: registry || "docker.io",
        imagePullSecrets: secrets.filter((name): name is string => typeof name === "string" && name !== ""),
    };
}

/**
 * The Deployments of ks-core v4.1.3's chart whose pods the emulator runs (kubelet.ts): ks-apiserver first (Ready
 * needs it), then ks-controller-manager; label `app: <name>`, container `<name>`, image
 * `<global.imageRegistry>/kubesphere/<name>:<release>` (config/ks-core/templates/ks-apiserver.yaml,
 * ks-controller-manager.yaml; the image as `common.images.image` in _images.tpl renders it, the pull secrets as
 * `common.images.pullSecrets`).
 */
export function ksCoreWorkloads(release: string, registry: KsCoreRegistryValues = ksCoreRegistryValues(undefined)) {
    return ["ks-apiserver", "ks-controller-manager"].map((name): EmulatedWorkload => ({
        workload: name,
        namespace: KUBESPHERE_NAMESPACE,
        labels: { app: name },
        container: name,
        image: `${registry.imageRegistry}/kubesphere/${name}:${release}`,
        serviceAccountName: "kubesphere",
        imagePullSecrets: registry.imagePullSecrets,
    }));
}

export async function installKsCore(
    clients: MemberClients,
    options: { jwtSecret: string; release: string; values: Buffer },
): Promise<void> {
    if (options.values.length > 0) {
        // sigs.k8s.io/yaml.Unmarshal of spec.config: a parse error fails the install.
        yaml.load(options.values.toString("utf8"));
    }
    await refuseUnownedObjects(clients);
    const { core } = clients;
    const timed = <T>(promise: Promise<T>, what: string) => withTimeout(promise, REQUEST_TIMEOUT_MS, what);
    await ignoreConflict(() =>
        timed(
            core.createNamespace({ body: { metadata: { name: KUBESPHERE_NAMESPACE } } }),
            "creating kubesphere-system",
        ),
    );
    const configMap = owned({
        metadata: { name: KUBESPHERE_CONFIG_NAME, namespace: KUBESPHERE_NAMESPACE },
        data: { [KUBESPHERE_CONFIG_KEY]: kubesphereYamlV4Member(options.jwtSecret) },
    });
    try {
        await timed(
            core.replaceNamespacedConfigMap({
                name: KUBESPHERE_CONFIG_NAME,
                namespace: KUBESPHERE_NAMESPACE,
                fieldManager: FIELD_MANAGER.ksCoreInstaller,
                body: configMap,
            }),
            "writing kubesphere-config",
        );
    } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        await timed(
            core.createNamespacedConfigMap({
                namespace: KUBESPHERE_NAMESPACE,
                fieldManager: FIELD_MANAGER.ksCoreInstaller,
                body: configMap,
            }),
            "creating kubesphere-config",
        );
    }
    await ignoreConflict(() =>
        timed(
            core.createNamespacedServiceAccount({
                namespace: KUBESPHERE_NAMESPACE,
                body: owned({ metadata: { name: KUBESPHERE_SERVICE_ACCOUNT } }),
            }),
            "creating the kubesphere ServiceAccount",
        ),
    );
    await ignoreConflict(() =>
        timed(
            core.createNamespacedSecret({
                namespace: KUBESPHERE_NAMESPACE,
                body: owned({
                    metadata: {
                        name: KUBESPHERE_TOKEN_SECRET,
                        labels: { [KUBESPHERE_SA_TOKEN_LABEL]: "" },
                        annotations: { "kubernetes.io/service-account.name": KUBESPHERE_SERVICE_ACCOUNT },
                    },
                    type: "kubernetes.io/service-account-token",
                }),
            }),
            "creating the kubesphere token Secret",
        ),
    );
    await ignoreConflict(() =>
        timed(
            clients.rbac.createClusterRoleBinding({
                body: owned({
                    metadata: { name: KUBESPHERE_SERVICE_ACCOUNT },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                    subjects: [
                        { kind: "ServiceAccount", name: KUBESPHERE_SERVICE_ACCOUNT, namespace: KUBESPHERE_NAMESPACE },
                    ],
                }),
            }),
            "binding the kubesphere ServiceAccount",
        ),
    );
    const service = owned({
        metadata: {
            name: KS_APISERVER.name,
            namespace: KUBESPHERE_NAMESPACE,
            labels: { [KS_APISERVER.versionLabel]: options.release } as Record<string, string>,
        },
        spec: { ports: [{ port: 80, targetPort: 9090 }] },
    });
    try {
        await timed(
            core.createNamespacedService({ namespace: KUBESPHERE_NAMESPACE, body: service }),
            "creating the ks-apiserver Service",
        );
    } catch (err) {
        if (httpStatus(err) !== 409) throw err;
        await timed(
            core.patchNamespacedService(
                {
                    name: KS_APISERVER.name,
                    namespace: KUBESPHERE_NAMESPACE,
                    body: { metadata: { labels: service.metadata.labels } },
                },
                MERGE_PATCH,
            ),
            "labelling the ks-apiserver Service",
        );
    }
}

interface KubeconfigDocument {
    "current-context"?: string;
    contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters?: Array<{ name: string; cluster: { server: string; "certificate-authority-data"?: string } }>;
    users?: Array<{ name: string; user: Record<string, unknown> }>;
    [key: string]: unknown;
}

/**
 * renewKubeConfig: token users are left alone (undefined); a certificate in group system:masters is swapped for
 * the token of the member's labelled kubesphere ServiceAccount Secret; any other certificate is re-issued through a
 * CertificateSigningRequest on the member (CN = the kubeconfig's user name, approved by KubeSphere itself, signed by
 * the member's kube-controller-manager), in a new kubeconfig shaped like KubeSphere's (cluster `local`, context
 * `<user>@local`). Returns the new kubeconfig, base64.
 */
export async function renewClientCertificate(
    kubeconfigBase64: string,
    clients: MemberClients,
): Promise<string | undefined> {
    if (clients.hasToken || !clients.certificate) return undefined;
    const document = yaml.load(Buffer.from(kubeconfigBase64, "base64").toString("utf8")) as KubeconfigDocument;
    const userName = clients.userName;
    const organizations = clients.certificate.subject
        .split("\n")
        .filter((line) => line.startsWith("O="))
        .map((line) => line.slice(2));
    if (organizations.includes("system:masters")) {
        const secrets = await withTimeout(
            clients.core.listNamespacedSecret({
                namespace: KUBESPHERE_NAMESPACE,
                labelSelector: KUBESPHERE_SA_TOKEN_LABEL,
            }),
            REQUEST_TIMEOUT_MS,
            "listing the kubesphere ServiceAccount Secrets",
        );
        const secret = secrets.items.find(
            (item) => item.type === "kubernetes.io/service-account-token" && item.data?.token,
        );
        if (!secret) throw new Error("no kubesphere ServiceAccount secret found");
        const token = Buffer.from(secret.data!.token, "base64").toString("utf8");
        return Buffer.from(yaml.dump({ ...document, users: [{ name: userName, user: { token } }] })).toString("base64");
    }

    const { csrPem, keyPem } = await newCsrAndKey(userName);
    const csrName = `${userName}-csr-${Math.floor(Date.now() / 1000)}`;
    const csr: V1CertificateSigningRequest = {
        metadata: { name: csrName, annotations: { "kubesphere.io/private-key": keyPem } },
        spec: {
            request: Buffer.from(csrPem).toString("base64"),
            signerName: "kubernetes.io/kube-apiserver-client",
            usages: ["key encipherment", "client auth", "digital signature"],
            username: userName,
            groups: ["system:authenticated"],
        },
    };
    const created = await withTimeout(
        clients.certificates.createCertificateSigningRequest({ body: csr }),
        REQUEST_TIMEOUT_MS,
        "creating the CSR",
    );
    await withTimeout(
        clients.certificates.replaceCertificateSigningRequestApproval({
            name: csrName,
            body: {
                ...created,
                status: {
                    conditions: [
                        {
                            type: "Approved",
                            status: "True",
                            reason: "KubeSphereApprove",
                            message: "This CSR was approved by KubeSphere",
                        },
                    ],
                },
            },
        }),
        REQUEST_TIMEOUT_MS,
        "approving the CSR",
    );
    let certificate: string | undefined;
    for (let attempt = 0; attempt < 40 && !certificate; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        certificate = (
            await withTimeout(
                clients.certificates.readCertificateSigningRequest({ name: csrName }),
                REQUEST_TIMEOUT_MS,
                "reading the CSR",
            )
        ).status?.certificate;
    }
    if (!certificate) throw new Error(`CSR ${csrName} was not signed within 20 s`);
    const context = (document.contexts ?? []).find((candidate) => candidate.name === document["current-context"]);
    const current = (document.clusters ?? []).find((candidate) => candidate.name === context?.context.cluster);
    const renewed = {
        kind: "Config",
        apiVersion: "v1",
        preferences: {},
        clusters: [
            {
                name: "local",
                cluster: {
                    server: clients.endpoint,
                    "certificate-authority-data": current?.cluster["certificate-authority-data"],
                },
            },
        ],
        contexts: [{ name: `${userName}@local`, context: { cluster: "local", user: userName, namespace: "default" } }],
        users: [
            {
                name: userName,
                user: {
                    "client-certificate-data": certificate,
                    "client-key-data": Buffer.from(keyPem).toString("base64"),
                },
            },
        ],
        "current-context": `${userName}@local`,
    };
    return Buffer.from(yaml.dump(renewed)).toString("base64");
}

/** An RSA key and a CSR for CN=<user> with openssl (Node.js cannot write CSRs). */
async function newCsrAndKey(commonName: string): Promise<{ csrPem: string; keyPem: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ks-emulator-csr-"));
    try {
        const keyFile = path.join(dir, "key.pem");
        const { stdout } = await execFileAsync("openssl", [
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            keyFile,
            "-subj",
            `/CN=${commonName}`,
        ]);
        return { csrPem: stdout, keyPem: fs.readFileSync(keyFile, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
