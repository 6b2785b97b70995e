/**
 * TEST ONLY: start, inspect and stop the e2e sandbox from a shell (`npm run sandbox -- up|down|status`).
 *
 *   up     [--members N] [--dir D] [--reconcile-delay-ms N] [--host-installer-delay-ms N]
 *          [--kubesphere-version V] [--host-version V] [--member-versions V1,V2,...] [--audit-log]
 *          starts a detached sandbox that outlives this command; says so if one is already up.
 *          V is 3.2, 3.3, 3.4 (default) or 4.1, per cluster; a 4.1 member is bare until a 4.1 host installs ks-core.
 *          (--audit-log: kube-apiserver audit logs in <dir>/logs/<name>-audit.log)
 *   status [--dir D]   each process alive/dead and each cluster's /readyz; exit 1 if anything is down
 *   down   [--dir D]   stops every process (SIGTERM, then SIGKILL), checks none is left, removes the data
 *
 * Default dir: <repo>/.sandbox (git-ignored).
 */
import * as path from "path";
import { parseKubesphereVersion } from "../emulator/versions";
import { DEFAULT_SANDBOX_DIR } from "./paths";
import { isRunning } from "./processes";
import { loadSandbox, Sandbox, startSandbox } from "./sandbox";
import { readState } from "./state";

const USAGE =
    "usage: cli.ts up [--members N] [--dir D] [--reconcile-delay-ms N] [--host-installer-delay-ms N] [--kubesphere-version 3.1|3.2|3.3|3.4|4.1] " +
    "[--host-version V] [--member-versions V1,V2,...] [--audit-log] | status [--dir D] | down [--dir D]";

function option(args: string[], name: string): string | undefined {
    const at = args.indexOf(name);
    if (at < 0) {
        return undefined;
    }
    const value = args[at + 1];
    if (value === undefined || value.startsWith("--")) {
        throw new Error(`${name} needs a value. ${USAGE}`);
    }
    return value;
}

function wholeNumber(args: string[], name: string): number | undefined {
    const value = option(args, name);
    if (value !== undefined && !/^\d+$/.test(value)) {
        throw new Error(`${name} must be a whole number, got "${value}"`);
    }
    return value === undefined ? undefined : Number(value);
}

function printClusters(sandbox: Sandbox): void {
    for (const cluster of sandbox.clusters) {
        console.log(
            `  ${cluster.name.padEnd(10)} ${cluster.role.padEnd(7)} KubeSphere ${cluster.kubesphereVersion}  ${cluster.server}  kubeconfig: ${cluster.kubeconfigPath}`,
        );
        console.log(
            `  ${"".padEnd(10)} ${"".padEnd(7)} ${"".padEnd(15)}  ${"".padEnd(cluster.server.length)}  exec kubeconfig: ${cluster.execKubeconfigPath}`,
        );
    }
    console.log(`  logs: ${path.join(sandbox.dir, "logs")}`);
}

/** The sandbox in dir if at least one of its processes still runs. */
function runningSandbox(dir: string): Sandbox | undefined {
    if (!readState(dir)) {
        return undefined;
    }
    const sandbox = loadSandbox(dir);
    return sandbox.processes().some(isRunning) ? sandbox : undefined;
}

async function up(dir: string, args: string[]): Promise<number> {
    const existing = runningSandbox(dir);
    if (existing) {
        console.log(`sandbox already up in ${dir}:`);
        printClusters(existing);
        return 0;
    }
    const version = (flag: string, value: string | undefined) =>
        value === undefined ? undefined : parseKubesphereVersion(value, flag);
    const memberVersions = option(args, "--member-versions")
        ?.split(",")
        .map((value, i) => parseKubesphereVersion(value.trim(), `--member-versions entry ${i + 1}`));
    const members = wholeNumber(args, "--members") ?? (memberVersions ? memberVersions.length : undefined);
    const started = Date.now();
    const sandbox = await startSandbox({
        dir,
        members,
        reconcileDelayMs: wholeNumber(args, "--reconcile-delay-ms"),
        hostInstallerDelayMs: wholeNumber(args, "--host-installer-delay-ms"),
        kubesphereVersion: version("--kubesphere-version", option(args, "--kubesphere-version")),
        hostVersion: version("--host-version", option(args, "--host-version")),
        memberVersions,
        auditLog: args.includes("--audit-log"),
        detached: true,
    });
    console.log(`sandbox up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir}):`);
    printClusters(sandbox);
    return 0;
}

async function status(dir: string): Promise<number> {
    if (!readState(dir)) {
        console.log(`no sandbox in ${dir}`);
        return 1;
    }
    const report = await loadSandbox(dir).status();
    for (const p of report.processes) {
        console.log(`  ${p.name.padEnd(33)} pid ${String(p.pid).padEnd(8)} ${p.running ? "alive" : "DEAD"}`);
    }
    for (const cluster of report.clusters) {
        console.log(
            `  cluster ${cluster.name.padEnd(25)} ${cluster.server.padEnd(24)} ${cluster.ready ? "ready" : "NOT READY"}`,
        );
    }
    const healthy = report.processes.every((p) => p.running) && report.clusters.every((c) => c.ready);
    console.log(healthy ? "sandbox healthy" : "sandbox degraded");
    return healthy ? 0 : 1;
}

async function down(dir: string): Promise<number> {
    if (!readState(dir)) {
        console.log(`no sandbox in ${dir}: nothing to stop`);
        return 0;
    }
    const sandbox = loadSandbox(dir);
    const processes = sandbox.processes();
    // stop() waits for every process to exit and throws naming any survivor.
    await sandbox.stop({ removeData: true });
    const left = processes.filter(isRunning);
    if (left.length > 0) {
        throw new Error(`still running: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}`);
    }
    console.log(`sandbox stopped (${processes.length} processes) and ${dir} removed`);
    return 0;
}

async function main(args: string[]): Promise<number> {
    const [command, ...rest] = args;
    const dir = path.resolve(option(rest, "--dir") ?? DEFAULT_SANDBOX_DIR);
    switch (command) {
        case "up":
            return up(dir, rest);
        case "status":
            return status(dir);
        case "down":
            return down(dir);
        default:
            console.error(USAGE);
            return 2;
    }
}

main(process.argv.slice(2)).then(
    // Exit explicitly: keep-alive sockets of API clients would otherwise hold the CLI open.
    (code) => process.exit(code),
    (err) => {
        console.error(`sandbox: ${(err as Error).message}`);
        process.exit(1);
    },
);
