/**
 * Whether the pods a join needs on the member run (docs/kubesphere.md §11): a pure verdict from the pods listed for a
 * workload to a finding that names the pod, its container, the image and the kubelet's reason and message, with the
 * fix (a registry the nodes can pull from, imagePullSecrets, the node's resources). Pull-secret names only.
 */
import type { ContainerState, PodState } from "../../kubernetes/pods";
import type { KubesphereWorkload } from "../../kubesphere/kubesphereObjects";
import { DiagnosisFacts, Finding, finding } from "./findings";

/** One workload's verdict: `ok` a pod runs, `fail` none does (and why), `skip` not read. */
export interface PodVerdict {
    verdict: "ok" | "fail" | "skip";
    evidence: string;
    fix?: string;
}

const PULL_REASONS = [
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "RegistryUnavailable",
];

function describeSecrets(pod: PodState): string {
    return pod.imagePullSecrets.length === 0
        ? "no imagePullSecrets"
        : `imagePullSecrets: ${pod.imagePullSecrets.join(", ")}`;
}

function waitingText(container: ContainerState): string {
    const waiting = container.waiting ?? {};
    return `${waiting.reason ?? "waiting"}${waiting.message ? ` (${waiting.message})` : ""}`;
}

function terminationText(state: { reason?: string; exitCode?: number } | undefined): string {
    if (state === undefined) return "unknown";
    return `${state.reason ?? "exited"}${state.exitCode !== undefined ? `, exit code ${state.exitCode}` : ""}`;
}

/** Why one pod does not run, or undefined when every container runs and is ready. */
function podProblem(
    pod: PodState,
    workload: KubesphereWorkload,
    configKey: string | undefined,
): { evidence: string; fix: string } | undefined {
    const at = `pod ${pod.namespace}/${pod.name}`;
    const ns = `-n ${pod.namespace}`;
    if (pod.unscheduled !== undefined) {
        return {
            evidence: `${at} is ${pod.phase ?? "Pending"}, not scheduled: ${pod.unscheduled.reason ?? "Unschedulable"}${pod.unscheduled.message ? ` (${pod.unscheduled.message})` : ""}`,
            fix: `give the member's nodes the resources the scheduler asks for (free or add CPU and memory, or fix the taints and node selectors it names): kubectl ${ns} describe pod ${pod.name}`,
        };
    }
    for (const container of pod.containers) {
        const reason = container.waiting?.reason;
        if (reason !== undefined && PULL_REASONS.includes(reason)) {
            return {
                evidence: `${at} container ${container.name} cannot pull image ${container.image}: ${waitingText(container)}; ${describeSecrets(pod)}`,
                fix: workload.imageFromRegistryKey
                    ? `copy ${container.image} to a registry the member's nodes can reach and set ${configKey ?? "members[i]"}.imageRegistry ` +
                      `(or host.imageRegistry, for every member) to it, with ${configKey ?? "members[i]"}.imagePullSecrets for a registry that needs a login ` +
                      `(docs/configuration.md); then run \`pulumi up\` again`
                    : `make ${container.image} pullable from the member's nodes: copy it to a registry they can reach and point deploy/${workload.deployment} at it ` +
                      `(kubectl ${ns} set image deploy/${workload.deployment} ${container.name}=<registry>/${container.image.replace(/^docker\.io\//, "")}), ` +
                      `or, for a registry that needs a login, add its Secret to the Deployment's imagePullSecrets; then run \`pulumi up\` again`,
            };
        }
        if (reason === "CrashLoopBackOff" || container.terminated !== undefined) {
            const last = container.terminated ?? container.lastTerminated;
            const oom = last?.reason === "OOMKilled";
            return {
                evidence: `${at} container ${container.name} (image ${container.image}) ${reason === "CrashLoopBackOff" ? "is in CrashLoopBackOff" : "exited"}: restarted ${container.restartCount} time(s), last termination ${terminationText(last)}`,
                fix: oom
                    ? `it runs out of memory: raise deploy/${workload.deployment}'s memory limit or give the node more memory (kubectl ${ns} describe pod ${pod.name})`
                    : `read why it exits: kubectl ${ns} logs ${pod.name} -c ${container.name} --previous; then run \`pulumi up\` again`,
            };
        }
        if (reason !== undefined) {
            return {
                evidence: `${at} container ${container.name} (image ${container.image}) is waiting: ${waitingText(container)}`,
                fix: `see the pod's events: kubectl ${ns} describe pod ${pod.name}`,
            };
        }
        if (!container.running || !container.ready) {
            return {
                evidence: `${at} container ${container.name} (image ${container.image}) is ${container.running ? "running, not ready" : `not running (pod phase ${pod.phase ?? "unknown"})`}`,
                fix: `see the pod's events and log: kubectl ${ns} describe pod ${pod.name}; kubectl ${ns} logs ${pod.name} -c ${container.name}`,
            };
        }
    }
    return undefined;
}

