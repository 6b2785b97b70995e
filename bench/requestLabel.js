// @ts-check
/**
 * BENCHMARK ONLY: tells the program's own API requests apart from the KubeSphere emulator's in the audit logs.
 *
 * The program's direct reads (components/kubesphere/reads.ts, probes.ts, towerAccess.ts) and the emulator both use @kubernetes/client-node, whose
 * node-fetch sends the same User-Agent. The Pulumi Kubernetes provider (a Go process) and kubectl send their own.
 * - Inline program (the program runs in the benchmark's process): `asProgram(operation)` relabels this process's
 *   node-fetch requests while the stack operation runs; the emulator runs in its own process.
 * - Requests sent with no User-Agent at all (the program's raw GETs of /version and the ks-apiserver service proxy,
 *   functions rawGet and probeKsApiserver, use https.request directly) get the label too: without it the audit log
 *   shows an empty User-Agent and they would go uncounted.
 * - Through the CLI (the program runs in a Node.js process the language host starts): the benchmark sets
 *   NODE_OPTIONS="--require <this file>" and KSF_BENCH_LABEL_PROGRAM=1 for the `pulumi` commands only, so that
 *   process relabels all of its requests. Plain JavaScript so that the program's start-up pays no compiler for it.
 */
"use strict";
// The module object itself: node-fetch looks `https.request` up on every request, so a wrapper sees them all.
const https = require("https");

/** User-Agent of the program's direct reads while labelling is on. */
const PROGRAM_USER_AGENT = "ksf-bench-program";
const NODE_FETCH_PREFIX = "node-fetch";
let active = false;
let installed = false;

/** @param {Record<string, unknown>} headers */
function relabel(headers) {
    let found = false;
    for (const key of Object.keys(headers)) {
        if (key.toLowerCase() !== "user-agent") continue;
        found = true;
        const value = headers[key];
        const text = Array.isArray(value) ? String(value[0]) : String(value);
        if (text.startsWith(NODE_FETCH_PREFIX)) headers[key] = PROGRAM_USER_AGENT;
    }
    if (!found) headers["User-Agent"] = PROGRAM_USER_AGENT;
}

/**
 * The request options among https.request's arguments (`(options[, callback])` or `(url, options[, callback])`).
 * @param {unknown[]} args
 * @returns {{ headers?: Record<string, unknown> } | undefined}
 */
function requestOptions(args) {
    for (const arg of args) {
        if (arg && typeof arg === "object" && !(arg instanceof URL)) return /** @type {any} */ (arg);
    }
    return undefined;
}

function install() {
    if (installed) return;
    installed = true;
    const original = https.request;
    /** @type {any} */
    const wrapper = function (/** @type {unknown[]} */ ...args) {
        if (active) {
            const options = requestOptions(args);
            if (options) relabel((options.headers ??= {}));
            // A bare URL or string: no options object to carry headers.
            else if (args.length) args.splice(1, 0, { headers: { "User-Agent": PROGRAM_USER_AGENT } });
        }
        // @ts-ignore `this` and the overloads of https.request are passed through unchanged
        return original.apply(this, args);
    };
    https.request = wrapper;
}

/**
 * Runs `operation` with this process's node-fetch requests labelled as the program's.
 * @template T
 * @param {() => Promise<T>} operation
 * @returns {Promise<T>}
 */
async function asProgram(operation) {
    install();
    active = true;
    try {
        return await operation();
    } finally {
        active = false;
    }
}

if (process.env.KSF_BENCH_LABEL_PROGRAM === "1") {
    install();
    active = true;
}

module.exports = { PROGRAM_USER_AGENT, asProgram };
