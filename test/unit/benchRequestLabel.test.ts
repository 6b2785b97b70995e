import * as assert from "assert";
import * as https from "https";
import { asProgram, PROGRAM_USER_AGENT } from "../../bench/requestLabel";

/** The User-Agent https.request would send; the request is destroyed before it connects (port 1: nothing listens). */
function userAgentOf(send: () => ReturnType<typeof https.request>): string | undefined {
    const request = send();
    request.on("error", () => undefined);
    const value = request.getHeader("user-agent");
    request.destroy();
    return value === undefined ? undefined : String(value);
}

describe("benchmark request labels", () => {
    it("labels the program's requests that carry client-node's User-Agent or none at all", async () => {
        const labelled = await asProgram(async () => ({
            nodeFetch: userAgentOf(() =>
                https.request("https://127.0.0.1:1/api", { headers: { "User-Agent": "node-fetch/1.0" } }),
            ),
            none: userAgentOf(() => https.request(new URL("https://127.0.0.1:1/version"), { headers: {} })),
            noOptions: userAgentOf(() => https.request("https://127.0.0.1:1/version")),
            own: userAgentOf(() => https.request("https://127.0.0.1:1/", { headers: { "user-agent": "kubectl/v1" } })),
        }));
        assert.deepStrictEqual(labelled, {
            nodeFetch: PROGRAM_USER_AGENT,
            none: PROGRAM_USER_AGENT,
            noOptions: PROGRAM_USER_AGENT,
            own: "kubectl/v1",
        });
    });

    it("leaves requests outside the program's operation alone", () => {
        assert.strictEqual(
            userAgentOf(() =>
                https.request("https://127.0.0.1:1/api", { headers: { "User-Agent": "node-fetch/1.0" } }),
            ),
            "node-fetch/1.0",
        );
    });
});
