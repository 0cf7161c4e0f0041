"""What a `torc` command loads at start-up: the measured cost of each import is why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytorc.client import codec


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_settings_client_and_spec_load_without_pydantic() -> None:
    """pydantic costs ~0.15 s to import and ~0.1 s to build models; only the server needs it."""
    demo = Path(__file__).parent.parent / "examples" / "demo.yaml"
    loaded = _modules_after(
        "from pathlib import Path\n"
        "from pytorc.config import load_settings\n"
        "load_settings()\n"
        "import pytorc.client.api, pytorc.cli.main, pytorc.cli.run, pytorc.runner.loop\n"
        "from pytorc.spec import load_spec, plan\n"
        f"plan(load_spec(Path({str(demo)!r})))"
    )
    assert "pydantic" not in loaded
    assert "pydantic_core" not in loaded  # loaded only for big messages (see codec)
    # http.client loads ssl and the email package (~25 ms); the transport speaks HTTP itself
    assert not {"http.client", "ssl", "email"} & loaded


def test_json_gives_the_same_values_before_and_after_a_bulk_transfer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pydantic-core costs ~60 ms to import: only a process that moves megabytes repays it."""
    small = {"name": "w", "jobs": [{"name": "a"}] * 3, "ratio": 0.5, "none": None}
    big = {"jobs": [{"name": f"j{i}", "depends_on": [i - 1]} for i in range(1000)]}
    text = json.dumps([{"id": i, "name": "x" * 100} for i in range(2_000)]).encode()
    for moved in (0, codec.BULK_BYTES):  # the standard library, then pydantic-core
        monkeypatch.setattr(codec, "_moved", moved)
        for body in (small, big):
            assert json.loads(codec.encode(body)) == body
        assert codec.decode(text) == json.loads(text)
        assert codec.decode(b'{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
    monkeypatch.setattr(codec, "_moved", 0)
    codec.decode(text)
    assert codec._moved == len(text)


def test_a_2000_job_upload_does_not_load_pydantic_core() -> None:
    loaded = _modules_after(
        "from pytorc.client import codec\n"
        "jobs = [{'workflow_id': 1, 'name': f'j{i}', 'command': 'true'} for i in range(1000)]\n"
        "for _ in range(2):\n"
        "    codec.decode(codec.encode({'jobs': jobs + jobs}))\n"
    )
    assert "pydantic_core" not in loaded
