import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { agentToken } from "./agentConnection";
import {
    afterAgentReconnected,
    checkTower,
    createAgentResources,
    rotatedFirstOnHost,
    waitForAgentJoined,
} from "./agentMember";
import {
    DEFAULT_INSTALLER_TIMEOUT_SECONDS,
    DEFAULT_READY_TIMEOUT_SECONDS,
    ImportCredentials,
    MemberConnection,
    MemberProvider,
} from "../config/configSchema";
import { FederationHost, HostReadiness, sharedHostFacts, sharedMemberFacts } from "../host/hostCluster";
import {
    checkImport,
    defaultImportCredentials,
    ImportCheck,
    isKubeSphereRenewal,
    serviceAccountKubeconfig,
} from "./importCredentials";
import { createImportServiceAccount } from "./importServiceAccount";
import { ParsedKubeconfig, parsedKubeconfigOutput, parseKubeconfig, withServer } from "../kubernetes/kubeconfig";
import { ClusterAccess, currentClusterAccess } from "../kubesphere/clusterAccess";
import { describeInstall, KubesphereInstall, ksCoreConfigHash } from "../kubesphere/kubesphereVersion";
import {
    ClusterCondition,
    clusterObject,
    ClusterReadiness,
    clusterReadiness,
    ksInstallerPatch,
    memberInstallerSpec,
} from "../kubesphere/kubesphereObjects";
import { appliedSignalFor, waitForMemberInstaller } from "./memberInstaller";
import { diagnose, DiagnosisInput, formatDiagnosis, readDiagnosisFacts, readyChecksBeforeJoin } from "./diagnosis";
import { ClusterJoinState, waitForClusterJoin } from "./memberJoin";
import { FleetChecked, FleetMember } from "../kubesphere/facts";
import { preflightVerdict } from "./memberPreflight";
import { asResourceError, refusal, UpWait, waitOnUp } from "../kubernetes/resourceErrors";

export interface MemberClusterArgs {
    /** The host to join: a {@link HostCluster}, or `{ kubernetesProvider, jwtSecret, kubesphereMajor, ... }` taken from another stack. */
    host: FederationHost;
    /** Kubeconfig YAML Pulumi uses to reach the member, one context (see components/kubernetes/kubeconfig.ts). Secret. */
    kubeconfig: pulumi.Input<string>;
    /** Where the member runs: `ack`, `eks`, `kubeadm` or `generic`; sets the display text `spec.provider`. */
    provider: MemberProvider;
    /**
     * How the host reaches the member: `direct` (KubeSphere gets the member's kubeconfig) or `agent` (a proxy
     * Cluster; the program runs tower's agent on the member, which dials the host's tower at the host's
     * `agentProxyAddress`, and KubeSphere reaches the member through that tunnel; the kubeconfig is then only what
     * Pulumi uses). Default: `direct`.
     */
    connection?: MemberConnection;
    /** KubeSphere 4.x only: Helm values for ks-core on the member, written to `spec.config`. Default: none. */
    ksCoreValues?: Record<string, unknown>;
    /**
     * How KubeSphere authenticates to the member: `kubeconfig` (the member kubeconfig as it is) or
     * `serviceAccount` (a token of ServiceAccount `kube-system/kubesphere-multicluster` created on the member).
     * Default, when `kubeconfig` is a plain string: `serviceAccount` if it runs an exec plugin or auth-provider (EKS),
     * or carries a client certificate and the host is 4.x; else `kubeconfig` (defaultImportCredentials). When it is an
     * Output (another resource's), its auth method is known only at deployment: `kubeconfig`, and the pre-flight
     * refuses an exec kubeconfig with the fix (set `credentials: "serviceAccount"`). Ignored for agent members.
     */
    credentials?: ImportCredentials;
    /** Bump to mint a new ServiceAccount token (agent members: a new agent token); the Cluster is updated in place. Default: 1. */
    credentialsRevision?: number;
    /**
     * The API server address KubeSphere should use, e.g. `https://203.0.113.10:6443`, written into the imported
     * kubeconfig (kubeadm behind `lb.kubesphere.local`, ACK public endpoints). Default: the kubeconfig's server.
     */
    apiServerEndpoint?: string;
    /** Text for the `kubesphere.io/description` annotation, e.g. `"Production, Hangzhou"`. Default: none. */
    description?: string;
    /** Value of the `cluster.kubesphere.io/group` label, e.g. `"production"`. Default: none. */
    group?: string;
    /** How long to wait for the Cluster's `Ready` condition, in seconds. Default: 600. */
    readyTimeoutSeconds?: number;
    /** How long to wait for the member's ks-installer to apply the jwtSecret and role, in seconds. Default: 600. */
    installerTimeoutSeconds?: number;
    /** The member's config key, e.g. `members[1]`, named in error messages. Default: `members[<name>]`. */
    configKey?: string;
    /**
     * Stable identity of the member for the Kubernetes provider (`clusterIdentifier`), so a rotated kubeconfig
     * updates the provider instead of replacing the member's resources. Default: `kubesphere-federation/<name>`.
     */
    clusterIdentifier?: string;
    /**
     * The other members of the same federation config, with their kube-system UIDs, so the same cluster listed
     * twice under two names is refused before anything changes. Default: none (program/federation.ts sets it).
     * @internal
     */
    otherMembers?: pulumi.Input<FleetMember[]>;
    /**
     * Resolves once every member of the federation passed its pre-flight: nothing on this member changes before,
     * so one refused member leaves every cluster unchanged. Default: only this member's own pre-flight is waited for.
     * @internal
     */
    fleetChecked?: pulumi.Input<FleetChecked>;
}

