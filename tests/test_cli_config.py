"""`torc config ...`, `torc completions`, `--version`, `--help`: commands that need no server."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from cli_helpers import cli_env, torc
from pytorc import __version__


def test_config_init_show_validate_paths(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    user_file = tmp_path / "xdg" / "torc" / "config.toml"
    paths = json.loads(torc(None, "-f", "json", "config", "paths", cwd=tmp_path, env=env).stdout)
    assert [(p["layer"], p["exists"]) for p in paths] == [
        ("system", Path("/etc/torc/config.toml").is_file()),
        ("user", False),
        ("local", False),
    ]
    assert paths[1]["path"] == str(user_file)

    torc(None, "config", "init", cwd=tmp_path, env=env)
    template = user_file.read_text()
    assert "# api_url = " in template and "[client.run]" in template
    assert tomllib.loads(template) == {
        "server": {"logging": {}},
        "client": {"run": {}, "slurm": {}},
        "dash": {},
    }
    again = torc(None, "config", "init", cwd=tmp_path, env=env, expect=1)
    assert "--force" in again.stderr
    torc(None, "config", "init", "--user", "--force", cwd=tmp_path, env=env)

    (tmp_path / "torc.toml").write_text('[client]\nformat = "json"\napi_url = "http://h:1/x"\n')
    shown = json.loads(torc(None, "config", "show", "-f", "json", cwd=tmp_path, env=env).stdout)
    assert shown["client"]["format"] == "json" and shown["client"]["api_url"] == "http://h:1/x"
    toml_text = torc(None, "config", "show", cwd=tmp_path, env=env).stdout
    assert tomllib.loads(toml_text)["client"]["api_url"] == "http://h:1/x"
    valid = torc(None, "config", "validate", cwd=tmp_path, env=env)
    assert "valid" in valid.stdout and "torc.toml" in valid.stdout

    (tmp_path / "torc.toml").write_text('[client]\nformat = "xml"\n')
    bad = torc(None, "config", "validate", cwd=tmp_path, env=env, expect=1)
    assert bad.stderr.count("\n") == 1
    assert "client.format" in bad.stderr and "torc.toml" in bad.stderr
    env_bad = cli_env(tmp_path, TORC_CLIENT__RUN__POLL_INTERVAL="-1")
    (tmp_path / "torc.toml").unlink()
    bad_env = torc(None, "config", "validate", cwd=tmp_path, env=env_bad, expect=1)
    assert "TORC_CLIENT__RUN__POLL_INTERVAL" in bad_env.stderr


def test_config_url_and_format_reach_commands(tmp_path: Path) -> None:
    """client.api_url from a config file is the URL tried; TORC_API_URL beats it."""
    (tmp_path / "torc.toml").write_text('[client]\napi_url = "http://127.0.0.1:9/from-config"\n')
    down = torc(None, "ping", cwd=tmp_path, expect=1)
    assert "http://127.0.0.1:9/from-config" in down.stderr
    env = cli_env(tmp_path, TORC_API_URL="http://127.0.0.1:9/from-env")
    down = torc(None, "ping", cwd=tmp_path, env=env, expect=1)
    assert "http://127.0.0.1:9/from-env" in down.stderr


def test_completions_version_and_help(tmp_path: Path) -> None:
    bash = torc(None, "completions", "bash", cwd=tmp_path).stdout
    assert "_TORC_COMPLETE" in bash and "complete" in bash
    assert "compdef" in torc(None, "completions", "zsh", cwd=tmp_path).stdout
    unknown = torc(None, "completions", "tcsh", cwd=tmp_path, expect=1)
    assert "tcsh" in unknown.stderr

    env = cli_env(tmp_path, _TORC_COMPLETE="complete_bash", COMP_WORDS="torc work", COMP_CWORD="1")
    offered = torc(None, cwd=tmp_path, env=env).stdout
    assert "workflows" in offered

    assert (
        torc(None, "--version", cwd=tmp_path).stdout.strip() == f"torc {__version__} (API 0.21.0)"
    )
    top = torc(None, "--help", cwd=tmp_path).stdout
    for name in (
        "workflows",
        "jobs",
        "files",
        "user-data",
        "resource-requirements",
        "results",
        "events",
        "compute-nodes",
        "job-dependencies",
        "config",
        "explain",
        "ping",
        "completions",
    ):
        assert name in top
    sub = torc(None, "workflows", "reset-status", "--help", cwd=tmp_path).stdout
    assert "--failed-only" in sub and "Example: torc workflows reset-status" in sub


def test_config_show_never_prints_a_secret(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text(
        "[client]\npassword = 'hunter2-secret'\n[client.tui]\napi_token = 'tok-123'\n"
    )
    env = cli_env(tmp_path, TORC_PASSWORD="env-pw-456")
    for fmt in ("toml", "json"):
        shown = torc(None, "config", "show", "-f", fmt, cwd=tmp_path, env=env).stdout
        assert "hunter2-secret" not in shown and "tok-123" not in shown
        assert "env-pw-456" not in shown
        assert "********" in shown
