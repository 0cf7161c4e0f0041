"""Every malformed spec fails with one line naming file, key and problem, and leaves nothing on
the server; so does a spec the server refuses halfway through the upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import torc
from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.errors import ApiError
from pytorc.spec import SpecError, create_workflow_from_spec, load_spec
from spec_helpers import workflow_ids

OK_JOB = "jobs:\n  - name: a\n    command: echo a\n"

# (id, file name, content, expected key, a phrase of the expected problem)
CASES: list[tuple[str, str, str, str, str]] = [
    # --- syntax, in each format
    ("yaml-syntax", "s.yaml", "name: x\njobs: [\n  {name: a, command: b\n", "line 4", "YAML"),
    ("yaml-tab", "s.yaml", "name: x\n\tjobs: []\n", "line 2", "YAML syntax error"),
    ("json-syntax", "s.json", '{"name": "x",\n "jobs": [,]}', "line 2", "JSON syntax error"),
    ("json5-syntax", "s.json5", "{name: 'x',\n jobs: [}", "line 2", "JSON5 syntax error"),
    (
        "kdl-syntax",
        "s.kdl",
        'name "x"\njob "a" {\n    command "echo\n}\n',
        "line 3",
        "KDL syntax error",
    ),
    ("kdl-unclosed", "s.kdl", 'name "x"\njob "a" {\n', "line 2", "KDL syntax error"),
    (
        "kdl-after-multiline-string",
        "s.kdl",
        'name "x"\ndescription """\n  two\n  lines\n  """\njob "a" {\n    command (\n}\n',
        "line 7",
        "KDL syntax error",
    ),
    ("empty-file", "s.yaml", "", "(top level)", "expected a mapping of spec keys, got nothing"),
    ("top-level-list", "s.json", "[1, 2]", "(top level)", "got list"),
    ("unknown-format", "s.toml", "name = 'x'", "(file)", "unknown spec format '.toml'"),
    ("yaml-duplicate-key", "s.yaml", "name: x\nname: y\n" + OK_JOB, "line 2", "given twice"),
    ("json-duplicate-key", "s.json", '{"name": "x", "name": "y"}', "name", "given twice"),
    ("json5-duplicate-key", "s.json5", "{name: 'x', name: 'y'}", "name", "given twice"),
    # --- unknown keys, in each format
    (
        "yaml-unknown-job-key",
        "s.yaml",
        "name: x\njobs:\n  - name: a\n    comand: echo a\n",
        "jobs.a.comand",
        "unknown key; did you mean 'command'?",
    ),
    ("yaml-unknown-top-key", "s.yaml", "name: x\njob: []\n", "job", "did you mean 'jobs'?"),
    (
        "json-unknown-rr-key",
        "s.json",
        '{"name": "x", "jobs": [{"name": "a", "command": "b"}], "resource_requirements":'
        ' [{"name": "r", "num_cpus": 1, "memory": "1g", "cpus": 2}]}',
        "resource_requirements.r.cpus",
        "unknown key",
    ),
    (
        "json5-unknown-key",
        "s.json5",
        "{name: 'x', jobs: [{name: 'a', command: 'b', priorty: 2}]}",
        "jobs.a.priorty",
        "did you mean 'priority'?",
    ),
    (
        "kdl-unknown-node",
        "s.kdl",
        'name "x"\njob "a" {\n    command "b"\n    depends "c"\n}\n',
        "jobs.a.depends",
        "unknown key",
    ),
    (
        "kdl-two-names",
        "s.kdl",
        'name "x"\njob "a" "b" {\n command "c"\n}\n',
        "jobs[0]",
        "takes one",
    ),
    ("kdl-two-values", "s.kdl", 'name "x" "y"\njob "a" {\n command "c"\n}\n', "name", "one value"),
    # --- missing and mistyped values
    ("missing-command", "s.yaml", "name: x\njobs:\n  - name: a\n", "jobs.a.command", "missing"),
    ("missing-name", "s.yaml", OK_JOB, "name", "required key missing"),
    ("missing-jobs", "s.yaml", "name: x\n", "jobs", "required key missing"),
    ("no-jobs", "s.yaml", "name: x\njobs: []\n", "jobs", "at least one job"),
    (
        "unnamed-job",
        "s.yaml",
        "name: x\njobs:\n  - command: echo\n",
        "jobs[0].name",
        "required key missing",
    ),
    (
        "cpus-not-a-number",
        "s.yaml",
        "name: x\n" + OK_JOB + "resource_requirements:\n"
        "  - {name: r, num_cpus: four, memory: 1g}\n",
        "resource_requirements.r.num_cpus",
        "expected an integer, got 'four'",
    ),
    (
        "bad-mode",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, parameter_mode: cross}\n",
        "jobs.a.parameter_mode",
        "expected 'product' or 'zip'",
    ),
    (
        "negative-priority",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, priority: -1}\n",
        "jobs.a.priority",
        "greater than or equal to 0",
    ),
    (
        "bad-memory",
        "s.yaml",
        "name: x\n" + OK_JOB + "resource_requirements:\n  - {name: r, num_cpus: 1, memory: 2x}\n",
        "resource_requirements.r.memory",
        "invalid memory '2x'",
    ),
    (
        "bad-runtime",
        "s.kdl",
        'name "x"\njob "a" { command "b"; }\n'
        'resource_requirements "r" num_cpus=1 memory="1g" runtime="1 hour"\n',
        "resource_requirements.r.runtime",
        "invalid runtime '1 hour'",
    ),
    (
        "bad-walltime",
        "s.yaml",
        "name: x\n" + OK_JOB + "slurm_schedulers:\n  - {name: s, account: a, walltime: 2h}\n",
        "slurm_schedulers.s.walltime",
        "invalid walltime '2h'",
    ),
    (
        "reserved-slurm-default",
        "s.yaml",
        "name: x\n" + OK_JOB + "slurm_defaults: {partition: debug}\n",
        "slurm_defaults",
        "'partition' is set by each slurm_scheduler",
    ),
    (
        "action-without-commands",
        "s.yaml",
        "name: x\n" + OK_JOB + "actions:\n"
        "  - {trigger_type: on_workflow_start, action_type: run_commands}\n",
        "actions[0]",
        "needs at least one command",
    ),
    # --- names
    (
        "duplicate-jobs",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b}\n  - {name: a, command: c}\n",
        "jobs.a",
        "duplicate name 'a'",
    ),
    (
        "duplicate-after-expansion",
        "s.yaml",
        "name: x\njobs:\n  - {name: work, command: 'run {i}', parameters: {i: '1:3'}}\n",
        "jobs.work",
        "duplicate name 'work'",
    ),
    (
        "duplicate-across-templates",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'w{i}', command: b, parameters: {i: '1:3'}}\n"
        "  - {name: w2, command: c}\n",
        "jobs.w2",
        "duplicate name 'w2' (also made by jobs.w{i})",
    ),
    (
        "duplicate-files",
        "s.yaml",
        "name: x\n" + OK_JOB + "files:\n  - {name: f, path: a}\n  - {name: f, path: b}\n",
        "files.f",
        "duplicate name 'f'",
    ),
    (
        "duplicate-rr",
        "s.yaml",
        "name: x\n" + OK_JOB + "resource_requirements:\n"
        "  - {name: r, num_cpus: 1, memory: 1g}\n  - {name: r, num_cpus: 2, memory: 1g}\n",
        "resource_requirements.r",
        "duplicate name 'r'",
    ),
    # --- references
    (
        "unknown-job",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, depends_on: [nope]}\n",
        "jobs.a.depends_on",
        "'nope' is not a job",
    ),
    (
        "unknown-job-after-expansion",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'p{i}', command: b, parameters: {i: '1:2'}}\n"
        "  - {name: 'c{i}', command: b, depends_on: ['p{i}'], parameters: {i: '1:3'}}\n",
        "jobs.c{i}.depends_on",
        "'p3' is not a job",
    ),
    (
        "unknown-file",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, input_files: [nope]}\n",
        "jobs.a.input_files",
        "'nope' is not a file",
    ),
    (
        "unknown-file-variable",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: 'cat ${files.input.nope}'}\n",
        "jobs.a.command",
        "${files.input.nope} names no file 'nope'",
    ),
    (
        "unknown-user-data",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, output_user_data: [nope]}\n",
        "jobs.a.output_user_data",
        "'nope' is not a user data",
    ),
    (
        "unknown-rr",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, resource_requirements: big}\n",
        "jobs.a.resource_requirements",
        "'big' is not one of the spec's resource_requirements",
    ),
    (
        "unknown-scheduler",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, scheduler: s}\n",
        "jobs.a.scheduler",
        "'s' is not one of the spec's slurm_schedulers",
    ),
    (
        "unknown-failure-handler",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, failure_handler: h}\n",
        "jobs.a.failure_handler",
        "'h' is not one of the spec's failure_handlers",
    ),
    (
        "action-unknown-job",
        "s.yaml",
        "name: x\n" + OK_JOB + "actions:\n  - {trigger_type: on_jobs_ready, "
        "action_type: run_commands, commands: [x], jobs: [nope]}\n",
        "actions[0].jobs",
        "'nope' is not a job",
    ),
    (
        "action-unknown-scheduler",
        "s.yaml",
        "name: x\n" + OK_JOB + "actions:\n  - {trigger_type: on_workflow_start, "
        "action_type: schedule_nodes, scheduler: s}\n",
        "actions[0].scheduler",
        "'s' is not a slurm_scheduler",
    ),
    (
        "bad-regex",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, depends_on_regexes: ['(']}\n",
        "jobs.a.depends_on_regexes",
        "invalid regex '('",
    ),
    (
        "regex-matches-nothing",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b}\n"
        "  - {name: b, command: c, depends_on_regexes: ['^z']}\n",
        "jobs.b.depends_on_regexes",
        "regex '^z' matches no job",
    ),
    (
        "regex-matches-only-itself",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, depends_on_regexes: ['^a$']}\n",
        "jobs.a.depends_on_regexes",
        "matches no job",
    ),
    (
        "action-regex-matches-nothing",
        "s.yaml",
        "name: x\n" + OK_JOB + "actions:\n  - {trigger_type: on_jobs_complete, "
        "action_type: run_commands, commands: [x], job_name_regexes: ['^z']}\n",
        "actions[0].job_name_regexes",
        "matches no job",
    ),
    # --- cycles
    (
        "cycle",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, depends_on: [c]}\n"
        "  - {name: b, command: b, depends_on: [a]}\n  - {name: c, command: b, depends_on: [b]}\n",
        "jobs.a.depends_on",
        "dependency cycle: a -> c -> b -> a",
    ),
    (
        "self-dependency",
        "s.yaml",
        "name: x\njobs:\n  - {name: a, command: b, depends_on: [a]}\n",
        "jobs.a.depends_on",
        "depends on itself",
    ),
    (
        "cycle-through-a-file",
        "s.yaml",
        "name: x\nfiles:\n  - {name: f, path: f.txt}\njobs:\n"
        "  - {name: a, command: 'make ${files.output.f}', depends_on: [b]}\n"
        "  - {name: b, command: 'cat ${files.input.f}'}\n",
        "jobs.a.depends_on",
        "dependency cycle",
    ),
    # --- parameters
    (
        "empty-list",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{i}', command: b, parameters: {i: '[]'}}\n",
        "jobs.a{i}.parameters.i",
        "expands to no values",
    ),
    (
        "empty-range",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{i}', command: b, parameters: {i: '5:1'}}\n",
        "jobs.a{i}.parameters.i",
        "range 5:1:1 is empty",
    ),
    (
        "zero-step",
        "s.json",
        '{"name": "x", "jobs": [{"name": "a{i}", "command": "b", "parameters": {"i": "1:5:0"}}]}',
        "jobs.a{i}.parameters.i",
        "step must not be 0",
    ),
    (
        "empty-float-range",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{x}', command: b, parameters: {x: '1.0:0.0:0.5'}}\n",
        "jobs.a{x}.parameters.x",
        "is empty",
    ),
    (
        "empty-yaml-list",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{i}', command: b, parameters: {i: []}}\n",
        "jobs.a{i}.parameters.i",
        "expands to no values",
    ),
    (
        "zip-unequal",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{i}{j}', command: b, parameter_mode: zip,"
        " parameters: {i: '1:3', j: '1:4'}}\n",
        "jobs.a{i}{j}.parameters",
        "i has 3, j has 4",
    ),
    (
        "bad-format-spec",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{o:03d}', command: b, parameters: {o: \"['adam','sgd']\"}}\n",
        "jobs.a{o:03d}",
        "format '{o:03d}' does not apply to 'adam'",
    ),
    (
        "unknown-shared-parameter",
        "s.yaml",
        "name: x\nparameters: {i: '1:3'}\njobs:\n"
        "  - {name: 'a{j}', command: b, use_parameters: [j]}\n",
        "jobs.a{j}.use_parameters",
        "no workflow parameter named 'j'",
    ),
    (
        "parameter-not-scalar",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a{i}', command: b, parameters: {i: {a: 1}}}\n",
        "jobs.a{i}.parameters",
        "parameter 'i'",
    ),
    # --- pitfalls a new user falls into (issue 16)
    (
        "memory-number",
        "s.yaml",
        "name: x\nresource_requirements:\n  - {name: r, num_cpus: 1, memory: 4096}\n" + OK_JOB,
        "resource_requirements.r.memory",
        "memory '4096' has no unit: write e.g. '4096m' (MiB) or '4096g' (GiB)",
    ),
    (
        "memory-digits",
        "s.json",
        '{"name": "x", "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "512"}],'
        ' "jobs": [{"name": "a", "command": "true"}]}',
        "resource_requirements.r.memory",
        "has no unit",
    ),
    (
        "slurm-style-range",
        "s.yaml",
        "name: x\njobs:\n  - {name: 'a_{i}', command: 'echo {i}', parameters: {i: '1-20'}}\n",
        "jobs.a_{i}.parameters.i",
        "'1-20' looks like a range: write '1:20' (both ends included), or ['1-20']",
    ),
    (
        "template-left-in-a-reference",
        "s.yaml",
        "name: x\nfiles:\n  - {name: 'out_{i}', path: 'o{i}', parameters: {i: '1:2'}}\n"
        "jobs:\n  - {name: b, command: cat, input_files: ['out_{t}']}\n",
        "jobs.b.input_files",
        "no such parameter: to take every match, use input_file_regexes: ['^out_.+$']",
    ),
]


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url, retry_seconds=5) as c:
        yield c


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("case", "name", "content", "key", "problem"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_spec_names_file_key_and_problem(
    tmp_path: Path, case: str, name: str, content: str, key: str, problem: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert (err.file, err.key) == (str(path), key), str(err)
    assert problem in err.problem, str(err)
    assert str(err) == f"{path}: {key}: {err.problem}"
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("case", "name", "content", "key", "problem"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_spec_creates_nothing(
    client: TorcClient, tmp_path: Path, case: str, name: str, content: str, key: str, problem: str
) -> None:
    before = workflow_ids(client)
    with pytest.raises(SpecError):
        create_workflow_from_spec(client, write(tmp_path, name, content))
    assert workflow_ids(client) == before


# One case of each kind the issue names, through the real `torc` command.
CLI_CASES = [
    c
    for c in CASES
    if c[0]
    in {
        "yaml-syntax",
        "json-syntax",
        "json5-syntax",
        "kdl-syntax",
        "yaml-unknown-job-key",
        "kdl-unknown-node",
        "missing-command",
        "duplicate-jobs",
        "cycle",
        "unknown-job",
        "unknown-file",
        "bad-regex",
        "bad-memory",
        "bad-runtime",
        "empty-list",
    }
]


@pytest.mark.parametrize(
    ("case", "name", "content", "key", "problem"), CLI_CASES, ids=[c[0] for c in CLI_CASES]
)
def test_torc_workflows_create_exits_1_with_one_line(
    server: ServerProcess,
    client: TorcClient,
    tmp_path: Path,
    case: str,
    name: str,
    content: str,
    key: str,
    problem: str,
) -> None:
    path = write(tmp_path, name, content)
    before = workflow_ids(client)
    proc = torc(server.url, "workflows", "create", str(path), cwd=tmp_path, expect=1)
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"error: {path}: {key}: ") and problem in line, line
    assert workflow_ids(client) == before


def test_a_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: \(file\): cannot read"):
        load_spec(tmp_path / "nope.yaml")


TWO_LEVELS = """
name: refused
files:
  - {name: 'f{i}', path: 'f{i}.txt', parameters: {i: '1:3'}}