/** What the pre-flight found: the member's KubeSphere before the join. Everything that changes a cluster waits for it. */
export interface MemberPreflight {
    install: KubesphereInstall;
    /** Agent members: the address the agent dials and the image it runs. */
    agent?: { proxyAddress: string; image: string };
}

/** The member runs with the host's settings: how long `up` waited for its installer (not waited in previews; 4.x: nothing to wait for). */
export type MemberSettingsApplied = UpWait;

/**
 * The import credentials when the args name none: decided from the kubeconfig's auth method when it is known now (a
 * plain string), the way KubeSphere can use it (defaultImportCredentials); `kubeconfig` otherwise.
 */
function defaultCredentialsFor(kubeconfig: pulumi.Input<string>, hostMajor: "v3" | "v4"): ImportCredentials {
    if (typeof kubeconfig !== "string") return "kubeconfig";
    try {
        return defaultImportCredentials(parseKubeconfig(kubeconfig).authMethod, hostMajor);
    } catch {
        // Not kubeconfig YAML: the pre-flight reports it, naming the member.
        return "kubeconfig";
    }
}

/** The Cluster status fields we report (docs/kubesphere.md §3). */
export interface ClusterStatus {
    conditions?: ClusterCondition[];
    kubernetesVersion?: string;
    kubeSphereVersion?: string;
}

/**
 * Joins a member to the host by direct connection: checks the member first (KubeSphere's own validation, the
 * version rules of docs/kubesphere.md §9, and that the cluster is nobody else's), on 3.x sets the host's jwtSecret and
 * `clusterRole: member` on its ks-installer and waits until the member's installer has applied them, waits until
 * the host is a host, then creates the member's `Cluster` on the host and waits for it to be Ready (4.x: and for
 * ks-core on the member). Refusals are ResourceErrors on this component, raised before any change.
 * The component's name is the KubeSphere cluster name.
 */
