/**
 * The clock KubeSphere's certificate-expiry checks read. TEST ONLY: a test-only control that stands in for the
 * passing of time, nothing KubeSphere has.
 *
 * KubeSphere compares an imported kubeconfig's client certificate with the wall clock (3.3/3.4 flag it at 7 days
 * left; 4.x renews it in place then, docs/kubesphere.md §9). A test cannot wait weeks, and the product refuses to import a
 * certificate with 7 days or less left, so to run the real renewal code on a certificate the product accepted, the
 * sandbox (`Sandbox.advanceEmulatorClock`) writes `{"offsetSeconds": N}` to the clock file named in the emulator's
 * config (`clockFile`): those checks then read "now" as the wall clock plus N. No file, or no `clockFile`: the wall
 * clock. The file is read on every check, so a test may move the clock while the emulator runs. Nothing else
 * (condition timestamps, CSR names) uses it.
 */
import * as fs from "fs";

let clockFile: string | undefined;

/** Set once by main.ts from the config. */
export function useClockFile(file: string | undefined): void {
    clockFile = file;
}

/** "Now" for certificate expiry, in milliseconds since the epoch. */
export function certificateClockMs(): number {
    if (clockFile === undefined) return Date.now();
    let offsetSeconds = 0;
    try {
        offsetSeconds =
            Number((JSON.parse(fs.readFileSync(clockFile, "utf8")) as { offsetSeconds?: unknown }).offsetSeconds) || 0;
    } catch {
        // No file (the usual case), or one being rewritten: the wall clock.
    }
    return Date.now() + offsetSeconds * 1000;
}
