// @ts-check
// Lint (`npm run lint`): eslint's and typescript-eslint's recommended rules and JSDoc checks, tuned to what the code
// meets. Formatting is prettier's (`npm run format:check`), not eslint's.
import js from "@eslint/js";
import jsdoc from "eslint-plugin-jsdoc";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        ignores: [
            "node_modules/",
            "bin/",
            "lib/",
            "examples/*/node_modules/",
            "test/e2e/.bin/",
            ".sandbox/",
            "bench/results/",
        ],
    },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts", "**/*.js", "**/*.mjs"],
        plugins: { jsdoc },
        languageOptions: {
            globals: {
                require: "readonly",
                module: "writable",
                process: "readonly",
                __dirname: "readonly",
                console: "readonly",
                Buffer: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                setInterval: "readonly",
                clearInterval: "readonly",
                URL: "readonly",
            },
        },
        rules: {
            // JSDoc that exists must be well-formed and name the real parameters.
            "jsdoc/check-alignment": "error",
            // The code documents the parameters that need a word, not every one; those it names must exist, in order.
            "jsdoc/check-param-names": ["error", { disableMissingParamChecks: true, checkDestructured: false }],
            "jsdoc/check-tag-names": ["error", { definedTags: ["internal"] }],
            "jsdoc/no-multi-asterisks": "error",
            "jsdoc/require-asterisk-prefix": "error",
            "@typescript-eslint/no-unused-vars": [
                "error",
                {
                    argsIgnorePattern: "^_",
                    varsIgnorePattern: "^_",
                    destructuredArrayIgnorePattern: "^_",
                    caughtErrors: "none",
                },
            ],
            // Pulumi mocks and the e2e harness handle untyped JSON and engine objects.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-non-null-assertion": "off",
            // A described @ts-ignore is fine: plain-JS files (compile.js, bench/) have no @ts-expect-error to rely on.
            "@typescript-eslint/ban-ts-comment": ["error", { "ts-ignore": "allow-with-description" }],
        },
    },
    {
        // The benchmark documents its parameters in the order it explains them.
        files: ["bench/**"],
        rules: { "jsdoc/check-param-names": "off" },
    },
    {
        // The library's public surface: every exported class and function says what it is.
        files: ["components/**/*.ts", "program/**/*.ts"],
        rules: {
            "jsdoc/require-jsdoc": [
                "error",
                { publicOnly: true, require: { ClassDeclaration: true, FunctionDeclaration: true } },
            ],
        },
    },
);
