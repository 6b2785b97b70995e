/**
 * Whether a CustomResourceDefinition exists on a cluster: one metadata-only GET by name (the body, a CRD's whole
 * schema, is discarded unread). The reads of the 3.x host-ready wait (kubefed's CRD, components/host/hostInstaller.ts)
 * and the member pre-flight (KubeSphere's Workspace CRD, components/members/workspacePreflight.ts).
 */
import type { ParsedKubeconfig } from "./kubeconfig";
import { classifyRequestError, clientConfig, METADATA_ONLY, rawGet } from "./transport";

/** One CRD: found, missing, or why it could not be told (e.g. no right to get CRDs). */
export interface CrdPresence {
    name: string;
    found?: boolean;
    problem?: string;
}

/** Asks for the CRD `name` (e.g. `workspaces.tenant.kubesphere.io`); never rejects (a failed read is the problem). */
export async function readCrdPresence(kubeconfig: ParsedKubeconfig, name: string): Promise<CrdPresence> {
    const kubeConfig = clientConfig(kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server ?? "";
    const urlPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
    try {
        const { status } = await rawGet(kubeConfig, server, urlPath, METADATA_ONLY);
        if (status === 200) return { name, found: true };
        if (status === 404) return { name, found: false };
        return {
            name,
            problem: `HTTP ${status}${status === 403 ? " (no right to get customresourcedefinitions)" : ""}`,
        };
    } catch (err) {
        const probe = classifyRequestError(err);
        return { name, problem: probe.ok ? String(err) : probe.detail };
    }
}
