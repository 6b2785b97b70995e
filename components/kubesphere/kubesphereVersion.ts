/**
 * KubeSphere versions as the program meets them (docs/kubesphere.md §9): where a cluster's version is read from, what it
 * means for a join, and the ks-core config hash a 4.x host writes. Pure functions, unit-tested on their own.
 */

/** A KubeSphere release, e.g. `v3.4.1` → `{ major: 3, minor: 4, patch: 1 }`. */
export interface KubesphereRelease {
    major: number;
    minor: number;
    patch: number;
    /** The version text as KubeSphere wrote it. */
    text: string;
}

/**
 * Parses the version KubeSphere writes (`v3.4.1`, `3.3.2`, `v4.1.3`, `v3.4.1-rc.0`); undefined for anything else.
 * Only major and minor are required (`v3.2` parses as 3.2.0).
 */
export function parseKubesphereRelease(text: string | undefined): KubesphereRelease | undefined {
    const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$/.exec((text ?? "").trim());
    if (match === null) return undefined;
    return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0), text: text!.trim() };
}

/** KubeSphere 3.3.0–3.3.2: the cluster controller never writes Ready for a kubeconfig without a client certificate. */
export function failsWithoutClientCertificate(release: KubesphereRelease | undefined): boolean {
    return release !== undefined && release.major === 3 && release.minor === 3 && release.patch <= 2;
}

/**
 * KubeSphere 3.1 and 3.2 render no `multicluster` block into a member's kubesphere-config (the template renders it
 * for hosts only), so a member's applied settings show as the host's jwtSecret and `accessTokenMaxAge: 0`.
 */
export function rendersNoMemberRole(release: KubesphereRelease | undefined): boolean {
    return release !== undefined && release.major === 3 && release.minor <= 2;
}

/**
 * KubeSphere 3.1 (and older) has no `multicluster.hostClusterName` option: ks-installer v3.1.1's kubesphere-config
 * template renders none (it appears in v3.2.1), and kubesphere v3.1.1's cluster controller always names the host's
 * own Cluster entry {@link FIXED_HOST_ENTRY_NAME}. An unknown 3.x release is taken to have it (3.2+).
 */
export function hasHostClusterNameOption(release: KubesphereRelease | undefined): boolean {
    return !(release !== undefined && release.major === 3 && release.minor <= 1);
}

/**
 * KubeSphere 3.1 (and older) renders a ClusterConfiguration's `authentication.oauthOptions` as it is, even on a member,
 * instead of the member's `accessTokenMaxAge: 0` (ks-installer v3.1.1 kubesphere-config template `if oauthOptions …
 * elif member`; v3.2.1 swapped the order). Unknown release: no.
 */
export function oauthOptionsReplaceMemberDefault(release: KubesphereRelease | undefined): boolean {
    return release !== undefined && release.major === 3 && release.minor <= 1;
}

/** The name KubeSphere 3.1 gives its own host Cluster entry (kubesphere v3.1.1 pkg/controller/cluster/cluster_controller.go hostCluster). */
export const FIXED_HOST_ENTRY_NAME = "host";

/** How a cluster's KubeSphere looks before the join: a 3.x install, a 4.x ks-core install, or nothing at all. */
export type KubesphereInstall =
    { kind: "v3"; release?: KubesphereRelease } | { kind: "v4"; release?: KubesphereRelease } | { kind: "none" };

/** The version as messages and exports show it: `v3.4.1`, `4.x`, `3.x (version unknown)` or `none`. */
export function describeInstall(install: KubesphereInstall): string {
    if (install.kind === "none") return "none";
    if (install.release !== undefined) return install.release.text;
    return install.kind === "v3" ? "3.x (ks-installer reports no status.core.version yet)" : "4.x";
}

/**
 * ks-core's config hash as the 4.x cluster controller writes it into annotation `kubesphere.io/config-hash`:
 * FNV-1a 64-bit of the `spec.config` bytes, hex, zero-padded to 16 digits (v4.1.3 `pkg/utils/hashutil` FNVString,
 * `hex.EncodeToString(h.Sum(nil))`). No `spec.config` hashes the empty input.
 */
export function ksCoreConfigHash(config: Uint8Array): string {
    let hash = 0xcbf29ce484222325n;
    const prime = 0x100000001b3n;
    for (const byte of config) {
        hash ^= BigInt(byte);
        hash = (hash * prime) & 0xffffffffffffffffn;
    }
    return hash.toString(16).padStart(16, "0");
}
