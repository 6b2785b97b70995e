/**
 * Reading and writing `kubesphere.yaml` (ConfigMap kubesphere-system/kubesphere-config) in KubeSphere's 3.x and
 * 4.x layouts (docs/kubesphere.md §2). TEST ONLY. Values are secrets: nothing here logs them.
 */
import * as yaml from "js-yaml";
import { InstallerSpec } from "./kubesphereObjects";
import { VersionTraits } from "./versions";

/** What the emulator needs from kubesphere.yaml. `jwtSecret` is secret material. */
export interface KubesphereSettings {
    jwtSecret?: string;
    /** `v4` when the secret sits at authentication.issuer.jwtSecret (KubeSphere 4.x). */
    layout: "v3" | "v4";
    clusterRole?: string;
    /** 3.x `multicluster.enable` (true on a host). */
    enable?: boolean;
    hostClusterName?: string;
    /** 3.3+: `multicluster.clusterName`, written by the host's controller after a member is Ready. */
    clusterName?: string;
}

type YamlObject = Record<string, unknown>;

function asObject(value: unknown): YamlObject {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as YamlObject) : {};
}

function asString(value: unknown): string | undefined {
    return typeof value === "string" && value !== "" ? value : undefined;
}

/** Reads either layout: 3.x `authentication.jwtSecret`, 4.x `authentication.issuer.jwtSecret`. */
export function readKubesphereYaml(text: string | undefined): KubesphereSettings {
    const document = asObject(text ? yaml.load(text) : undefined);
    const authentication = asObject(document.authentication);
    const multicluster = asObject(document.multicluster);
    return {
        layout:
            asString(authentication.jwtSecret) === undefined &&
            asString(asObject(authentication.issuer).jwtSecret) !== undefined
                ? "v4"
                : "v3",
        jwtSecret: asString(authentication.jwtSecret) ?? asString(asObject(authentication.issuer).jwtSecret),
        clusterRole: asString(multicluster.clusterRole),
        enable: multicluster.enable === true,
        hostClusterName: asString(multicluster.hostClusterName),
        clusterName: asString(multicluster.clusterName),
    };
}

/** kubesphere.yaml of a fresh KubeSphere 3.x install (`clusterRole: none`), as the sandbox seeds it. */
export function freshKubesphereYamlV3(jwtSecret: string, traits: VersionTraits): string {
    return yaml.dump({
        authentication: {
            authenticateRateLimiterMaxTries: 10,
            authenticateRateLimiterDuration: "10m0s",
            loginHistoryRetentionPeriod: "168h",
            maximumClockSkew: "10s",
            multipleLogin: true,
            jwtSecret,
            oauthOptions: { accessTokenMaxAge: "2h0m0s" },
        },
        // 3.1/3.2 render the multicluster block for hosts only (docs/kubesphere.md §9).
        ...(traits.rendersClusterRole ? { multicluster: { clusterRole: "none", enable: false } } : {}),
        monitoring: { endpoint: "http://prometheus-operated.kubesphere-monitoring-system.svc:9090" },
    });
}

/** kubesphere.yaml of a KubeSphere 4.x host (ks-core's default role is host; no ClusterConfiguration). */
export function freshKubesphereYamlV4Host(jwtSecret: string, hostClusterName = "host"): string {
    return yaml.dump({
        authentication: {
            authenticateRateLimiterMaxTries: 10,
            authenticateRateLimiterDuration: "10m0s",
            loginHistoryRetentionPeriod: "168h",
            multipleLogin: true,
            issuer: { url: "http://ks-console.kubesphere-system.svc:30880", jwtSecret, accessTokenMaxAge: "2h0m0s" },
        },
        multicluster: { clusterRole: "host", hostClusterName },
    });
}

/**
 * kubesphere.yaml that ks-core 4.x renders on a member from the values the host's controller passes: the host's
 * issuer jwtSecret, and `multicluster` replaced wholesale by `{role: member}` (v4.1.3 helper.go
 * installKSCoreInMemberCluster), so no hostClusterName. Other values come from spec.config and do not reach
 * kubesphere.yaml in this emulation.
 */
export function kubesphereYamlV4Member(jwtSecret: string): string {
    return yaml.dump({
        authentication: {
            issuer: { url: "http://ks-console.kubesphere-system.svc:30880", jwtSecret, accessTokenMaxAge: "2h0m0s" },
        },
        multicluster: { clusterRole: "member" },
    });
}

/**
 * What ks-installer 3.x renders from a ClusterConfiguration spec, applied to the current kubesphere.yaml so
 * unrelated settings survive: jwtSecret from the spec when set (else kept), `accessTokenMaxAge: 0` on members,
 * and the multicluster block per version (docs/kubesphere.md §9):
 * - 3.3+: `clusterRole` (default none), `enable` true on a host only, `hostClusterName` on a host;
 * - 3.1/3.2: a host gets `enable: true` (+ hostClusterName on 3.2; 3.1 has no such option), no `clusterRole`;
 *   members and none get no block;
 * - 3.1: a spec `authentication.oauthOptions` is rendered as it is, even on a member (no `accessTokenMaxAge: 0` then).
 * A `multicluster.clusterName` the cluster controller wrote (3.3+) is not part of the template and is dropped.
 */
export function renderKubesphereYamlV3(
    currentText: string | undefined,
    spec: InstallerSpec,
    traits: VersionTraits,
): string {
    const { multicluster: _previous, ...document } = asObject(currentText ? yaml.load(currentText) : undefined);
    const authentication = asObject(document.authentication);
    const clusterRole = asString(spec.multicluster?.clusterRole) ?? "none";
    const hostClusterName = traits.hostClusterNameOption ? asString(spec.multicluster?.hostClusterName) : undefined;
    const specOauthOptions = spec.authentication?.oauthOptions;
    const jwtSecret = asString(spec.authentication?.jwtSecret) ?? asString(authentication.jwtSecret);
    let multicluster: YamlObject | undefined;
    if (traits.rendersClusterRole) {
        multicluster = { clusterRole, enable: clusterRole === "host" };
        if (clusterRole === "host" && hostClusterName) multicluster.hostClusterName = hostClusterName;
    } else if (clusterRole === "host") {
        multicluster = { enable: true, ...(hostClusterName ? { hostClusterName } : {}) };
    }
    return yaml.dump({
        ...document,
        authentication: {
            ...authentication,
            ...(jwtSecret ? { jwtSecret } : {}),
            oauthOptions:
                traits.specOauthOptionsWinOnMembers && specOauthOptions !== undefined
                    ? specOauthOptions
                    : {
                          ...asObject(authentication.oauthOptions),
                          accessTokenMaxAge: clusterRole === "member" ? 0 : "2h0m0s",
                      },
        },
        ...(multicluster ? { multicluster } : {}),
    });
}

/** kubesphere.yaml with `multicluster.clusterName` set, as the 3.3+ cluster controller writes it after Ready. */
export function withClusterName(currentText: string, clusterName: string): string {
    const document = asObject(yaml.load(currentText));
    return yaml.dump({ ...document, multicluster: { ...asObject(document.multicluster), clusterName } });
}
