"""Parameter expansion, templates, shared parameters and the dependencies substitution implies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.parameters import combinations, parse_values, substitute
from pytorc.spec import create_workflow_from_spec, load_spec, plan
from pytorc.spec.references import Names, literal_prefix


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url, retry_seconds=5) as c:
        yield c


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        ("1:5", [1, 2, 3, 4, 5]),
        ("1:10:3", [1, 4, 7, 10]),
        ("1:100:5", list(range(1, 101, 5))),
        ("10:1:-3", [10, 7, 4, 1]),
        ("-2:2", [-2, -1, 0, 1, 2]),
        ("{1:3}", [1, 2, 3]),  # Torc tolerates braces around a value
        ("0:1:0.25", [0.0, 0.25, 0.5, 0.75, 1.0]),
        ("1.0:0.0:-0.5", [1.0, 0.5, 0.0]),
        ("[1,5,10]", [1, 5, 10]),
        ("[0.1, 0.5]", [0.1, 0.5]),
        ("['adam','sgd']", ["adam", "sgd"]),
        ('["a,b", c]', ["a,b", "c"]),
        ("[1, x, 2.5]", [1, "x", 2.5]),
        ("7", [7]),
        ("0.5", [0.5]),
        ("resnet", ["resnet"]),
        (3, [3]),
        (2.5, [2.5]),
        (["a", 1], ["a", 1]),
    ],
)
def test_parameter_values(raw: Any, values: list[Any]) -> None:
    assert parse_values(raw) == values


def test_float_range_keeps_its_end_and_rounds_to_the_inputs_precision() -> None:
    values = parse_values("0.0:1.0:0.1")
    assert len(values) == 11 and values[-1] == 1.0
    assert values[3] == 0.3  # not 0.30000000000000004
    assert parse_values("0.0001:0.0003:0.0001") == [0.0001, 0.0002, 0.0003]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("[]", "expands to no values"),
        ("5:1", "is empty"),
        ("1:5:-1", "is empty"),
        ("1:5:0", "step must not be 0"),
        ("0.0:1.0:0", "step must not be 0"),
        ("", "empty value"),
        ("[1,,2]", "empty item"),
        ("['a]", "unclosed quote"),
        ([], "expands to no values"),
    ],
)
def test_parameter_values_that_expand_to_nothing_are_errors(raw: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_values(raw)


def test_product_puts_the_first_parameter_outermost() -> None:
    combos = combinations({"a": [1, 2], "b": ["x", "y", "z"]}, "product")
    assert [(c["a"], c["b"]) for c in combos] == [
        (1, "x"),
        (1, "y"),
        (1, "z"),
        (2, "x"),
        (2, "y"),
        (2, "z"),
    ]


def test_zip_pairs_values_and_needs_equal_lengths() -> None:
    combos = combinations({"a": [1, 2, 3], "b": ["x", "y", "z"]}, "zip")
    assert [(c["a"], c["b"]) for c in combos] == [(1, "x"), (2, "y"), (3, "z")]
    with pytest.raises(ValueError, match="a has 3, b has 2"):
        combinations({"a": [1, 2, 3], "b": ["x", "y"]}, "zip")


@pytest.mark.parametrize(
    ("template", "combo", "out"),
    [
        ("job_{i:03d}", {"i": 7}, "job_007"),
        ("lr{lr:.4f}", {"lr": 0.001}, "lr0.0010"),
        ("lr{lr}", {"lr": 0.001}, "lr0.001"),
        ("{name:>6}|", {"name": "ab"}, "    ab|"),
        ("{i}-{j}", {"i": 1, "j": "x"}, "1-x"),
        ("keep {j} and ${HOME}", {"i": 1}, "keep {j} and ${HOME}"),
        ("awk '{print $1}' {a,b}", {"print": 1}, "awk '{print $1}' {a,b}"),
        ("${files.input.f_{i}}", {"i": 2}, "${files.input.f_2}"),
    ],
)
def test_templates(template: str, combo: dict[str, Any], out: str) -> None:
    assert substitute(template, combo) == out


def test_templates_in_regexes_are_escaped() -> None:
    assert substitute("^a_{v}$", {"v": 1.5}, escape=True) == r"^a_1\.5$"


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("^work_", "work_"),
        ("^work_\\d+$", "work_"),
        (r"^a\.b", "a.b"),
        ("^abc*", "ab"),
        ("^ab?c", "a"),
        ("^a|^b", ""),
        ("work_", ""),
        ("^(x)", ""),
    ],
)
def test_literal_prefix_of_anchored_regexes(pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix


def test_names_matching_agrees_with_a_full_scan() -> None:
    import re

    names = [f"{p}_{i}" for p in ("a", "ab", "b") for i in range(30)] + ["a", "abc"]
    index = Names(names)
    for pattern in ("^a", "^ab", "^a_1", "^abc?", "_2$", "^b_(1|2)$", "^a.c"):
        regex = re.compile(pattern)
        assert index.matching(regex) == sorted(n for n in names if regex.search(n)), pattern


# --- specs --------------------------------------------------------------------------------

SHARED = """
name: shared
parameters:
  i: "1:3"
  lr: "[0.1, 0.01]"
  unused: "[a, b]"
