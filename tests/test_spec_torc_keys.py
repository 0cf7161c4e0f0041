"""Every key of Torc's current spec and the 0.35 models loads: explicit nulls mean "not set",
lenient sections drop unknown keys with one warning each, strict ones still refuse them, what
the server can hold is stored, and what pytorc does not act on yet is said so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import torc
from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.spec import SpecError, create_workflow_from_spec, load_spec, spec_warnings

JOB = "jobs:\n  - name: a\n    command: echo a\n"


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def dumped(tmp_path: Path, name: str, text: str) -> dict[str, Any]:
    return load_spec(write(tmp_path, name, text)).model_dump()


# --- explicit null --------------------------------------------------------------------------

NULLS_YAML = """\
name: nulls
description: null
resource_monitor: null
files: null
jobs:
  - name: a
    command: echo a
    invocation_script: null
    depends_on: null
    input_files: null
    input_user_data: null
    priority: null
    supports_termination: null
    env: null
slurm_schedulers:
  - {name: s, account: acct, partition: null, gres: null, walltime: null}
"""
WITHOUT_NULLS_YAML = """\
name: nulls
jobs:
  - name: a
    command: echo a
slurm_schedulers:
  - {name: s, account: acct}
"""
NULLS_JSON = """\
{"name": "nulls", "description": null, "resource_monitor": null, "files": null,
 "jobs": [{"name": "a", "command": "echo a", "invocation_script": null, "depends_on": null,
           "input_files": null, "input_user_data": null, "priority": null,
           "supports_termination": null, "env": null}],
 "slurm_schedulers": [{"name": "s", "account": "acct", "partition": null, "gres": null,
                       "walltime": null}]}
"""
NULLS_KDL = """\
name "nulls"
description #null
job "a" {
    command "echo a"
    invocation_script #null
    priority #null
}
slurm_scheduler "s" account="acct" partition=#null gres=#null
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [("s.yaml", NULLS_YAML), ("s.json", NULLS_JSON), ("s.kdl", NULLS_KDL)],
)
def test_explicit_null_means_the_key_is_not_set(tmp_path: Path, name: str, text: str) -> None:
    assert dumped(tmp_path, name, text) == dumped(tmp_path, "plain.yaml", WITHOUT_NULLS_YAML)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("name: x\njobs:\n  - name: a\n    command: null\n", "jobs.a.command"),
        ("name: null\n" + JOB, "name"),
        ("name: x\njobs: null\n", "jobs"),
        ("name: x\njobs:\n  - name: a\n    command: b\n    depends_on: [null]\n", "jobs.a"),
    ],
)
def test_null_for_a_required_key_or_inside_a_list_is_still_an_error(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, "s.yaml", text))
    assert info.value.key.startswith(key) and "got None" in info.value.problem


# --- lenient and strict sections ------------------------------------------------------------

LENIENT = (
    """\
name: lenient
resource_monitor:
  enabled: true
  metrics: [cpu_percent, memory_bytes]
  jobs: {enabled: true, granularity: summary, sample_rate: 3}
  compute_node: {enabled: false, gpu: true}
"""
    + JOB
)


