/** Resource options the components add to the ones they are given. */
import * as pulumi from "@pulumi/pulumi";

/**
 * `opts` with an alias for the component's former type token, so a stack made before a rename keeps its component
 * and every child (children inherit their parent's aliases): the rename is no replace and no delete
 * (test/e2e/upgrade.e2e.test.ts proves it on a real stack).
 */
export function withFormerType(
    opts: pulumi.ComponentResourceOptions | undefined,
    formerType: string,
): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts?.aliases ?? []), { type: formerType }] };
}
