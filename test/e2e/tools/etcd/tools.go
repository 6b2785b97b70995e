//go:build tools

// Package tools pins etcd (go.etcd.io/etcd/server/v3, the `etcd` binary) for
// the e2e suite. Kept out of ../kube so Kubernetes' dependency versions don't
// drift etcd's own. Built by ../build.sh; the version lives in go.mod.
package tools

import _ "go.etcd.io/etcd/server/v3"
