/**
 * The pre-flight's check of KubeSphere's Workspace CRD on a 3.x member (docs/preflight-checks.md, docs/kubesphere.md
 * §12): KubeSphere's federation join lists the member's Workspaces, so a member without the CRD (a broken KubeSphere
 * install) never becomes Ready — KubeSphere reports `Federated=False` "the server could not find the requested
 * resource (get workspaces.tenant.kubesphere.io)" — and is refused before any change. Pure; checkBeforeJoin.ts reads.
 */
import type { CrdPresence } from "../kubernetes/crdPresence";
import { WORKSPACE_CRD, workspaceFix } from "../kubesphere/kubefed";

export interface WorkspacePreflightInput {
    member: string;
    configKey: string;
    /** The member's Workspace CRD as read; undefined when not read (4.x, no ks-installer, or already joined and Ready). */
    crd?: CrdPresence;
}

/** A refusal when the CRD is missing, a warning when it could not be told; nothing otherwise. */
export function workspacePreflightVerdict(input: WorkspacePreflightInput): { errors: string[]; warnings: string[] } {
    const prefix = `member "${input.member}"`;
    if (input.crd?.found === false) {
        return {
            errors: [
                `${prefix} (${input.configKey}) has KubeSphere 3.x without its CRD ${WORKSPACE_CRD}: KubeSphere's federation join ` +
                    `lists the member's Workspaces and fails without it ("the server could not find the requested resource ` +
                    `(get ${WORKSPACE_CRD})"), so the member would never become Ready. Fix: ${workspaceFix(input.member)}`,
            ],
            warnings: [],
        };
    }
    if (input.crd !== undefined && input.crd.found === undefined) {
        return {
            errors: [],
            warnings: [
                `${prefix}: could not check that KubeSphere's CRD ${WORKSPACE_CRD} exists on the member (${input.crd.problem ?? "no answer"}); ` +
                    `without it KubeSphere's join fails with "the server could not find the requested resource (get ${WORKSPACE_CRD})"`,
            ],
        };
    }
    return { errors: [], warnings: [] };
}