/**
 * The verdict for a workload's pods: ok when one pod has every container running and ready; else the first pod's
 * problem (an image it cannot pull, a crash loop with its restarts and last termination, a pod the scheduler cannot
 * place); no pod at all is its own verdict.
 */
export function podVerdict(workload: KubesphereWorkload, pods: PodState[], configKey?: string): PodVerdict {
    if (pods.length === 0) {
        return {
            verdict: "fail",
            evidence: `no ${workload.name} pod in ${workload.namespace} (label ${workload.labelSelector}): nothing ${workload.role}`,
            fix: `check its Deployment: kubectl -n ${workload.namespace} get deploy/${workload.deployment} (scaled to 0, deleted, or its ReplicaSet cannot create pods: kubectl -n ${workload.namespace} describe rs -l ${workload.labelSelector.replace(/ /g, "")})`,
        };
    }
    const problems = pods.map((pod) => ({ pod, problem: podProblem(pod, workload, configKey) }));
    const healthy = problems.find((entry) => entry.problem === undefined);
    if (healthy !== undefined) {
        const images = healthy.pod.containers.map((container) => container.image).join(", ");
        return { verdict: "ok", evidence: `pod ${healthy.pod.namespace}/${healthy.pod.name} runs (${images})` };
    }
    const first = problems[0].problem!;
    return { verdict: "fail", evidence: first.evidence, fix: first.fix };
}

/**
 * The first container of `pods` that cannot pull its image (the kubelet's ImagePullBackOff, ErrImagePull, …), when
 * no pod of the workload runs: the pre-flight's question (members/imagePreflight.ts). Undefined when one runs.
 */
export function pullFailureOf(pods: PodState[]): { pod: PodState; container: ContainerState } | undefined {
    if (pods.some((pod) => pod.containers.length > 0 && pod.containers.every((c) => c.running && c.ready)))
        return undefined;
    for (const pod of pods) {
        const container = pod.containers.find((found) => PULL_REASONS.includes(found.waiting?.reason ?? ""));
        if (container !== undefined) return { pod, container };
    }
    return undefined;
}

/** The check over every workload the diagnosis read: the first failing one is the finding; all running is ok. */
export function checkPods(facts: DiagnosisFacts): Finding {
    const read = facts.pods;
    if (read === undefined || read.length === 0) return finding("pods", "skip", "not read");
    const verdicts = read.map((entry) =>
        entry.pods === undefined
            ? ({ verdict: "skip", evidence: `${entry.workload.name}: ${entry.problem ?? "not read"}` } as PodVerdict)
            : podVerdict(entry.workload, entry.pods, facts.configKey),
    );
    const failed = verdicts.find((verdict) => verdict.verdict === "fail");
    if (failed !== undefined) return finding("pods", "fail", failed.evidence, failed.fix);
    const verdict = verdicts.every((found) => found.verdict === "skip") ? "skip" : "ok";
    return finding("pods", verdict, verdicts.map((found) => found.evidence).join("; "));
}
