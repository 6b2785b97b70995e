/**
 * The pod verdicts (components/members/diagnosis/podChecks.ts): each waiting reason a kubelet writes, a running pod, a
 * missing pod, a pod the scheduler cannot place; the Pod object mapped as the kubelet writes it; the check's place
 * first in the diagnosis of a stuck installer; the installer wait's progress line naming the pod.
 */
import * as assert from "assert";
import type { V1Pod } from "@kubernetes/client-node";
import { pollUntilDone } from "../../components/kubernetes/poll";
import { ContainerState, PodState, podState } from "../../components/kubernetes/pods";
import { KS_INSTALLER_WORKLOAD } from "../../components/kubesphere/kubesphereObjects";
import { diagnose } from "../../components/members/diagnosis/diagnose";
import { DiagnosisFacts } from "../../components/members/diagnosis/findings";
import { formatDiagnosis } from "../../components/members/diagnosis/format";
import { checkPods, podVerdict } from "../../components/members/diagnosis/podChecks";
import { readDiagnosisFacts, workloadsFor } from "../../components/members/diagnosis/readFacts";
import { CLUSTER_AGENT_WORKLOAD } from "../../components/kubesphere/tower";
import { parseKubeconfig } from "../../components/kubernetes/kubeconfig";
import { tokenKubeconfig } from "../fixtures/kubeconfigs";
import { fakeClusterAccess, freshV3Facts } from "./pulumiMocks";

const IMAGE = "kubesphere/ks-installer:v3.4.1";
const NAME = "ks-installer-5b9d4c7f8d-x2x7q";

function pod(container: Partial<ContainerState>, extra: Partial<PodState> = {}): PodState {
    return {
        namespace: "kubesphere-system",
        name: NAME,
        phase: "Pending",
        containers: [{ name: "installer", image: IMAGE, ready: false, restartCount: 0, running: false, ...container }],
        imagePullSecrets: [],
        ...extra,
    };
}

describe("pod verdicts (diagnosis/podChecks.ts)", () => {
    it("ImagePullBackOff: names the pod, container, image, reason and the kubelet's message; the fix is a registry or imagePullSecrets", () => {
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod({ waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` } }),
        ]);
        assert.strictEqual(verdict.verdict, "fail");
        assert.strictEqual(
            verdict.evidence,
            `pod kubesphere-system/${NAME} container installer cannot pull image ${IMAGE}: ImagePullBackOff (Back-off pulling image "${IMAGE}"); no imagePullSecrets`,
        );
        assert.match(verdict.fix!, /registry/);
        assert.match(
            verdict.fix!,
            /set image deploy\/ks-installer installer=<registry>\/kubesphere\/ks-installer:v3\.4\.1/,
        );
        assert.match(verdict.fix!, /imagePullSecrets/);
    });

    it("ErrImagePull: the container runtime's error as the kubelet wrote it, and the pull secrets by name only", () => {
        const message = `rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/${IMAGE}": pull access denied`;
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod({ waiting: { reason: "ErrImagePull", message } }, { imagePullSecrets: ["mirror-login"] }),
        ]);
        assert.strictEqual(verdict.verdict, "fail");
        assert.match(
            verdict.evidence,
            /cannot pull image kubesphere\/ks-installer:v3\.4\.1: ErrImagePull \(rpc error: /,
        );
        assert.match(verdict.evidence, /imagePullSecrets: mirror-login$/);
    });

    it("CrashLoopBackOff: the restart count and the last termination's reason and exit code; OOMKilled points at memory", () => {
        const crashing = pod(
            {
                waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container=installer" },
                restartCount: 4,
                lastTerminated: { reason: "Error", exitCode: 1 },
            },
            { phase: "Running" },
        );
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, [crashing]);
        assert.strictEqual(verdict.verdict, "fail");
        assert.strictEqual(
            verdict.evidence,
            `pod kubesphere-system/${NAME} container installer (image ${IMAGE}) is in CrashLoopBackOff: restarted 4 time(s), last termination Error, exit code 1`,
        );
        assert.match(verdict.fix!, /logs ks-installer-5b9d4c7f8d-x2x7q -c installer --previous/);
        const oom = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod(
                {
                    waiting: { reason: "CrashLoopBackOff" },
                    restartCount: 2,
                    lastTerminated: { reason: "OOMKilled", exitCode: 137 },
                },
                { phase: "Running" },
            ),
        ]);
        assert.match(oom.evidence, /last termination OOMKilled, exit code 137/);
        assert.match(oom.fix!, /memory limit/);
    });

    it("Pending and not scheduled: the scheduler's condition message; the fix is the nodes' resources", () => {
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod(
                {},
                {
                    unscheduled: {
                        reason: "Unschedulable",
                        message: "0/3 nodes are available: 3 Insufficient memory.",
                    },
                },
            ),
        ]);
        assert.strictEqual(verdict.verdict, "fail");
        assert.strictEqual(
            verdict.evidence,
            `pod kubesphere-system/${NAME} is Pending, not scheduled: Unschedulable (0/3 nodes are available: 3 Insufficient memory.)`,
        );
        assert.match(verdict.fix!, /resources/);
    });

    it("another waiting reason (CreateContainerConfigError) is named with its message", () => {
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod({ waiting: { reason: "CreateContainerConfigError", message: 'secret "x" not found' } }),
        ]);
        assert.strictEqual(verdict.verdict, "fail");
        assert.match(verdict.evidence, /is waiting: CreateContainerConfigError \(secret "x" not found\)/);
        assert.match(verdict.fix!, /describe pod/);
    });

    it("a running, ready pod passes; one running pod is enough while another cannot pull", () => {
        const running = pod({ running: true, ready: true }, { phase: "Running", name: "ks-installer-new" });
        assert.deepStrictEqual(podVerdict(KS_INSTALLER_WORKLOAD, [running]), {
            verdict: "ok",
            evidence: `pod kubesphere-system/ks-installer-new runs (${IMAGE})`,
        });
        const stuck = pod({ waiting: { reason: "ImagePullBackOff" } });
        assert.strictEqual(podVerdict(KS_INSTALLER_WORKLOAD, [stuck, running]).verdict, "ok");
        const notReady = podVerdict(KS_INSTALLER_WORKLOAD, [
            pod({ running: true, ready: false }, { phase: "Running" }),
        ]);
        assert.strictEqual(notReady.verdict, "fail");
        assert.match(notReady.evidence, /is running, not ready/);
    });

    it("no pod at all is its own verdict, naming the label and the Deployment", () => {
        const verdict = podVerdict(KS_INSTALLER_WORKLOAD, []);
        assert.strictEqual(verdict.verdict, "fail");
        assert.strictEqual(
            verdict.evidence,
            "no ks-installer pod in kubesphere-system (label app in (ks-install,ks-installer)): nothing applies the host's jwtSecret and clusterRole",
        );
        assert.match(verdict.fix!, /get deploy\/ks-installer/);
    });

    it("the check: skip when not read or not listed, the listing's problem kept, the failing workload's finding", () => {
        const facts = (pods: DiagnosisFacts["pods"]): DiagnosisFacts => ({
            member: "member1",
            configKey: "members[0]",
            hostMajor: "v3",
            pods,
        });
        assert.strictEqual(checkPods(facts(undefined)).verdict, "skip");
        const unlisted = checkPods(facts([{ workload: KS_INSTALLER_WORKLOAD, problem: "listing pods: HTTP 403" }]));
        assert.deepStrictEqual([unlisted.verdict, unlisted.evidence], ["skip", "ks-installer: listing pods: HTTP 403"]);
        const failing = checkPods(
            facts([{ workload: KS_INSTALLER_WORKLOAD, pods: [pod({ waiting: { reason: "ErrImagePull" } })] }]),
        );
        assert.strictEqual(failing.verdict, "fail");
        assert.strictEqual(failing.title, "KubeSphere's pods on the member");
    });
});