export class MemberCluster extends pulumi.ComponentResource {
    /** The Kubernetes provider (k8s.Provider) for the member; `provider` is where the member runs (MemberClusterArgs). */
    public readonly kubernetesProvider: k8s.Provider;
    /** The server-side-apply patch of the member's ks-installer (KubeSphere 3.x only). */
    public readonly installerPatch?: k8s.apiextensions.CustomResourcePatch;
    /** The member's `Cluster` object on the host. */
    public readonly cluster: k8s.apiextensions.CustomResource;
    /** Name of the Cluster object on the host. */
    public readonly clusterName: pulumi.Output<string>;
    /** The Cluster's Ready condition as KubeSphere reports it. */
    public readonly readiness: pulumi.Output<ClusterReadiness>;
    /** Kubernetes and KubeSphere versions of the member, as the host reports them. */
    public readonly versions: pulumi.Output<{ kubernetes: string; kubesphere: string }>;
    /** The member's KubeSphere version as the pre-flight found it before the join: `v3.4.1`, `4.x`, or `none` (bare 4.x member). */
    public readonly detectedKubesphereVersion: pulumi.Output<string>;
    /** The pre-flight's result (reads only, previews too); fails with the refusal, as a ResourceError on this component. */
    public readonly preflight: pulumi.Output<MemberPreflight>;
    /** What the diagnosis (components/members/diagnosis.ts) needs to know about this member, given the kubeconfigs. */
    private diagnosisInput!: (
        memberKubeconfig: ParsedKubeconfig,
        hostKubeconfig: ParsedKubeconfig | undefined,
    ) => DiagnosisInput;

