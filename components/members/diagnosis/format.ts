/** The diagnosis as text: for a wait's error, and the doctor's table. */
import { Diagnosis, Finding } from "./findings";

/**
 * The error a failed wait raises: the FIRST line names the most likely cause with its evidence and fix, then what the
 * wait saw, then every finding. Without a failing check, the wait's own message comes first.
 */
export function formatDiagnosis(diagnosis: Diagnosis, waitMessage: string): string {
    const prefix = `member "${diagnosis.member}"`;
    const cause = diagnosis.cause;
    const lines =
        cause === undefined
            ? [`${waitMessage} The diagnosis found no cause (no check below failed).`]
            : [`${prefix}: ${cause.title}: ${cause.evidence}. Fix: ${cause.fix}`, `(${waitMessage})`];
    lines.push("Checks:", ...formatFindings(diagnosis.findings).map((line) => `  ${line}`));
    return lines.join("\n");
}

/** One line per finding: `FAIL  title: evidence`. */
export function formatFindings(findings: Finding[]): string[] {
    return findings.map((found) => `${found.verdict.toUpperCase().padEnd(4)}  ${found.title}: ${found.evidence}`);
}

/** The doctor's table: one row per member and check. */
export function formatTable(diagnoses: Array<{ member: string; findings: Finding[] }>): string {
    const rows = diagnoses.flatMap((diagnosis) =>
        diagnosis.findings.map((found) => [
            diagnosis.member,
            found.title,
            found.verdict.toUpperCase(),
            found.evidence + (found.fix ? ` Fix: ${found.fix}` : ""),
        ]),
    );
    const header = ["MEMBER", "CHECK", "VERDICT", "EVIDENCE"];
    const widths = [0, 1, 2].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
    const format = (row: string[]) =>
        row
            .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell))
            .join("  ")
            .trimEnd();
    return [format(header), ...rows.map(format)].join("\n");
}
