#!/usr/bin/env bash
# Builds the binaries the e2e suite needs, from Go modules, into test/e2e/.bin/:
#
#   .bin/<tool>-<version>/<binary>   one folder per version, built once
#   .bin/bin/<binary>                stable symlink to the selected version
#
#   test/e2e/tools/build.sh              # all tools
#   test/e2e/tools/build.sh etcd pulumi  # a subset (etcd kube-apiserver kube-controller-manager
#                                        # kubectl pulumi language-host provider actionlint yaml)
#   The default set includes kubectl: the e2e suite runs the kubectl steps of docs/removing-members.md (removing an unreachable
#   member behind KubeSphere 3.4's webhook, the CLI e2e) and the benchmark (bench/) uses it too.
#   actionlint is not in the default set: only .ci/run needs it.
#
# Versions live in exactly one place each:
#   etcd            require in  tools/etcd/go.mod      (go.etcd.io/etcd/server/v3)
#   kube-apiserver,  require in  tools/kube/go.mod     (k8s.io/kubernetes; regenerate the
#   kube-controller-manager,    file with tools/kube/update-go-mod.sh vX.Y.Z; all three
#   kubectl                     binaries share the version and its ldflags stamping)
#   pulumi          require in  tools/pulumi/go.mod    (github.com/pulumi/pulumi/pkg/v3)
#   language-host   test/e2e/languageHost/ (TEST-ONLY stand-in for pulumi-language-nodejs,
#                               compiled with the project's TypeScript; keyed by source hash)
#   actionlint      require in  tools/actionlint/go.mod (github.com/rhysd/actionlint)
#   yaml            require in  tools/yaml/go.mod      (github.com/pulumi/pulumi-yaml, the Pulumi YAML language
#                               host, on the pulumi pkg/sdk it requires (v1.25.0: v3.206.0; it does not compile
#                               against the CLI's v3.248.0); in the default set, as the e2e suite's
#                               multi-language test needs it (npm run demo and bench name the tools they need)
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

