// Copyright 2016-2018, Pulumi Corporation.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//go:build ignore

// Verbatim logic of upstream cmd/pulumi-resource-kubernetes/generate.go:
// reads ./schema.json and ./terraform-mapping.json (copied from the module by
// ../build.sh), sets the schema version from $VERSION and writes the
// *-embed.json files that main.go embeds.
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	version, found := os.LookupEnv("VERSION")
	if !found {
		log.Fatal("version not found")
	}

	schemaContents, err := os.ReadFile("./schema.json")
	if err != nil {
		log.Fatal(err)
	}

	var packageSpec schema.PackageSpec
	err = json.Unmarshal(schemaContents, &packageSpec)
	if err != nil {
		log.Fatalf("cannot deserialize schema: %v", err)
	}

	packageSpec.Version = version
	versionedContents, err := json.Marshal(packageSpec)
	if err != nil {
		log.Fatalf("cannot reserialize schema: %v", err)
	}

	err = os.WriteFile("./schema-embed.json", versionedContents, 0600)
	if err != nil {
		log.Fatal(err)
	}

	terraformContents, err := os.ReadFile("./terraform-mapping.json")
	if err != nil {
		log.Fatal(err)
	}

	var mapping interface{}
	err = json.Unmarshal(terraformContents, &mapping)
	if err != nil {
		log.Fatalf("cannot deserialize terraform mapping: %v", err)
	}

	embeddedMapping, err := json.Marshal(mapping)
	if err != nil {
		log.Fatalf("cannot reserialize terraform mapping: %v", err)
	}

	err = os.WriteFile("./terraform-mapping-embed.json", embeddedMapping, 0600)
	if err != nil {
		log.Fatal(err)
	}
}
