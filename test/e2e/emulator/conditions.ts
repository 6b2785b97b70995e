/**
 * Cluster conditions written the way a well-behaved controller does: an unchanged condition is left exactly as
 * it is (timestamps included), so the object only changes when the state does and `pulumi up` sees no drift.
 */
import { ClusterCondition } from "./kubesphereObjects";

export type WantedCondition = Required<Pick<ClusterCondition, "type" | "status" | "reason" | "message">>;

/**
 * Merges wanted conditions into the existing list: unchanged ones are kept as they are; a changed reason or
 * message refreshes lastUpdateTime; a changed status also moves lastTransitionTime. Other types are kept.
 */
export function mergeConditions(
    existing: ClusterCondition[] | undefined,
    wanted: WantedCondition[],
    now: string,
): ClusterCondition[] {
    const merged = [...(existing ?? [])];
    for (const condition of wanted) {
        const at = merged.findIndex((candidate) => candidate.type === condition.type);
        const previous = at >= 0 ? merged[at] : undefined;
        if (
            previous &&
            previous.status === condition.status &&
            previous.reason === condition.reason &&
            previous.message === condition.message
        ) {
            continue;
        }
        const next: ClusterCondition = {
            ...condition,
            lastUpdateTime: now,
            lastTransitionTime:
                previous && previous.status === condition.status ? (previous.lastTransitionTime ?? now) : now,
        };
        if (at >= 0) {
            merged[at] = next;
        } else {
            merged.push(next);
        }
    }
    return merged;
}
