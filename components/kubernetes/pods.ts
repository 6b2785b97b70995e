/**
 * The pods behind a workload, as their kubelet reports them (phase, the PodScheduled condition, each container's
 * state, restarts and last termination): read by label selector, for the diagnosis and the waits' progress lines
 * (components/members/diagnosis/podChecks.ts). Reads only; of the pull secrets only their names.
 */
import { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { ParsedKubeconfig } from "./kubeconfig";
import { clientConfig, describeKubeError, withTimeout } from "./transport";

/** One container of a pod, as `status.containerStatuses[]` says. */
export interface ContainerState {
    name: string;
    image: string;
    ready: boolean;
    restartCount: number;
    /** `state.waiting`: why the container does not run (ImagePullBackOff, ErrImagePull, CrashLoopBackOff, …). */
    waiting?: { reason?: string; message?: string };
    running: boolean;
    /** `state.terminated`: the container exited and is not restarted yet. */
    terminated?: { reason?: string; exitCode?: number };
    /** `lastState.terminated`: how the previous run ended (a crash loop's cause). */
    lastTerminated?: { reason?: string; exitCode?: number };
}

/** A pod, as far as the diagnosis needs it. */
export interface PodState {
    namespace: string;
    name: string;
    phase?: string;
    /** The PodScheduled condition when False: the scheduler's reason and message (e.g. "0/3 nodes are available: …"). */
    unscheduled?: { reason?: string; message?: string };
    /** `spec.containers[]` (name, image), also those the kubelet has no status for yet. */
    containers: ContainerState[];
    /** `spec.imagePullSecrets[].name`: names only, never the Secrets' data. */
    imagePullSecrets: string[];
}

/**
 * What a Pod object says, mapped to {@link PodState}.
 * @internal
 */
export function podState(pod: V1Pod): PodState {
    const statuses = pod.status?.containerStatuses ?? [];
    const scheduled = pod.status?.conditions?.find((found) => found.type === "PodScheduled");
    const terminatedOf = (state: { reason?: string; exitCode?: number } | undefined) =>
        state === undefined ? undefined : { reason: state.reason, exitCode: state.exitCode };
    return {
        namespace: pod.metadata?.namespace ?? "",
        name: pod.metadata?.name ?? "",
        phase: pod.status?.phase,
        ...(scheduled?.status === "False"
            ? { unscheduled: { reason: scheduled.reason, message: scheduled.message } }
            : {}),
        containers: (pod.spec?.containers ?? []).map((container) => {
            const status = statuses.find((found) => found.name === container.name);
            return {
                name: container.name,
                image: status?.image || container.image || "",
                ready: status?.ready === true,
                restartCount: status?.restartCount ?? 0,
                running: status?.state?.running !== undefined,
                ...(status?.state?.waiting
                    ? { waiting: { reason: status.state.waiting.reason, message: status.state.waiting.message } }
                    : {}),
                ...(status?.state?.terminated ? { terminated: terminatedOf(status.state.terminated) } : {}),
                ...(status?.lastState?.terminated ? { lastTerminated: terminatedOf(status.lastState.terminated) } : {}),
            };
        }),
        imagePullSecrets: (pod.spec?.imagePullSecrets ?? []).map((secret) => secret.name ?? "").filter(Boolean),
    };
}

/**
 * The pods in `namespace` matching `labelSelector` (e.g. `app in (ks-install,ks-installer)`). Rejects, saying why,
 * when the cluster does not answer.
 */
export async function readPods(
    kubeconfig: ParsedKubeconfig,
    namespace: string,
    labelSelector: string,
): Promise<PodState[]> {
    const core = clientConfig(kubeconfig).makeApiClient(CoreV1Api);
    try {
        const list = await withTimeout(() => core.listNamespacedPod({ namespace, labelSelector }));
        return list.items.map(podState);
    } catch (err) {
        throw new Error(`listing pods in ${namespace} (${labelSelector}): ${describeKubeError(err)}`);
    }
}
