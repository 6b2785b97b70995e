import * as assert from "assert";
import {
    clusterObject,
    clusterReadiness,
    hostInstallerSpec,
    memberInstallerSpec,
    STACK_ANNOTATION,
} from "../../components/kubesphere/kubesphereObjects";

describe("KubeSphere object builders", () => {
    it("sets the host role and name", () => {
        assert.deepStrictEqual(hostInstallerSpec("host"), {
            multicluster: { clusterRole: "host", hostClusterName: "host" },
        });
        // KubeSphere 3.1 has no hostClusterName option.
        assert.deepStrictEqual(hostInstallerSpec(undefined), { multicluster: { clusterRole: "host" } });
    });

    it("sets the member role and jwtSecret", () => {
        assert.deepStrictEqual(memberInstallerSpec("s"), {
            authentication: { jwtSecret: "s" },
            multicluster: { clusterRole: "member" },
        });
    });

    it("builds a direct-connection Cluster with joinFederation, display provider, description, group and a Ready wait", () => {
        const cluster = clusterObject({
            name: "m1",
            provider: "ack",
            kubeconfigBase64: "a2M=",
            description: "Prod",
            group: "production",
            readyTimeoutSeconds: 300,
        });
        assert.deepStrictEqual(cluster, {
            apiVersion: "cluster.kubesphere.io/v1alpha1",
            kind: "Cluster",
            metadata: {
                name: "m1",
                annotations: {
                    "kubesphere.io/description": "Prod",
                    "pulumi.com/waitFor": "condition=Ready",
                    "pulumi.com/timeoutSeconds": "300",
                    "pulumi.com/deletionPropagationPolicy": "background",
                },
                labels: { "cluster.kubesphere.io/group": "production" },
            },
            spec: {
                provider: "Alibaba Cloud ACK",
                joinFederation: true,
                connection: { type: "direct", kubeconfig: "a2M=" },
            },
        });
    });

    it("omits description and group when not given", () => {
        const cluster = clusterObject({ name: "m1", provider: "eks", kubeconfigBase64: "x", readyTimeoutSeconds: 600 });
        assert.strictEqual("labels" in cluster.metadata, false);
        assert.strictEqual("kubesphere.io/description" in cluster.metadata.annotations, false);
        assert.strictEqual(cluster.spec.provider, "AWS EKS");
        assert.strictEqual(STACK_ANNOTATION in cluster.metadata.annotations, false);
    });

    it("marks the Cluster with the stack that manages it", () => {
        const cluster = clusterObject({
            name: "m1",
            provider: "eks",
            kubeconfigBase64: "x",
            readyTimeoutSeconds: 600,
            stack: "acme/kubesphere-federation/fleet-members-a",
        });
        assert.strictEqual(
            (cluster.metadata.annotations as Record<string, string>)["kubesphere-federation.io/stack"],
            "acme/kubesphere-federation/fleet-members-a",
        );
    });

    it("leaves the wait to the program when it can read the host (programWaits): the provider skips its await", () => {
        const cluster = clusterObject({
            name: "m1",
            provider: "generic",
            kubeconfigBase64: "x",
            readyTimeoutSeconds: 600,
            programWaits: true,
        });
        const annotations = cluster.metadata.annotations as Record<string, string>;
        assert.strictEqual(annotations["pulumi.com/skipAwait"], "true");
        assert.strictEqual(annotations["pulumi.com/waitFor"], undefined);
        assert.strictEqual(annotations["pulumi.com/timeoutSeconds"], undefined);
    });

    it("on 4.x waits for Ready, KSCoreReady and the ks-core config hash of spec.config", () => {
        const cluster = clusterObject({
            name: "m1",
            provider: "generic",
            kubeconfigBase64: "x",
            readyTimeoutSeconds: 600,
            configBase64: "Y2xvdWQ6IHt9Cg==",
            ksCoreConfigHash: "0123456789abcdef",
        });
        assert.deepStrictEqual(
            JSON.parse((cluster.metadata.annotations as Record<string, string>)["pulumi.com/waitFor"]),
            [
                "condition=Ready",
                "condition=KSCoreReady",
                "jsonpath={.metadata.annotations['kubesphere.io/config-hash']}=0123456789abcdef",
            ],
        );
        assert.strictEqual(cluster.spec.config, "Y2xvdWQ6IHt9Cg==");
    });

    it("summarises the Ready condition", () => {
        assert.deepStrictEqual(
            clusterReadiness({
                conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "Cluster is available now" }],
            }),
            {
                ready: true,
                reason: "Ready",
                message: "Cluster is available now",
            },
        );
        assert.strictEqual(
            clusterReadiness({ conditions: [{ type: "Ready", status: "False", reason: "x" }] }).ready,
            false,
        );
        assert.deepStrictEqual(clusterReadiness(undefined).ready, false);
    });
});
