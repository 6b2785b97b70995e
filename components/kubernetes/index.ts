/** Kubernetes plumbing: kubeconfigs, client certificates, the transport of direct reads, polling, Pulumi errors and options. */
export type { KubeconfigAuthMethod } from "./kubeconfig";
export type { UpWait } from "./resourceErrors";
