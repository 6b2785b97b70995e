/**
 * Container image references and a registry of the user's own: KubeSphere withdrew its public images on 2025-07-31
 * (docs/kubesphere.md §11), so the images the program decides (the agent's) can be pulled from a mirror instead.
 */

/**
 * The registry part of an image reference, as the container runtimes parse it (the distribution reference grammar):
 * the first path segment when it holds "." or ":" or is "localhost"; none (Docker Hub) otherwise.
 */
export function registryOf(image: string): string | undefined {
    const slash = image.indexOf("/");
    if (slash < 0) return undefined;
    const first = image.slice(0, slash);
    return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined;
}

/**
 * The image from `registry` instead of its own: `kubesphere/tower:v0.2.1` with `registry.example.com/mirror` is
 * `registry.example.com/mirror/kubesphere/tower:v0.2.1`; a reference that names a registry has it replaced. No
 * registry: the image as it is.
 */
export function withRegistry(image: string, registry: string | undefined): string {
    if (registry === undefined || registry === "") return image;
    const own = registryOf(image);
    const path = own === undefined ? image : image.slice(own.length + 1);
    return `${registry.replace(/\/+$/, "")}/${path}`;
}
