/**
 * Errors for people: every message names the config key (and so the cluster), what was found and the fix.
 *
 * Both classes are `pulumi.RunError`s: the SDK's runner (under the CLI) and the Automation API print a RunError as its
 * message alone, no stack trace and no dumped object, and the run fails (non-zero exit).
 */
import * as pulumi from "@pulumi/pulumi";

/** One config or kubeconfig problem, found before any resource is registered. */
export class FederationConfigError extends pulumi.RunError {
    /**
     * @param key the exact config key, e.g. `members[2].kubeconfig.path`
     * @param problem what was found, and the fix
     */
    constructor(
        public readonly key: string,
        public readonly problem: string,
    ) {
        super(`kubesphere-federation:${key}: ${problem}`);
        this.name = "FederationConfigError";
    }
}

/** Several config problems at once, so a user fixes them in one round instead of one per `pulumi preview`. */
export class FederationConfigErrors extends pulumi.RunError {
    constructor(public readonly problems: FederationConfigError[]) {
        super(
            `the stack config has ${problems.length} problem(s):\n` +
                problems.map((problem) => `  - ${problem.message}`).join("\n"),
        );
        this.name = "FederationConfigErrors";
    }
}

/** Throws nothing for no problems, the single error for one, an aggregate for several. */
export function throwProblems(problems: FederationConfigError[]): void {
    if (problems.length === 1) {
        throw problems[0];
    }
    if (problems.length > 1) {
        throw new FederationConfigErrors(problems);
    }
}

/** Formats a path like ["members", 2, "kubeconfig", "path"] as `members[2].kubeconfig.path`. */
export function formatKey(path: ReadonlyArray<PropertyKey>): string {
    return path.reduce<string>((key, part) => {
        if (typeof part === "number") {
            return `${key}[${part}]`;
        }
        return key === "" ? String(part) : `${key}.${String(part)}`;
    }, "");
}
