/**
 * kubesphere-federation: one KubeSphere host and its members, from the stack config.
 * See README.md for the config reference; `stacks/` for examples.
 */
import * as pulumi from "@pulumi/pulumi";
import { defaultSourceContext, federate, readFederationConfig } from "./components/federation";

const config = new pulumi.Config();
const federation = federate(readFederationConfig(config), defaultSourceContext(config));

/** KubeSphere's name for the host cluster. */
export const hostName = federation.hostName;
/** Per member: the Cluster object's name on the host and its Ready condition (no credentials). */
export const members = federation.members;
