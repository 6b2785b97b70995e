/** Logging for the emulator: every line is labelled test-only, and never carries a secret. */

export const EMULATOR_LABEL = "kubesphere-emulator (test only)";

export function log(message: string): void {
    console.log(`${new Date().toISOString()} ${EMULATOR_LABEL}: ${message}`);
}

/**
 * Logs a line only when the state it describes changes, so a loop polling every 500 ms writes one line per
 * meaningful change (e.g. a member going unreachable), not one per poll.
 */
export class ChangeLog {
    private readonly last = new Map<string, string>();

    report(subject: string, message: string): void {
        if (this.last.get(subject) !== message) {
            this.last.set(subject, message);
            log(message);
        }
    }

    forget(subject: string): void {
        this.last.delete(subject);
    }
}
