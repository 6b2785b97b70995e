//go:build tools

// Package tools pins the Pulumi YAML language host (github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml) for
// the e2e suite's multi-language test (a YAML program using this repository's component package). Built by
// ../build.sh; its version lives in go.mod, with pulumi/pkg and pulumi/sdk raised to the CLI's version (../pulumi).
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
