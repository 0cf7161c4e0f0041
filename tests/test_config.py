"""pytorc.config: files, then TORC_<SECTION>__<KEY> environment, later layers winning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytorc import config
from pytorc.config import ConfigError, load_settings, read_config_files


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TORC_* variables from the caller, an empty user config dir, an empty cwd."""
    for name in list(os.environ):
        if name.upper().startswith("TORC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")


@pytest.fixture
def layers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """Three config files standing in for system, user and project, lowest first."""
    paths = [tmp_path / "system.toml", tmp_path / "user.toml", tmp_path / "project.toml"]
    monkeypatch.setattr(config, "config_paths", lambda: paths)
    return paths


def test_config_paths_are_system_then_user_then_project(tmp_path: Path) -> None:
    assert config.config_paths() == [
        Path("/etc/torc/config.toml"),
        tmp_path / "xdg" / "torc" / "config.toml",
        tmp_path / "cwd" / "torc.toml",
    ]


def test_defaults_apply_when_no_layer_sets_anything(layers: list[Path]) -> None:
    settings = load_settings()
    assert settings.server.port == 8080
    assert settings.server.threads == 1
    assert settings.server.completion_check_interval_secs == 30.0
    assert settings.client.api_url == "http://localhost:8080/torc-service/v1"
    assert settings.client.run.output_dir == "output"


def test_each_file_overrides_the_one_before_key_by_key(layers: list[Path]) -> None:
    system, user, project = layers
    system.write_text('[server]\nport = 8001\nthreads = 2\nlog_level = "error"\n')
    user.write_text("[server]\nthreads = 3\n[server.logging]\nlog_dir = '/var/log/torc'\n")
    project.write_text('[server]\nlog_level = "debug"\n')
    server = load_settings().server
    assert (server.port, server.threads, server.log_level) == (8001, 3, "debug")
    assert server.logging.log_dir == "/var/log/torc"


def test_environment_overrides_every_file(
    layers: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layers[2].write_text("[server]\nport = 8002\ncompletion_check_interval_secs = 10.0\n")
    monkeypatch.setenv("TORC_SERVER__COMPLETION_CHECK_INTERVAL_SECS", "2.5")
    server = load_settings().server
    assert server.completion_check_interval_secs == 2.5
    assert server.port == 8002


def test_nested_environment_keys_reach_nested_sections(
    layers: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layers[1].write_text('[client.run]\noutput_dir = "from-file"\npoll_interval = 7.0\n')
    monkeypatch.setenv("TORC_CLIENT__RUN__OUTPUT_DIR", "/scratch/me/torc_output")
    monkeypatch.setenv("TORC_SERVER__LOGGING__LOG_DIR", "/tmp/torc-logs")
    monkeypatch.setenv("torc_client__format", "json")  # names are not case-sensitive
    settings = load_settings()
    assert settings.client.run.output_dir == "/scratch/me/torc_output"
    assert settings.client.run.poll_interval == 7.0
    assert settings.server.logging.log_dir == "/tmp/torc-logs"
    assert settings.client.format == "json"


def test_real_user_and_project_files_are_read(tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "torc" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[server]\nport = 9001\nthreads = 4\n")
    (tmp_path / "cwd" / "torc.toml").write_text("[server]\nport = 9002\n")
    server = load_settings().server
    assert (server.port, server.threads) == (9002, 4)


def test_toml_that_does_not_parse_is_an_error_naming_the_file(layers: list[Path]) -> None:
    layers[2].write_text("[server\nport = 1\n")
    with pytest.raises(ConfigError, match=str(layers[2])):
        load_settings()


def test_bad_value_in_a_file_names_the_key_and_the_file(layers: list[Path]) -> None:
    layers[0].write_text("[server]\nthreads = 2\n")
    layers[1].write_text('[server]\nthreads = "many"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "server.threads" in str(caught.value)
    assert str(layers[1]) in str(caught.value)


def test_unknown_key_in_a_section_is_an_error(layers: list[Path]) -> None:
    layers[2].write_text("[server]\nprot = 8080\n")
    with pytest.raises(ConfigError, match=r"server\.prot.*project\.toml"):
        load_settings()


def test_bad_environment_value_names_the_variable(
    layers: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    layers[2].write_text("[server]\nport = 8080\n")
    monkeypatch.setenv("TORC_SERVER__PORT", "eighty")
    with pytest.raises(ConfigError, match="TORC_SERVER__PORT"):
        load_settings()


def test_environment_lists_are_json_and_job_variables_are_not_settings(
    layers: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORC_SERVER__ADMIN_USERS", '["ana", "bo"]')
    monkeypatch.setenv("TORC_DASH__PORT", "8090")  # a free-form table keeps the string
    for name in ("TORC_API_URL", "TORC_JOB_ID", "TORC_WORKFLOW_ID", "TORC_OUTPUT_DIR"):
        monkeypatch.setenv(name, "set by a runner for its jobs")
    monkeypatch.setenv("TORC_NOSUCHSECTION__KEY", "1")
    settings = load_settings()
    assert settings.server.admin_users == ["ana", "bo"]
    assert settings.dash == {"port": "8090"}
    monkeypatch.setenv("TORC_SERVER__ADMIN_USERS", "ana,bo")
    with pytest.raises(ConfigError, match="TORC_SERVER__ADMIN_USERS: not valid JSON"):
        load_settings()


def test_unknown_key_in_a_section_from_the_environment_is_named(
    layers: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORC_SERVER__PROT", "8080")
    with pytest.raises(ConfigError, match=r"server\.prot.*TORC_SERVER__PROT"):
        load_settings()


def test_out_of_range_values_are_refused(layers: list[Path]) -> None:
    layers[2].write_text("[server]\ncompletion_check_interval_secs = 0\n")
    with pytest.raises(ConfigError, match="completion_check_interval_secs"):
        load_settings()


def test_read_config_files_merges_tables_deeply(tmp_path: Path) -> None:
    a, b, missing = tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "missing.toml"
    a.write_text('[client]\nformat = "json"\n[client.run]\nnum_cpus = 4\noutput_dir = "a"\n')
    b.write_text('[client.run]\noutput_dir = "b"\n')
    assert read_config_files([a, missing, b]) == {
        "client": {"format": "json", "run": {"num_cpus": 4, "output_dir": "b"}}
    }