# The sandbox's network-namespace test hosts (test/e2e/sandbox/netnsHost.ts) need `ip` from Debian's iproute2: the
# one system package the suite needs beyond Go and Node.js, installed here so a fresh machine needs no manual step.
if ! command -v ip >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: installing iproute2 (ip netns, for the sandbox's test hosts)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
  else
    echo "build.sh: warning: ip (iproute2) not found; the e2e scenarios with network-namespace test hosts will fail" >&2
  fi
fi

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

# ---- what the machine already has --------------------------------------------
# Built only when missing: envtest binaries in $KUBEBUILDER_ASSETS (etcd, kube-apiserver) of the pinned minor
# version, the user's Pulumi CLI on PATH (the pinned version, with its real pulumi-language-nodejs beside it) and
# the Kubernetes provider in the user's plugin cache (the pinned release) are linked into .bin/bin instead.
# KSF_BUILD_TOOLS=1 builds everything regardless.
link_installed() { # <binary> <path> <version>: point .bin/bin/<binary> at a binary the machine already has
  ln -sfn "$2" "$LINK_DIR/.$1.tmp.$$"
  mv -Tf "$LINK_DIR/.$1.tmp.$$" "$LINK_DIR/$1"
  printf '%-27s %-48s %-6s %s\n' "$1" "$3" found "$2"
}
same_minor() { # <version> <version>: v1.33.2 and v1.33.13 match, 3.5.21 and v3.5.35 too
  [[ "$(cut -d. -f1,2 <<<"${1#v}")" == "$(cut -d. -f1,2 <<<"${2#v}")" ]]
}
ours() { # <path>: true when it resolves into .bin (a build of this script)
  [[ "$(readlink -f "$1")" == "$(readlink -f "$BIN_ROOT")"/* ]]
}
installed_envtest() { # <binary> <pinned version>: prints "<path> <version>" of a matching $KUBEBUILDER_ASSETS binary
  local binary="$1" pinned="$2" path found=""
  [[ -z "${KSF_BUILD_TOOLS:-}" && -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$binary" ]] || return 1
  path="$KUBEBUILDER_ASSETS/$binary"
  case "$binary" in
    etcd) found="$("$path" --version 2>/dev/null | sed -n 's/^etcd Version: \(.*\)$/\1/p')" ;;
    kube-apiserver) found="$("$path" --version 2>/dev/null | sed -n 's/^Kubernetes \(v.*\)$/\1/p')" ;;
  esac
  if [[ -z "$found" ]] || ! same_minor "$found" "$pinned"; then
    echo "build.sh: $path is ${found:-of unknown version}, not ${pinned%.*}.x: using the build of $pinned" >&2
    return 1
  fi
  echo "$path $found"
}
installed_pulumi() { # <pinned version>: prints the path of the first pulumi on PATH, when it is not ours, is that
  local pinned="$1" dir found        # version and has its language host beside it
  [[ -z "${KSF_BUILD_TOOLS:-}" ]] || return 1
  IFS=: read -ra path_dirs <<<"${PATH:-}"
  for dir in "${path_dirs[@]}"; do
    [[ -n "$dir" && -x "$dir/pulumi" ]] || continue
    ours "$dir/pulumi" && continue
    found="$(PULUMI_SKIP_UPDATE_CHECK=true "$dir/pulumi" version 2>/dev/null || true)"
    if [[ "$found" != "$pinned" ]]; then
      echo "build.sh: $dir/pulumi is ${found:-of unknown version}, not $pinned: using the build of $pinned" >&2
      return 1
    fi
    if [[ ! -x "$(dirname "$(readlink -f "$dir/pulumi")")/pulumi-language-nodejs" ]]; then
      echo "build.sh: $dir/pulumi has no pulumi-language-nodejs beside it: using the build of $pinned" >&2
      return 1
    fi
    echo "$dir/pulumi"
    return 0
  done
  return 1
}

# ---- etcd -------------------------------------------------------------------
build_etcd() {
  local dir="$TOOLS_DIR/etcd" v found
  v="$(gomod_version "$dir/go.mod" go.etcd.io/etcd/server/v3)"
  if found="$(installed_envtest etcd "$v")"; then link_installed etcd "${found% *}" "${found#* }"; return; fi
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
build_kube() {
  local v found
  v="$(gomod_version "$TOOLS_DIR/kube/go.mod" k8s.io/kubernetes)"
  if found="$(installed_envtest kube-apiserver "$v")"; then link_installed kube-apiserver "${found% *}" "${found#* }"; return; fi
  build_kube_cmd kube-apiserver
}
build_kcm() { build_kube_cmd kube-controller-manager; }
build_kubectl() { build_kube_cmd kubectl; }

# ---- pulumi CLI -------------------------------------------------------------
build_pulumi() {
  local dir="$TOOLS_DIR/pulumi" v found
  v="$(gomod_version "$dir/go.mod" github.com/pulumi/pulumi/pkg/v3)"
  if found="$(installed_pulumi "$v")"; then link_installed pulumi "$found" "$v"; return; fi
  build_pulumi_cli "$v"
}
build_pulumi_cli() { # <version>
  local dir="$TOOLS_DIR/pulumi" v="$1"
  # The Automation API refuses a CLI without a version.
  build_tool pulumi "$v" pulumi "$dir" - \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v#v}" \
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
  local dir="$TOOLS_DIR/provider" pv cached
  pv="$(gomod_version "$dir/go.mod" "$PROVIDER_MODULE")"
  # The user's Pulumi keeps plugins it downloaded in its plugin cache, one folder per release.
  cached="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$PROVIDER_VERSION/pulumi-resource-kubernetes"
  if [[ -z "${KSF_BUILD_TOOLS:-}" && -x "$cached" ]] && ! ours "$cached"; then
    link_installed pulumi-resource-kubernetes "$cached" "v$PROVIDER_VERSION"
    return
  fi
  build_tool pulumi-resource-kubernetes "$PROVIDER_VERSION-$pv" pulumi-resource-kubernetes "$dir" prepare_provider \
    -ldflags "-s -w -X $PROVIDER_MODULE/pkg/version.Version=$PROVIDER_VERSION" .
}

# ---- pulumi-language-nodejs: TEST-ONLY stand-in ------------------------------
# Pulumi's Node.js language host is not built from Go modules like the other tools; the stand-in in
# test/e2e/languageHost/ (TypeScript, on the project's own @pulumi/pulumi) lets the CLI run index.ts. Compiled into
# .bin/pulumi-language-nodejs-standin-<source hash>/, then copied (not linked) next to the pulumi binary: the CLI
# looks for its language host in the folder of its own resolved path, and warns "using ... from $PATH" unless the
# copy it finds on PATH (.bin/bin, a link to that file) resolves to the same file.
compile_language_host() { # <source file> <output dir>; runs in the repository root
  [[ -x node_modules/.bin/tsc ]] || die "node_modules/.bin/tsc not found: run npm ci first"
  node_modules/.bin/tsc --outDir "$2" --rootDir "$(dirname "$1")" --target ES2022 --module commonjs \
    --moduleResolution node --strict --esModuleInterop --skipLibCheck --types node "$1"
}
build_language_host() {
  local repo src pv hash key dest log start status pulumi_dir beside
  repo="$(cd "$TOOLS_DIR/../../.." && pwd)"
  src="$repo/test/e2e/languageHost/pulumi-language-nodejs.ts"
  pv="$(gomod_version "$TOOLS_DIR/pulumi/go.mod" github.com/pulumi/pulumi/pkg/v3)"
  [[ -x "$LINK_DIR/pulumi" ]] || build_pulumi
  # The user's own Pulumi CLI (see installed_pulumi) comes with the real language host: use that one.
  beside="$(dirname "$(readlink -f "$LINK_DIR/pulumi")")/pulumi-language-nodejs"
  if [[ -x "$beside" ]] && ! ours "$beside" && ! grep -qs "TEST TOOLING ONLY" "$beside"; then
    link_installed pulumi-language-nodejs "$beside" "$pv"
    return
  fi
  pulumi_dir="$BIN_ROOT/pulumi-$pv"
  [[ -x "$pulumi_dir/pulumi" ]] || build_pulumi_cli "$pv"
  hash="$(sha256sum "$src" | cut -c1-12)"
  key="pulumi-language-nodejs-standin-$hash"
  dest="$BIN_ROOT/$key"
  log="$LOG_DIR/$key.log"
  start="$(now)"

  exec {lock_fd}>"$BIN_ROOT/.pulumi-language-nodejs.lock"
  flock "$lock_fd"
  if [[ -x "$dest/pulumi-language-nodejs.js" ]]; then
    status="cached"
  else
    local tmp
    tmp="$(mktemp -d "$BIN_ROOT/.tmp-$key.XXXXXX")"
    chmod 755 "$tmp"
    if ! (cd "$repo" && compile_language_host "$src" "$tmp") >"$log" 2>&1; then
      rm -rf "$tmp"
      echo "---- last lines of $log ----" >&2
      tail -n 40 "$log" >&2
      die "compiling the language host stand-in failed (full log: $log)"
    fi
    chmod 755 "$tmp/pulumi-language-nodejs.js"
    rm -rf "$dest"
    mv -T "$tmp" "$dest"
    status="built"
  fi
  if ! cmp -s "$dest/pulumi-language-nodejs.js" "$pulumi_dir/pulumi-language-nodejs"; then
    cp "$dest/pulumi-language-nodejs.js" "$pulumi_dir/.pulumi-language-nodejs.tmp.$$"
    mv -Tf "$pulumi_dir/.pulumi-language-nodejs.tmp.$$" "$pulumi_dir/pulumi-language-nodejs"
  fi
  ln -sfn "../pulumi-$pv/pulumi-language-nodejs" "$LINK_DIR/.pulumi-language-nodejs.tmp.$$"
  mv -Tf "$LINK_DIR/.pulumi-language-nodejs.tmp.$$" "$LINK_DIR/pulumi-language-nodejs"
  exec {lock_fd}>&-
  printf '%-27s %-48s %-6s %s\n' pulumi-language-nodejs "test-only stand-in $hash" "$status" "$(elapsed "$start")"
}

# ---- actionlint (GitHub Actions workflow linter, for .ci/run) ---------------
build_actionlint() {
  local dir="$TOOLS_DIR/actionlint" v
  v="$(gomod_version "$dir/go.mod" github.com/rhysd/actionlint)"
  build_tool actionlint "$v" actionlint "$dir" - \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$v" github.com/rhysd/actionlint/cmd/actionlint
}

# ---- pulumi-language-yaml (Pulumi YAML language host, for the multi-language e2e) ----
# The e2e links it into its own PULUMI_HOME plugin folder (language-yaml-v<version>), where the CLI finds it.
build_yaml() {
  local dir="$TOOLS_DIR/yaml" v
  v="$(gomod_version "$dir/go.mod" github.com/pulumi/pulumi-yaml)"
  build_tool pulumi-language-yaml "$v" pulumi-language-yaml "$dir" - \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=${v#v}" \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}

# ---- main -------------------------------------------------------------------
tools=("$@")
(( ${#tools[@]} > 0 )) || tools=(etcd kube-apiserver kube-controller-manager kubectl pulumi language-host provider yaml)
total_start="$(now)"
for t in "${tools[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kube-apiserver|kube) build_kube ;;
    kube-controller-manager|kcm) build_kcm ;;
    kubectl) build_kubectl ;;
    pulumi) build_pulumi ;;
    language-host|pulumi-language-nodejs) build_language_host ;;
    provider|pulumi-resource-kubernetes) build_provider ;;
    actionlint) build_actionlint ;;
    yaml|pulumi-language-yaml) build_yaml ;;
    *) die "unknown tool '$t' (expected: etcd kube-apiserver kube-controller-manager kubectl pulumi language-host provider actionlint yaml)" ;;
  esac
done
echo "total $(elapsed "$total_start") — binaries in ${LINK_DIR}"
