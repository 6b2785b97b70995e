/** FNV-1a 64-bit, hex: KubeSphere 4.x's hashutil.FNVString (v4.1.3 pkg/utils/hashutil), for `kubesphere.io/config-hash`. */
const OFFSET_BASIS = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function fnv1a64Hex(bytes: Uint8Array): string {
    let hash = OFFSET_BASIS;
    for (const byte of bytes) {
        hash ^= BigInt(byte);
        hash = (hash * PRIME) & MASK;
    }
    return hash.toString(16).padStart(16, "0");
}