    constructor(name: string, args: MemberClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kubesphere:federation:MemberCluster", name, {}, opts);
        const configKey = args.configKey ?? `members[${name}]`;
        const viaAgent = args.connection === "agent";
        // Through tower KubeSphere never uses the member's kubeconfig, so there are no import credentials to choose.
        const credentials: ImportCredentials = viaAgent
            ? "kubeconfig"
            : (args.credentials ?? defaultCredentialsFor(args.kubeconfig, args.host.kubesphereMajor));
        const access = currentClusterAccess();
        const v3 = args.host.kubesphereMajor === "v3";

        const kubeconfigText = pulumi.secret(args.kubeconfig);
        this.kubernetesProvider = new k8s.Provider(
            name,
            // No deleteUnreachable: a short outage during `up --refresh` must not make Pulumi forget the member's
            // resources. A member that is gone for good is removed with PULUMI_K8S_DELETE_UNREACHABLE=true (README).
            {
                kubeconfig: kubeconfigText,
                clusterIdentifier: args.clusterIdentifier ?? `kubesphere-federation/${name}`,
            },
            { parent: this },
        );
        // Each kubeconfig is parsed once here, and the parsed form is what every read and check below takes.
        const kubeconfig = parsedKubeconfigOutput(
            kubeconfigText,
            `the kubeconfig of member "${name}"`,
            `${configKey}.kubeconfig`,
            this,
        );
        const hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined> =
            args.host.kubeconfig === undefined
                ? pulumi.output(undefined)
                : parsedKubeconfigOutput(
                      args.host.kubeconfig,
                      `the kubeconfig of host "${args.host.hostClusterName ?? "host"}"`,
                      "host.kubeconfig",
                      this,
                  );

        // Pre-flight: read-only, so it runs in previews too; everything below waits for it.
        const preflight: pulumi.Output<MemberPreflight> = pulumi
            .all([kubeconfig, hostKubeconfig, args.otherMembers ?? []])
            .apply(async ([memberKubeconfig, hostKubeconfig, otherMembers]) => {
                try {
                    return await this.checkBeforeJoin(
                        name,
                        configKey,
                        credentials,
                        memberKubeconfig,
                        hostKubeconfig,
                        otherMembers,
                        args,
                        access,
                    );
                } catch (err) {
                    throw asResourceError(err, this);
                }
            });
        this.preflight = preflight;
        this.detectedKubesphereVersion = pulumi.unsecret(preflight.apply((found) => describeInstall(found.install)));
        // What every change on the member waits for: its own pre-flight and, in a federation, everyone else's.
        const checked: pulumi.Output<MemberPreflight> =
            args.fleetChecked === undefined
                ? preflight
                : pulumi.all([preflight, args.fleetChecked]).apply(([own]) => own);

        this.installerPatch = !v3
            ? undefined
            : ksInstallerPatch(
                  name,
                  pulumi.secret(
                      pulumi
                          .all([checked, args.host.jwtSecret])
                          .apply(([, jwtSecret]) => memberInstallerSpec(jwtSecret)),
                  ),
                  { parent: this, provider: this.kubernetesProvider },
              );

        // The Cluster must not be created before the member runs with our settings: KubeSphere would report a
        // jwtSecret mismatch. This also checks, on every `up`, that nobody changed them since (docs/kubesphere.md §1).
        // 4.x: the host's controller configures the member, and the Cluster's KSCoreReady condition says when.
        const memberReady: pulumi.Output<MemberSettingsApplied> = this.installerPatch
            ? this.waitForInstaller(
                  name,
                  configKey,
                  this.installerPatch,
                  kubeconfig,
                  hostKubeconfig,
                  preflight,
                  args,
                  access,
              )
            : checked.apply(() => ({ waited: false, waitedMs: 0 }));
        // Members join only a host that is a host (docs/kubesphere.md §9); a host from another stack has nothing to wait for.
        const hostReady: pulumi.Output<HostReadiness | undefined> =
            args.host.readyForMembers ?? pulumi.output(undefined);
        const configBytes = args.ksCoreValues === undefined ? undefined : Buffer.from(yaml.dump(args.ksCoreValues));
        // The program waits for the join (and says why it is stuck) when it can read the host; else the provider waits.
        const programWaits = args.host.kubeconfig !== undefined;
        this.diagnosisInput = (memberKubeconfig, hostKubeconfig) => ({
            member: name,
            configKey,
            hostMajor: v3 ? "v3" : "v4",
            hostName: args.host.hostClusterName,
            memberKubeconfig,
            hostKubeconfig,
            credentials,
            // What the program imports, when known before the Cluster exists (a ServiceAccount token is minted later).
            // Agent members: KubeSphere gets tower's kubeconfig, never the member's.
            importKubeconfig:
                credentials !== "kubeconfig" || viaAgent
                    ? undefined
                    : args.apiServerEndpoint === undefined
                      ? memberKubeconfig
                      : withServer(memberKubeconfig, args.apiServerEndpoint),
        });

        // Agent members: the token tower compares, and the agent objects on the member (created before the Cluster,
        // so removal deletes the Cluster first, then them).
        const token = viaAgent
            ? pulumi.secret(
                  pulumi
                      .output(args.host.jwtSecret)
                      .apply((jwtSecret) => agentToken(jwtSecret, name, args.credentialsRevision ?? 1)),
              )
            : undefined;
        const rotation =
            token === undefined ? undefined : rotatedFirstOnHost(this, name, token, checked, hostKubeconfig, access);
        const agentResources =
            rotation === undefined
                ? []
                : createAgentResources(
                      {
                          member: name,
                          hostMajor: v3 ? "v3" : "v4",
                          token: pulumi.secret(rotation.apply((rotated) => rotated.token)),
                          checked: checked.apply((found) => found.agent!),
                      },
                      { parent: this, provider: this.kubernetesProvider },
                  );
        const ownKubeconfig = kubeconfig.apply((parsed) =>
            args.apiServerEndpoint === undefined ? parsed : withServer(parsed, args.apiServerEndpoint),
        );
        const importKubeconfig = viaAgent
            ? undefined
            : pulumi.secret(
                  credentials === "serviceAccount"
                      ? this.serviceAccountKubeconfig(name, kubeconfig, checked, args)
                      : v3
                        ? ownKubeconfig.apply((parsed) => parsed.yaml)
                        : this.keepingKubeSphereRenewal(name, ownKubeconfig, hostKubeconfig, checked, access),
              );
        this.cluster = new k8s.apiextensions.CustomResource(
            name,
            {
                ...clusterObject({
                    name,
                    provider: args.provider,
                    stack: thisStack(),
                    kubeconfigBase64:
                        importKubeconfig &&
                        pulumi
                            .all([importKubeconfig, memberReady, hostReady])
                            .apply(([text]) => Buffer.from(text, "utf8").toString("base64")),
                    agentToken:
                        token &&
                        pulumi.secret(
                            pulumi
                                .all([token, memberReady, hostReady])
                                .apply(([value]) => value)
                                .apply((value) =>
                                    afterAgentReconnected(
                                        this,
                                        name,
                                        value,
                                        rotation!,
                                        (agentResources[agentResources.length - 1] as pulumi.CustomResource).id,
                                        kubeconfig,
                                        hostKubeconfig,
                                        checked,
                                        args,
                                        access,
                                    ),
                                ),
                        ),
                    description: args.description,
                    group: args.group,
                    readyTimeoutSeconds: args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS,
                    configBase64: configBytes?.toString("base64"),
                    // 4.x: without spec.config the controller hashes the empty input.
                    ksCoreConfigHash: v3 ? undefined : ksCoreConfigHash(configBytes ?? new Uint8Array()),
                    programWaits,
                }),
                // Registered so the controller-written status is an output we can report.
                status: undefined,
            },
            {
                parent: this,
                provider: args.host.kubernetesProvider,
                // On removal the Cluster is deleted before anything happens on the member.
                dependsOn: [...(this.installerPatch ? [this.installerPatch] : []), ...agentResources],
                additionalSecretOutputs: ["spec"],
            },
        );

        this.clusterName = this.cluster.metadata.name;
        const recorded = pulumi.output(
            (this.cluster as unknown as { status: pulumi.Output<ClusterStatus | undefined> }).status,
        );
        // Agent members: the program waits for the join through tower itself (components/members/agentMember.ts), so its
        // timeout can say what is missing. Direct members: the program waits when it can read the host
        // (components/members/memberJoin.ts), with the diagnosis on a failure; the status only (no credential), so the exports
        // derived from it stay plain, and in previews (no wait) as Pulumi last recorded it.
        const status =
            token !== undefined
                ? waitForAgentJoined(
                      this,
                      this.cluster,
                      name,
                      kubeconfig,
                      hostKubeconfig,
                      token,
                      preflight,
                      recorded,
                      args,
                      access,
                      async (message, memberKubeconfig, hostKubeconfig) =>
                          formatDiagnosis(
                              diagnose(
                                  await readDiagnosisFacts(
                                      this.diagnosisInput(memberKubeconfig, hostKubeconfig),
                                      access,
                                  ),
                              ),
                              message,
                          ),
                  )
                : programWaits
                  ? pulumi
                        .all([
                            recorded,
                            pulumi.unsecret(
                                this.waitForJoin(
                                    name,
                                    configKey,
                                    kubeconfig,
                                    hostKubeconfig,
                                    args,
                                    access,
                                    v3 ? undefined : ksCoreConfigHash(configBytes ?? new Uint8Array()),
                                ),
                            ),
                        ])
                        .apply(([value, read]) => read ?? value)
                  : recorded;
        this.readiness = status.apply(clusterReadiness);
        this.versions = status.apply((value) => ({
            kubernetes: value?.kubernetesVersion ?? "",
            kubesphere: value?.kubeSphereVersion ?? "",
        }));

        this.registerOutputs({
            clusterName: this.clusterName,
            readiness: this.readiness,
            versions: this.versions,
            detectedKubesphereVersion: this.detectedKubesphereVersion,
        });
    }

