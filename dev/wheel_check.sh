#!/usr/bin/env bash
# make wheel-check: the installation test. Builds the wheel, installs it into fresh virtual
# environments beside the LOWEST Airflow pyproject.toml declares (its floor, pinned) and the HIGHEST
# (the range left to the resolver), as `pip install airflow-mlops` into an existing Airflow would,
# and checks that Airflow lists the plugin and the provider and that the CLI runs.
#
# Usage: dev/wheel_check.sh [lowest|highest]...   (both by default)
# Needs: python3.11 (PY), uv (UV, default .venv/bin/uv or the one on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3.11}
UV=${UV:-$( [ -x .venv/bin/uv ] && echo .venv/bin/uv || command -v uv )}
[ -n "$UV" ] || { echo "wheel-check: uv not found (make install, or set UV)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wheel-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS

# The floor, read from pyproject.toml's apache-airflow requirement (e.g. >=3.1.0,<3.4 -> 3.1.0), and
# the top: the version requirements/constraints.txt pins (the stack tested here, the newest this
# registry serves). Left to itself the resolver picks an older Airflow (3.2.2 on 2026-12-07), so
# the top is pinned too. LOWEST=/HIGHEST= override either.
spec=$(grep -oE '"apache-airflow[<>=!~][^"]*"' pyproject.toml | head -1 | tr -d '"' | sed 's/^apache-airflow//')
floor=${LOWEST:-$(sed -nE 's/.*>=([0-9][0-9.]*).*/\1/p' <<<"$spec")}
top=${HIGHEST:-$(sed -nE 's/^apache-airflow==([0-9.]+)$/\1/p' requirements/constraints.txt)}
[ -n "$floor" ] || { echo "wheel-check: no >= floor in apache-airflow$spec" >&2; exit 1; }
[ -n "$top" ] || { echo "wheel-check: no apache-airflow== pin in requirements/constraints.txt" >&2; exit 1; }

"$UV" build --quiet --wheel --out-dir "$WORK/dist" . >/dev/null
wheel=$(ls "$WORK"/dist/airflow_mlops-*.whl)
echo "wheel-check: built $(basename "$wheel") ($((SECONDS - start)) s); declares apache-airflow$spec; checking $floor and $top"

check() {  # $1: lowest|highest
    local which=$1 venv="$WORK/venv-$1" t0=$SECONDS req
    if [ "$which" = lowest ]; then req="apache-airflow==$floor"; else req="apache-airflow==$top"; fi
    "$UV" venv --quiet --python "$PY" "$venv"
    "$UV" pip install --quiet --python "$venv/bin/python" "$wheel" "$req"
    local version
    version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')
    # A fresh AIRFLOW_HOME with an empty plugins and DAGs folder: what is found comes from the wheel.
    export AIRFLOW_HOME="$WORK/home-$which" AIRFLOW__CORE__LOAD_EXAMPLES=False
    export AIRFLOW__CORE__PLUGINS_FOLDER="$AIRFLOW_HOME/plugins" AIRFLOW__CORE__DAGS_FOLDER="$AIRFLOW_HOME/dags"
    mkdir -p "$AIRFLOW__CORE__PLUGINS_FOLDER" "$AIRFLOW__CORE__DAGS_FOLDER"
    local plugins providers
    plugins=$(PATH="$venv/bin:$PATH" "$venv/bin/airflow" plugins -o json 2>"$WORK/plugins.err") || {
        cat "$WORK/plugins.err" >&2; echo "wheel-check: airflow plugins failed on Airflow $version" >&2; return 1; }
    providers=$(PATH="$venv/bin:$PATH" "$venv/bin/airflow" providers list -o json 2>"$WORK/providers.err") || {
        cat "$WORK/providers.err" >&2; echo "wheel-check: airflow providers list failed on Airflow $version" >&2; return 1; }
    "$venv/bin/python" - "$version" "$plugins" "$providers" <<'PYEOF'
import json, sys
version, plugins, providers = sys.argv[1], json.loads(sys.argv[2] or "[]"), json.loads(sys.argv[3] or "[]")
names = [p.get("name") for p in plugins]
assert "airflow_mlops" in names, f"Airflow {version}: airflow plugins lists {names}, not airflow_mlops"
ours = [p for p in providers if p.get("package_name") == "airflow-mlops"]
assert ours, f"Airflow {version}: airflow providers list has no airflow-mlops"
print(f"  plugin airflow_mlops and provider airflow-mlops {ours[0].get('version')} listed")
PYEOF
    # The CLI: without settings it names the one to set; with them it reads the state, creating
    # nothing (no MLflow database) where it reads.
    local out
    if out=$(env -u AIRFLOW_MLOPS_HOME -u AIRFLOW_MLOPS_INCLUDE_DIR "$venv/bin/airflow-mlops" status 2>&1); then
        echo "wheel-check: airflow-mlops status ran without AIRFLOW_MLOPS_HOME: $out" >&2; return 1
    fi
    grep -q "setting AIRFLOW_MLOPS_HOME is not set" <<<"$out" || {
        echo "wheel-check: airflow-mlops status without settings said: $out" >&2; return 1; }
    AIRFLOW_MLOPS_HOME="$WORK/state-$which" AIRFLOW_MLOPS_INCLUDE_DIR="$PWD/include" \
        "$venv/bin/airflow-mlops" status >"$WORK/status.log" 2>&1 || {
        cat "$WORK/status.log" >&2; echo "wheel-check: airflow-mlops status failed" >&2; return 1; }
    [ ! -e "$WORK/state-$which/mlflow" ] || { echo "wheel-check: status created an MLflow store" >&2; return 1; }
    echo "  airflow-mlops status: names AIRFLOW_MLOPS_HOME when unset, reads the state when set"
    echo "wheel-check: $which Airflow $version: ok ($((SECONDS - t0)) s)"
}

for which in "${@:-lowest highest}"; do
    for w in $which; do check "$w"; done
done
echo "wheel-check: passed in $((SECONDS - start)) s"