def test_unknown_keys_in_lenient_sections_are_ignored_each_with_one_warning(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    path = write(tmp_path, "lenient.yaml", LENIENT)
    proc = torc(server.url, "workflows", "create", str(path), cwd=tmp_path)
    assert proc.stderr.splitlines() == [
        f"warning: {key}: unknown key, ignored (Torc ignores it too)"
        for key in (
            "resource_monitor.metrics",
            "resource_monitor.jobs.sample_rate",
            "resource_monitor.compute_node.gpu",
        )
    ]
    workflow_id = int(proc.stdout.split()[2])
    config = client.get_workflow(workflow_id)["resource_monitor_config"]
    assert "metrics" not in config and config["jobs"] == {"enabled": True, "granularity": "summary"}


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            "execution_config: {stagered_start: true}\n",
            "execution_config.stagered_start",
            "did you mean 'staggered_start'?",
        ),
        (
            "execution_config: {stdio: {mod: combined}}\n",
            "execution_config.stdio.mod",
            "did you mean 'mode'?",
        ),
        ("dynamic_jobs: {max_iteration: 2}\n", "dynamic_jobs.max_iteration", "did you mean"),
        ("jobs_sort_methd: none\n", "jobs_sort_methd", "did you mean 'jobs_sort_method'?"),
        ("enable_rocrate: true\n", "enable_rocrate", "did you mean 'enable_ro_crate'?"),
        ("slurm_config: {}\n", "slurm_config", "Torc removed it; use 'execution_config'"),
        (
            "jobs:\n  - {name: a, command: b, stdio: {mode: all}}\n",
            "jobs.a.stdio.mode",
            "expected 'separate', 'combined', 'no_stdout', 'no_stderr' or 'none'",
        ),
        (
            "jobs:\n  - {name: a, command: b, env: {1BAD: x}}\n",
            "jobs.a.env",
            "invalid environment variable name '1BAD'",
        ),
        ("env: {A: 1}\n", "env.A", "expected a string, got 1"),
        ("jobs_sort_method: fastest\n", "jobs_sort_method", "expected 'gpus_runtime_memory'"),
        ("execution_config: {srun_mpi: 'a b'}\n", "execution_config.srun_mpi", "one token"),
        ("dynamic_jobs: {max_iterations: 0}\n", "dynamic_jobs.max_iterations", "equal to 1"),
        (
            "execution_config: {mode: slurm, limit_resources: false}\n",
            "execution_config.limit_resources",
            "applies only in direct mode; mode is slurm",
        ),
        (
            "execution_config: {srun_termination_signal: TERM@120}\n",
            "execution_config.srun_termination_signal",
            "applies only in slurm mode; mode is direct",
        ),
        (
            "execution_config: {mode: auto, enable_cpu_bind: true}\n",
            "execution_config.enable_cpu_bind",
            "mode is auto, which is direct here",
        ),
    ],
)
def test_strict_sections_refuse_what_torc_refuses(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    body = text if text.startswith("jobs:") else text + JOB
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, "s.yaml", "name: x\n" + body))
    assert info.value.key == key
    assert problem in info.value.problem


def test_auto_mode_with_slurm_schedulers_takes_slurm_keys(tmp_path: Path) -> None:
    text = (
        "name: x\nexecution_config: {mode: auto, srun_termination_signal: TERM@120}\n"
        "slurm_schedulers: [{name: s, account: a}]\n" + JOB
    )
    config = load_spec(write(tmp_path, "s.yaml", text)).execution_config
    assert config is not None and config.srun_termination_signal == "TERM@120"


NEW_KEYS_KDL = """\
name "k"
variables {
    root "/scratch"
}
env {
    DATA "{root}/data"
}
access_groups "g1" "g2"
enable_ro_crate #false
jobs_sort_method "none"
dynamic_jobs max_iterations=2
execution_config {
    mode "direct"
    staggered_start #true
    stdio mode="combined"
}
resource_monitor {
    flush_interval_seconds 60
    jobs enabled=#true granularity="time_series"
    metrics "cpu"
}
job "a" {
    command "echo {root}"
    env {
        X "1"
    }
    stdio {
        mode "none"
    }
}
"""
NEW_KEYS_YAML = """\
name: k
variables: {root: /scratch}
env: {DATA: "{root}/data"}
access_groups: [g1, g2]
enable_ro_crate: false
jobs_sort_method: none
dynamic_jobs: {max_iterations: 2}
execution_config:
  mode: direct
  staggered_start: true
  stdio: {mode: combined}
resource_monitor:
  flush_interval_seconds: 60
  jobs: {enabled: true, granularity: time_series}
  metrics: cpu
jobs:
  - name: a
    command: "echo {root}"
    env: {X: "1"}
    stdio: {mode: none}
"""


def test_kdl_writes_the_new_keys_as_nodes(tmp_path: Path) -> None:
    kdl = load_spec(write(tmp_path, "s.kdl", NEW_KEYS_KDL))
    yaml = load_spec(write(tmp_path, "s.yaml", NEW_KEYS_YAML))
    assert kdl.model_dump() == yaml.model_dump()
    assert spec_warnings(kdl) == spec_warnings(yaml)
    assert kdl.jobs[0].command == "echo /scratch" and kdl.env == {"DATA": "/scratch/data"}


