/**
 * How one federation reads clusters directly, and what it has read once per run: the host's facts and each member's,
 * shared by the host's pre-flight, every member's and the fleet's "same cluster twice" check, so a fleet of N members
 * costs 2 host reads, not 2N. Made once per host (HostCluster, federationHost()) and passed on with it; nothing is
 * kept at module level, so two programs or two mock suites in one process never share reads or fakes.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ParsedKubeconfig } from "../kubernetes/kubeconfig";
import { asResourceError } from "../kubernetes/resourceErrors";
import { ClusterAccess, liveClusterAccess } from "../kubesphere/clusterAccess";
import type { ClusterFacts, HostFacts } from "../kubesphere/facts";
import type { ClockReading } from "../kubesphere/probes";

/** The direct reads of one federation and the facts read once per run (this file's header says why). */
export class FederationReads {
    private hostFacts?: Promise<HostFacts>;
    private hostClockReading?: Promise<ClockReading>;
    private readonly memberFactsByKubeconfig = new Map<string, Promise<ClusterFacts>>();

    /**
     * @param access the direct reads; default: the real clusters (tests pass fakes)
     * @param errorTarget the component a failed host read is reported on (the HostCluster), once for every reader
     */
    constructor(
        public readonly access: ClusterAccess = liveClusterAccess,
        private readonly errorTarget?: pulumi.Resource,
    ) {}

    /** The host's own facts and the clusters it has imported, read once. */
    host(hostClusterName: string, hostKubeconfig: ParsedKubeconfig): Promise<HostFacts> {
        this.hostFacts ??= Promise.all([
            this.access.readClusterFacts(hostClusterName, hostKubeconfig),
            this.access.listImportedClusters(hostKubeconfig),
        ]).then(
            ([own, clusters]) => ({ name: hostClusterName, facts: own, clusters }),
            (err) => {
                // One error object for every reader (the host and each member), so Pulumi reports it once.
                throw this.errorTarget === undefined ? err : asResourceError(err, this.errorTarget);
            },
        );
        return this.hostFacts;
    }

    /**
     * The host's clock, read once: each member's clock-skew check compares its own reading with this one (an offset
     * against the local clock, which a run's minutes do not move).
     */
    hostClock(hostKubeconfig: ParsedKubeconfig): Promise<ClockReading> {
        this.hostClockReading ??= this.access.readClock(hostKubeconfig);
        return this.hostClockReading;
    }

    /** A member's facts, read once per member kubeconfig. */
    member(member: string, memberKubeconfig: ParsedKubeconfig): Promise<ClusterFacts> {
        let facts = this.memberFactsByKubeconfig.get(memberKubeconfig.yaml);
        if (facts === undefined) {
            facts = this.access.readClusterFacts(member, memberKubeconfig);
            this.memberFactsByKubeconfig.set(memberKubeconfig.yaml, facts);
        }
        return facts;
    }
}
