/**
 * kubesphere-federation: one KubeSphere host and its members, from the stack config.
 * See README.md for the config reference; `stacks/` for examples.
 */
import { federationProgram } from "./components/federation";

const federation = federationProgram();

/** KubeSphere's name for the host cluster. */
export const hostName = federation.hostName;
/** Per member: the Cluster object's name on the host, its provider and Ready condition (no credentials). */
export const members = federation.members;
