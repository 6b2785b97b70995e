/**
 * Reading and writing `kubesphere.yaml` (ConfigMap kubesphere-system/kubesphere-config) in KubeSphere's 3.x and
 * 4.x layouts (API notes §2). TEST ONLY. Values are secrets: nothing here logs them.
 */
import * as yaml from "js-yaml";
import { InstallerSpec } from "./kubesphereObjects";

/** What the emulator needs from kubesphere.yaml. `jwtSecret` is secret material. */
export interface KubesphereSettings {
    jwtSecret?: string;
    /** `v4` when the secret sits at authentication.issuer.jwtSecret (KubeSphere 4.x). */
    layout: "v3" | "v4";
    clusterRole?: string;
    hostClusterName?: string;
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
        layout: asString(authentication.jwtSecret) === undefined && asString(asObject(authentication.issuer).jwtSecret) !== undefined ? "v4" : "v3",
        jwtSecret: asString(authentication.jwtSecret) ?? asString(asObject(authentication.issuer).jwtSecret),
        clusterRole: asString(multicluster.clusterRole),
        hostClusterName: asString(multicluster.hostClusterName),
    };
}

/** kubesphere.yaml of a fresh KubeSphere 3.4 install (`clusterRole: none`), as the sandbox seeds it. */
export function freshKubesphereYamlV3(jwtSecret: string): string {
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
        multicluster: { clusterRole: "none", enable: false },
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

/** kubesphere.yaml that ks-core 4.x renders on a member from the host's values (role member, the host's secret). */
export function kubesphereYamlV4Member(jwtSecret: string, hostClusterName: string): string {
    return yaml.dump({ authentication: { issuer: { jwtSecret } }, multicluster: { clusterRole: "member", hostClusterName } });
}

/**
 * What ks-installer 3.x renders from a ClusterConfiguration spec, applied to the current kubesphere.yaml so
 * unrelated settings survive: jwtSecret from the spec when set (else kept), clusterRole (default none),
 * hostClusterName when set, `enable` only on a host, and `accessTokenMaxAge: 0` on members.
 */
export function renderKubesphereYamlV3(currentText: string | undefined, spec: InstallerSpec): string {
    const document = asObject(currentText ? yaml.load(currentText) : undefined);
    const authentication = asObject(document.authentication);
    const clusterRole = asString(spec.multicluster?.clusterRole) ?? "none";
    const hostClusterName = asString(spec.multicluster?.hostClusterName);
    const jwtSecret = asString(spec.authentication?.jwtSecret) ?? asString(authentication.jwtSecret);
    const multicluster: YamlObject = { clusterRole, enable: clusterRole === "host" };
    if (hostClusterName) {
        multicluster.hostClusterName = hostClusterName;
    }
    return yaml.dump({
        ...document,
        authentication: {
            ...authentication,
            ...(jwtSecret ? { jwtSecret } : {}),
            oauthOptions: { ...asObject(authentication.oauthOptions), accessTokenMaxAge: clusterRole === "member" ? 0 : "2h0m0s" },
        },
        multicluster,
    });
}
