/**
 * Whether anything answers at an API server's address: one TCP connection, no request, no credentials. The question
 * before removing a member (components/host/removedMembers.ts, program/removeMember.ts) is only "is its API server
 * still there", which a refused or unanswered connection settles without a kubeconfig.
 */
import * as net from "net";

/** How long a connection may take before the server counts as not answering. */
export const ENDPOINT_PROBE_TIMEOUT_MS = 3000;

/** What one connection attempt to a server found. */
export interface EndpointProbe {
    /** A TCP connection was accepted. */
    answers: boolean;
    /** What happened, for messages: `connection refused`, `no answer within 3 s`, `connected`. */
    detail: string;
}

/** One TCP connection to the host and port of `server` (an `https://` URL; port 443 when it has none). */
export function probeEndpoint(server: string, timeoutMs: number = ENDPOINT_PROBE_TIMEOUT_MS): Promise<EndpointProbe> {
    let url: URL;
    try {
        url = new URL(server);
    } catch {
        return Promise.resolve({ answers: false, detail: `"${server}" is not a URL` });
    }
    const port = Number(url.port || (url.protocol === "http:" ? 80 : 443));
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (probe: EndpointProbe) => {
            socket.destroy();
            resolve(probe);
        };
        socket.setTimeout(timeoutMs, () => done({ answers: false, detail: `no answer within ${timeoutMs / 1000} s` }));
        socket.once("connect", () => done({ answers: true, detail: "connected" }));
        socket.once("error", (err: NodeJS.ErrnoException) =>
            done({
                answers: false,
                detail: err.code === "ECONNREFUSED" ? "connection refused" : (err.code ?? err.message),
            }),
        );
    });
}
