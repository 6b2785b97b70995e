import * as pulumi from "@pulumi/pulumi";

/**
 * A failure inside a component's pre-flight or wait, as Pulumi prints its own errors: the message on the
 * component, no stack trace (conventions §8). Errors that already are ResourceErrors pass through.
 */
export function asResourceError(err: unknown, resource: pulumi.Resource): pulumi.ResourceError {
    if (err instanceof pulumi.ResourceError) return err;
    return new pulumi.ResourceError(err instanceof Error ? err.message : String(err), resource);
}