    /** Reads the member and the host (shared per run), logs the warnings, throws the refusals. */
    private async checkBeforeJoin(
        name: string,
        configKey: string,
        credentials: ImportCredentials,
        memberKubeconfig: ParsedKubeconfig,
        hostKubeconfig: ParsedKubeconfig | undefined,
        otherMembers: FleetMember[],
        args: MemberClusterArgs,
        access: ClusterAccess,
    ): Promise<MemberPreflight> {
        const v3 = args.host.kubesphereMajor === "v3";
        const viaAgent = args.connection === "agent";
        // Through tower KubeSphere never uses the member's kubeconfig: nothing to check for the import.
        const importCheck: ImportCheck = viaAgent
            ? {}
            : checkImport({
                  member: name,
                  configKey,
                  credentials,
                  authMethod: memberKubeconfig.authMethod,
                  server: args.apiServerEndpoint ?? memberKubeconfig.server,
              });
        if (importCheck.error !== undefined) throw refusal(importCheck.error, this);
        if (importCheck.warning !== undefined) pulumi.log.warn(importCheck.warning, this);
        if (args.ksCoreValues !== undefined && v3) {
            pulumi.log.warn(
                `member "${name}": ${configKey}.ksCoreValues only applies to KubeSphere 4.x hosts and is ignored on this 3.x host`,
                this,
            );
        }
        const [facts, host] = await Promise.all([
            sharedMemberFacts(args.host, access, name, memberKubeconfig),
            hostKubeconfig === undefined ? undefined : sharedHostFacts(args.host, access, hostKubeconfig),
        ]);
        // docs/kubesphere.md §4.3, the console's check; 3.x only (4.x members may be bare until the host installs ks-core).
        const ksApiserverProblem =
            v3 && facts.installer !== undefined ? await access.probeKsApiserver(memberKubeconfig) : undefined;
        const verdict = preflightVerdict({
            member: name,
            configKey,
            hostMajor: v3 ? "v3" : "v4",
            facts,
            host,
            otherMembers,
            credentials,
            importKubeconfig: credentials === "kubeconfig" && !viaAgent ? memberKubeconfig : undefined,
            ksApiserverProblem,
            stack: thisStack(),
        });
        const agent = viaAgent
            ? await checkTower(name, configKey, v3, hostKubeconfig, host?.facts, args, access)
            : undefined;
        verdict.warnings.forEach((warning) => pulumi.log.warn(warning, this));
        const errors = [...verdict.errors, ...(agent?.errors ?? [])];
        if (errors.length > 0) throw refusal(errors.join("\n"), this);
        // The diagnosis checks that need no change first (the kubeconfig KubeSphere will get, the clocks): previews too.
        const early = readyChecksBeforeJoin(
            diagnose(
                await readDiagnosisFacts(
                    {
                        ...this.diagnosisInput(memberKubeconfig, hostKubeconfig),
                        withoutCluster: true,
                        known: {
                            memberFacts: facts,
                            host,
                            ksApiserverProblem:
                                v3 && facts.installer !== undefined ? (ksApiserverProblem ?? null) : undefined,
                        },
                    },
                    access,
                ),
            ),
        );
        early.warnings.forEach((warning) => pulumi.log.warn(warning, this));
        if (early.errors.length > 0) throw refusal(early.errors.join("\n"), this);
        return { install: verdict.install, agent: agent && { proxyAddress: agent.proxyAddress!, image: agent.image } };
    }

