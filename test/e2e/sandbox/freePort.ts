import * as net from "net";

/**
 * Asks the kernel for a free loopback port by listening on port 0. The port is released before it is
 * used, so another process could take it in between; on loopback in a test sandbox that race is rare
 * and shows up as a clear "address already in use" in the process log.
 */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => {
                if (address && typeof address === "object") {
                    resolve(address.port);
                } else {
                    reject(new Error("could not read the port of a listening socket"));
                }
            });
        });
    });
}