# --- stored, merged, acted on -----------------------------------------------------------------

STORED = """\
name: stored
project: churn
metadata: {team: ml}
env: {DATA_ROOT: /scratch/churn, LOG_LEVEL: info}
enable_ro_crate: false
access_groups: [GROUP]
dynamic_jobs: {max_iterations: 4}
execution_config:
  mode: direct
  staggered_start: false
  stdio: {mode: combined, delete_on_success: true}
resource_monitor:
  flush_interval_seconds: 60
  jobs: {enabled: true, granularity: time_series}
jobs:
  - name: train_{i}
    command: train {i}
    env: {LOG_LEVEL: debug, SHARD: "{i}"}
    stdio: {mode: no_stdout}
    parameters: {i: "1:2"}
  - name: report
    command: report
    depends_on_regexes: ["^train_"]
"""


def test_keys_the_server_can_hold_are_stored(client: TorcClient, tmp_path: Path) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    client.post("/access_groups", {"name": group})
    path = write(tmp_path, "stored.yaml", STORED.replace("GROUP", group))
    wf = client.get_workflow(create_workflow_from_spec(client, path, user="tester")["id"])
    assert (wf["project"], wf["metadata"], wf["access_groups"]) == (
        "churn",
        {"team": "ml"},
        [group],
    )
    assert wf["env"] == {"DATA_ROOT": "/scratch/churn", "LOG_LEVEL": "info"}
    assert wf["enable_ro_crate"] is False and wf["dynamic_jobs"] == {"max_iterations": 4}
    assert wf["execution_config"] == {
        "mode": "direct",
        "staggered_start": False,
        "stdio": {"mode": "combined", "delete_on_success": True},
        "job_stdio_overrides": {
            "train_1": {"mode": "no_stdout"},
            "train_2": {"mode": "no_stdout"},
        },
    }
    monitor = wf["resource_monitor_config"]
    assert monitor["flush_interval_seconds"] == 60
    assert (monitor["enabled"], monitor["granularity"]) == (True, "time_series")
    envs = {job["name"]: job["env"] for job in client.iter_jobs(wf["id"])}
    workflow_env = {"DATA_ROOT": "/scratch/churn", "LOG_LEVEL": "info"}
    assert envs == {
        "train_1": {"DATA_ROOT": "/scratch/churn", "LOG_LEVEL": "debug", "SHARD": "1"},
        "train_2": {"DATA_ROOT": "/scratch/churn", "LOG_LEVEL": "debug", "SHARD": "2"},
        "report": workflow_env,
    }


def test_an_unknown_access_group_refuses_the_whole_create(
    client: TorcClient, tmp_path: Path
) -> None:
    path = write(tmp_path, "s.yaml", "name: x\naccess_groups: [no-such-group]\n" + JOB)
    with pytest.raises(SpecError, match="access group 'no-such-group' does not exist"):
        create_workflow_from_spec(client, path, user="tester")


def test_shared_parameters_fill_the_workflow_env_as_in_torc(tmp_path: Path) -> None:
    text = (
        "name: x\nparameters: {lr: '0.5', n: '1:3'}\n"
        "env: {LR: '{lr}', NS: '{n}', HOME_DIR: '${HOME}'}\n" + JOB
    )
    env = load_spec(write(tmp_path, "s.yaml", text)).env
    assert env == {"LR": "0.5", "NS": "1:3", "HOME_DIR": "${HOME}"}


WARNED: list[tuple[str, str]] = [
    ("jobs_sort_method: gpus_memory_runtime\n", "jobs_sort_method: ignored"),
    (
        "execution_config: {staggered_start: true, sigkill_headroom_seconds: 30}\n",
        "execution_config (sigkill_headroom_seconds): stored",
    ),
    ("enable_ro_crate: true\n", "enable_ro_crate: stored"),
    ("dynamic_jobs: {}\n", "dynamic_jobs: stored"),
    (
        "resource_monitor: {compute_node: {enabled: true}}\n",
        "resource_monitor.compute_node: stored",
    ),
    ("files: [{name: f, path: f.txt, identifier: 'urn:x:f'}]\n", "identifier (file f): ignored"),
    (
        "slurm_schedulers: [{name: s, account: a, serialize_allocations: true}]\n",
        "serialize_allocations (slurm scheduler s): ignored",
    ),
]


