/**
 * TEST DEVICE: an emulated ks-apiserver on an address that only a network namespace created here holds, so a
 * member's real kube-apiserver service proxy can carry requests to it (kube-apiserver refuses to proxy to loopback
 * endpoints, where every other sandbox process listens). Per host: a namespace `ksf-<hex>`, a veth pair, host side
 * 198.18.<n>.1/30, namespace side 198.18.<n>.2/30. 198.18.0.0/15 is reserved for network benchmark testing (RFC 2544,
 * IANA special-purpose registry) and routed nowhere, so nothing real can answer on it; the /30 route exists only
 * while the namespace does. The server answers what KubeSphere's ks-apiserver answers on /version and /kapis/version
 * (v4.1.3 pkg/kapis/version/register.go: version.Info JSON). Needs root (`ip netns`). Stopped, its address refuses
 * connections: what a crash-looping ks-apiserver behind its Service looks like.
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { cleanupOnExit, forgetCleanupOnExit, forgetOnExit, killOnExit } from "./exitCleanup";
import { isRunning, OwnedProcess, spawnLogged, terminate } from "./processes";

/** The version.Info server, run inside the namespace with plain node: `node <file> <address> <port> <gitVersion>`. */
const SERVER_SOURCE = `const http = require("http");
const [address, port, gitVersion] = process.argv.slice(2);
http.createServer((request, response) => {
    const url = (request.url || "/").split("?")[0];
    if (request.method === "GET" && (url === "/version" || url === "/kapis/version")) {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ gitVersion, gitMajor: "", gitMinor: "", gitCommit: "", gitTreeState: "", buildDate: "", goVersion: process.version, compiler: "", platform: "linux/amd64" }));
        return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ message: "404 page not found" }));
}).listen(Number(port), address);
`;

export interface NetnsHost {
    /** The namespace side's address, e.g. 198.18.7.2. */
    address: string;
    port: number;
    isServing(): boolean;
    /** Starts the server (again). */
    start(): Promise<void>;
    /** Stops the server; the address stays and refuses connections. */
    stopServer(): Promise<void>;
    /** Stops the server and deletes the namespace (and with it the veth pair and the route). */
    remove(): Promise<void>;
}

function ip(args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A /24 of 198.18.0.0/15 no interface on this machine uses yet. */
function freeSubnet(): number {
    const used = ip(["-4", "-o", "addr", "show"]);
    for (let attempt = 0; attempt < 64; attempt++) {
        const candidate = randomBytes(1)[0];
        if (!used.includes(` 198.18.${candidate}.`)) return candidate;
    }
    throw new Error("no free 198.18.x.0/24 for a sandbox network namespace");
}

/** Creates the namespace and veth pair and starts the server in it; `dir` holds its script and log. */
export async function startNetnsHost(options: { dir: string; port: number; gitVersion: string }): Promise<NetnsHost> {
    const id = randomBytes(3).toString("hex");
    const namespace = `ksf-${id}`;
    const hostSide = `ksfh${id}`;
    const innerSide = `ksfn${id}`;
    const subnet = freeSubnet();
    const address = `198.18.${subnet}.2`;
    try {
        ip(["netns", "add", namespace]);
        ip(["link", "add", hostSide, "type", "veth", "peer", "name", innerSide]);
        ip(["link", "set", innerSide, "netns", namespace]);
        ip(["addr", "add", `198.18.${subnet}.1/30`, "dev", hostSide]);
        ip(["link", "set", hostSide, "up"]);
        ip(["-n", namespace, "addr", "add", `${address}/30`, "dev", innerSide]);
        ip(["-n", namespace, "link", "set", innerSide, "up"]);
        ip(["-n", namespace, "link", "set", "lo", "up"]);
    } catch (err) {
        removeNamespace(namespace, hostSide);
        const stderr = String((err as { stderr?: string }).stderr ?? "").trim();
        throw new Error(
            `could not create network namespace ${namespace}: ${stderr || (err as Error).message}. Fix: run as root with iproute2 (ip netns)`,
        );
    }
    cleanupOnExit(namespace, () => removeNamespace(namespace, hostSide));
    fs.mkdirSync(options.dir, { recursive: true });
    const script = path.join(options.dir, `ks-apiserver-${id}.js`);
    fs.writeFileSync(script, SERVER_SOURCE);
    let server: OwnedProcess | undefined;
    const host: NetnsHost = {
        address,
        port: options.port,
        isServing: () => server !== undefined && isRunning(server),
        start: async () => {
            if (host.isServing()) return;
            const pid = await spawnLogged(
                "ip",
                [
                    "netns",
                    "exec",
                    namespace,
                    process.execPath,
                    script,
                    address,
                    String(options.port),
                    options.gitVersion,
                ],
                { logFile: path.join(options.dir, `ks-apiserver-${id}.log`), detached: false },
            );
            server = { name: `ks-apiserver in ${namespace}`, pid, marker: script };
            killOnExit(server);
            // Listening, and reachable from here through the veth pair (as kube-apiserver will dial it).
            for (let waited = 0; !(await answers(address, options.port)); waited += 100) {
                if (waited > 10_000)
                    throw new Error(
                        `the ks-apiserver emulation in ${namespace} did not answer on ${address} within 10s`,
                    );
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        },
        stopServer: async () => {
            if (server === undefined) return;
            await terminate([server], 5000);
            forgetOnExit(server.pid);
            server = undefined;
        },
        remove: async () => {
            await host.stopServer();
            removeNamespace(namespace, hostSide);
            forgetCleanupOnExit(namespace);
        },
    };
    await host.start();
    return host;
}

function removeNamespace(namespace: string, hostSide: string): void {
    for (const args of [
        ["link", "del", hostSide],
        ["netns", "del", namespace],
    ]) {
        try {
            ip(args);
        } catch {
            // Already gone (deleting the namespace deletes the veth pair).
        }
    }
}

function answers(address: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, timeout: 500 });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("timeout", () => {
            socket.destroy();
            resolve(false);
        });
        socket.once("error", () => resolve(false));
    });
}
