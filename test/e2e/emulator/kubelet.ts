/**
 * The kubelet, for the pods the emulator stands for (ks-installer on 3.x clusters, the cluster-agent on members,
 * ks-core's ks-apiserver and ks-controller-manager on 4.x members once installed). TEST ONLY. The sandbox runs no
 * kubelet, scheduler or ReplicaSet controller, so the emulator writes each such Pod object itself and its status the
 * way a kubelet writes it (test/e2e/sandbox/README.md, "Pods"):
 * - running: phase Running, conditions PodScheduled/Initialized/ContainersReady/Ready True, the container
 *   `ready: true, started: true` in `state.running`;
 * - unpullable: phase Pending, Ready and ContainersReady False (reason ContainersNotReady, message "containers with
 *   unready status: [<container>]", kubernetes pkg/kubelet/status/generate.go), the container waiting: first
 *   `ErrImagePull` with the container runtime's error (pkg/kubelet/images/image_manager.go returns the CRI error's
 *   text as the message; the text here is containerd's for a registry that refuses the pull), then
 *   `ImagePullBackOff` with "Back-off pulling image \"<image>\"" (same file) on every later pass.
 * - crashLoop: phase Running, the container waiting `CrashLoopBackOff` with "back-off <d> restarting failed
 *   container=<c> pod=<pod>_<ns>(<uid>)" (pkg/kubelet/kuberuntime/kuberuntime_manager.go), its restartCount growing
 *   by one per pass, `lastState.terminated` exit code 1, reason Error.
 * Which behaviour a pod has is a test-only switch per cluster and workload: the pods file named in the emulator's
 * config (`podsFile`, `{"<cluster>": {"<workload>": "unpullable"}}`), written by `Sandbox.setEmulatedPod` and read
 * on every pass; no file or no entry: running. Nothing KubeSphere has.
 */
import { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import * as fs from "fs";
import { fnv1a64Hex } from "./fnv";
import { httpStatus, MERGE_PATCH, withTimeout } from "./kubeApi";
import { ChangeLog } from "./log";
import { stableJson } from "./stableJson";

const REQUEST_TIMEOUT_MS = 3000;

/** What a test makes of a pod: it runs, its image cannot be pulled, or its container exits (1) on every start. */
export type PodBehaviour = "running" | "unpullable" | "crashLoop";

/** A pod's status as JSON (times as RFC 3339 text, as the API server stores them). */
export interface KubeletPodStatus {
    phase: "Pending" | "Running";
    startTime: string;
    conditions: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime: string }>;
    containerStatuses: Array<{
        name: string;
        image: string;
        imageID: string;
        ready: boolean;
        started: boolean;
        restartCount: number;
        state: { running?: { startedAt: string }; waiting?: { reason: string; message: string } };
        lastState?: { terminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string } };
    }>;
}

/** One Deployment's pod, as its manifest describes it. */
export interface EmulatedWorkload {
    /** The switch's key and the Deployment's name, e.g. `ks-installer`. */
    workload: string;
    namespace: string;
    labels: Record<string, string>;
    container: string;
    image: string;
    serviceAccountName?: string;
    /** The pod template's `imagePullSecrets` names. */
    imagePullSecrets?: string[];
}

/** The behaviour the pods file gives `workload` on `cluster` (read on every call); running without one. */
export function podBehaviour(podsFile: string | undefined, cluster: string, workload: string): PodBehaviour {
    if (podsFile === undefined) return "running";
    try {
        const all = JSON.parse(fs.readFileSync(podsFile, "utf8")) as Record<string, Record<string, unknown>>;
        const behaviour = all[cluster]?.[workload];
        return behaviour === "unpullable" || behaviour === "crashLoop" ? behaviour : "running";
    } catch {
        // No file (the usual case), or one being rewritten: running.
        return "running";
    }
}

/**
 * Whether an image reference names Docker Hub: no registry part (the first path segment has no "." or ":" and is
 * not "localhost", as the container runtimes' reference parsing has it), or docker.io itself.
 */
export function fromDockerHub(image: string): boolean {
    const slash = image.indexOf("/");
    if (slash < 0) return true;
    const first = image.slice(0, slash);
    const isRegistry = first.includes(".") || first.includes(":") || first === "localhost";
    return !isRegistry || first === "docker.io" || first === "index.docker.io";
}

