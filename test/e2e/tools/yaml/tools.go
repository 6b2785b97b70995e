//go:build tools

// Package tools pins the Pulumi YAML language host (github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml) for
// the e2e suite's multi-language test (a YAML program using this repository's component package, plugin/). Built by
// ../build.sh; its version lives in go.mod. pulumi-yaml v1.25.0 is built on the pulumi pkg/sdk v3.206.0 it requires:
// it does not compile against v3.248.0 (plugin.NewContextWithRoot and schema.NewPluginLoader changed signature). The
// CLI (v3.248.0, ../pulumi) talks to it over gRPC only, as to any language host built from another SDK release.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