    /**
     * The Cluster must not be created before the member runs with our settings: KubeSphere would report a jwtSecret
     * mismatch. This also checks, on every `up`, that nobody changed them since (docs/kubesphere.md §1). Not in previews.
     */
    private waitForInstaller(
        name: string,
        configKey: string,
        patch: k8s.apiextensions.CustomResourcePatch,
        kubeconfig: pulumi.Output<ParsedKubeconfig>,
        hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
        preflight: pulumi.Output<MemberPreflight>,
        args: MemberClusterArgs,
        access: ClusterAccess,
    ): pulumi.Output<MemberSettingsApplied> {
        return pulumi
            .all([patch.id, pulumi.secret(args.host.jwtSecret), kubeconfig, hostKubeconfig, preflight])
            .apply(([, hostJwtSecret, memberKubeconfig, host, found]) =>
                waitOnUp(this, () =>
                    waitForMemberInstaller({
                        member: name,
                        configKey,
                        read: access.memberInstallerReader(name, memberKubeconfig),
                        hostJwtSecret,
                        // 3.1/3.2 render no clusterRole on a member (docs/kubesphere.md §9).
                        signal: appliedSignalFor(found.install.kind === "v3" ? found.install.release : undefined),
                        timeoutMs: (args.installerTimeoutSeconds ?? DEFAULT_INSTALLER_TIMEOUT_SECONDS) * 1000,
                        log: (message) => pulumi.log.info(message, this),
                        explain: async (message) =>
                            formatDiagnosis(
                                diagnose(
                                    await readDiagnosisFacts(
                                        { ...this.diagnosisInput(memberKubeconfig, host), withoutCluster: true },
                                        access,
                                    ),
                                ),
                                message,
                            ),
                    }),
                ),
            );
    }

