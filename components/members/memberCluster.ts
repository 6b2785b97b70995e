/**
 * MemberCluster: the join of one member, as the steps it takes in order — pre-flight (checkBeforeJoin.ts), the join
 * lease against other stacks (joinLease.ts, `up` only), the member's settings (memberSettings.ts, 3.x), the connection KubeSphere gets (direct/directJoin.ts or
 * agent/agentJoin.ts), the Cluster on the host (memberClusterObject.ts), the join wait, the outputs. Each step takes
 * the member's context (memberContext.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { withFormerType } from "../kubernetes/resourceOptions";
import { ClusterReadiness, clusterReadiness } from "../kubesphere/kubesphereObjects";
import { describeInstall } from "../kubesphere/kubesphereVersion";
import { agentJoin } from "./agent/agentJoin";
import { afterFleetChecked, checkBeforeJoin } from "./checkBeforeJoin";
import { directJoin } from "./direct/directJoin";
import { joinLease } from "./joinLease";
import type { MemberClusterArgs, MemberPreflight } from "./memberClusterArgs";
import { createClusterObject } from "./memberClusterObject";
import { memberContext } from "./memberContext";
import { applyMemberSettings } from "./memberSettings";

export type { ClusterStatus, MemberClusterArgs, MemberPreflight } from "./memberClusterArgs";

/**
 * Joins a member to the host, by direct or agent connection: checks the member first (KubeSphere's own validation, the
 * version rules of docs/kubesphere.md §9, and that the cluster is nobody else's), on 3.x sets the host's jwtSecret and
 * `clusterRole: member` on its ks-installer and waits until the member's installer has applied them, waits until
 * the host is a host, then creates the member's `Cluster` on the host and waits for it to be Ready (4.x: and for
 * ks-core on the member). Refusals are ResourceErrors on this component, raised before any change.
 * The component's name is the KubeSphere cluster name.
 */
export class MemberCluster extends pulumi.ComponentResource {
    /** The Kubernetes provider (k8s.Provider) for the member; `provider` is where the member runs (MemberClusterArgs). */
    public readonly kubernetesProvider: k8s.Provider;
    /** The server-side-apply patch of the member's ks-installer (KubeSphere 3.x only). */
    public readonly installerPatch?: k8s.apiextensions.CustomResourcePatch;
    /** The member's `Cluster` object on the host. */
    public readonly cluster: k8s.apiextensions.CustomResource;
    /** Name of the Cluster object on the host. */
    public readonly clusterName: pulumi.Output<string>;
    /** The Cluster's Ready condition as KubeSphere reports it. */
    public readonly readiness: pulumi.Output<ClusterReadiness>;
    /** Kubernetes and KubeSphere versions of the member, as the host reports them. */
    public readonly versions: pulumi.Output<{ kubernetes: string; kubesphere: string }>;
    /** The member's KubeSphere version as the pre-flight found it before the join: `v3.4.1`, `4.x`, or `none` (bare 4.x member). */
    public readonly detectedKubesphereVersion: pulumi.Output<string>;
    /** The pre-flight's result (reads only, previews too); fails with the refusal, as a ResourceError on this component. */
    public readonly preflight: pulumi.Output<MemberPreflight>;

    constructor(name: string, args: MemberClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // The type's package is the plugin's (kubesphere-federation); stacks made before 0.2 have the old token.
        super(
            "kubesphere-federation:index:MemberCluster",
            name,
            {},
            withFormerType(opts, "kubesphere:federation:MemberCluster"),
        );
        const ctx = memberContext(this, name, args);
        this.kubernetesProvider = ctx.kubernetesProvider;

        // Pre-flight: read-only, so it runs in previews too; every change waits for it and for the fleet's.
        this.preflight = checkBeforeJoin(ctx);
        this.detectedKubesphereVersion = pulumi.unsecret(
            this.preflight.apply((found) => describeInstall(found.install)),
        );
        // `up`: no other stack joins the same cluster meanwhile (the join lease, released once the member joined).
        const lease = joinLease(ctx, afterFleetChecked(ctx, this.preflight));
        const checked = lease.checked;

        // 3.x: the host's jwtSecret and the member role, applied by the member's installer before the Cluster exists.
        const settings = applyMemberSettings(ctx, this.preflight, checked);
        this.installerPatch = settings.installerPatch;

        // The connection KubeSphere gets, the Cluster on the host, and the wait until KubeSphere reports it joined.
        const path = ctx.viaAgent ? agentJoin(ctx, this.preflight, checked) : directJoin(ctx, checked);
        const { cluster, recorded } = createClusterObject(ctx, settings, path);
        this.cluster = cluster;
        const status = lease.releasedAfter(path.joined(cluster, recorded), [settings.applied]);

        this.clusterName = cluster.metadata.name;
        this.readiness = status.apply(clusterReadiness);
        this.versions = status.apply((value) => ({
            kubernetes: value?.kubernetesVersion ?? "",
            kubesphere: value?.kubeSphereVersion ?? "",
        }));
        this.registerOutputs({
            clusterName: this.clusterName,
            readiness: this.readiness,
            versions: this.versions,
            detectedKubesphereVersion: this.detectedKubesphereVersion,
        });
    }
}
