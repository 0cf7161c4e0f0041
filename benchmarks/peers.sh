#!/usr/bin/env bash
# Run the shared peer benchmark (xargs baseline, pytorc's torc-py adapter and the peers) and keep
# the report under benchmarks/results/. Usage: benchmarks/peers.sh [run.py options]
#   PEERBENCH=/path/to/shared/bench (default: ../shared/bench beside the repo, or /work/shared/bench)
#   PEERVENV=/tmp/peervenv (created by the harness's setup_venv.sh; pytorc is installed into it)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bench="${PEERBENCH:-}"
for candidate in "$repo/../shared/bench" /work/shared/bench; do
    [[ -z $bench && -f $candidate/run.py ]] && bench="$candidate"
done
[[ -n $bench ]] || { echo "peer benchmark harness not found; set PEERBENCH" >&2; exit 1; }
venv="${PEERVENV:-/tmp/peervenv}"
if [[ ! -x $venv/bin/python ]]; then
    bash "$bench/setup_venv.sh" "$venv"
fi
"$venv/bin/pip" install -q -e "$repo"
"$venv/bin/python" -m compileall -q "$repo/src/pytorc" >/dev/null  # see the Makefile's COMPILE
mkdir -p "$repo/benchmarks/results"
stamp=$(date +%Y-%m-%d-%H%M)
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--systems xargs,torc-py,parsl-threads,hyperqueue,dask)
"$venv/bin/python" "$bench/run.py" "${args[@]}" \
    --json "$repo/benchmarks/results/peers-$stamp.json" --md "$repo/benchmarks/results/peers-$stamp.md"
