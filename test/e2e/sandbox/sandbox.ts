/**
 * TEST ONLY: a local multi-cluster environment for the e2e suite. One etcd, one kube-apiserver and one
 * kube-controller-manager per cluster (a host and N members) on loopback ports, each seeded as a fresh KubeSphere
 * install of its own version (3.2, 3.3, 3.4, 4.1), plus the kubesphere-emulator process that plays ks-installer,
 * ks-controller-manager, 3.4's Cluster webhook and 4.x's ks-core install for those versions.
 *
 *   const sandbox = await startSandbox({ dir, members: 2, hostVersion: "3.4", memberVersions: ["3.2", "3.3"] });
 *   sandbox.kubeconfig("member1");          // kubeconfig YAML (holds a token)
 *   sandbox.cluster("member1").execKubeconfigPath; // same cluster, exec-plugin user (like EKS), no token inside
 *   await sandbox.stopApiServer("member1"); // member unreachable; data kept
 *   await sandbox.startApiServer("member1");
 *   await sandbox.stop();
 *
 * The controller-managers run only the ServiceAccount, token, garbage-collector, namespace and CSR-signing
 * controllers (see controllerManager.ts).
 */
import {
    CoreV1Api,
    KubeConfig,
    PatchStrategy,
    RbacAuthorizationV1Api,
    setHeaderOptions,
} from "@kubernetes/client-node";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { EmulatorConfig, KubesphereCrd } from "../emulator/config";
import { httpStatus } from "../emulator/kubeApi";
import {
    DEFAULT_KUBESPHERE_VERSION,
    KubesphereVersion,
    parseKubesphereVersion,
    VERSION_TRAITS,
} from "../emulator/versions";
import { ensureCa, issueCertificate } from "./certificates";
import { ClockFront, startClockFront } from "./clockFront";
import { NetnsHost, startNetnsHost } from "./netnsHost";
import {
    adminToken,
    apiServerArgs,
    clientCa,
    apiServerEnv,
    auditLogFile,
    apiServerReady,
    apiServerUrl,
    clusterFiles,
    prepareClusterFiles,
    servingCaData,
    waitForApiServer,
} from "./apiServer";
import {
    controllerManagerArgs,
    controllerManagerEnv,
    controllerManagerKubeconfigPath,
    waitForControllerManager,
    writeControllerManagerKubeconfig,
} from "./controllerManager";
import { crdFiles, installCrds } from "./crds";
import { etcdArgs, etcdDataDir, waitForEtcd } from "./etcd";
import { execPluginArgs, writeExecPlugin } from "./execCredential";
import { forgetOnExit, killOnExit } from "./exitCleanup";
import { freePort } from "./freePort";
import {
    certificateKubeconfigYaml,
    execKubeconfigPath,
    kubeconfigPath,
    writeExecKubeconfig,
    writeKubeconfig,
} from "./kubeconfigFile";
import { EMULATOR_MAIN, REPO_ROOT, toolBinary, toolsBinDir } from "./paths";
import { endingOf, isRunning, OwnedProcess, spawnLogged, terminate } from "./processes";
import { seedKubesphere } from "./seed";
import { ClusterRole, ClusterState, readState, SandboxState, writeState } from "./state";
import { waitFor } from "./waitFor";

export const HOST_NAME = "host";

