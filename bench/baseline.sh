#!/usr/bin/env bash
# BENCHMARK ONLY: the documented manual procedure (KubeSphere 3.x "direct connection"), as a user would script it
# with kubectl, members in parallel. The benchmark's yardstick for `pulumi up`; not part of the product.
#
#   KUBECTL=... HOST_KUBECONFIG=... HOST_NAME=host WORK_DIR=... baseline.sh member1=/path/m1.yaml member2=...
#
# Prints one line per step: "<epoch ms> <step> <cluster>". The jwtSecret stays in a shell variable and a 0600
# file that is removed at once; it never reaches argv, stdout or stderr.
set -euo pipefail
: "${KUBECTL:?}" "${HOST_KUBECONFIG:?}" "${HOST_NAME:?}" "${WORK_DIR:?}"
# kubectl's discovery cache, fresh per run like a first run on a user's machine.
export KUBECACHEDIR="$WORK_DIR/kube-cache"
mkdir -p "$WORK_DIR"

stamp() { printf '%s %s %s\n' "$(date +%s%3N)" "$1" "$2"; }
host() { "$KUBECTL" --kubeconfig "$HOST_KUBECONFIG" "$@"; }

# 1. Make the host a host: spec.multicluster.clusterRole host and hostClusterName on its ks-installer.
host -n kubesphere-system patch cc ks-installer --type merge \
  -p "{\"spec\":{\"multicluster\":{\"clusterRole\":\"host\",\"hostClusterName\":\"$HOST_NAME\"}}}" >/dev/null
stamp host-patched "$HOST_NAME"

# 2. Read the host's jwtSecret (`kubectl -n kubesphere-system get cm kubesphere-config -o yaml | grep jwtSecret`).
jwt="$(host -n kubesphere-system get cm kubesphere-config -o jsonpath='{.data.kubesphere\.yaml}' |
  sed -n 's/^[[:space:]]*jwtSecret:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' | head -n 1)"
[[ -n "$jwt" ]] || { echo "baseline: no jwtSecret in the host's kubesphere-config" >&2; exit 1; }
stamp jwt-read "$HOST_NAME"

# 3.-5. Per member: set the jwtSecret and role on its ks-installer, create its Cluster on the host, wait for Ready.
join_member() { # <name> <kubeconfig>
  local name="$1" kubeconfig="$2" patch="$WORK_DIR/$1-patch.json"
  (umask 077 && printf '{"spec":{"authentication":{"jwtSecret":"%s"},"multicluster":{"clusterRole":"member"}}}' "$jwt" >"$patch")
  "$KUBECTL" --kubeconfig "$kubeconfig" -n kubesphere-system patch cc ks-installer --type merge --patch-file "$patch" >/dev/null
  rm -f "$patch"
  stamp member-patched "$name"
  host create -f - >/dev/null <<YAML
apiVersion: cluster.kubesphere.io/v1alpha1
kind: Cluster
metadata:
  name: $name
spec:
  provider: Kubernetes
  joinFederation: true
  connection:
    type: direct
    kubeconfig: $(base64 -w0 "$kubeconfig")
YAML
  stamp cluster-created "$name"
  host wait --for=condition=Ready "clusters.cluster.kubesphere.io/$name" --timeout=600s >/dev/null
  stamp cluster-ready "$name"
}

pids=()
names=()
for member in "$@"; do
  join_member "${member%%=*}" "${member#*=}" &
  pids+=("$!")
  names+=("${member%%=*}")
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "baseline: member ${names[$i]} failed" >&2; failed=1; }
done
exit "$failed"