/** The pod's name, as a Deployment's ReplicaSet would make it: `<deployment>-<10 hex>-<5 hex>`, stable per cluster. */
export function podName(cluster: string, workload: EmulatedWorkload): string {
    const hash = fnv1a64Hex(Buffer.from(`${cluster}/${workload.namespace}/${workload.workload}/${workload.image}`));
    return `${workload.workload}-${hash.slice(0, 10)}-${hash.slice(10, 15)}`;
}

/**
 * The containerd error a kubelet shows as ErrImagePull's message when the registry refuses the pull (what users of
 * a withdrawn or login-only image see: docs/kubesphere.md §11).
 */
export function pullRefusedMessage(image: string): string {
    const reference = image.includes("/") && image.split("/")[0].includes(".") ? image : `docker.io/${image}`;
    return (
        `rpc error: code = Unknown desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ` +
        `pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`
    );
}

/**
 * The status a kubelet writes for the pod. `pulls` counts the failed pulls (1: ErrImagePull, then ImagePullBackOff)
 * or the container's exits so far (its restartCount); `since` is when the pod was started (RFC 3339); `pod` its
 * name and UID, for CrashLoopBackOff's message.
 */
export function kubeletStatus(
    workload: EmulatedWorkload,
    behaviour: PodBehaviour,
    since: string,
    pulls: number,
    pod: { name: string; uid: string } = { name: workload.workload, uid: "" },
): KubeletPodStatus {
    const scheduled = { type: "PodScheduled", status: "True", lastTransitionTime: since };
    const initialized = { type: "Initialized", status: "True", lastTransitionTime: since };
    if (behaviour === "running") {
        return {
            phase: "Running",
            startTime: since,
            conditions: [
                initialized,
                { type: "Ready", status: "True", lastTransitionTime: since },
                { type: "ContainersReady", status: "True", lastTransitionTime: since },
                scheduled,
            ],
            containerStatuses: [
                {
                    name: workload.container,
                    image: workload.image,
                    imageID: `${workload.image.split(":")[0]}@sha256:${fnv1a64Hex(Buffer.from(workload.image)).repeat(4)}`,
                    ready: true,
                    started: true,
                    restartCount: 0,
                    state: { running: { startedAt: since } },
                },
            ],
        };
    }
    const notReady = {
        status: "False",
        reason: "ContainersNotReady",
        message: `containers with unready status: [${workload.container}]`,
        lastTransitionTime: since,
    };
    if (behaviour === "crashLoop") {
        // kuberuntime_manager.go doBackOff: "back-off %s restarting failed container=%s pod=%s", the back-off doubling
        // from 10 s up to 5 min; the pod stays Running (its sandbox runs), the container waits.
        const backOffSeconds = Math.min(300, 10 * 2 ** Math.max(0, Math.min(5, pulls - 1)));
        const backOff =
            backOffSeconds >= 60 ? `${Math.floor(backOffSeconds / 60)}m${backOffSeconds % 60}s` : `${backOffSeconds}s`;
        return {
            phase: "Running",
            startTime: since,
            conditions: [
                initialized,
                { type: "Ready", ...notReady },
                { type: "ContainersReady", ...notReady },
                scheduled,
            ],
            containerStatuses: [
                {
                    name: workload.container,
                    image: workload.image,
                    imageID: `${workload.image.split(":")[0]}@sha256:${fnv1a64Hex(Buffer.from(workload.image)).repeat(4)}`,
                    ready: false,
                    started: false,
                    restartCount: pulls,
                    state: {
                        waiting: {
                            reason: "CrashLoopBackOff",
                            message: `back-off ${backOff} restarting failed container=${workload.container} pod=${pod.name}_${workload.namespace}(${pod.uid})`,
                        },
                    },
                    lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: since, finishedAt: since } },
                },
            ],
        };
    }
    const waiting =
        pulls <= 1
            ? { reason: "ErrImagePull", message: pullRefusedMessage(workload.image) }
            : { reason: "ImagePullBackOff", message: `Back-off pulling image "${workload.image}"` };
    return {
        phase: "Pending",
        startTime: since,
        conditions: [initialized, { type: "Ready", ...notReady }, { type: "ContainersReady", ...notReady }, scheduled],
        containerStatuses: [
            {
                name: workload.container,
                image: workload.image,
                imageID: "",
                ready: false,
                started: false,
                restartCount: 0,
                state: { waiting },
            },
        ],
    };
}

