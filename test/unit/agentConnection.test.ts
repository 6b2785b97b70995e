import * as assert from "assert";
import { agentCommand, AgentJoinView, tokenOfAgentCommand } from "../../components/kubesphere/tower";
import {
    agentDeploymentObject,
    agentJoinOutcome,
    agentToken,
    defaultAgentImage,
    proxyAddress,
    towerCheck,
    TowerCheckInput,
    waitForAgentJoin,
} from "../../components/members/agent/agentConnection";

const TOKEN = agentToken("host-jwt-secret", "edge1", 1);
const expected = { member: "edge1", token: TOKEN, proxyAddress: "http://203.0.113.10:30880" };
const trueCondition = (type: string) => ({ type, status: "True", reason: type, message: "" });

function view(conditions: string[], overrides: Partial<AgentJoinView> = {}): AgentJoinView {
    return {
        cluster: { token: TOKEN, conditions: conditions.map(trueCondition) },
        agent: { token: TOKEN },
        ...overrides,
    };
}

describe("agent connection", () => {
    describe("agentToken", () => {
        it("is 64 hex characters like tower's, stable, and differs per member, revision and host secret", () => {
            assert.match(TOKEN, /^[0-9a-f]{64}$/);
            assert.strictEqual(agentToken("host-jwt-secret", "edge1", 1), TOKEN);
            assert.notStrictEqual(agentToken("host-jwt-secret", "edge1", 2), TOKEN);
            assert.notStrictEqual(agentToken("host-jwt-secret", "edge2", 1), TOKEN);
            assert.notStrictEqual(agentToken("other-secret", "edge1", 1), TOKEN);
            assert.ok(!TOKEN.includes("host-jwt-secret"));
        });
    });

    describe("the agent manifest", () => {
        it("renders KubeSphere's cluster-agent Deployment and command line, in its order", () => {
            const deployment = agentDeploymentObject({
                member: "edge1",
                token: "t0k",
                proxyAddress: "http://203.0.113.10:30880",
                image: "kubesphere/tower:v0.2.1",
                serviceAccountName: "kubesphere",
            });
            assert.deepStrictEqual(deployment.metadata, {
                name: "cluster-agent",
                namespace: "kubesphere-system",
                annotations: { "pulumi.com/skipAwait": "true" },
            });
            assert.deepStrictEqual(deployment.spec.selector.matchLabels, {
                app: "agent",
                "app.kubernetes.io/part-of": "tower",
            });
            const container = deployment.spec.template.spec.containers[0];
            assert.strictEqual(container.name, "agent");
            assert.deepStrictEqual(container.command, [
                "/agent",
                "--name=edge1",
                "--token=t0k",
                "--proxy-server=http://203.0.113.10:30880",
                "--keepalive=10s",
                "--kubesphere-service=ks-apiserver.kubesphere-system.svc:80",
                "--kubernetes-service=kubernetes.default.svc:443",
                "--v=0",
            ]);
            assert.deepStrictEqual(container.resources, {
                requests: { cpu: "100m", memory: "100M" },
                limits: { cpu: "1", memory: "200M" },
            });
            assert.strictEqual(deployment.spec.template.spec.serviceAccountName, "kubesphere");
            assert.strictEqual("replicas" in deployment.spec, false);
        });

        it("reads the token back from a command line", () => {
            assert.strictEqual(tokenOfAgentCommand(agentCommand("edge1", "abc", "http://x:1")), "abc");
            assert.strictEqual(tokenOfAgentCommand(["/agent"]), undefined);
            assert.strictEqual(tokenOfAgentCommand(undefined), undefined);
        });

        it("uses ks-installer's tower image per host version (3.4 and 4.1: v0.2.1; 3.1-3.3: v0.2.0)", () => {
            assert.strictEqual(defaultAgentImage("v3.4.1"), "kubesphere/tower:v0.2.1");
            assert.strictEqual(defaultAgentImage("v3.3.2"), "kubesphere/tower:v0.2.0");
            assert.strictEqual(defaultAgentImage("v3.1.1"), "kubesphere/tower:v0.2.0");
            assert.strictEqual(defaultAgentImage(undefined), "kubesphere/tower:v0.2.1");
        });
    });

    describe("proxy address and tower pre-flight", () => {
        const input = (overrides: Partial<TowerCheckInput> = {}): TowerCheckInput => ({
            member: "edge1",
            configKey: "members[0]",
            hostClusterName: "host",
            hostMajor: "v3",
            hostIsHost: true,
            tower: { deployment: true, service: { type: "LoadBalancer" } },
            configuredAddress: "http://203.0.113.10:30880",
            ...overrides,
        });

        it("prefers host.agentProxyAddress, else the tower Service's load-balancer address", () => {
            assert.strictEqual(proxyAddress("http://203.0.113.10:30880/", undefined), "http://203.0.113.10:30880");
            assert.strictEqual(
                proxyAddress(undefined, {
                    deployment: true,
                    service: { type: "LoadBalancer", loadBalancerAddress: "http://198.51.100.7:8080" },
                }),
                "http://198.51.100.7:8080",
            );
            assert.strictEqual(
                proxyAddress(undefined, { deployment: true, service: { type: "LoadBalancer" } }),
                undefined,
            );
            assert.deepStrictEqual(towerCheck(input()), { errors: [], proxyAddress: "http://203.0.113.10:30880" });
        });

        it("refuses without any address, saying what the tower Service has", () => {
            const pending = towerCheck(input({ configuredAddress: undefined }));
            assert.strictEqual(pending.errors.length, 1);
            assert.match(
                pending.errors[0],
                /member "edge1" \(members\[0\]\.connection: agent\): no proxy address for the agent to dial: host\.agentProxyAddress is not set and the host has Service kubesphere-system\/tower of type LoadBalancer has no load-balancer address \(EXTERNAL-IP pending\)\. Fix: set host\.agentProxyAddress/,
            );
            assert.match(
                towerCheck(input({ configuredAddress: undefined, tower: { deployment: false } })).errors.join("\n"),
                /has no Service kubesphere-system\/tower/,
            );
        });

        it("in a member stack, the fix names host.agentProxyAddress of the host stack", () => {
            const [error] = towerCheck(
                input({ configuredAddress: undefined, hostStack: "acme/kubesphere-federation/fleet-host" }),
            ).errors;
            assert.match(
                error,
                /host\.agentProxyAddress in host stack acme\/kubesphere-federation\/fleet-host is not set .*Fix: set host\.agentProxyAddress in host stack acme\/kubesphere-federation\/fleet-host to where .*, run `pulumi up` of stack acme\/kubesphere-federation\/fleet-host, then this stack's again$/,
            );
        });

        it("refuses a 4.x host without the tower extension, and a 3.x host that is a host without tower", () => {
            assert.match(
                towerCheck(input({ hostMajor: "v4", tower: { deployment: false } })).errors[0],
                /host "host" has no tower .*extension "tower" \(Multi-Cluster Agent Connection\) is not installed\. Fix: install it/,
            );
            assert.match(
                towerCheck(input({ tower: { deployment: false } })).errors[0],
                /runs as a KubeSphere host but has no tower/,
            );
        });

        it("lets a 3.x host that is not a host yet through: ks-installer applies tower with the host role", () => {
            assert.deepStrictEqual(towerCheck(input({ hostIsHost: false, tower: { deployment: false } })).errors, []);
            // A host from another stack cannot be read: only the address is required.
            assert.deepStrictEqual(towerCheck(input({ tower: undefined })).errors, []);
        });
    });

    describe("the join wait", () => {
        it("walks KubeSphere's order: Cluster, agent Deployment, Initialized, AgentAvailable, Ready (4.x: KSCoreReady and the config hash)", () => {
            const detail = (outcome: ReturnType<typeof agentJoinOutcome>) =>
                outcome.state === "pending" ? outcome.detail : outcome.state;
            assert.match(detail(agentJoinOutcome({}, expected)), /the Cluster does not exist on the host yet/);
            assert.match(
                detail(agentJoinOutcome(view([], { agent: undefined }), expected)),
                /the agent Deployment kubesphere-system\/cluster-agent does not exist on the member/,
            );
            assert.match(
                detail(agentJoinOutcome(view([]), expected)),
                /tower has not initialized the proxy Cluster \(Initialized: no condition yet\): check that tower runs on the host/,
            );
            assert.match(
                detail(agentJoinOutcome(view(["Initialized"]), expected)),
                /the agent has not connected to tower \(AgentAvailable: no condition yet\): check egress from the member to the proxy address http:\/\/203\.0\.113\.10:30880.*"Unauthorized agent" there means/,
            );
            assert.match(
                detail(agentJoinOutcome(view(["Initialized", "AgentAvailable"]), expected)),
                /KubeSphere has not reported Ready through the tunnel/,
            );
            assert.deepStrictEqual(agentJoinOutcome(view(["Initialized", "AgentAvailable", "Ready"]), expected), {
                state: "done",
            });
            const v4 = { ...expected, ksCoreConfigHash: "cbf29ce484222325" };
            assert.match(
                detail(agentJoinOutcome(view(["Initialized", "AgentAvailable", "Ready"]), v4)),
                /has not installed ks-core on the member through the tunnel yet/,
            );
            const installed = view(["Initialized", "AgentAvailable", "Ready", "KSCoreReady"]);
            assert.match(detail(agentJoinOutcome(installed, v4)), /kubesphere\.io\/config-hash differs/);
            installed.cluster!.annotations = { "kubesphere.io/config-hash": "cbf29ce484222325" };
            assert.deepStrictEqual(agentJoinOutcome(installed, v4), { state: "done" });
        });

        it("after a rotation, waits until tower wrote a new kubeconfig (the agent reconnected with the new token)", () => {
            const rotated = { ...expected, kubeconfigDigestBefore: "digest-1" };
            const joined = view(["Initialized", "AgentAvailable", "Ready"]);
            joined.cluster!.kubeconfigDigest = "digest-1";
            const outcome = agentJoinOutcome(joined, rotated);
            assert.match(
                outcome.state === "pending" ? outcome.detail : "",
                /the agent has not reconnected with the rotated token yet/,
            );
            joined.cluster!.kubeconfigDigest = "digest-2";
            assert.deepStrictEqual(agentJoinOutcome(joined, rotated), { state: "done" });
        });

        it("fails at once when either side's token was changed by hand, without quoting a token", () => {
            const onMember = agentJoinOutcome(
                view(["Initialized", "AgentAvailable", "Ready"], { agent: { token: "f".repeat(64) } }),
                expected,
            );
            assert.strictEqual(onMember.state, "failed");
            const message = onMember.state === "failed" ? onMember.message : "";
            assert.match(
                message,
                /member "edge1": the --token of Deployment kubesphere-system\/cluster-agent on the member no longer hold\(s\) the token the program set, so tower refuses the agent \("Unauthorized agent"\)\. Fix: run `pulumi up --refresh`/,
            );
            assert.ok(!message.includes(TOKEN) && !message.includes("f".repeat(64)));
            const onHost = agentJoinOutcome(view([], { cluster: { token: "x", conditions: [] } }), expected);
            assert.match(
                onHost.state === "failed" ? onHost.message : "",
                /the Cluster's spec\.connection\.token on the host no longer/,
            );
        });

        it("times out naming what is still missing, with progress on the way", async () => {
            let time = 0;
            const logs: string[] = [];
            await assert.rejects(
                waitForAgentJoin({
                    expected,
                    read: async () => view(["Initialized"]),
                    timeoutMs: 30_000,
                    log: (message) => logs.push(message),
                    now: () => time,
                    sleep: async (ms) => {
                        time += ms;
                    },
                }),
                /member "edge1": not joined through the agent after 30s: the agent has not connected to tower .*check egress from the member to the proxy address/,
            );
            assert.ok(
                logs.some((line) =>
                    /member "edge1": waiting for the join through tower \(\d+s\): the agent has not connected/.test(
                        line,
                    ),
                ),
                logs.join("\n"),
            );
        });

        it("returns once joined", async () => {
            const states = [view(["Initialized"]), view(["Initialized", "AgentAvailable", "Ready"])];
            let time = 0;
            const result = await waitForAgentJoin({
                expected,
                read: async () => states.shift() ?? view(["Initialized", "AgentAvailable", "Ready"]),
                timeoutMs: 30_000,
                log: () => undefined,
                now: () => time,
                sleep: async (ms) => void (time += ms),
            });
            assert.ok(result.waitedMs > 0);
        });
    });
});
