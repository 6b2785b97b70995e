import { createHash } from "crypto";

/** JSON with object keys sorted, so equal values always give equal text (for hashing and change detection). */
export function stableJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(stableJson).join(",")}]`;
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}

/** A short digest of a value; used to notice a changed ClusterConfiguration spec without keeping (or logging) it. */
export function digest(value: unknown): string {
    return createHash("sha256").update(stableJson(value)).digest("hex").slice(0, 16);
}
