import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IMPORT_SERVICE_ACCOUNT, importTokenSecretName } from "./importCredentials";

/** A member-side identity for KubeSphere: its token (secret) and the CA the token Secret carries. */
export interface ImportServiceAccount {
    /** The ServiceAccount token (secret). */
    token: pulumi.Output<string>;
    /** base64 PEM of the member's CA from the token Secret (`ca.crt`). */
    caData: pulumi.Output<string | undefined>;
}

/**
 * Creates, on the member, the ServiceAccount KubeSphere imports the member with, a long-lived token Secret for it
 * (Kubernetes ≥ 1.24 no longer creates one by itself) and a binding to cluster-admin: KubeSphere manages the whole
 * member, as its own EKS guide sets up. The Secret's name carries `revision`: a new revision mints a new token.
 * @param member the member's cluster name, prefix of the logical names
 * @param after nothing is created on the member before this resolves (the pre-flight checks)
 * @param opts must carry the member's provider and the MemberCluster as parent
 */
export function createImportServiceAccount(
    member: string,
    revision: number,
    after: pulumi.Output<unknown>,
    opts: pulumi.CustomResourceOptions,
): ImportServiceAccount {
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${member}-import`,
        { metadata: after.apply(() => ({ ...IMPORT_SERVICE_ACCOUNT })) },
        opts,
    );
    const binding = new k8s.rbac.v1.ClusterRoleBinding(
        `${member}-import`,
        {
            metadata: after.apply(() => ({ name: IMPORT_SERVICE_ACCOUNT.name })),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
            subjects: [{ kind: "ServiceAccount", ...IMPORT_SERVICE_ACCOUNT }],
        },
        opts,
    );
    const tokenSecret = new k8s.core.v1.Secret(
        `${member}-import-token`,
        {
            metadata: {
                name: importTokenSecretName(revision),
                namespace: IMPORT_SERVICE_ACCOUNT.namespace,
                annotations: {
                    "kubernetes.io/service-account.name": IMPORT_SERVICE_ACCOUNT.name,
                    // The token controller fills data.token after creation; the Cluster needs it.
                    "pulumi.com/waitFor": "jsonpath={.data.token}",
                },
            },
            type: "kubernetes.io/service-account-token",
        },
        { ...opts, dependsOn: [serviceAccount, binding], additionalSecretOutputs: ["data"] },
    );
    const data = tokenSecret.data as pulumi.Output<Record<string, string> | undefined>;
    return {
        token: pulumi.secret(data.apply((values) => Buffer.from(values?.token ?? "", "base64").toString("utf8"))),
        caData: data.apply((values) => values?.["ca.crt"]),
    };
}