export interface StartSandboxOptions {
    /** Directory for all data, logs, kubeconfigs and state.json; created if missing. */
    dir: string;
    /** Number of member clusters, named member1..memberN. Default: 2. */
    members?: number;
    /**
     * Emulated ks-installer delay before kubesphere-config is re-rendered, and the 4.x host's ks-core install on a
     * member. Default: the emulator's (2000 ms).
     */
    reconcileDelayMs?: number;
    /**
     * How long a 3.x installer run that makes the host a host takes before kubesphere-config (and so the cluster
     * controller) follows; the real one installs kubefed first. Default: reconcileDelayMs.
     */
    hostInstallerDelayMs?: number;
    /** KubeSphere version of every cluster not named below. Default "3.4". */
    kubesphereVersion?: KubesphereVersion;
    /** The host's KubeSphere version. Default: kubesphereVersion. */
    hostVersion?: KubesphereVersion;
    /** Per member (member1 first); missing entries get kubesphereVersion. A 4.1 member is bare (no KubeSphere). */
    memberVersions?: KubesphereVersion[];
    /**
     * true: processes outlive the caller (the CLI's `up`). false (default): they are killed when the calling
     * process exits or is interrupted, so a failing test run leaves nothing behind.
     */
    detached?: boolean;
    /**
     * Each kube-apiserver writes an audit log, `<dir>/logs/<name>-audit.log` (Metadata level: requests, never
     * bodies), e.g. to count the API requests a client makes (the benchmark). Default: false.
     */
    auditLog?: boolean;
    /**
     * 4.x host: install the `tower` extension (agent connection): Deployment and Service kubesphere-system/tower, so
     * the emulated tower runs. 3.x hosts get tower from their installer with the host role. Default: false.
     */
    towerExtension?: boolean;
    /**
     * Per cluster name, the KubeSphere 3.x CRDs its install lacks (docs/kubesphere.md §12): `Workspace` (a broken
     * KubeSphere install on a member), `KubeFedCluster` (a host whose ks-installer never installed kubefed). The
     * emulated join then fails with KubeSphere's messages. Default: none missing.
     */
    missingCrds?: Record<string, KubesphereCrd[]>;
}

export interface SandboxCluster {
    name: string;
    role: ClusterRole;
    /** The KubeSphere version this cluster was seeded as and the emulator plays. */
    kubesphereVersion: KubesphereVersion;
    /** e.g. `https://127.0.0.1:41234` */
    server: string;
    /** `<dir>/kubeconfigs/<name>.yaml`: token auth, context named after the cluster. */
    kubeconfigPath: string;
    /**
     * `<dir>/kubeconfigs/<name>-exec.yaml`: same server and CA, context `<name>-exec`, and a user that runs the
     * credential plugin `<dir>/bin/aws eks get-token --cluster-name <name>` (an EKS-style kubeconfig; the token
     * stays out of the file). Works for local clients; KubeSphere (the emulator) cannot run it.
     */
    execKubeconfigPath: string;
}

const LOGS = "logs";

function logFile(dir: string, name: string): string {
    return path.join(dir, LOGS, `${name}.log`);
}

/** The last lines of a process log, appended to start-up errors so a failure explains itself. */
function logTail(file: string, lines = 15): string {
    if (!fs.existsSync(file)) {
        return "";
    }
    const tail = fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    return tail ? `\n--- last lines of ${file} ---\n${tail}` : "";
}

export class Sandbox {
    /** @internal use startSandbox or loadSandbox */
    constructor(private readonly state: SandboxState) {}

    /** Fronts started by skewedClockKubeconfig in this process; closed by stop(). */
    private readonly clockFronts: ClockFront[] = [];
    /** ks-apiserver hosts started by serveKsApiserverFromNetns in this process; removed by stop(). */
    private readonly netnsHosts: NetnsHost[] = [];

    get dir(): string {
        return this.state.dir;
    }

    get clusters(): SandboxCluster[] {
        return this.state.clusters.map((cluster) => ({
            name: cluster.name,
            role: cluster.role,
            kubesphereVersion: cluster.version,
            server: apiServerUrl(cluster.port),
            kubeconfigPath: kubeconfigPath(this.dir, cluster.name),
            execKubeconfigPath: execKubeconfigPath(this.dir, cluster.name),
        }));
    }

    /** Where agents reach the emulated tower on loopback (what `host.agentProxyAddress` is set to), e.g. `http://127.0.0.1:41235`. */
    get towerAddress(): string {
        if (!this.state.tower)
            throw new Error(`the sandbox in ${this.dir} has no tower (state.json from an older sandbox)`);
        return `http://127.0.0.1:${this.state.tower.port}`;
    }

    get host(): SandboxCluster {
        return this.cluster(HOST_NAME);
    }

    get members(): SandboxCluster[] {
        return this.clusters.filter((cluster) => cluster.role === "member");
    }

    cluster(name: string): SandboxCluster {
        const cluster = this.clusters.find((candidate) => candidate.name === name);
        if (!cluster) {
            throw new Error(
                `the sandbox in ${this.dir} has no cluster "${name}"; it has ${this.clusters.map((c) => c.name).join(", ")}`,
            );
        }
        return cluster;
    }

    /** The cluster's kubeconfig YAML. It holds the admin token: pass it on as a secret, never log it. */
    kubeconfig(name: string): string {
        return fs.readFileSync(this.cluster(name).kubeconfigPath, "utf8");
    }

