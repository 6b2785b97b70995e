import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { asResourceError, refusal } from "../../components/kubernetes/resourceErrors";
import { installMocks } from "./pulumiMocks";

describe("refusals", () => {
    it("are ResourceErrors without a stack trace whose text Pulumi's input serialization cannot prefix", async () => {
        await installMocks("");
        const component = new pulumi.ComponentResource("test:index:Component", "c");
        const error = refusal('member "m1": refused. Fix: do it', component);
        assert.ok(pulumi.ResourceError.isInstance(error));
        assert.strictEqual(error.hideStack, true);
        assert.strictEqual(error.resource, component);
        // What @pulumi/pulumi runtime/rpc.js does to an error it meets in a resource input.
        error.message = `error serializing property "spec": ${error.message}`;
        assert.strictEqual(error.message, 'member "m1": refused. Fix: do it');
        const wrapped = asResourceError(new Error("the API server does not answer"), component);
        assert.deepStrictEqual([wrapped.message, wrapped.hideStack], ["the API server does not answer", true]);
        assert.strictEqual(asResourceError(error, component), error);
    });
});
