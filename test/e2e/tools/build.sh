#!/usr/bin/env bash
# Builds the binaries the e2e suite needs, from Go modules, into test/e2e/.bin/:
#
#   .bin/<tool>-<version>/<binary>   one folder per version, built once
#   .bin/bin/<binary>                stable symlink to the selected version
#
#   test/e2e/tools/build.sh              # all tools
#   test/e2e/tools/build.sh etcd pulumi  # a subset (etcd kube-apiserver kube-controller-manager
#                                        # kubectl pulumi provider)
#   The default set includes kubectl: the e2e suite runs the README's kubectl procedure for removing an
#   unreachable member behind KubeSphere 3.4's webhook, and the benchmark (bench/) uses it too.
#
# Versions live in exactly one place each:
#   etcd            require in  tools/etcd/go.mod      (go.etcd.io/etcd/server/v3)
#   kube-apiserver,  require in  tools/kube/go.mod     (k8s.io/kubernetes; regenerate the
#   kube-controller-manager,    file with tools/kube/update-go-mod.sh vX.Y.Z; all three
#   kubectl                     binaries share the version and its ldflags stamping)
#   pulumi          require in  tools/pulumi/go.mod    (github.com/pulumi/pulumi/pkg/v3)
#   provider        require in  tools/provider/go.mod  (pseudo-version of
#                               github.com/pulumi/pulumi-kubernetes/provider/v4) plus
#                               PROVIDER_VERSION below (the release it corresponds to)
#
# Needs Go (>= the go lines of the tools modules, or GOTOOLCHAIN=auto) and access to
# a Go module proxy. go.sum files are committed, so builds are -mod=readonly.
set -euo pipefail

# Release of github.com/pulumi/pulumi-kubernetes that the pinned provider/v4
# pseudo-version corresponds to: stamped into the binary and its schema. Must
# match the npm @pulumi/kubernetes version in package.json.
PROVIDER_VERSION="4.25.0"

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_ROOT="${E2E_BIN_DIR:-$(dirname "$TOOLS_DIR")/.bin}"
LINK_DIR="$BIN_ROOT/bin"
LOG_DIR="$BIN_ROOT/.logs"

# Some Pulumi modules (pulumi/pkg v3.248.0, the untagged pulumi-kubernetes
# provider pseudo-version, cloud-ready-checks) are unknown to sum.golang.org;
# the committed go.sum files pin their hashes instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi/pkg,github.com/pulumi/pulumi-kubernetes,github.com/pulumi/cloud-ready-checks"
export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
export CGO_ENABLED=0

