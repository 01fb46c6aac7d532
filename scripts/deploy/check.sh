#!/usr/bin/env bash
# `make deploy-check`: every file in deploy/ is checked by the tool that runs it, no cluster needed.
#   kubectl kustomize   each kustomization renders (deploy/kubernetes and its overlays)
#   checkov             the rendered manifests pass, or each skipped check is justified in the
#                       manifest (annotation checkov.io/skipN: "CKV_K8S_n=why"; a skip without a
#                       reason fails here)
#   promtool            rules (check + unit tests) and the scrape configs
#   systemd-analyze     the VM unit verifies
# Installs what is missing first (install-tools.sh). Exit 1 on the first failing check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
"$here/install-tools.sh"
venv=${DEPLOY_VENV:-$repo/.venv-deploy}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy-check: FAILED: $*" >&2; exit 1; }

# 1. Kubernetes: render every kustomization (the base is rendered through deploy/kubernetes).
for dir in deploy/kubernetes deploy/kubernetes/*/; do
  dir=${dir%/}
  [ -f "$dir/kustomization.yaml" ] || continue
  [ "$dir" = deploy/kubernetes/base ] && continue
  out="$work/$(echo "$dir" | tr / _).yaml"
  # Newer kubectl warn that `bases`/`commonLabels`/`patchesStrategicMerge` are deprecated: they are
  # kept on purpose (Debian's kubectl knows no other), so those warnings are dropped.
  if ! kubectl kustomize "$dir" > "$out" 2> "$work/err"; then
    cat "$work/err" >&2; fail "kubectl kustomize $dir"
  fi
  grep -v "is deprecated. Please use" "$work/err" >&2 || true
  grep -q "kind: DaemonSet" "$out" || fail "kubectl kustomize $dir rendered no DaemonSet"
  # Every skip names its reason.
  if grep -E "checkov\.io/skip[0-9]+:" "$out" | grep -vqE "CKV_K8S_[0-9]+=.{20,}"; then
    grep -E "checkov\.io/skip[0-9]+:" "$out" | grep -vE "CKV_K8S_[0-9]+=.{20,}" >&2
    fail "$dir: a checkov skip without a reason (write checkov.io/skipN: \"CKV_K8S_n=why\")"
  fi
  if ! "$venv/bin/checkov" --quiet --compact --skip-download --framework kubernetes -f "$out" > "$work/checkov" 2>&1; then
    cat "$work/checkov" >&2; fail "checkov on $dir"
  fi
  echo "deploy-check: $dir renders ($(grep -c '^kind:' "$out") objects), checkov: $(grep -oE 'Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$work/checkov" || echo 'no findings')"
done

# 2. Prometheus.
promtool check rules deploy/prometheus/trace-compat.rules.yml > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "promtool check rules"; }
(cd deploy/prometheus && promtool test rules trace-compat.rules.test.yml) > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "promtool test rules"; }
promtool check config deploy/prometheus/prometheus.yml > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "promtool check config prometheus.yml"; }
if ! promtool check config deploy/prometheus/prometheus-kubernetes.yml > "$work/out" 2>&1; then
  if grep -q "field kubernetes_sd_configs not found" "$work/out"; then
    # Debian builds Prometheus without Kubernetes discovery; the rest of the file is the same
    # schema as prometheus.yml. Check it with kubernetes_sd_configs swapped for static targets.
    sed 's/kubernetes_sd_configs:/static_configs:/; s/- role: pod/- targets: ["pod:8137"]/; /namespaces:/,/names:/d' \
      deploy/prometheus/prometheus-kubernetes.yml > "$work/prometheus-kubernetes.yml"
    cp deploy/prometheus/trace-compat.rules.yml "$work/"
    promtool check config "$work/prometheus-kubernetes.yml" > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "promtool check config prometheus-kubernetes.yml (static stand-in)"; }
    echo "deploy-check: prometheus-kubernetes.yml checked with static targets in place of kubernetes_sd (this promtool has no Kubernetes discovery)"
  else
    cat "$work/out" >&2; fail "promtool check config prometheus-kubernetes.yml"
  fi
fi
echo "deploy-check: promtool: rules, rule tests and scrape configs pass"

# 3. systemd: verify the unit against a stand-in binary (verify checks that ExecStart exists).
printf '#!/bin/sh\n' > "$work/trace-compat"; chmod +x "$work/trace-compat"
sed "s|/usr/local/bin/trace-compat|$work/trace-compat|" deploy/systemd/trace-compat.service > "$work/trace-compat.service"
systemd-analyze verify "$work/trace-compat.service" > "$work/out" 2>&1 || { cat "$work/out" >&2; fail "systemd-analyze verify trace-compat.service"; }
[ ! -s "$work/out" ] || { cat "$work/out" >&2; fail "systemd-analyze verify printed warnings"; }
echo "deploy-check: systemd-analyze verify deploy/systemd/trace-compat.service passes"
