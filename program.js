// @ts-check
/**
 * The Pulumi program's entry point (Pulumi.yaml `main`): the JavaScript compile.js keeps in bin/ for index.ts.
 *
 * Named in Pulumi.yaml because, left to package.json, Pulumi's Node.js runner takes "exports" (the library, lib/)
 * before "main": after `npm run build:lib` it would run the library, which registers no resources, so `pulumi up`
 * would plan to delete the whole federation; on a fresh clone it warns that lib/index.js is missing. A tracked file
 * because the CLI checks that `main` exists before compile.js (runtime.options.nodeargs) has written bin/.
 */
"use strict";
module.exports = require("./bin/index.js");
