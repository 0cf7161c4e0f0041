"""How long `create_workflow_from_spec` takes for big parameter sweeps, end to end.

For each variant a fresh torc-server is started on a temporary SQLite file and one spec file is
created through pytorc.spec (parse, expand, check, upload in bulk), as `torc workflows create`
does. Prints, per variant, the time to load the spec (parse + expand + checks), the wall time of
the whole create call (load included), and jobs per second.

  sweep    10,000 independent jobs  work_{i:05d}
  fan-in   the same 10,000 jobs and one `collect` job after all of them (depends_on_regexes)
  files    10,000 jobs each writing its own file via ${files.output.out_{i}}, one reader of all

    python benchmarks/spec_create.py [--jobs 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_server import running_server

from pytorc.client.api import TorcClient
from pytorc.spec import create_workflow_from_spec, load_spec

SPECS = {
    "sweep": """
name: sweep
jobs:
  - name: work_{{i:05d}}
    command: echo {{i}}
    parameters: {{i: "1:{n}"}}
""",
    "fan-in": """
name: fan-in
jobs:
  - name: work_{{i:05d}}
    command: echo {{i}}
    parameters: {{i: "1:{n}"}}
  - name: collect
    command: echo collected
    depends_on_regexes: ["^work_"]
""",
    "files": """
name: files
files:
  - name: out_{{i}}
    path: out/{{i}}.txt
    parameters: {{i: "1:{n}"}}
jobs:
  - name: work_{{i:05d}}
    command: echo {{i}} > ${{files.output.out_{{i}}}}
    parameters: {{i: "1:{n}"}}
  - name: collect
    command: cat out/*.txt
    input_file_regexes: ["^out_"]
""",
}


def measure(variant: str, jobs: int, workdir: Path) -> tuple[int, float, float]:
    """(jobs created, seconds to load the spec, seconds for the whole create call)."""
    spec = workdir / f"{variant}.yaml"
    spec.write_text(SPECS[variant].format(n=jobs))
    start = time.perf_counter()
    count = len(load_spec(spec).jobs)
    loaded = time.perf_counter() - start
    with running_server(workdir) as url, TorcClient(url) as client:
        start = time.perf_counter()
        wf = create_workflow_from_spec(client, spec, user="bench")
        created = time.perf_counter() - start
        total = client.workflow_status(wf["id"])["total_jobs"]
    if total != count:
        sys.exit(f"{variant}: the server holds {total} jobs, the spec makes {count}")
    return count, loaded, created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per sweep (10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; median shown")
    parser.add_argument("--variants", nargs="*", default=list(SPECS), choices=list(SPECS))
    args = parser.parse_args()
    print(f"{'variant':<8} {'jobs':>6} {'load s':>7} {'create s':>9} {'jobs/s':>8}")
    for variant in args.variants:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="spec-bench-") as tmp:
                runs.append(measure(variant, args.jobs, Path(tmp)))
        count = runs[0][0]
        loaded = statistics.median(r[1] for r in runs)
        created = statistics.median(r[2] for r in runs)
        print(f"{variant:<8} {count:>6} {loaded:>7.2f} {created:>9.2f} {count / created:>8.0f}")


if __name__ == "__main__":
    main()
