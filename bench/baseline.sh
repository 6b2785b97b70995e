#!/usr/bin/env bash
# BENCHMARK ONLY: the documented manual procedure (KubeSphere 3.x "direct connection"), as a user would script it
# with kubectl, members in parallel. The benchmark's yardstick for `pulumi up`; not part of the product.
#
#   KUBECTL=... HOST_KUBECONFIG=... HOST_NAME=host WORK_DIR=... [BASELINE_PROCEDURE=documented|shortcut] \
#     [BASELINE_POLL_S=1] [BASELINE_TIMEOUT_S=600] baseline.sh member1=/path/m1.yaml member2=...
#
# BASELINE_PROCEDURE=documented (the default) is what the docs tell an operator to do: after each member's patch,
# wait until the member's own kubesphere-config shows the host's jwtSecret and `clusterRole: member` (its
# ks-installer has applied them; a Cluster created before that fails to join until it does), checking with
# `kubectl get cm kubesphere-config -o jsonpath` every BASELINE_POLL_S seconds; then create the Cluster and
# `kubectl wait` for Ready. BASELINE_PROCEDURE=shortcut creates each Cluster right after the patch.
#
# Prints one line per step: "<epoch ms> <step> <cluster>". The jwtSecret stays in shell variables and a 0600
# file that is removed at once; it never reaches argv, stdout or stderr (compared in the shell, never printed).
set -euo pipefail
: "${KUBECTL:?}" "${HOST_KUBECONFIG:?}" "${HOST_NAME:?}" "${WORK_DIR:?}"
PROCEDURE="${BASELINE_PROCEDURE:-documented}"
POLL_S="${BASELINE_POLL_S:-1}"
TIMEOUT_S="${BASELINE_TIMEOUT_S:-600}"
case "$PROCEDURE" in documented | shortcut) ;; *)
  echo "baseline: BASELINE_PROCEDURE is \"$PROCEDURE\"; use documented or shortcut" >&2
  exit 2
  ;;
esac
# kubectl's discovery cache, fresh per run like a first run on a user's machine.
export KUBECACHEDIR="$WORK_DIR/kube-cache"
mkdir -p "$WORK_DIR"

stamp() { printf '%s %s %s\n' "$(date +%s%3N)" "$1" "$2"; }
host() { "$KUBECTL" --kubeconfig "$HOST_KUBECONFIG" "$@"; }

# 1. Make the host a host: spec.multicluster.clusterRole host and hostClusterName on its ks-installer.
host -n kubesphere-system patch cc ks-installer --type merge \
  -p "{\"spec\":{\"multicluster\":{\"clusterRole\":\"host\",\"hostClusterName\":\"$HOST_NAME\"}}}" >/dev/null
stamp host-patched "$HOST_NAME"

# kubesphere.yaml's jwtSecret (3.x authentication.jwtSecret), from stdin; quoted or not.
jwt_of() { sed -n 's/^[[:space:]]*jwtSecret:[[:space:]]*["'"'"']\{0,1\}\([^"'"'"']*\)["'"'"']\{0,1\}[[:space:]]*$/\1/p' | head -n 1; }

# 2. Read the host's jwtSecret (`kubectl -n kubesphere-system get cm kubesphere-config -o yaml | grep jwtSecret`).
jwt="$(host -n kubesphere-system get cm kubesphere-config -o jsonpath='{.data.kubesphere\.yaml}' | jwt_of)"
[[ -n "$jwt" ]] || { echo "baseline: no jwtSecret in the host's kubesphere-config" >&2; exit 1; }
stamp jwt-read "$HOST_NAME"

# Documented step 4: wait until the member's kubesphere-config shows the host's jwtSecret and clusterRole member.
wait_member_config() { # <name> <kubeconfig>
  local name="$1" kubeconfig="$2" deadline=$((SECONDS + TIMEOUT_S)) config
  while :; do
    config="$("$KUBECTL" --kubeconfig "$kubeconfig" -n kubesphere-system get cm kubesphere-config \
      -o jsonpath='{.data.kubesphere\.yaml}' 2>/dev/null || true)"
    if [[ "$(jwt_of <<<"$config")" == "$jwt" ]] &&
      grep -Eq '^[[:space:]]*clusterRole:[[:space:]]*["'"'"']?member["'"'"']?[[:space:]]*$' <<<"$config"; then
      return 0
    fi
    ((SECONDS < deadline)) || {
      echo "baseline: $name's kubesphere-config did not show the host's jwtSecret and clusterRole member within ${TIMEOUT_S}s" >&2
      return 1
    }
    sleep "$POLL_S"
  done
}

# 3.-5. Per member: set the jwtSecret and role on its ks-installer, (documented: wait until its kubesphere-config
# shows them,) create its Cluster on the host, wait for Ready.
join_member() { # <name> <kubeconfig>
  local name="$1" kubeconfig="$2" patch="$WORK_DIR/$1-patch.json"
  (umask 077 && printf '{"spec":{"authentication":{"jwtSecret":"%s"},"multicluster":{"clusterRole":"member"}}}' "$jwt" >"$patch")
  "$KUBECTL" --kubeconfig "$kubeconfig" -n kubesphere-system patch cc ks-installer --type merge --patch-file "$patch" >/dev/null
  rm -f "$patch"
  stamp member-patched "$name"
  if [[ "$PROCEDURE" == documented ]]; then
    wait_member_config "$name" "$kubeconfig"
    stamp member-config-applied "$name"
  fi
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
  host wait --for=condition=Ready "clusters.cluster.kubesphere.io/$name" --timeout="${TIMEOUT_S}s" >/dev/null
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
