/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). HostCluster used on its own, as a library user would. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { HostCluster } from "../../../components/host/hostCluster";
import { kubesphereYamlV3, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, valueOf } from "../pulumiMocks";
import { JWT_SECRET } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("HostCluster on its own", () => {
        it("exposes jwtSecret as a secret", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const host = new HostCluster("h", {
                hostClusterName: "h",
                kubeconfig: tokenKubeconfig("h"),
                clusterAccess: fakeClusterAccess(),
            });
            assert.strictEqual(await pulumi.isSecret(host.jwtSecret), true);
            assert.strictEqual(await valueOf(host.jwtSecret), JWT_SECRET);
            assert.strictEqual(await valueOf(host.kubesphereLayout), "v3");
        });
    });
});
