/**
 * A program of your own that uses kubesphere-federation as a library: it provisions a cluster (here a stand-in
 * component) and joins it to a KubeSphere host by passing the cluster's kubeconfig output to MemberCluster.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostCluster, MemberCluster } from "kubesphere-federation";

/**
 * Stands in for the resource that creates the cluster in a real program (an EKS or ACK cluster): what matters here is
 * that the member's kubeconfig is another resource's output, known only once that resource exists.
 */
class ProvisionedCluster extends pulumi.ComponentResource {
    /** The cluster's kubeconfig YAML (secret). */
    public readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: { kubeconfig: pulumi.Input<string> }, opts?: pulumi.ComponentResourceOptions) {
        super("example:index:ProvisionedCluster", name, {}, opts);
        this.kubeconfig = pulumi.secret(args.kubeconfig);
        this.registerOutputs({ kubeconfig: this.kubeconfig });
    }
}

const config = new pulumi.Config();
const kubesphereMajor = config.get("kubesphereMajor") === "v4" ? "v4" : "v3";

const host = new HostCluster("host", {
    hostClusterName: "host",
    kubeconfig: config.requireSecret("hostKubeconfig"),
    kubesphereMajor,
});

const cluster = new ProvisionedCluster("prod-cluster", { kubeconfig: config.requireSecret("clusterKubeconfig") });

// The host carries what the member needs (Kubernetes provider, jwtSecret, KubeSphere major version, name).
const member = new MemberCluster("prod", {
    host,
    kubeconfig: cluster.kubeconfig,
    provider: "generic",
    description: "Provisioned by this program",
});

export const clusterName = member.clusterName;
export const ready = member.readiness.ready;
export const memberKubesphereVersion = member.versions.kubesphere;
