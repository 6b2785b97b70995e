/**
 * Reading ConfigMap `kubesphere-system/kubesphere-config`, key `kubesphere.yaml` (docs/kubesphere.md §2).
 * Pure: takes the ConfigMap's data, returns what the federation needs. Never quotes the jwtSecret in an error.
 */
import * as yaml from "js-yaml";
import { z } from "zod";

export const KUBESPHERE_NAMESPACE = "kubesphere-system";
export const KUBESPHERE_CONFIG_NAME = "kubesphere-config";
export const KUBESPHERE_CONFIG_KEY = "kubesphere.yaml";

/** 3.x keeps the secret at `authentication.jwtSecret`, 4.x at `authentication.issuer.jwtSecret`. */
export type KubesphereConfigLayout = "v3" | "v4";

/** The parts of kubesphere.yaml the federation uses. `jwtSecret` is secret material. */
export interface KubesphereSettings {
    jwtSecret: string;
    layout: KubesphereConfigLayout;
    /** `host`, `member` or `none`; absent on 3.x members before 3.3. */
    clusterRole?: string;
    /** `multicluster.enable`: true on a host; 3.1/3.2 hosts show only this (no `clusterRole`). */
    multiclusterEnable?: boolean;
    /** `authentication.oauthOptions.accessTokenMaxAge`: 0 on a member (3.x). */
    accessTokenMaxAge?: number | string;
    hostClusterName?: string;
    /** `authentication.maximumClockSkew` (a Go duration, e.g. `10s`); absent means KubeSphere's default, 10s. */
    maximumClockSkew?: string;
}

/** True when an `accessTokenMaxAge` value means zero (`0`, `"0"`, `"0s"`), what 3.x renders for members. */
export function isZeroDuration(value: number | string | undefined): boolean {
    return value === 0 || (typeof value === "string" && /^(?:0+(?:\.0+)?(?:ns|us|ms|s|m|h)?)+$/.test(value.trim()));
}

const nonEmptyString = z.string().min(1);
const kubesphereYamlSchema = z.looseObject({
    authentication: z
        .looseObject({
            jwtSecret: nonEmptyString.optional(),
            maximumClockSkew: z.union([z.string(), z.number()]).optional(),
            issuer: z.looseObject({ jwtSecret: nonEmptyString.optional() }).optional(),
            oauthOptions: z.looseObject({ accessTokenMaxAge: z.union([z.number(), z.string()]).optional() }).optional(),
        })
        .optional(),
    multicluster: z
        .looseObject({
            clusterRole: z.string().optional(),
            enable: z.boolean().optional(),
            hostClusterName: z.string().optional(),
        })
        .optional(),
});

/**
 * Extracts the jwtSecret and multicluster settings from a kubesphere-config ConfigMap's data.
 * @param cluster the cluster's name, for messages
 * @param data the ConfigMap's `data`, or undefined when the ConfigMap has none
 */
export function parseKubesphereConfig(cluster: string, data: Record<string, string> | undefined): KubesphereSettings {
    const where = `ConfigMap ${KUBESPHERE_NAMESPACE}/${KUBESPHERE_CONFIG_NAME} on cluster "${cluster}"`;
    const text = data?.[KUBESPHERE_CONFIG_KEY];
    if (text === undefined || text.trim() === "") {
        throw new Error(
            `${where} has no "${KUBESPHERE_CONFIG_KEY}" key. Fix: check that KubeSphere is installed and its installer finished ` +
                `(kubectl -n ${KUBESPHERE_NAMESPACE} get configmap ${KUBESPHERE_CONFIG_NAME} -o yaml; kubectl -n ${KUBESPHERE_NAMESPACE} logs -l app=ks-installer)`,
        );
    }
    let document: unknown;
    try {
        document = yaml.load(text);
    } catch (err) {
        // js-yaml quotes the offending lines, which may include the jwtSecret: report only the position.
        const mark = (err as yaml.YAMLException).mark;
        throw new Error(
            `${where}: "${KUBESPHERE_CONFIG_KEY}" is not valid YAML (${(err as yaml.YAMLException).reason ?? "parse error"}` +
                `${mark ? ` at line ${mark.line + 1}` : ""}). Fix: repair the ConfigMap or re-run ks-installer`,
        );
    }
    const parsed = kubesphereYamlSchema.safeParse(document);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(
            `${where}: "${KUBESPHERE_CONFIG_KEY}" has an unexpected shape at ${issue.path.join(".") || "the top level"} ` +
                `(${issue.code}). Fix: compare it with a KubeSphere 3.x/4.x default config`,
        );
    }
    const settings = parsed.data;
    const v3Secret = settings.authentication?.jwtSecret;
    const v4Secret = settings.authentication?.issuer?.jwtSecret;
    const jwtSecret = v3Secret ?? v4Secret;
    if (jwtSecret === undefined) {
        throw new Error(
            `${where} has no jwtSecret (looked at authentication.jwtSecret for KubeSphere 3.x and authentication.issuer.jwtSecret for 4.x). ` +
                `Fix: check that KubeSphere's installation completed on "${cluster}"`,
        );
    }
    return {
        jwtSecret,
        layout: v3Secret !== undefined ? "v3" : "v4",
        clusterRole: settings.multicluster?.clusterRole,
        multiclusterEnable: settings.multicluster?.enable,
        accessTokenMaxAge: settings.authentication?.oauthOptions?.accessTokenMaxAge,
        hostClusterName: settings.multicluster?.hostClusterName,
        ...(settings.authentication?.maximumClockSkew !== undefined
            ? { maximumClockSkew: String(settings.authentication.maximumClockSkew) }
            : {}),
    };
}
