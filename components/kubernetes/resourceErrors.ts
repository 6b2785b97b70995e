import * as pulumi from "@pulumi/pulumi";

/**
 * A refusal or failure of a component's pre-flight or wait, as Pulumi prints its own errors: the message on the
 * component, no stack trace (docs/configuration.md "Bad input").
 *
 * The text stays as written: Pulumi's runtime prefixes an error it meets in a resource input with
 * `error serializing property "<name>": `, once for every input that carries it (@pulumi/pulumi runtime/rpc.js,
 * serializeAllKeys), and a refusal gates many inputs (every change waits for the whole fleet's pre-flight), so it
 * would read `error serializing property "spec": error serializing property "spec": …`.
 */
export function refusal(message: string, resource: pulumi.Resource): pulumi.ResourceError {
    const error = new pulumi.ResourceError(message, resource, true);
    Object.defineProperty(error, "message", { get: () => message, set: () => undefined, configurable: true });
    return error;
}

/** {@link refusal} for any error; ResourceErrors pass through unchanged. */
export function asResourceError(err: unknown, resource: pulumi.Resource): pulumi.ResourceError {
    if (err instanceof pulumi.ResourceError) return err;
    return refusal(err instanceof Error ? err.message : String(err), resource);
}

/** What a wait of `pulumi up` did: whether it waited (previews never do) and for how long. */
export interface UpWait {
    waited: boolean;
    waitedMs: number;
}

/** Runs a component's wait on `up` only (previews do not wait); its failure is a {@link refusal} on the component. */
export async function waitOnUp(component: pulumi.Resource, wait: () => Promise<{ waitedMs: number }>): Promise<UpWait> {
    if (pulumi.runtime.isDryRun()) return { waited: false, waitedMs: 0 };
    try {
        const { waitedMs } = await wait();
        return { waited: true, waitedMs };
    } catch (err) {
        throw asResourceError(err, component);
    }
}