    /** A loaded KubeConfig for @kubernetes/client-node (`loadKubeConfig(name).makeApiClient(CoreV1Api)`). */
    loadKubeConfig(name: string): KubeConfig {
        const kubeConfig = new KubeConfig();
        kubeConfig.loadFromFile(this.cluster(name).kubeconfigPath);
        return kubeConfig;
    }

    /** Log files: etcd.log, <cluster>.log (kube-apiserver), <cluster>-controller-manager.log, emulator.log. */
    logFile(name: "etcd" | "emulator" | string): string {
        return logFile(this.dir, name);
    }

    /** The cluster's kube-apiserver audit log (JSON lines); undefined unless started with `auditLog: true`. */
    auditLogFile(name: string): string | undefined {
        return this.state.auditLog ? auditLogFile(this.dir, this.cluster(name).name) : undefined;
    }

    /**
     * Writes a kubeconfig whose user authenticates with a client certificate signed by the cluster's CA (like
     * kubeadm's admin.conf: `groups: ["system:masters"]`), valid for `days` (KubeSphere 4.x renews at 7 or fewer).
     * Without system:masters, `clusterAdmin: true` binds the user to cluster-admin. Returns the file (mode 0600,
     * `<dir>/kubeconfigs/<name>-cert-<user>.yaml`); it holds a private key: treat it as a secret.
     */
    async clientCertificateKubeconfig(
        name: string,
        options: { user: string; groups?: string[]; days: number; clusterAdmin?: boolean },
    ): Promise<string> {
        const cluster = this.cluster(name);
        const { certPem, keyPem } = issueCertificate(clientCa(this.dir, name), {
            commonName: options.user,
            organizations: options.groups,
            days: options.days,
            usage: { kind: "client" },
        });
        if (options.clusterAdmin) {
            const rbac = this.loadKubeConfig(name).makeApiClient(RbacAuthorizationV1Api);
            const binding = `sandbox-${options.user}-cluster-admin`;
            try {
                await rbac.createClusterRoleBinding({
                    body: {
                        metadata: { name: binding },
                        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: options.user }],
                    },
                });
            } catch (err) {
                if (httpStatus(err) !== 409) throw err;
            }
        }
        const file = path.join(this.dir, "kubeconfigs", `${name}-cert-${options.user}.yaml`);
        const caData = servingCaData(this.dir, name) as string;
        fs.writeFileSync(
            file,
            certificateKubeconfigYaml({
                name,
                userName: options.user,
                server: cluster.server,
                caData,
                certPem,
                keyPem,
            }),
            { mode: 0o600 },
        );
        return file;
    }

    /**
     * TEST DEVICE (./clockFront.ts): puts the cluster's kube-apiserver behind a loopback TLS front whose `Date` header
     * is `offsetSeconds` off this machine's clock (negative: behind), what a cluster on a machine with a skewed clock
     * answers, and writes a kubeconfig for it: same token, the front's own CA. Returns the file (mode 0600,
     * `<dir>/kubeconfigs/<name>-skewed.yaml`; it holds the token). The front lives in this process until stop().
     */
    async skewedClockKubeconfig(name: string, offsetSeconds: number): Promise<string> {
        const cluster = this.cluster(name);
        const ca = ensureCa(
            path.join(clusterFiles(this.dir, name).clusterDir, "clock-front-ca"),
            `${name}-clock-front-ca`,
        );
        const { certPem, keyPem } = issueCertificate(ca, {
            commonName: `${name}-clock-front`,
            days: 1,
            usage: { kind: "server", ipAddresses: ["127.0.0.1"] },
        });
        const front = await startClockFront({
            upstream: cluster.server,
            upstreamCa: Buffer.from(servingCaData(this.dir, name) as string, "base64"),
            certPem,
            keyPem,
            offsetMs: offsetSeconds * 1000,
        });
        this.clockFronts.push(front);
        const document = yaml.load(this.kubeconfig(name)) as {
            clusters: Array<{ cluster: Record<string, string> }>;
        };
        document.clusters[0].cluster.server = front.server;
        document.clusters[0].cluster["certificate-authority-data"] = fs.readFileSync(ca.certFile).toString("base64");
        const file = path.join(this.dir, "kubeconfigs", `${name}-skewed.yaml`);
        fs.writeFileSync(file, yaml.dump(document), { mode: 0o600 });
        return file;
    }

    /**
     * TEST DEVICE (./netnsHost.ts, needs root): runs an emulated ks-apiserver in a network namespace of its own and
     * points the member's Endpoints `kubesphere-system/ks-apiserver` at it (through a Pod object with its address), so the member's kube-apiserver service proxy
     * carries requests for the ks-apiserver Service there, as in a real cluster (the emulator then asks through the
     * proxy, like KubeSphere). It reports the host's release (what the host's ks-core install puts on the member).
     * `stopServer()` makes it stop answering, as a crash-looping ks-apiserver; the namespace goes with stop().
     */
    async serveKsApiserverFromNetns(name: string): Promise<NetnsHost> {
        const port = 9090;
        const netnsHost = await startNetnsHost({
            dir: path.join(this.dir, LOGS),
            port,
            gitVersion: VERSION_TRAITS[this.host.kubesphereVersion].release,
        });
        this.netnsHosts.push(netnsHost);
        const core = this.loadKubeConfig(name).makeApiClient(CoreV1Api);
        try {
            await core.createNamespace({ body: { metadata: { name: "kubesphere-system" } } });
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
        }
        // kube-apiserver's service proxy only dials an endpoint address whose targetRef is a Pod with that IP
        // (pkg/registry/core/service/storage isValidAddress): the Pod object ks-apiserver's would be. No kubelet or
        // scheduler runs in the sandbox, so it is never started; its status carries the namespace's address.
        const podName = "ks-apiserver-netns";
        try {
            await core.createNamespacedPod({
                namespace: "kubesphere-system",
                body: {
                    metadata: { name: podName, labels: { app: "ks-apiserver" } },
                    spec: { containers: [{ name: "ks-apiserver", image: "kubesphere/ks-apiserver:sandbox" }] },
                },
            });
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
        }
        await core.patchNamespacedPodStatus(
            {
                name: podName,
                namespace: "kubesphere-system",
                body: {
                    status: {
                        phase: "Running",
                        podIP: netnsHost.address,
                        podIPs: [{ ip: netnsHost.address }],
                    },
                },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        const endpoints = {
            metadata: { name: "ks-apiserver", namespace: "kubesphere-system" },
            subsets: [
                {
                    addresses: [
                        {
                            ip: netnsHost.address,
                            targetRef: { kind: "Pod", name: podName, namespace: "kubesphere-system" },
                        },
                    ],
                    ports: [{ port, protocol: "TCP" }],
                },
            ],
        };
        try {
            await core.createNamespacedEndpoints({ namespace: "kubesphere-system", body: endpoints });
        } catch (err) {
            if (httpStatus(err) !== 409) throw err;
            await core.replaceNamespacedEndpoints({
                name: "ks-apiserver",
                namespace: "kubesphere-system",
                body: endpoints,
            });
        }
        return netnsHost;
    }

    /**
     * Moves the emulator's certificate-expiry clock (a test-only control standing in for time passing, see
     * ../emulator/clock.ts) to `days` after the wall clock; 0 puts it back. The running emulator reads it on its next check.
     */
    advanceEmulatorClock(days: number): void {
        fs.writeFileSync(this.emulatorClockFile(), JSON.stringify({ offsetSeconds: Math.round(days * 86400) }) + "\n");
    }

    /**
     * TEST SWITCH (../emulator/kubelet.ts): whether the pod of `workload` (`ks-installer`, `cluster-agent`,
     * `ks-apiserver`, `ks-controller-manager`) on cluster `name` runs, cannot pull its image, or crash-loops. The running
     * emulator reads it on its next pass; `running` makes the next pull or start succeed.
     */
    setEmulatedPod(name: string, workload: string, behaviour: "running" | "unpullable" | "crashLoop"): void {
        this.clusterState(name);
        const file = this.emulatorPodsFile();
        let all: Record<string, Record<string, string>> = {};
        try {
            all = JSON.parse(fs.readFileSync(file, "utf8")) as typeof all;
        } catch {
            all = {};
        }
        all[name] = { ...all[name], [workload]: behaviour };
        const temporary = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, JSON.stringify(all) + "\n");
        fs.renameSync(temporary, file);
    }

    private emulatorPodsFile(): string {
        return path.join(path.dirname(this.state.emulator.configFile), "emulator-pods.json");
    }

    private emulatorClockFile(): string {
        return path.join(path.dirname(this.state.emulator.configFile), "emulator-clock.json");
    }

    isApiServerRunning(name: string): boolean {
        const owned = this.apiServerProcess(this.clusterState(name));
        return owned !== undefined && isRunning(owned);
    }

    isControllerManagerRunning(name: string): boolean {
        const owned = this.controllerManagerProcess(this.clusterState(name));
        return owned !== undefined && isRunning(owned);
    }

    /**
     * Stops one cluster's kube-controller-manager and kube-apiserver (its data stays in etcd), e.g. to make a member
     * unreachable.
     */
    async stopApiServer(name: string): Promise<void> {
        const cluster = this.clusterState(name);
        // The controller-manager first, so it does not log connection errors for the apiserver's absence.
        for (const owned of [this.controllerManagerProcess(cluster), this.apiServerProcess(cluster)]) {
            if (owned) {
                await terminate([owned]);
                forgetOnExit(owned.pid);
            }
        }
        cluster.pid = undefined;
        cluster.controllerManagerPid = undefined;
        writeState(this.state);
    }

    /**
     * Starts a stopped kube-apiserver again on the same port, with the same data, token and certificate, then its
     * kube-controller-manager.
     */
    async startApiServer(name: string): Promise<void> {
        const cluster = this.clusterState(name);
        if (!this.isApiServerRunning(name)) {
            await this.spawnApiServer(cluster);
        }
        await waitForApiServer(this.dir, cluster, () => this.isApiServerRunning(name));
        if (!this.isControllerManagerRunning(name)) {
            await this.spawnControllerManager(cluster);
        }
    }

    /** Kills every process of the sandbox and waits until they are gone. Idempotent. */
    async stop(options: { removeData?: boolean } = {}): Promise<void> {
        await Promise.all(this.clockFronts.splice(0).map((front) => front.close()));
        await Promise.all(this.netnsHosts.splice(0).map((netnsHost) => netnsHost.remove()));
        const owned = this.processes();
        // Clients of the apiservers first (emulator, controller-managers), then the apiservers, then etcd, so
        // nothing logs a storm of connection errors on the way down.
        const isApiServer = (p: OwnedProcess) => p.name.startsWith("kube-apiserver ");
        await terminate(owned.filter((p) => p.name !== "etcd" && !isApiServer(p)));
        await terminate(owned.filter(isApiServer));
        await terminate(owned.filter((p) => p.name === "etcd"));
        owned.forEach((p) => forgetOnExit(p.pid));
        this.state.etcd.pid = undefined;
        this.state.emulator.pid = undefined;
        this.state.clusters.forEach((cluster) => {
            cluster.pid = undefined;
            cluster.controllerManagerPid = undefined;
        });
        if (options.removeData) {
            fs.rmSync(this.dir, { recursive: true, force: true });
        } else if (fs.existsSync(this.dir)) {
            writeState(this.state);
        }
    }

    /** Every process recorded in state.json, whether running or not. */
    processes(): OwnedProcess[] {
        const owned: OwnedProcess[] = [];
        if (this.state.etcd.pid) {
            owned.push({ name: "etcd", pid: this.state.etcd.pid, marker: etcdDataDir(this.dir) });
        }
        for (const cluster of this.state.clusters) {
            const apiServer = this.apiServerProcess(cluster);
            if (apiServer) {
                owned.push(apiServer);
            }
            const controllerManager = this.controllerManagerProcess(cluster);
            if (controllerManager) {
                owned.push(controllerManager);
            }
        }
        if (this.state.emulator.pid) {
            owned.push({ name: "emulator", pid: this.state.emulator.pid, marker: this.state.emulator.configFile });
        }
        return owned;
    }

    /** Per process: running or not; per cluster: /readyz answers. */
    async status(): Promise<{
        processes: Array<OwnedProcess & { running: boolean }>;
        clusters: Array<SandboxCluster & { ready: boolean }>;
    }> {
        return {
            processes: this.processes().map((p) => ({ ...p, running: isRunning(p) })),
            clusters: await Promise.all(
                this.clusters.map(async (cluster) => ({
                    ...cluster,
                    ready: await apiServerReady(this.dir, this.clusterState(cluster.name)),
                })),
            ),
        };
    }

    private clusterState(name: string): ClusterState {
        this.cluster(name);
        return this.state.clusters.find((cluster) => cluster.name === name) as ClusterState;
    }

    private apiServerProcess(cluster: ClusterState): OwnedProcess | undefined {
        return cluster.pid
            ? {
                  name: `kube-apiserver ${cluster.name}`,
                  pid: cluster.pid,
                  marker: clusterFiles(this.dir, cluster.name).certDir,
              }
            : undefined;
    }

    private controllerManagerProcess(cluster: ClusterState): OwnedProcess | undefined {
        return cluster.controllerManagerPid
            ? {
                  name: `kube-controller-manager ${cluster.name}`,
                  pid: cluster.controllerManagerPid,
                  marker: controllerManagerKubeconfigPath(this.dir, cluster.name),
              }
            : undefined;
    }

    private async track(owned: OwnedProcess): Promise<void> {
        if (!this.state.detached) {
            killOnExit(owned);
        }
        writeState(this.state);
    }

    /** @internal */
    async spawnEtcd(): Promise<void> {
        const { clientPort, peerPort } = this.state.etcd;
        const pid = await spawnLogged(toolBinary("etcd", this.state.binDir), etcdArgs(this.dir, clientPort, peerPort), {
            logFile: logFile(this.dir, "etcd"),
            detached: this.state.detached,
        });
        this.state.etcd.pid = pid;
        await this.track({ name: "etcd", pid, marker: etcdDataDir(this.dir) });
        try {
            await waitForEtcd(clientPort, () => isRunning({ name: "etcd", pid, marker: etcdDataDir(this.dir) }));
        } catch (err) {
            throw new Error(`${(err as Error).message}${logTail(logFile(this.dir, "etcd"))}`);
        }
    }

    /** @internal */
    async spawnApiServer(cluster: ClusterState): Promise<void> {
        prepareClusterFiles(this.dir, cluster.name);
        cluster.pid = await spawnLogged(
            toolBinary("kube-apiserver", this.state.binDir),
            apiServerArgs(this.dir, this.state.etcd.clientPort, cluster, { auditLog: this.state.auditLog }),
            {
                logFile: logFile(this.dir, cluster.name),
                detached: this.state.detached,
                env: apiServerEnv(),
            },
        );
        await this.track(this.apiServerProcess(cluster) as OwnedProcess);
    }

    /** @internal Starts the cluster's kube-controller-manager; its apiserver must be ready. */
    async spawnControllerManager(cluster: ClusterState): Promise<void> {
        writeControllerManagerKubeconfig(this.dir, cluster);
        cluster.controllerManagerPid = await spawnLogged(
            toolBinary("kube-controller-manager", this.state.binDir),
            controllerManagerArgs(this.dir, cluster),
            {
                logFile: logFile(this.dir, `${cluster.name}-controller-manager`),
                detached: this.state.detached,
                env: controllerManagerEnv(),
            },
        );
        await this.track(this.controllerManagerProcess(cluster) as OwnedProcess);
    }

    /** @internal Waits until every controller-manager has created the `default` ServiceAccount. */
    async waitForControllerManagers(): Promise<void> {
        await Promise.all(
            this.state.clusters.map(async (cluster) => {
                try {
                    await waitForControllerManager(this.loadKubeConfig(cluster.name), cluster.name, () =>
                        this.isControllerManagerRunning(cluster.name),
                    );
                } catch (err) {
                    throw new Error(
                        `${(err as Error).message}${logTail(logFile(this.dir, `${cluster.name}-controller-manager`))}`,
                    );
                }
            }),
        );
    }

    /** @internal */
    async waitForApiServers(): Promise<void> {
        await Promise.all(
            this.state.clusters.map(async (cluster) => {
                // freePort() only says a port was free a moment ago: another process (a parallel test run) may bind
                // it first. Such a loser exits at once with "address already in use": start it again on a new port.
                for (let attempt = 1; ; attempt++) {
                    try {
                        await waitForApiServer(this.dir, cluster, () => this.isApiServerRunning(cluster.name));
                        return;
                    } catch (err) {
                        const tail = logTail(logFile(this.dir, cluster.name));
                        if (
                            attempt < 3 &&
                            !this.isApiServerRunning(cluster.name) &&
                            /address already in use/.test(tail)
                        ) {
                            cluster.port = await freePort();
                            await this.spawnApiServer(cluster);
                            continue;
                        }
                        throw new Error(`${(err as Error).message}${tail}`);
                    }
                }
            }),
        );
    }

    /** @internal kubeconfigs (token and exec), CRDs and the KubeSphere seed on every cluster. */
    async prepareClusters(): Promise<void> {
        const execPlugin = writeExecPlugin(this.dir);
        await Promise.all(
            this.state.clusters.map(async (cluster) => {
                const server = apiServerUrl(cluster.port);
                const caData = servingCaData(this.dir, cluster.name) as string;
                writeKubeconfig(this.dir, {
                    name: cluster.name,
                    server,
                    caData,
                    token: adminToken(this.dir, cluster.name),
                });
                writeExecKubeconfig(this.dir, {
                    name: cluster.name,
                    server,
                    caData,
                    command: execPlugin,
                    args: execPluginArgs(cluster.name),
                });
                const kubeConfig = this.loadKubeConfig(cluster.name);
                await installCrds(
                    cluster.name,
                    kubeConfig,
                    crdFiles(cluster.version, cluster.role, cluster.missingCrds),
                );
                await seedKubesphere(kubeConfig, cluster.version, cluster.role, {
                    towerExtension: this.state.towerExtension,
                });
            }),
        );
    }

    /** @internal */
    async spawnEmulator(
        options: Pick<StartSandboxOptions, "reconcileDelayMs" | "hostInstallerDelayMs">,
    ): Promise<void> {
        const { configFile, readyFile, logFile: emulatorLog } = this.state.emulator;
        const config: Partial<EmulatorConfig> = {
            clusters: this.clusters.map(({ name, role, kubeconfigPath, kubesphereVersion }) => ({
                name,
                role,
                kubeconfigPath,
                version: kubesphereVersion,
                ...(this.clusterState(name).missingCrds ? { missingCrds: this.clusterState(name).missingCrds } : {}),
            })),
            reconcileDelayMs: options.reconcileDelayMs,
            hostInstallerDelayMs: options.hostInstallerDelayMs,
            webhook: this.state.webhook,
            tower: this.state.tower,
            readyFile,
            clockFile: this.emulatorClockFile(),
            podsFile: this.emulatorPodsFile(),
        };
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");
        fs.rmSync(readyFile, { force: true });
        const pid = await spawnLogged(
            process.execPath,
            ["-r", require.resolve("ts-node/register/transpile-only"), EMULATOR_MAIN, "--config", configFile],
            { logFile: emulatorLog, detached: this.state.detached, cwd: REPO_ROOT },
        );
        this.state.emulator.pid = pid;
        const owned: OwnedProcess = { name: "emulator", pid, marker: configFile };
        await this.track(owned);
        try {
            await waitFor(async () => fs.existsSync(readyFile), {
                description: "kubesphere-emulator to finish its first pass",
                timeoutMs: 60_000,
                intervalMs: 200,
                giveUpIf: () =>
                    isRunning(owned) ? undefined : `the emulator exited (${endingOf(pid) ?? "how is not known"})`,
            });
        } catch (err) {
            throw new Error(`${(err as Error).message}${logTail(emulatorLog)}`);
        }
    }
}

