/**
 * What KubeSphere 3.x's KubeFed join needs (docs/kubesphere.md §12, components/kubesphere/kubefed.ts): the pre-flight's
 * Workspace CRD verdict (components/members/workspacePreflight.ts) and its read in the program, and the diagnosis's
 * check of a `Federated=False` that names a missing CRD (components/members/diagnosis/kubesphereChecks.ts).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseFederationConfig } from "../../components/config/configSchema";
import { missingJoinCrd } from "../../components/kubesphere/kubefed";
import { diagnose, provesJoinFails } from "../../components/members/diagnosis/diagnose";
import type { DiagnosisFacts } from "../../components/members/diagnosis/findings";
import { formatDiagnosis } from "../../components/members/diagnosis/format";
import { checkKubefed } from "../../components/members/diagnosis/kubesphereChecks";
import { workspacePreflightVerdict } from "../../components/members/workspacePreflight";
import { federate } from "../../program/federation";
import { kubesphereYamlV3 } from "../fixtures/kubeconfigs";
import { clusterChanges, failureOf, JWT_SECRET, sources } from "./graph/graphWorld";
import { fakeClusterAccess, installMocks, settle } from "./pulumiMocks";

const NO_KUBEFED = 'no matches for kind "KubeFedCluster" in version "core.kubefed.io/v1beta1"';
const NO_WORKSPACES = "the server could not find the requested resource (get workspaces.tenant.kubesphere.io)";

function federatedFalse(reason: string): DiagnosisFacts["cluster"] {
    return {
        connectionType: "direct",
        conditions: [
            { type: "Federated", status: "False", reason, message: "Cluster can not join federation control plane" },
            {
                type: "Ready",
                status: "False",
                reason: "Cluster join federation control plane failed",
                message: "Cluster is Not Ready now",
            },
        ],
    };
}

const facts = (overrides: Partial<DiagnosisFacts>): DiagnosisFacts => ({
    member: "m1",
    configKey: "members[0]",
    hostMajor: "v3",
    ...overrides,
});

describe("KubeSphere 3.x's KubeFed join (kubefed.ts)", () => {
    it("tells which CRD a Federated=False reason says is missing", () => {
        assert.strictEqual(missingJoinCrd(NO_KUBEFED), "KubeFedCluster");
        assert.strictEqual(missingJoinCrd(NO_WORKSPACES), "Workspace");
        assert.strictEqual(missingJoinCrd("connect ECONNREFUSED 127.0.0.1:6443"), undefined);
        // checkWorkspaces' other refusal names one workspace, not a missing CRD.
        assert.strictEqual(
            missingJoinCrd(
                "The workspace w1 is found in the target member cluster m1, which is conflict with the workspace on host",
            ),
            undefined,
        );
        assert.strictEqual(missingJoinCrd(undefined), undefined);
    });

    describe("workspacePreflightVerdict", () => {
        it("refuses a member without the Workspace CRD, with KubeSphere's message and the fix", () => {
            const verdict = workspacePreflightVerdict({
                member: "m1",
                configKey: "members[0]",
                crd: { name: "workspaces.tenant.kubesphere.io", found: false },
            });
            assert.deepStrictEqual(verdict.warnings, []);
            assert.strictEqual(verdict.errors.length, 1);
            assert.match(
                verdict.errors[0],
                /^member "m1" \(members\[0\]\) has KubeSphere 3\.x without its CRD workspaces\.tenant\.kubesphere\.io: .*\(get workspaces\.tenant\.kubesphere\.io\)"\), so the member would never become Ready\. Fix: repair KubeSphere's install on member "m1": .*kubectl get crd workspaces\.tenant\.kubesphere\.io/,
            );
        });

        it("warns when the CRD could not be read, and says nothing when found or not read", () => {
            const unknown = workspacePreflightVerdict({
                member: "m1",
                configKey: "members[0]",
                crd: {
                    name: "workspaces.tenant.kubesphere.io",
                    problem: "HTTP 403 (no right to get customresourcedefinitions)",
                },
            });
            assert.deepStrictEqual(unknown.errors, []);
            assert.match(unknown.warnings[0], /^member "m1": could not check .*HTTP 403/);
            const found = { name: "workspaces.tenant.kubesphere.io", found: true };
            assert.deepStrictEqual(workspacePreflightVerdict({ member: "m1", configKey: "members[0]", crd: found }), {
                errors: [],
                warnings: [],
            });
            assert.deepStrictEqual(workspacePreflightVerdict({ member: "m1", configKey: "members[0]" }), {
                errors: [],
                warnings: [],
            });
        });
    });

    describe("checkKubefed (diagnosis)", () => {
        it("names the host's missing kubefed CRD with the installer's log and multicluster status as the fix", () => {
            const found = checkKubefed(facts({ cluster: federatedFalse(NO_KUBEFED) }));
            assert.strictEqual(found.verdict, "fail");
            assert.match(
                found.evidence,
                /^KubeSphere reports Federated=False, reason: no matches for kind "KubeFedCluster" in version "core\.kubefed\.io\/v1beta1": /,
            );
            assert.match(found.evidence, /the host has no CRD kubefedclusters\.core\.kubefed\.io/);
            assert.match(found.fix!, /kubectl -n kubesphere-system logs deploy\/ks-installer/);
            assert.match(
                found.fix!,
                /kubectl get cc ks-installer -n kubesphere-system -o jsonpath='\{\.status\.multicluster\}'/,
            );
        });

        it("names the member's missing Workspace CRD with its KubeSphere install as the fix", () => {
            const found = checkKubefed(facts({ cluster: federatedFalse(NO_WORKSPACES) }));
            assert.strictEqual(found.verdict, "fail");
            assert.match(
                found.evidence,
                /member "m1" has no CRD workspaces\.tenant\.kubesphere\.io \(a broken KubeSphere install\)/,
            );
            assert.match(found.fix!, /^repair KubeSphere's install on member "m1"/);
        });

        it("passes Federated=True and a failure that names no CRD; skips without a Cluster, a condition, or on 4.x", () => {
            const ok = checkKubefed(
                facts({ cluster: { connectionType: "direct", conditions: [{ type: "Federated", status: "True" }] } }),
            );
            assert.strictEqual(ok.verdict, "ok");
            assert.strictEqual(
                checkKubefed(facts({ cluster: federatedFalse("connect ECONNREFUSED 127.0.0.1:1") })).verdict,
                "ok",
            );
            assert.strictEqual(checkKubefed(facts({})).verdict, "skip");
            assert.strictEqual(
                checkKubefed(facts({ cluster: { connectionType: "direct", conditions: [] } })).verdict,
                "skip",
            );
            assert.strictEqual(
                checkKubefed(facts({ hostMajor: "v4", cluster: federatedFalse(NO_KUBEFED) })).verdict,
                "skip",
            );
        });

        it("is the cause on the error's first line, and stops the Ready wait at once", () => {
            for (const [reason, cause] of [
                [NO_KUBEFED, /the host has no CRD kubefedclusters\.core\.kubefed\.io/],
                [NO_WORKSPACES, /member "m1" has no CRD workspaces\.tenant\.kubesphere\.io/],
            ] as const) {
                const cluster = federatedFalse(reason);
                const diagnosis = diagnose(facts({ cluster }));
                assert.strictEqual(diagnosis.cause?.check, "kubefed");
                assert.strictEqual(provesJoinFails(diagnosis, cluster), true);
                const [first] = formatDiagnosis(diagnosis, "waited 600s").split("\n");
                assert.match(
                    first,
                    /^member "m1": KubeSphere's federation join: CRDs \(3\.x\): KubeSphere reports Federated=False/,
                );
                assert.match(first, cause);
                assert.match(first, /\. Fix: /);
            }
        });
    });

    describe("in the program (mocks)", () => {
        it("refuses a 3.x member without the Workspace CRD in a preview, before any change, with one CRD read per member", async () => {
            const world = await installMocks(kubesphereYamlV3(JWT_SECRET));
            const asked: string[] = [];
            const access = fakeClusterAccess({
                readCrdPresence: async (kubeconfig, name) => {
                    asked.push(`${kubeconfig.server} ${name}`);
                    return { name, found: !kubeconfig.server.includes("//lab.") };
                },
            });
            const config = parseFederationConfig({
                host: { name: "host", kubeconfig: { path: "/kube/host.yaml" } },
                members: [
                    { name: "ack-prod", provider: "ack", kubeconfig: { path: "/kube/ack-prod.yaml" } },
                    { name: "lab", provider: "kubeadm", kubeconfig: { path: "/kube/lab.yaml" } },
                ],
            });
            const summary = await federate(config, sources(), undefined, access);
            const err = (await failureOf(summary.members["lab"].detectedKubesphereVersion)) as Error;
            assert.ok(err instanceof pulumi.ResourceError);
            assert.match(
                err.message,
                /^member "lab" \(members\[1\]\) has KubeSphere 3\.x without its CRD workspaces\.tenant\.kubesphere\.io/,
            );
            await settle();
            assert.deepStrictEqual(clusterChanges(world), [], "a refused member leaves every cluster unchanged");
            assert.deepStrictEqual(asked.sort(), [
                "https://ack-prod.example.com:6443 workspaces.tenant.kubesphere.io",
                "https://lab.example.com:6443 workspaces.tenant.kubesphere.io",
            ]);
        });
    });
});