/** Plays the kubelet for one cluster's emulated pods. */
export class EmulatedKubelet {
    /** Per pod: failed pulls so far, and the status last written (to write only on change). */
    private readonly pods = new Map<string, { pulls: number; written?: string; since: string; uid: string }>();

    constructor(
        private readonly cluster: string,
        private readonly core: CoreV1Api,
        private readonly podsFile: string | undefined,
        private readonly changes: ChangeLog,
    ) {}

    /** The pod last played per workload, so a new image (a rollout) replaces it. */
    private readonly current = new Map<string, { namespace: string; name: string }>();

    /** Writes the workload's Pod and status for this pass; true when its container runs. */
    async play(workload: EmulatedWorkload): Promise<boolean> {
        const switched = podBehaviour(this.podsFile, this.cluster, workload.workload);
        // "unpullable" stands for KubeSphere's withdrawn Docker Hub images: the same image from a registry of the
        // user's own pulls (the program's imageRegistry, docs/kubesphere.md §11).
        const behaviour = switched === "unpullable" && !fromDockerHub(workload.image) ? "running" : switched;
        const name = podName(this.cluster, workload);
        const previous = this.current.get(workload.workload);
        if (previous !== undefined && previous.name !== name) await this.remove(workload.workload);
        this.current.set(workload.workload, { namespace: workload.namespace, name });
        let pod = this.pods.get(name);
        if (pod === undefined) {
            const existing = (await this.readPod(workload.namespace, name)) ?? (await this.createPod(workload, name));
            const started = existing?.status?.startTime as unknown as string | undefined;
            pod = {
                pulls: 0,
                since: started ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
                uid: existing?.metadata?.uid ?? "",
            };
            this.pods.set(name, pod);
        }
        pod.pulls = behaviour === "running" ? 0 : pod.pulls + 1;
        const status = kubeletStatus(workload, behaviour, pod.since, pod.pulls, { name, uid: pod.uid });
        const text = stableJson(status);
        if (pod.written !== text) {
            try {
                await this.core.patchNamespacedPodStatus(
                    { name, namespace: workload.namespace, body: { status } },
                    MERGE_PATCH,
                );
            } catch (err) {
                // Deleted by hand (or with its namespace): a ReplicaSet would make a new one; so does the next pass.
                if (httpStatus(err) === 404) this.pods.delete(name);
                throw err;
            }
            pod.written = text;
        }
        const waiting = status.containerStatuses?.[0]?.state?.waiting;
        this.changes.report(
            `kubelet/${this.cluster}/${workload.workload}`,
            `cluster "${this.cluster}": pod ${workload.namespace}/${name} ${behaviour === "running" ? "running" : `${waiting?.reason ?? "waiting"} (image ${workload.image})`}`,
        );
        return behaviour === "running";
    }

    /** The workload's Deployment is gone (or rolled to another image): its pod goes, as the garbage collector makes it. */
    async remove(workload: string): Promise<void> {
        const previous = this.current.get(workload);
        if (previous === undefined) return;
        this.current.delete(workload);
        this.pods.delete(previous.name);
        try {
            await this.core.deleteNamespacedPod({ name: previous.name, namespace: previous.namespace });
        } catch (err) {
            if (httpStatus(err) !== 404) throw err;
        }
    }

    private async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
        try {
            return await withTimeout(
                this.core.readNamespacedPod({ name, namespace }),
                REQUEST_TIMEOUT_MS,
                `reading pod ${name}`,
            );
        } catch (err) {
            if (httpStatus(err) === 404) return undefined;
            throw err;
        }
    }

    private async createPod(workload: EmulatedWorkload, name: string): Promise<V1Pod | undefined> {
        try {
            return await this.core.createNamespacedPod({
                namespace: workload.namespace,
                body: {
                    metadata: { name, namespace: workload.namespace, labels: workload.labels },
                    spec: {
                        // No nodeName: no Node or kubelet exists to confirm a graceful delete, so a bound pod would stay
                        // Terminating and hold up the deletion of its namespace; an unbound one is deleted at once.
                        ...(workload.serviceAccountName ? { serviceAccountName: workload.serviceAccountName } : {}),
                        ...(workload.imagePullSecrets?.length
                            ? { imagePullSecrets: workload.imagePullSecrets.map((name) => ({ name })) }
                            : {}),
                        containers: [{ name: workload.container, image: workload.image, imagePullPolicy: "Always" }],
                    },
                },
            });
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
            return undefined;
        }
    }
}