describe("which pods the diagnosis reads (readFacts.ts workloadsFor)", () => {
    it("3.x: ks-installer; an agent member: the cluster-agent too (label app=agent); 4.x: ks-core's pods once installed", () => {
        assert.deepStrictEqual(
            workloadsFor("v3", freshV3Facts("m")).map((workload) => workload.name),
            ["ks-installer"],
        );
        assert.deepStrictEqual(
            workloadsFor("v3", freshV3Facts("m"), true).map((workload) => workload.name),
            ["ks-installer", "cluster-agent"],
        );
        assert.deepStrictEqual(workloadsFor("v4", { kubeSystemUid: "u" }), []);
        assert.deepStrictEqual(
            workloadsFor("v4", { kubeSystemUid: "u" }, false, true).map((workload) => workload.labelSelector),
            ["app=ks-apiserver", "app=ks-controller-manager"],
            "4.x, once the host reports KSCoreReady",
        );
        assert.strictEqual(CLUSTER_AGENT_WORKLOAD.labelSelector, "app=agent");
        const verdict = podVerdict(
            CLUSTER_AGENT_WORKLOAD,
            [
                {
                    namespace: "kubesphere-system",
                    name: "cluster-agent-1",
                    phase: "Pending",
                    containers: [
                        {
                            name: "agent",
                            image: "kubesphere/tower:v0.2.1",
                            ready: false,
                            restartCount: 0,
                            running: false,
                            waiting: {
                                reason: "ImagePullBackOff",
                                message: 'Back-off pulling image "kubesphere/tower:v0.2.1"',
                            },
                        },
                    ],
                    imagePullSecrets: [],
                },
            ],
            "members[1]",
        );
        // The program decides the agent's image: the fix is its config key, not a kubectl edit the next up undoes.
        assert.match(
            verdict.fix!,
            /^copy kubesphere\/tower:v0\.2\.1 to a registry the member's nodes can reach and set members\[1\]\.imageRegistry \(or host\.imageRegistry, for every member\) to it, with members\[1\]\.imagePullSecrets/,
        );
    });
});

