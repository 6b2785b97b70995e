/**
 * The pre-flight's image checks (docs/preflight-checks.md, its image entries): what the program can know before any change
 * about images it will make the member pull. Pure; checkBeforeJoin.ts reads the facts. Secret names only.
 *
 * - A Secret named in `imagePullSecrets` that does not exist where the pods run is refused: the kubelet then pulls
 *   without it (it only records an event), a registry that needs a login answers ImagePullBackOff, and the join
 *   waits until its timeout for a pod that never starts. Naming a Secret is the user's statement that it is needed.
 * - A 4.x member not imported yet whose ks-core pods already cannot pull their image is warned about, not refused:
 *   the host's install renders the same images again unless a registry of the user's own is set, but the pods are
 *   the member's (a node may gain access, someone may fix the Deployment meanwhile), and the Ready wait's diagnosis
 *   names the pod if it stays so.
 */
import type { PodState } from "../kubernetes/pods";
import type { SecretPresence } from "../kubernetes/pullSecrets";
import type { KubesphereWorkload } from "../kubesphere/kubesphereObjects";
import { pullFailureOf } from "./diagnosis/podChecks";

export interface ImagePreflightInput {
    member: string;
    configKey: string;
    /** The namespace the pods using the pull secrets run in (kubesphere-system). */
    namespace: string;
    /** What pulls with the secrets, for messages: "the cluster-agent", "ks-core's pods". */
    pulledBy: string;
    /** The presence on the member of the Secrets the program names as imagePullSecrets; undefined when not read (none named). */
    pullSecrets?: SecretPresence[];
    /** The registry the program makes the member pull ks-core from (4.x), undefined: the chart's default. */
    ksCoreRegistry?: string;
    /** 4.x, not imported yet: the pods of ks-core's workloads as they are before the join; undefined when not read. */
    ksCorePods?: Array<{ workload: KubesphereWorkload; pods?: PodState[] }>;
}

export interface ImagePreflightVerdict {
    errors: string[];
    warnings: string[];
}

/** The refusals and warnings about images, each naming the member, the key or object, what was found and the fix. */
export function imagePreflightVerdict(input: ImagePreflightInput): ImagePreflightVerdict {
    const errors: string[] = [];
    const warnings: string[] = [];
    const prefix = `member "${input.member}"`;
    for (const secret of input.pullSecrets ?? []) {
        if (secret.found === false) {
            errors.push(
                `${prefix}: ${input.configKey}.imagePullSecrets (or host.imagePullSecrets) names Secret "${secret.name}", which does not exist ` +
                    `in namespace ${input.namespace} on the member: ${input.pulledBy} would pull without it, and a registry that needs a login ` +
                    `refuses (ImagePullBackOff) while the join waits. Fix: create it on the member first (kubectl -n ${input.namespace} create ` +
                    `secret docker-registry ${secret.name} --docker-server=<registry> --docker-username=<user> --docker-password=<password>; ` +
                    `a member without that namespace yet needs \`kubectl create namespace ${input.namespace}\` before it), ` +
                    `or take it out of imagePullSecrets`,
            );
        } else if (secret.found === undefined) {
            warnings.push(
                `${prefix}: could not check that Secret "${secret.name}" (${input.configKey}.imagePullSecrets) exists in namespace ` +
                    `${input.namespace} on the member: ${secret.problem ?? "no answer"}. If it does not, ${input.pulledBy} pulls without it`,
            );
        }
    }
    for (const { workload, pods } of input.ksCorePods ?? []) {
        const failure = pods === undefined ? undefined : pullFailureOf(pods);
        if (failure === undefined) continue;
        const { pod, container } = failure;
        // A registry of the user's own that the failing image does not come from: the install replaces the image.
        if (input.ksCoreRegistry !== undefined && !container.image.startsWith(`${input.ksCoreRegistry}/`)) continue;
        warnings.push(
            `${prefix}: its ${workload.name} pod ${pod.namespace}/${pod.name} already cannot pull image ${container.image} ` +
                `(${container.waiting?.reason}${container.waiting?.message ? `: ${container.waiting.message}` : ""}), and the host's install of ` +
                `ks-core will ask for ${input.ksCoreRegistry === undefined ? "the same image" : `images from ${input.ksCoreRegistry} again`}: ` +
                `the join would wait for it until ${input.configKey}.readyTimeoutSeconds. Fix: copy KubeSphere's images to a registry the ` +
                `member's nodes can reach and set ${input.configKey}.imageRegistry (or host.imageRegistry), with imagePullSecrets for a ` +
                `registry that needs a login (docs/configuration.md)`,
        );
    }
    return { errors, warnings };
}
