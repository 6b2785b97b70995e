/**
 * The emulated agent's parsing and the tunnel between agent and tower (test only, no sandbox needed).
 */
import * as assert from "assert";
import * as net from "net";
import { parseAgentCommand, proxyServerAddress } from "./agent";
import { FrameType, Tunnel } from "./tunnel";

describe("emulator: agent command line and tunnel", () => {
    it("reads the flags of KubeSphere's agent manifest, and says why a container would exit", () => {
        const flags = parseAgentCommand([
            "/agent",
            "--name=edge1",
            "--token=abc",
            "--proxy-server=http://127.0.0.1:8080",
            "--keepalive=10s",
            "--kubernetes-service=kubernetes.default.svc:443",
        ]);
        assert.deepStrictEqual(flags, {
            name: "edge1",
            token: "abc",
            proxyServer: "http://127.0.0.1:8080",
            kubernetesService: "kubernetes.default.svc:443",
            kubesphereService: "ks-apiserver.kubesphere-system.svc:80",
        });
        assert.match(
            (parseAgentCommand(["/agent", "--name=edge1"]) as { error: string }).error,
            /--name, --token and --proxy-server are required/,
        );
        assert.match((parseAgentCommand(["/proxy"]) as { error: string }).error, /does not run \/agent/);
    });

    it("dials loopback http:// addresses only, with tower's default port", () => {
        assert.deepStrictEqual(proxyServerAddress("http://127.0.0.1"), { host: "127.0.0.1", port: 80 });
        assert.deepStrictEqual(proxyServerAddress("http://127.0.0.2:30880"), { host: "127.0.0.2", port: 30880 });
        assert.match(
            (proxyServerAddress("http://203.0.113.10:30880") as { error: string }).error,
            /not a loopback address/,
        );
        assert.match((proxyServerAddress("wss://127.0.0.1") as { error: string }).error, /must be http\(s\)/);
    });

    it("carries several channels over one connection, each a byte stream with its own end", async () => {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
        const client = net.connect(port, "127.0.0.1");
        const towerSide = new Tunnel(await accepted);
        const agentSide = new Tunnel(client);
        // The agent echoes every channel back in upper case.
        agentSide.onControl = (type, id) => {
            if (type !== FrameType.Open) return;
            const channel = agentSide.accept(id);
            const chunks: Buffer[] = [];
            channel.on("data", (chunk: Buffer) => chunks.push(chunk));
            channel.on("end", () => channel.end(Buffer.concat(chunks).toString().toUpperCase()));
        };
        const roundTrip = (text: string) =>
            new Promise<string>((resolve) => {
                const channel = towerSide.open("kubernetes");
                const chunks: Buffer[] = [];
                channel.on("data", (chunk: Buffer) => chunks.push(chunk));
                channel.on("end", () => resolve(Buffer.concat(chunks).toString()));
                channel.end(text);
            });
        assert.deepStrictEqual(await Promise.all([roundTrip("first"), roundTrip("second")]), ["FIRST", "SECOND"]);
        const closed = new Promise<void>((resolve) => (towerSide.onClose = resolve));
        agentSide.close();
        await closed;
        assert.ok(towerSide.isClosed);
        server.close();
    });
});