/** Attaches to the sandbox running in `dir` (e.g. one started by `cli.ts up`), via its state.json. */
export function loadSandbox(dir: string): Sandbox {
    const state = readState(path.resolve(dir));
    if (!state) {
        throw new Error(
            `no sandbox in ${path.resolve(dir)} (no state.json). Fix: start one with "npm run sandbox -- up --dir ${dir}"`,
        );
    }
    return new Sandbox(state);
}

/**
 * Starts etcd, a host and `members` member kube-apiservers with their kube-controller-managers, installs the
 * KubeSphere CRDs, seeds each cluster as a KubeSphere install, starts the emulator, and resolves once everything
 * answers. On failure everything started
 * so far is stopped again and the error quotes the failing process's log.
 */
export async function startSandbox(options: StartSandboxOptions): Promise<Sandbox> {
    const dir = path.resolve(options.dir);
    const memberCount = options.members ?? 2;
    if (!Number.isInteger(memberCount) || memberCount < 0) {
        throw new Error(`members must be a whole number >= 0, got ${memberCount}`);
    }
    const previous = readState(dir);
    if (previous) {
        const running = new Sandbox(previous).processes().filter(isRunning);
        if (running.length > 0) {
            throw new Error(
                `a sandbox is already running in ${dir} (pids ${running.map((p) => p.pid).join(", ")}). Fix: loadSandbox(dir), or stop it first`,
            );
        }
        // Leftovers of a sandbox that is no longer running: start from scratch.
        fs.rmSync(dir, { recursive: true, force: true });
    }
    toolBinary("etcd");
    toolBinary("kube-apiserver");
    toolBinary("kube-controller-manager");
    fs.mkdirSync(path.join(dir, LOGS), { recursive: true });

    const defaultVersion = parseKubesphereVersion(
        options.kubesphereVersion ?? DEFAULT_KUBESPHERE_VERSION,
        "kubesphereVersion",
    );
    const clusterSpecs: Array<{ name: string; role: ClusterRole; version: KubesphereVersion }> = [
        {
            name: HOST_NAME,
            role: "host",
            version: parseKubesphereVersion(options.hostVersion ?? defaultVersion, "hostVersion"),
        },
        ...Array.from({ length: memberCount }, (_, i) => ({
            name: `member${i + 1}`,
            role: "member" as const,
            version: parseKubesphereVersion(options.memberVersions?.[i] ?? defaultVersion, `memberVersions[${i}]`),
        })),
    ];
    if ((options.memberVersions?.length ?? 0) > memberCount) {
        throw new Error(`memberVersions lists ${options.memberVersions!.length} versions for ${memberCount} members`);
    }
    const webhookDir = path.join(dir, "webhook");
    const state: SandboxState = {
        version: 2,
        dir,
        detached: options.detached ?? false,
        binDir: toolsBinDir(),
        startedAt: new Date().toISOString(),
        ...(options.auditLog ? { auditLog: true } : {}),
        etcd: { clientPort: await freePort(), peerPort: await freePort() },
        clusters: [],
        emulator: {
            configFile: path.join(dir, "emulator.json"),
            readyFile: path.join(dir, "emulator.ready"),
            logFile: logFile(dir, "emulator"),
        },
        webhook: {
            port: await freePort(),
            certFile: path.join(webhookDir, "tls.crt"),
            keyFile: path.join(webhookDir, "tls.key"),
            caFile: path.join(webhookDir, "ca.crt"),
        },
        ...(options.towerExtension ? { towerExtension: true } : {}),
    };
    // tower's CA (the real image bakes one in): it signs tower's serving certificates and the kubeconfigs it writes.
    const towerCa = ensureCa(path.join(dir, "tower"), "tower-emulator-ca");
    state.tower = { port: await freePort(), caCertFile: towerCa.certFile, caKeyFile: towerCa.keyFile };
    // The emulator serves 3.4's admission webhook over HTTPS on loopback; kube-apiserver verifies it with this CA.
    const webhookCa = ensureCa(webhookDir, "kubesphere-emulator-webhook-ca");
    const serving = issueCertificate(webhookCa, {
        commonName: "kubesphere-emulator-webhook",
        days: 365,
        usage: { kind: "server", ipAddresses: ["127.0.0.1"] },
    });
    fs.writeFileSync(state.webhook.certFile, serving.certPem);
    fs.writeFileSync(state.webhook.keyFile, serving.keyPem, { mode: 0o600 });
    const unknown = Object.keys(options.missingCrds ?? {}).filter(
        (name) => !clusterSpecs.some((spec) => spec.name === name),
    );
    if (unknown.length > 0) {
        throw new Error(
            `missingCrds names ${unknown.join(", ")}, not a cluster of this sandbox (${clusterSpecs.map((spec) => spec.name).join(", ")})`,
        );
    }
    for (const spec of clusterSpecs) {
        const missingCrds = options.missingCrds?.[spec.name];
        state.clusters.push({
            ...spec,
            port: await freePort(),
            etcdPrefix: `/registry-${spec.name}`,
            ...(missingCrds && missingCrds.length > 0 ? { missingCrds } : {}),
        });
    }
    writeState(state);

    const sandbox = new Sandbox(state);
    try {
        await sandbox.spawnEtcd();
        for (const cluster of state.clusters) {
            await sandbox.spawnApiServer(cluster);
        }
        await sandbox.waitForApiServers();
        for (const cluster of state.clusters) {
            await sandbox.spawnControllerManager(cluster);
        }
        await sandbox.prepareClusters();
        await sandbox.spawnEmulator(options);
        await sandbox.waitForControllerManagers();
    } catch (err) {
        await sandbox.stop().catch(() => undefined);
        throw new Error(`could not start the sandbox in ${dir}: ${(err as Error).message}`);
    }
    return sandbox;
}
