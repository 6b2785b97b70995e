import * as assert from "assert";
import { readClusterFacts, readKubesphereLayout } from "../../components/kubeClient";
import { tokenFor, tokenKubeconfig } from "../fixtures/kubeconfigs";

// Port 1 on loopback: nothing listens there, so the connection is refused at once.
const unreachable = tokenKubeconfig("m9", "https://127.0.0.1:1");

describe("direct cluster reads", () => {
    for (const [what, read] of [
        ["pre-flight facts", () => readClusterFacts("m9", unreachable)],
        ["layout detection", () => readKubesphereLayout("m9", unreachable)],
    ] as const) {
        it(`${what}: an unreachable cluster fails naming it, its server and the fix, without credentials`, async () => {
            await assert.rejects(read(), (err: Error) => {
                assert.match(err.message, /^cluster "m9": the API server https:\/\/127\.0\.0\.1:1 does not answer \(.+\)\. Fix: check that it is up and reachable/);
                assert.ok(!err.message.includes(tokenFor("m9")));
                return true;
            });
        });
    }
});