die() { echo "build.sh: error: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "go not found on PATH"

# Version of a module as required in a go.mod (single-line or block form).
gomod_version() { # <go.mod> <module path>
  local v
  v="$(awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/       { print $2; exit }' "$1")"
  [[ -n "$v" ]] || die "$2 is not required in $1"
  echo "$v"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

mkdir -p "$LINK_DIR" "$LOG_DIR"

# build_tool <name> <version> <binary> <module dir> <prepare fn|-> <go build args...>
# Builds into .bin/<name>-<version>/<binary> unless it exists, then points
# .bin/bin/<binary> at it. Builds go to a temp folder that is renamed into place,
# under a per-tool lock, so interrupted or concurrent runs never leave a broken
# binary behind.
build_tool() {
  local name="$1" version="$2" binary="$3" moddir="$4" prepare="$5"
  shift 5
  local key="$name-$version"
  local dest="$BIN_ROOT/$key"
  local log="$LOG_DIR/$key.log"
  local start status
  start="$(now)"

  exec {lock_fd}>"$BIN_ROOT/.$name.lock"
  flock "$lock_fd"

  if [[ -x "$dest/$binary" ]]; then
    status="cached"
  else
    local tmp
    tmp="$(mktemp -d "$BIN_ROOT/.tmp-$key.XXXXXX")"
    chmod 755 "$tmp"          # mktemp creates 0700
    if ! (
      cd "$moddir"
      if [[ "$prepare" != "-" ]]; then "$prepare" "$version"; fi
      go build -trimpath -o "$tmp/$binary" "$@"
    ) >"$log" 2>&1; then
      rm -rf "$tmp"
      echo "---- last lines of $log ----" >&2
      tail -n 40 "$log" >&2
      die "building $name $version failed (full log: $log)"
    fi
    rm -rf "$dest"            # leftover without an executable binary
    mv -T "$tmp" "$dest"
    status="built"
  fi

  # Atomically (re)point the stable symlink (relative, so the checkout can move).
  ln -sfn "../$key/$binary" "$LINK_DIR/.$binary.tmp.$$"
  mv -Tf "$LINK_DIR/.$binary.tmp.$$" "$LINK_DIR/$binary"

  exec {lock_fd}>&-
  printf '%-27s %-48s %-6s %s\n' "$binary" "$version" "$status" "$(elapsed "$start")"
}

# ---- etcd -------------------------------------------------------------------
build_etcd() {
  local dir="$TOOLS_DIR/etcd" v
  v="$(gomod_version "$dir/go.mod" go.etcd.io/etcd/server/v3)"
  build_tool etcd "$v" etcd "$dir" - \
    -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

# ---- kube-apiserver, kube-controller-manager ---------------------------------
prepare_kube() { # <k8s version>
  local v="$1" minor
  minor="$(cut -d. -f2 <<<"$v")"
  # Every staging module must be replaced with the matching published tag.
  grep -Eq "^[[:space:]]*k8s.io/component-base => k8s.io/component-base v0\.${minor}\.${v##*.}\$" go.mod ||
    die "kube/go.mod staging replaces don't match k8s.io/kubernetes $v; run tools/kube/update-go-mod.sh $v"
}
# kube_ldflags <k8s version>: version stamping shared by every Kubernetes binary.
kube_ldflags() {
  local dir="$TOOLS_DIR/kube" v="$1" major minor date ldflags="-s -w" pkg
  major="$(cut -d. -f1 <<<"${v#v}")"
  minor="$(cut -d. -f2 <<<"$v")"
  # Reproducible build date: the release's commit time as recorded by the proxy.
  date="$(cd "$dir" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes 2>/dev/null || true)"
  [[ -n "$date" ]] || date="1970-01-01T00:00:00Z"
  # Same variables as kubernetes/hack/lib/version.sh. The commit is not
  # recoverable from a module zip, so it is a fixed placeholder.
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    ldflags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  done
  echo "$ldflags"
}
# build_kube_cmd <binary>: k8s.io/kubernetes/cmd/<binary> at the pinned version.
build_kube_cmd() {
  local dir="$TOOLS_DIR/kube" binary="$1" v ldflags
  v="$(gomod_version "$dir/go.mod" k8s.io/kubernetes)"
  # kube_ldflags runs `go list -m` (may hit the proxy); skip it when cached.
  ldflags=""
  [[ -x "$BIN_ROOT/$binary-$v/$binary" ]] || ldflags="$(kube_ldflags "$v")"
  build_tool "$binary" "$v" "$binary" "$dir" prepare_kube \
    -tags selinux,notest -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$binary"
}
build_kube() { build_kube_cmd kube-apiserver; }
build_kcm() { build_kube_cmd kube-controller-manager; }
build_kubectl() { build_kube_cmd kubectl; }

# ---- pulumi CLI -------------------------------------------------------------
build_pulumi() {
  local dir="$TOOLS_DIR/pulumi" v
  v="$(gomod_version "$dir/go.mod" github.com/pulumi/pulumi/pkg/v3)"
  # The Automation API refuses a CLI without a version.
  build_tool pulumi "$v" pulumi "$dir" - \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# ---- pulumi-resource-kubernetes ---------------------------------------------
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
prepare_provider() { # <cache key>; runs in tools/provider
  local src
  src="$(go mod download -json "$PROVIDER_MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "$src/cmd/pulumi-resource-kubernetes" ]] || die "could not download $PROVIDER_MODULE"
  # Mirror upstream `go generate` (cmd/pulumi-resource-kubernetes/generate.go):
  # copy schema.json + terraform-mapping.json, write the *-embed.json files.
  rm -f schema.json terraform-mapping.json schema-embed.json terraform-mapping-embed.json
  cp "$src/cmd/pulumi-resource-kubernetes/schema.json" "$src/cmd/pulumi-resource-kubernetes/terraform-mapping.json" .
  chmod u+w schema.json terraform-mapping.json
  VERSION="$PROVIDER_VERSION" go run ./generate.go
  rm -f schema.json terraform-mapping.json
}
build_provider() {
  local dir="$TOOLS_DIR/provider" pv
  pv="$(gomod_version "$dir/go.mod" "$PROVIDER_MODULE")"
  build_tool pulumi-resource-kubernetes "$PROVIDER_VERSION-$pv" pulumi-resource-kubernetes "$dir" prepare_provider \
    -ldflags "-s -w -X $PROVIDER_MODULE/pkg/version.Version=$PROVIDER_VERSION" .
}

# ---- main -------------------------------------------------------------------
tools=("$@")
(( ${#tools[@]} > 0 )) || tools=(etcd kube-apiserver kube-controller-manager kubectl pulumi provider)
total_start="$(now)"
for t in "${tools[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kube-apiserver|kube) build_kube ;;
    kube-controller-manager|kcm) build_kcm ;;
    kubectl) build_kubectl ;;
    pulumi) build_pulumi ;;
    provider|pulumi-resource-kubernetes) build_provider ;;
    *) die "unknown tool '$t' (expected: etcd kube-apiserver kube-controller-manager kubectl pulumi provider)" ;;
  esac
done
echo "total $(elapsed "$total_start") — binaries in ${LINK_DIR}"
