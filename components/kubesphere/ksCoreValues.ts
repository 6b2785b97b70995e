/**
 * The ks-core Helm values a 4.x host writes to a member Cluster's `spec.config` (docs/kubesphere.md §9, §11): the
 * user's `ksCoreValues`, over the chart's registry values when an image registry or pull secrets are given. ks-core's
 * chart renders every image as `<global.imageRegistry>/<repository>:<tag>` (default registry `docker.io`) and every
 * pod's `imagePullSecrets` from `global.imagePullSecrets` (names), config/ks-core/values.yaml and templates/_images.tpl.
 */

/** What decides where ks-core's images come from. */
export interface KsCoreRegistry {
    /** `global.imageRegistry`, e.g. `registry.example.com/mirror`. */
    imageRegistry?: string;
    /** `global.imagePullSecrets`: Secret names in kubesphere-system on the member. */
    imagePullSecrets?: string[];
}

type Values = Record<string, unknown>;

const isMapping = (value: unknown): value is Values =>
    typeof value === "object" && value !== null && !Array.isArray(value);

/** `over` merged onto `under` key by key, mappings recursively; any other value of `over` wins as a whole (Helm's rule). */
function mergeValues(under: Values, over: Values): Values {
    const merged: Values = { ...under };
    for (const [key, value] of Object.entries(over)) {
        merged[key] = isMapping(value) && isMapping(merged[key]) ? mergeValues(merged[key] as Values, value) : value;
    }
    return merged;
}

/**
 * The values for `spec.config`: `ksCoreValues` over the registry values (so a value both set is the user's
 * ksCoreValues'); undefined when neither is given, so a member without them keeps an empty `spec.config`.
 */
export function ksCoreValuesFor(ksCoreValues: Values | undefined, registry: KsCoreRegistry): Values | undefined {
    const global: Values = {
        ...(registry.imageRegistry ? { imageRegistry: registry.imageRegistry } : {}),
        ...(registry.imagePullSecrets?.length ? { imagePullSecrets: registry.imagePullSecrets } : {}),
    };
    if (Object.keys(global).length === 0) return ksCoreValues;
    return mergeValues({ global }, ksCoreValues ?? {});
}
