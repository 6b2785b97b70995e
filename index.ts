/**
 * kubesphere-federation: one KubeSphere host and its members, from the stack config.
 * See docs/configuration.md for the config reference; `stacks/` for examples.
 */
import { federationProgram } from "./program/federation";

/**
 * The stack outputs: `hostName` (KubeSphere's name for the host), `hostKubesphereVersion` and, per member, the
 * Cluster object's name on the host, its provider, Ready condition and versions (no credentials); a host-only stack
 * also `federationHost` (secret: what member stacks take the host from, docs/host-and-member-stacks.md).
 * Asynchronous because `host.kubesphereVersion: auto` (and a member stack's `host.stackReference`) reads the host
 * before any resource is registered.
 */
export = async () => {
    const federation = await federationProgram();
    return {
        hostName: federation.hostName,
        hostKubesphereVersion: federation.hostKubesphereVersion,
        members: federation.members,
        ...(federation.federationHost === undefined ? {} : { federationHost: federation.federationHost }),
    };
};