jobs:
  - name: train_{i}_{lr}
    command: train --lr {lr} --fold {i}
    use_parameters: [i, lr]
  - name: eval_{i}
    command: eval {i}
    use_parameters: [i]
  - name: local_{i}
    command: echo {i}
    use_parameters: [i]
    parameters:
      i: "7:8"
  - name: literal_{i}
    command: not expanded without use_parameters
"""


def test_shared_parameters_apply_only_through_use_parameters(tmp_path: Path) -> None:
    names = [j.name for j in load_spec(write(tmp_path, SHARED)).jobs]
    assert names == [
        "train_1_0.1",
        "train_1_0.01",
        "train_2_0.1",
        "train_2_0.01",
        "train_3_0.1",
        "train_3_0.01",
        "eval_1",
        "eval_2",
        "eval_3",
        "local_7",  # local parameters replace the shared ones completely, as in Torc
        "local_8",
        "literal_{i}",
    ]


ZIP_AND_REFS = """
name: refs
jobs:
  - name: prep_{i}
    command: prep {i}
    parameters: {i: "1:3"}
  - name: run_{i}_{s}
    command: run {i} {s}
    parameter_mode: zip
    parameters: {i: "1:3", s: "[a, b, c]"}
    depends_on: ["prep_{i}"]
  - name: done
    command: echo done
    depends_on_regexes: ["^run_2_", "^run_3_c$"]
"""


def test_zip_mode_and_templated_references(tmp_path: Path) -> None:
    jobs = {j.name: j for j in load_spec(write(tmp_path, ZIP_AND_REFS)).jobs}
    assert [n for n in jobs if n.startswith("run_")] == ["run_1_a", "run_2_b", "run_3_c"]
    assert jobs["run_3_c"].depends_on == ["prep_3"]
    assert jobs["done"].depends_on == ["run_2_b", "run_3_c"]
    assert jobs["done"].depends_on_regexes == []


PARAMETERIZED_RECORDS = """
name: records
files:
  - name: shard_{k:02d}
    path: /data/shard_{k:02d}.parquet
    parameters: {k: "0:2"}
user_data:
  - name: cfg_{k}
    data: {shard: "shard_{k:02d}", size: 3, tags: ["k={k}"]}
    parameters: {k: "0:2"}
jobs:
  - name: read_{k}
    command: read ${files.input.shard_{k:02d}} ${user_data.input.cfg_{k}}
    parameters: {k: "0:2"}
"""


def test_files_and_user_data_expand_too(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, PARAMETERIZED_RECORDS))
    assert [(f.name, f.path) for f in spec.files] == [
        (f"shard_{k:02d}", f"/data/shard_{k:02d}.parquet") for k in range(3)
    ]
    assert spec.user_data[1].data == {"shard": "shard_01", "size": 3, "tags": ["k=1"]}
    read = spec.jobs[1]
    assert read.command == (
        'read /data/shard_01.parquet {"shard": "shard_01", "size": 3, "tags": ["k=1"]}'
    )
    assert (read.input_files, read.input_user_data) == (["shard_01"], ["cfg_1"])


PIPELINE = """
name: pipeline
files:
  - {name: raw, path: raw.csv}
  - {name: clean, path: clean.csv}
user_data:
  - {name: stats}
jobs:
  - name: report
    command: report ${files.input.clean} ${user_data.input.stats}
  - name: summarize
    command: summarize ${files.input.clean} > ${user_data.output.stats}
  - name: clean
    command: clean < ${files.input.raw} > ${files.output.clean}
