// Command pulumi-resource-kubernetes is a rebuild of the upstream
// github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
// entry point for the e2e suite.
//
// The upstream main.go embeds generated files (schema-embed.json,
// terraform-mapping-embed.json) that are not part of the published Go module.
// ../build.sh copies schema.json and terraform-mapping.json out of the module
// and runs generate.go (a copy of the upstream generator) to produce them here;
// they are git-ignored. Build with
//
//	-ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=<x.y.z>"
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

var providerName = "kubernetes"

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