jobs:
  - {name: 'first_{i}', command: 'make ${files.output.f{i}}', parameters: {i: '1:3'}}
  - {name: second, command: 'echo', depends_on_regexes: ['^first_']}
"""


def test_server_refusal_mid_upload_deletes_the_workflow(client: TorcClient, tmp_path: Path) -> None:
    # The second level's job name is longer than the server accepts (10,000 characters), so
    # the workflow, its files and the first level exist when the server says no.
    long_name = "x" * 10_001
    spec = TWO_LEVELS.replace("name: second", f"name: {long_name}")
    before = workflow_ids(client)
    with pytest.raises(SpecError) as info:
        create_workflow_from_spec(client, write(tmp_path, "refused.yaml", spec))
    message = str(info.value)
    assert f"jobs.{long_name}: server answered 422" in message
    assert "nothing was kept (workflow" in message and "\n" not in message
    assert workflow_ids(client) == before


class FailingClient(TorcClient):
    """Fails the n-th bulk job request, the way a server that goes away would."""

    def __init__(self, url: str, fail_on: int, error: BaseException) -> None:
        super().__init__(url, retry_seconds=5)
        self.calls, self.fail_on, self.error = 0, fail_on, error

    def create_jobs_brief(self, jobs: list[dict[str, Any]]) -> list[int] | list[dict[str, Any]]:
        self.calls += 1
        if self.calls == self.fail_on:
            raise self.error
        return super().create_jobs_brief(jobs)


SWEEP = "name: sweep\njobs:\n  - {name: 'w{i}', command: 'echo {i}', parameters: {i: '1:2500'}}\n"


def test_failure_after_some_batches_deletes_the_workflow(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    before = workflow_ids(client)
    with FailingClient(server.url, 3, ApiError(503, "server is restarting")) as failing:
        with pytest.raises(SpecError) as info:
            create_workflow_from_spec(failing, write(tmp_path, "sweep.yaml", SWEEP))
        assert failing.calls == 3  # two batches of 1,000 jobs were created before the failure
    assert "jobs.w2001: server answered 503: server is restarting" in str(info.value)
    assert workflow_ids(client) == before


def test_interrupt_during_upload_deletes_the_workflow(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    before = workflow_ids(client)
    failing = FailingClient(server.url, 2, KeyboardInterrupt())
    with failing, pytest.raises(KeyboardInterrupt):
        create_workflow_from_spec(failing, write(tmp_path, "sweep.yaml", SWEEP))
    assert workflow_ids(client) == before


def test_an_unreachable_server_is_an_api_error_not_a_spec_error(tmp_path: Path) -> None:
    offline = TorcClient("http://127.0.0.1:9/torc-service/v1", retry_seconds=0)
    with offline, pytest.raises(ApiError, match="cannot reach") as info:
        create_workflow_from_spec(offline, write(tmp_path, "s.yaml", SWEEP))
    assert not isinstance(info.value, SpecError)


def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: any request would fail, so a result proves none was made.
    with TorcClient("http://127.0.0.1:9/torc-service/v1", retry_seconds=0) as offline:
        result = create_workflow_from_spec(
            offline, write(tmp_path, "sweep.yaml", SWEEP), dry_run=True
        )
    assert result["num_jobs"] == 2500
    assert result["job_names_by_level"][0][:2] == ["w1", "w2"]


def test_dry_run_still_reports_errors(tmp_path: Path) -> None:
    offline = TorcClient("http://127.0.0.1:9/torc-service/v1", retry_seconds=0)
    with offline, pytest.raises(SpecError, match="missing"):
        create_workflow_from_spec(offline, write(tmp_path, "s.yaml", "name: x\n"), dry_run=True)


def test_a_single_name_where_a_list_is_expected_is_a_list_of_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        "name: one\njobs:\n  - {name: a, command: 'true'}\n"
        "  - {name: b, command: 'true', depends_on: a, depends_on_regexes: '^a$'}\n",
    )
    spec = load_spec(path)
    b = next(job for job in spec.jobs if job.name == "b")
    assert b.depends_on == ["a"]
