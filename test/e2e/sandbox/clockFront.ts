/**
 * TEST DEVICE: a loopback TLS front for one sandbox kube-apiserver whose answers carry a shifted `Date` header — what
 * the API server of a member on a machine with a skewed clock answers (kube-apiserver writes Date from its own
 * clock). Every sandbox cluster shares this machine's clock, Go binaries ignore libfaketime and time namespaces do
 * not shift CLOCK_REALTIME, so this is the only place a skew can come from. Requests and bodies pass through
 * unchanged (the kubeconfig's token travels in the Authorization header); only Date is rewritten. It serves a
 * certificate for 127.0.0.1 from its own CA, which the kubeconfig pointing at it carries. Runs in the calling
 * process; closed by Sandbox.stop(). Nothing is logged.
 */
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";

export interface ClockFront {
    /** e.g. `https://127.0.0.1:41240` */
    server: string;
    close(): Promise<void>;
}

export interface ClockFrontOptions {
    /** The kube-apiserver behind the front, e.g. `https://127.0.0.1:41234`. */
    upstream: string;
    /** PEM CA(s) that verify the upstream's serving certificate. */
    upstreamCa: Buffer;
    /** The front's own serving certificate (IP SAN 127.0.0.1) and key, PEM. */
    certPem: string;
    keyPem: string;
    /** Added to this machine's clock in the Date header: negative = the member's clock is behind. */
    offsetMs: number;
}

/** Starts the front on a free loopback port. */
export async function startClockFront(options: ClockFrontOptions): Promise<ClockFront> {
    const upstream = new URL(options.upstream);
    const agent = new https.Agent({ keepAlive: true, ca: options.upstreamCa });
    const server = https.createServer({ cert: options.certPem, key: options.keyPem }, (request, response) => {
        const headers = { ...request.headers };
        delete headers.host;
        const forwarded = https.request(
            {
                protocol: upstream.protocol,
                hostname: upstream.hostname,
                port: upstream.port,
                method: request.method,
                path: request.url,
                headers,
                agent,
            },
            (answer) => {
                const shifted: http.OutgoingHttpHeaders = { ...answer.headers };
                shifted.date = new Date(Date.now() + options.offsetMs).toUTCString();
                response.writeHead(answer.statusCode ?? 502, shifted);
                answer.pipe(response);
            },
        );
        forwarded.on("error", () => {
            if (!response.headersSent) response.writeHead(502);
            response.end();
        });
        request.on("aborted", () => forwarded.destroy());
        request.pipe(forwarded);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    return {
        server: `https://127.0.0.1:${port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
                agent.destroy();
            }),
    };
}
