/**
 * kubesphere-federation as a library: the public entry point (package.json `exports`). Everything a program needs to
 * join KubeSphere member clusters to a host: the two components, the host interface members take, and the config
 * parser the repository's own program uses. Other modules under components/ are internal; their declarations ship
 * only because these types refer to them (helpers tagged internal are stripped from the .d.ts files).
 *
 * Flow: config (configSchema.ts) → host (hostCluster.ts) → members (memberCluster.ts) → KubeSphere objects
 * (kubesphereObjects.ts). See README "Use it from your own program" and "Architecture".
 */
export { HostCluster } from "./hostCluster";
export type { FederationHost, HostClusterArgs, HostReadiness } from "./hostCluster";
export { MemberCluster } from "./memberCluster";
export type { ClusterStatus, MemberClusterArgs, MemberPreflight, MemberSettingsApplied } from "./memberCluster";
export type { ClusterReadiness } from "./kubesphereObjects";
export { IMPORT_CREDENTIALS, MEMBER_CONNECTIONS, MEMBER_PROVIDERS, parseFederationConfig } from "./configSchema";
export type {
    FederationConfig,
    HostConfig,
    ImportCredentials,
    KubeconfigSource,
    MemberConfig,
    MemberConnection,
    MemberProvider,
} from "./configSchema";
export { defaultImportCredentials } from "./importCredentials";
export type { KubeconfigAuthMethod } from "./kubeconfig";
export { FederationConfigError, FederationConfigErrors } from "./errors";