"""


def test_substitution_adds_the_names_and_orders_the_plan(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, PIPELINE))
    jobs = {j.name: j for j in spec.jobs}
    assert jobs["clean"].command == "clean < raw.csv > clean.csv"
    assert (jobs["clean"].input_files, jobs["clean"].output_files) == (["raw"], ["clean"])
    assert jobs["summarize"].output_user_data == ["stats"]
    assert jobs["report"].command == "report clean.csv null"  # user data without data: null
    assert all(not j.depends_on for j in spec.jobs)  # no explicit edges ...
    assert plan(spec).levels == [["clean"], ["summarize"], ["report"]]  # ... yet an order


def test_implied_dependencies_hold_on_the_server(client: TorcClient, tmp_path: Path) -> None:
    wf = create_workflow_from_spec(client, write(tmp_path, PIPELINE), user="tester")
    client.initialize_jobs(wf["id"])
    status = {j["name"]: j["status"] for j in client.iter_jobs(wf["id"])}
    assert status == {"clean": "ready", "summarize": "blocked", "report": "blocked"}
    edges = {
        (d["job_name"], d["depends_on_job_name"])
        for d in client.iter_pages(f"/workflows/{wf['id']}/job_dependencies")
    }
    assert {("summarize", "clean"), ("report", "clean"), ("report", "summarize")} <= edges


ANCHORS = """
name: anchors
jobs:
  - &common
    name: a
    command: echo common
    priority: 2
  - <<: *common
    name: b
    priority: 5
"""


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    jobs = load_spec(write(tmp_path, ANCHORS)).jobs
    assert [(j.name, j.command, j.priority) for j in jobs] == [
        ("a", "echo common", 2),
        ("b", "echo common", 5),
    ]


def test_yaml_is_read_as_yaml_1_2(tmp_path: Path) -> None:
    spec = load_spec(
        write(
            tmp_path,
            "name: no\nmetadata: {date: 2024-01-01, octal: 010, t: True}\n"
            "jobs:\n  - {name: 'a{i}', command: x, parameters: {i: 1:10}}\n",
        )
    )
    assert spec.name == "no"
    assert spec.metadata == {"date": "2024-01-01", "octal": 10, "t": True}
    assert len(spec.jobs) == 10  # 1:10 is a range, not the sexagesimal number 70


DEFAULT_RR = """
name: default-rr
resource_requirements:
  - {name: default, num_cpus: 2, memory: 3g, runtime: PT2H}
  - {name: big, num_cpus: 8, memory: 16g}
jobs:
  - {name: a, command: echo a}
  - {name: b, command: echo b, resource_requirements: big}
"""


def test_a_spec_may_redefine_the_default_resource_requirements(
    client: TorcClient, tmp_path: Path
) -> None:
    wf = create_workflow_from_spec(client, write(tmp_path, DEFAULT_RR), user="tester")
    rrs = {rr["id"]: rr for rr in client.iter_resource_requirements(wf["id"])}
    by_job = {j["name"]: rrs[j["resource_requirements_id"]] for j in client.iter_jobs(wf["id"])}
    assert (by_job["a"]["name"], by_job["a"]["num_cpus"], by_job["a"]["memory"]) == (
        "default",
        2,
        "3g",
    )
    assert (by_job["b"]["name"], by_job["b"]["runtime"]) == ("big", "PT1H")  # Torc's default
    assert len(rrs) == 2


def test_plan_describes_levels_briefly(tmp_path: Path) -> None:
    spec = load_spec(
        write(
            tmp_path,
            "name: p\njobs:\n  - {name: 'w{i}', command: x, parameters: {i: '1:12'}}\n"
            "  - {name: all, command: y, depends_on_regexes: ['^w']}\n",
        )
    )
    text = plan(spec).describe()
    assert "jobs                   13" in text
    assert "level 0: 12 jobs: w1, w2, w3, w4, w5, ... (7 more)" in text
    assert "level 1: 1 job: all" in text


SWEEP_10K = """
name: sweep-10k
parameters:
  i: "0:9999"
jobs:
  - name: work_{i:05d}
    command: echo {i}
    use_parameters: [i]
  - name: collect
    command: echo collected
    depends_on_regexes: ["^work_"]
"""


def test_a_10000_job_sweep_with_fan_in_creates_in_one_call(
    client: TorcClient, tmp_path: Path
) -> None:
    start = time.monotonic()
    wf = create_workflow_from_spec(client, write(tmp_path, SWEEP_10K), user="tester")
    seconds = time.monotonic() - start
    assert client.workflow_status(wf["id"])["total_jobs"] == 10_001
    (collect,) = client.iter_jobs(wf["id"], name="collect", include_relationships=True)
    assert len(collect["depends_on_job_ids"]) == 10_000
    assert seconds < 60, f"creating 10,001 jobs took {seconds:.1f}s"
