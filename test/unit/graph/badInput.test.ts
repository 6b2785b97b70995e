/** Graph test (Pulumi mocks, shared setup in ./graphWorld.ts). Bad input: unreadable kubeconfigs, unset secret config, an unreachable host, a kubesphere-config without jwtSecret. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { parseFederationConfig } from "../../../components/config/configSchema";
import { FederationConfigError, FederationConfigErrors } from "../../../components/config/errors";
import { HostCluster } from "../../../components/host/hostCluster";
import { federate } from "../../../program/federation";
import { kubesphereYamlV3, tokenKubeconfig } from "../../fixtures/kubeconfigs";
import { fakeClusterAccess, installMocks, settle } from "../pulumiMocks";
import { fleetConfig, JWT_SECRET, sources } from "./graphWorld";

describe("federation resource graph (mocks)", () => {
    describe("bad input", () => {
        it("reports every unreadable kubeconfig before registering any resource", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const config = fleetConfig([
                { name: "m1", provider: "ack", kubeconfig: { path: "/kube/missing.yaml" } },
                { name: "m2", provider: "eks", kubeconfig: { path: "/kube/lab.yaml", context: "nope" } },
            ] as any);
            await assert.rejects(
                () => federate(config, sources(), { transformations: [world.recordOptions] }, fakeClusterAccess()),
                (err: FederationConfigErrors) => {
                    assert.ok(err instanceof FederationConfigErrors);
                    // A RunError: the runner and the Automation API print its message alone, without a stack trace.
                    assert.ok(
                        pulumi.RunError.isInstance(err) &&
                            err.problems.every((problem) => pulumi.RunError.isInstance(problem)),
                    );
                    assert.deepStrictEqual(
                        err.problems.map((p: FederationConfigError) => p.key),
                        ["members[0].kubeconfig.path", "members[1].kubeconfig.context"],
                    );
                    assert.match(err.message, new RegExp(`file ${path.sep}kube${path.sep}missing.yaml does not exist`));
                    return true;
                },
            );
            await settle();
            assert.strictEqual(world.resources.length, 0);
            assert.strictEqual(world.options.length, 0);
        });

        it("names the secret config key that is not set", async () => {
            await installMocks(kubesphereYamlV3(JWT_SECRET));
            const config = parseFederationConfig({ host: { kubeconfig: { secretConfig: "notSet" } }, members: [] });
            await assert.rejects(
                () => federate(config, sources(), undefined, fakeClusterAccess()),
                /kubesphere-federation:host\.kubeconfig\.secretConfig: config key "notSet" is not set/,
            );
        });

        it("reports a host that does not answer during version detection as a RunError (message alone), before any resource", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const unreachable = fakeClusterAccess({
                readKubesphereLayout: async () => {
                    throw new Error(
                        'cluster "host": the API server https://127.0.0.1:1 does not answer (connect ECONNREFUSED 127.0.0.1:1)',
                    );
                },
            });
            await assert.rejects(
                () =>
                    federate(
                        fleetConfig([], "auto"),
                        sources(),
                        { transformations: [world.recordOptions] },
                        unreachable,
                    ),
                (err: Error) =>
                    pulumi.RunError.isInstance(err) &&
                    /^cluster "host": the API server https:\/\/127\.0\.0\.1:1 does not answer/.test(err.message),
            );
            await settle();
            assert.strictEqual(world.resources.length, 0);
        });

        it("fails the deployment when the host's kubesphere-config has no jwtSecret", async () => {
            await installMocks("multicluster:\n  clusterRole: none\n");
            const host = new HostCluster("h", {
                hostClusterName: "h",
                kubeconfig: tokenKubeconfig("h"),
                clusterAccess: fakeClusterAccess(),
            });
            // Output.promise() is internal API, but it is the only way to observe an apply's failure under mocks.
            const jwtSecret = (host.jwtSecret as unknown as { promise(): Promise<string> }).promise();
            await assert.rejects(
                jwtSecret,
                /ConfigMap kubesphere-system\/kubesphere-config on cluster "h" has no jwtSecret/,
            );
        });
    });
});
