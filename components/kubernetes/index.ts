/** Kubernetes plumbing: kubeconfigs, the read-only client the pre-flights and waits use, polling, Pulumi errors. */
export type { KubeconfigAuthMethod } from "./kubeconfig";
export type { UpWait } from "./resourceErrors";
