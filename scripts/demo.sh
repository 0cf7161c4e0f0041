#!/usr/bin/env bash
# The pytorc demo: run a parameter sweep with a fan-in job on a private server, then show what
# happened. Run through `make demo`, which puts .venv/bin first on PATH.
set -euo pipefail

out=demo_output
db="$out/torc.db"
rm -rf "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "$(torc --version); the workflow: examples/demo.yaml"
sed -n '1,3p' examples/demo.yaml

step "torc -s --db $db run examples/demo.yaml -o $out   (-s: a private torc-server for this command)"
torc -s --db "$db" run examples/demo.yaml -o "$out"

wf=$(torc -s --db "$db" -f json workflows list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

step "torc -s --db $db workflows status $wf"
torc -s --db "$db" workflows status "$wf"

step "torc -s --db $db results list $wf   (return codes, run times, peak memory and CPU)"
torc -s --db "$db" results list "$wf"

step "what the fan-in job wrote ($out/data/pi.txt)"
cat "$out/data/pi.txt"

if torc plot-resources --help >/dev/null 2>&1 && compgen -G "$out/resource_utilization/*.db" >/dev/null; then
    step "torc plot-resources $out/resource_utilization/*.db -o $out/plots"
    torc plot-resources "$out"/resource_utilization/*.db -o "$out/plots"
    echo "resource plots written to $(cd "$out/plots" && pwd)"
fi

step "done: job stdout/stderr in $out/job_stdio, the database in $db"
echo "to use torc yourself: source .venv/bin/activate  (then: torc -s --db $db workflows list)"
