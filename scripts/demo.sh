#!/usr/bin/env bash
# pytorc in one minute: start a torc-server, build a small workflow over HTTP, show its status.
# Run through `make demo`, which puts .venv/bin first on PATH.
set -euo pipefail

workdir=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

echo "== $(torc-server --version)"
echo "== starting torc-server on an in-memory database and a free port"
torc-server run --database :memory: --host 127.0.0.1 --port 0 \
    >"$workdir/server.out" 2>"$workdir/server.err" &
server_pid=$!

port=""
for _ in $(seq 600); do  # the port line is the server's first line of output (up to 60 s)
    port=$(sed -n 's/^TORC_SERVER_PORT=//p' "$workdir/server.out" | head -n 1)
    [[ -n $port ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "torc-server exited before announcing its port:" >&2
        cat "$workdir/server.err" >&2
        exit 1
    fi
    sleep 0.1
done
[[ -n $port ]] || { echo "torc-server announced no port" >&2; exit 1; }
url="http://127.0.0.1:$port/torc-service/v1"
echo "== TORC_SERVER_PORT=$port; API at $url"

python - "$url" <<'PY'
"""Create a five-job diamond workflow and print what the server says about it."""
import json
import sys
import time

import httpx

url = sys.argv[1]
http = httpx.Client(base_url=url, timeout=30)
deadline = time.monotonic() + 60
while True:
    try:
        if http.get("/ping").status_code == 200:
            break
    except httpx.TransportError:
        pass
    if time.monotonic() > deadline:
        sys.exit("torc-server did not answer /ping")
    time.sleep(0.1)


def call(method: str, path: str, **kwargs: object) -> dict:
    response = http.request(method, path, **kwargs)
    if response.status_code >= 300:
        sys.exit(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
    return response.json()


wf = call("POST", "/workflows", json={"name": "demo", "user": "demo",
                                       "description": "preprocess -> 3 x work -> postprocess"})
wid = wf["id"]
print(f"== created workflow {wid} ({wf['name']})")
pre = call("POST", "/jobs", json={"workflow_id": wid, "name": "preprocess",
                                  "command": "echo preparing"})
works = call("POST", "/bulk_jobs", json={"jobs": [
    {"workflow_id": wid, "name": f"work_{i}", "command": f"echo work {i}",
     "depends_on_job_ids": [pre["id"]]} for i in range(1, 4)
]})["jobs"]
post = call("POST", "/jobs", json={"workflow_id": wid, "name": "postprocess",
                                   "command": "echo done",
                                   "depends_on_job_ids": [j["id"] for j in works]})
print(f"== created {2 + len(works)} jobs: preprocess, "
      f"{', '.join(j['name'] for j in works)}, {post['name']}")

response = http.post(f"/workflows/{wid}/initialize_jobs")
if response.status_code < 300:
    print("== initialized: jobs with no upstream work are ready, the rest are blocked")
else:
    print(f"== (initialize_jobs answered {response.status_code}; skipping)")

print(f"== GET /workflows/{wid}/status")
print(json.dumps(call("GET", f"/workflows/{wid}/status"), indent=2))
jobs = call("GET", "/jobs", params={"workflow_id": wid}).get("items", [])
for job in jobs:
    print(f"   job {job['id']:>2}  {job['name']:<12} {job.get('status')}")
PY

echo "== stopping torc-server (SIGTERM)"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
echo "== torc-server exited with status $status"
echo
echo "Next: the job runner (\`torc run <workflow>\`) is coming in the runner work; it will claim"
echo "these jobs from the server, run them, and report their results."
exit "$status"