    /**
     * 4.x renews a client certificate inside the Cluster when 7 days or less are left (docs/kubesphere.md §9): once it has, the
     * kubeconfig KubeSphere keeps is what the Cluster gets, so neither `pulumi up --refresh` nor a plain `up` puts ours
     * back (isKubeSphereRenewal). A read of the host, so previews show the same; a host from another stack is not read.
     */
    private keepingKubeSphereRenewal(
        name: string,
        ownKubeconfig: pulumi.Output<ParsedKubeconfig>,
        hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
        checked: pulumi.Output<MemberPreflight>,
        access: ClusterAccess,
    ): pulumi.Output<string> {
        return pulumi.all([ownKubeconfig, hostKubeconfig, checked]).apply(async ([ours, host]) => {
            if (host === undefined) return ours.yaml;
            try {
                const kept = await access.readImportedKubeconfig(host, name);
                if (!isKubeSphereRenewal(ours, kept)) return ours.yaml;
                pulumi.log.info(
                    `member "${name}": KubeSphere renewed the kubeconfig in its Cluster (client certificate with 7 days or less left); ` +
                        `keeping KubeSphere's (a kubeconfig of yours whose certificate expires later replaces it)`,
                    this,
                );
                return kept!;
            } catch (err) {
                throw asResourceError(err, this);
            }
        });
    }

    /**
     * Waits for the Cluster to join (components/members/memberJoin.ts), with the diagnosis on a failure KubeSphere reports and at
     * the timeout. Not in previews: the recorded status stands.
     */
    private waitForJoin(
        name: string,
        configKey: string,
        kubeconfig: pulumi.Output<ParsedKubeconfig>,
        hostKubeconfig: pulumi.Output<ParsedKubeconfig | undefined>,
        args: MemberClusterArgs,
        access: ClusterAccess,
        configHash: string | undefined,
    ): pulumi.Output<ClusterJoinState | undefined> {
        return pulumi
            .all([this.cluster.id, kubeconfig, hostKubeconfig])
            .apply(async ([, memberKubeconfig, hostKubeconfig]) => {
                if (pulumi.runtime.isDryRun() || hostKubeconfig === undefined) return undefined;
                try {
                    const { cluster } = await waitForClusterJoin({
                        member: name,
                        configKey,
                        read: async () => {
                            const found = await access.readClusterObject(hostKubeconfig, name);
                            if (found === undefined) return undefined;
                            // The kubeconfig KubeSphere got stays with the diagnosis (a secret); the wait keeps the status.
                            const { kubeconfig: _imported, ...state } = found;
                            return state;
                        },
                        ksCoreConfigHash: configHash,
                        diagnose: async () =>
                            diagnose(
                                await readDiagnosisFacts(this.diagnosisInput(memberKubeconfig, hostKubeconfig), access),
                            ),
                        timeoutMs: (args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000,
                        log: (message) => pulumi.log.info(message, this),
                    });
                    return cluster;
                } catch (err) {
                    throw asResourceError(err, this);
                }
            });
    }

    /** The ServiceAccount on the member and the static token kubeconfig built from it. */
    private serviceAccountKubeconfig(
        name: string,
        kubeconfig: pulumi.Output<ParsedKubeconfig>,
        preflight: pulumi.Output<MemberPreflight>,
        args: MemberClusterArgs,
    ) {
        const account = createImportServiceAccount(name, args.credentialsRevision ?? 1, preflight, {
            parent: this,
            provider: this.kubernetesProvider,
        });
        return pulumi
            .all([kubeconfig, account.token, account.caData])
            .apply(([memberKubeconfig, token, secretCaData]) =>
                serviceAccountKubeconfig({
                    member: name,
                    server: args.apiServerEndpoint ?? memberKubeconfig.server,
                    token,
                    caData: memberKubeconfig.caData ?? secretCaData,
                    insecure: memberKubeconfig.insecure,
                }),
            );
    }
}

/**
 * This Pulumi stack, fully qualified: the mark on the Clusters it creates (kubesphereObjects.ts STACK_ANNOTATION).
 * Undefined where the runtime has no organization (unit tests' mocks without one): no mark and no check then.
 */
function thisStack(): string | undefined {
    try {
        return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    } catch {
        return undefined;
    }
}
