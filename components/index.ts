/**
 * kubesphere-federation as a library: the public entry point (package.json `exports`). Everything a program needs to
 * join KubeSphere member clusters to a host: the two components, the host interface members take, and the config
 * parser the repository's own program uses. One folder per layer, each with an index of what it offers: config/ ←
 * kubernetes/ ← kubesphere/ ← host/ ← members/ (docs/architecture.md "Layers"). Other modules are internal; their
 * declarations ship only because these types refer to them (helpers tagged internal are stripped from the .d.ts
 * files). See docs/library.md and docs/architecture.md.
 */
export * from "./config";
export * from "./host";
export * from "./members";
export * from "./kubesphere";
export * from "./kubernetes";