@pytest.mark.parametrize(("text", "warning"), WARNED, ids=[w.split(":")[0] for _, w in WARNED])
def test_a_key_pytorc_does_not_act_on_says_so_in_one_warning(
    tmp_path: Path, text: str, warning: str
) -> None:
    warnings = spec_warnings(load_spec(write(tmp_path, "s.yaml", "name: x\n" + text + JOB)))
    relevant = [w for w in warnings if not w.startswith("slurm_schedulers")]
    assert len(relevant) == 1 and warning in relevant[0], warnings


def test_job_stdio_warns_once_for_all_jobs(tmp_path: Path) -> None:
    text = "name: x\njobs:\n" + "".join(
        f"  - {{name: j{i}, command: 'true', stdio: {{mode: none}}}}\n" for i in range(5)
    )
    assert spec_warnings(load_spec(write(tmp_path, "s.yaml", text))) == [
        "stdio (jobs j0, j1, j2 and 2 more): stored in execution_config.job_stdio_overrides,"
        " but pytorc does not act on it yet"
    ]


def test_keys_that_work_print_no_warning(server: ServerProcess, tmp_path: Path) -> None:
    text = "name: x\nproject: p\nmetadata: {a: 1}\nenv: {A: b}\nenable_ro_crate: false\n" + JOB
    proc = torc(
        server.url, "workflows", "create", str(write(tmp_path, "s.yaml", text)), cwd=tmp_path
    )
    assert proc.stderr == ""


# --- variables --------------------------------------------------------------------------------

VARIABLES = """\
name: vars
variables: {root: /scratch/run7, tag: v2}
files:
  - {name: "in_{i}", path: "{root}/in_{i}.dat", parameters: {i: "1:2"}}
jobs:
  - name: "prep_{i}_{tag}"
    command: "prep --in ${files.input.in_{i}} --out {root}/out --home ${HOME} {tag:>4}"
    parameters: {i: "1:2"}
"""


def test_variables_fill_every_string_before_parameters_expand(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "s.yaml", VARIABLES))
    assert [f.path for f in spec.files] == ["/scratch/run7/in_1.dat", "/scratch/run7/in_2.dat"]
    assert [j.name for j in spec.jobs] == ["prep_1_v2", "prep_2_v2"]
    assert spec.jobs[0].command == (
        "prep --in /scratch/run7/in_1.dat --out /scratch/run7/out --home ${HOME}   v2"
    )


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("variables: {i: x}\nparameters: {i: '1:2'}\n", "variables", "i is also a parameter"),
        ("variables: {a: '{b}', b: c}\n", "variables.a", "{b} belongs where it is used"),
        ("variables: {a: 1}\n", "variables.a", "expected a string"),
        ("variables: {1a: x}\n", "variables.1a", "must match"),
        ("variables: {a: x}\ndescription: '{nope}'\n", "description", "{nope} is neither"),
    ],
)
def test_variables_are_checked_as_torc_checks_them(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, "s.yaml", "name: x\n" + text + JOB))
    assert info.value.key == key and problem in info.value.problem


# --- duplicate names after expansion ------------------------------------------------------

FAN_IN = """\
name: fan-in
jobs:
  - name: train_{lr}
    command: train {lr}
    parameters: {lr: "[0.1, 0.01]"}
  - name: aggregate
    command: aggregate
    depends_on: ["train_{lr}"]
    parameters: {lr: "[0.1, 0.01]"}
"""


def test_a_fan_in_without_placeholder_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, "s.yaml", FAN_IN))
    assert info.value.key == "jobs.aggregate"
    assert info.value.problem == (
        "duplicate name 'aggregate': the name has no placeholder for {lr}, so all their values"
        " make this name; for a fan-in (one job after many parameterized ones) drop the job's"
        " parameters and use depends_on_regexes / input_file_regexes, or put the placeholders"
        " in the name"
    )