describe("pods as the kubelet writes them (kubernetes/pods.ts podState)", () => {
    it("maps phase, the PodScheduled condition, container states, restarts, last termination and pull-secret names", () => {
        const object: V1Pod = {
            metadata: { name: NAME, namespace: "kubesphere-system" },
            spec: {
                containers: [{ name: "installer", image: IMAGE }],
                imagePullSecrets: [{ name: "mirror-login" }],
            },
            status: {
                phase: "Pending",
                conditions: [{ type: "PodScheduled", status: "True" }],
                containerStatuses: [
                    {
                        name: "installer",
                        image: IMAGE,
                        imageID: "",
                        ready: false,
                        restartCount: 0,
                        state: {
                            waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` },
                        },
                    },
                ],
            },
        };
        assert.deepStrictEqual(podState(object), {
            namespace: "kubesphere-system",
            name: NAME,
            phase: "Pending",
            containers: [
                {
                    name: "installer",
                    image: IMAGE,
                    ready: false,
                    restartCount: 0,
                    running: false,
                    waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` },
                },
            ],
            imagePullSecrets: ["mirror-login"],
        });
        const unscheduled = podState({
            metadata: { name: "p", namespace: "n" },
            spec: { containers: [{ name: "c", image: "i" }] },
            status: {
                phase: "Pending",
                conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes" }],
            },
        });
        assert.deepStrictEqual(unscheduled.unscheduled, { reason: "Unschedulable", message: "0/1 nodes" });
        assert.strictEqual(unscheduled.containers[0].image, "i", "the spec's image before the kubelet reports one");
    });
});

describe("the pods in the diagnosis of a stuck 3.x installer", () => {
    it("the first line names the pod, image and ImagePullBackOff, before the jwtSecret the installer did not apply", async () => {
        const member = parseKubeconfig(tokenKubeconfig("member1", "https://127.0.0.1:6443"));
        const hostKubeconfig = parseKubeconfig(tokenKubeconfig("host", "https://127.0.0.1:6444"));
        const stuck = pod({ waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE}"` } });
        const listed: string[] = [];
        const access = fakeClusterAccess({
            readClusterFacts: async (cluster) =>
                cluster === "host"
                    ? {
                          ...freshV3Facts("host"),
                          installer: { clusterRole: "host", version: "v3.4.1" },
                          config: { jwtSecret: "hostSecret0123456789abcdefghijkl", layout: "v3", clusterRole: "host" },
                      }
                    : {
                          ...freshV3Facts(cluster),
                          installer: {
                              clusterRole: "member",
                              jwtSecret: "hostSecret0123456789abcdefghijkl",
                              version: "v3.4.1",
                          },
                      },
            readPods: async (_kubeconfig, namespace, selector) => {
                listed.push(`${namespace} ${selector}`);
                return [stuck];
            },
        });
        const input = {
            member: "member1",
            configKey: "members[0]",
            hostMajor: "v3" as const,
            hostClusterName: "host",
            memberKubeconfig: member,
            hostKubeconfig,
            credentials: "kubeconfig" as const,
            withoutCluster: true,
        };
        const withoutPods = await readDiagnosisFacts(input, access);
        assert.strictEqual(withoutPods.pods, undefined, "no pod read unless asked (the pre-flight, previews)");
        assert.deepStrictEqual(listed, []);
        const facts = await readDiagnosisFacts({ ...input, withPods: true }, access);
        assert.deepStrictEqual(listed, ["kubesphere-system app in (ks-install,ks-installer)"]);
        const text = formatDiagnosis(diagnose(facts), 'member "member1": ks-installer did not apply …');
        assert.strictEqual(
            text.split("\n")[0].split(". Fix: ")[0],
            `member "member1": KubeSphere's pods on the member: pod kubesphere-system/${NAME} container installer cannot pull image ${IMAGE}: ImagePullBackOff (Back-off pulling image "${IMAGE}"); no imagePullSecrets`,
        );
    });

    it("a progress line of a wait that is waiting adds the note, read once per progress interval", async () => {
        let clock = 0;
        let notes = 0;
        const lines: string[] = [];
        await assert.rejects(
            pollUntilDone({
                check: async () => ({ state: "pending", detail: "kubesphere-config: jwtSecret is not the host's yet" }),
                timeoutMs: 25_000,
                log: (line) => lines.push(line),
                progress: (seconds, detail) => `waiting (${seconds}s; ${detail})`,
                progressNote: async () => {
                    notes += 1;
                    return `pod kubesphere-system/${NAME} container installer cannot pull image ${IMAGE}: ImagePullBackOff`;
                },
                done: () => "done",
                timeout: () => "timed out",
                unreachable: () => "unreachable",
                now: () => clock,
                sleep: async (ms) => {
                    clock += ms;
                },
            }),
            /timed out/,
        );
        assert.strictEqual(notes, lines.length);
        assert.strictEqual(lines.length, 2);
        assert.match(lines[0], /^waiting \(10s; kubesphere-config: .*\); pod kubesphere-system\/.* ImagePullBackOff$/);
    });
});
