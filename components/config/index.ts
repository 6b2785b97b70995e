/** Config: what a federation is made of (host, members, kubeconfig sources), parsed and checked before anything runs. */
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
export { FederationConfigError, FederationConfigErrors } from "./errors";
