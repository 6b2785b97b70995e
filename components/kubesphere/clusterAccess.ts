/**
 * ClusterAccess: every direct read (and the few direct writes: an agent token, the join lease) the components make, as one object, so a test can
 * give a component fake clusters. The real one is liveClusterAccess.
 */
import { probeEndpoint } from "../kubernetes/endpointProbe";
import { readCrdPresence } from "../kubernetes/crdPresence";
import { readPods } from "../kubernetes/pods";
import { readSecretPresence } from "../kubernetes/pullSecrets";
import { probeImportKubeconfig, probeKsApiserver, readClock } from "./probes";
import { hostRoleReader, memberInstallerReader, readKubesphereLayout } from "./waitReads";
import {
    listImportedClusters,
    readClusterFacts,
    readClusterObject,
    readImportedKubeconfig,
    readKsCoreConflicts,
} from "./reads";
import { agentJoinReader, readTower, writeClusterAgentToken } from "./towerAccess";
import { createJoinLease, deleteJoinLease, readJoinLease, replaceJoinLease } from "./joinLeases";

/** The direct cluster reads the program makes; injectable so graph tests run without clusters. */
export interface ClusterAccess {
    readClusterFacts: typeof readClusterFacts;
    listImportedClusters: typeof listImportedClusters;
    probeKsApiserver: typeof probeKsApiserver;
    memberInstallerReader: typeof memberInstallerReader;
    hostRoleReader: typeof hostRoleReader;
    readKubesphereLayout: typeof readKubesphereLayout;
    readImportedKubeconfig: typeof readImportedKubeconfig;
    readTower: typeof readTower;
    agentJoinReader: typeof agentJoinReader;
    writeClusterAgentToken: typeof writeClusterAgentToken;
    readClusterObject: typeof readClusterObject;
    probeImportKubeconfig: typeof probeImportKubeconfig;
    readClock: typeof readClock;
    readKsCoreConflicts: typeof readKsCoreConflicts;
    createJoinLease: typeof createJoinLease;
    readJoinLease: typeof readJoinLease;
    replaceJoinLease: typeof replaceJoinLease;
    deleteJoinLease: typeof deleteJoinLease;
    readPods: typeof readPods;
    readSecretPresence: typeof readSecretPresence;
    probeEndpoint: typeof probeEndpoint;
    readCrdPresence: typeof readCrdPresence;
}

/** Reads real clusters. */
export const liveClusterAccess: ClusterAccess = {
    readClusterFacts,
    listImportedClusters,
    probeKsApiserver,
    memberInstallerReader,
    hostRoleReader,
    readKubesphereLayout,
    readImportedKubeconfig,
    readTower,
    agentJoinReader,
    writeClusterAgentToken,
    readClusterObject,
    probeImportKubeconfig,
    readClock,
    readKsCoreConflicts,
    createJoinLease,
    readJoinLease,
    replaceJoinLease,
    deleteJoinLease,
    readPods,
    readSecretPresence,
    probeEndpoint,
    readCrdPresence,
};
