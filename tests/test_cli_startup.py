"""What a `torc` command loads at start-up: the measured cost of each import is why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytorc.client.codec import BIG_LIST, BIG_PAYLOAD, decode, encode


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


def test_small_messages_use_the_standard_library_and_big_ones_the_same_json() -> None:
    small = {"name": "w", "jobs": [{"name": "a"}] * 3, "ratio": 0.5, "none": None}
    big = {"jobs": [{"name": f"j{i}", "depends_on": [i - 1]} for i in range(BIG_LIST)]}
    for body in (small, big):
        assert json.loads(encode(body)) == body
    text = json.dumps([{"id": i, "name": "x" * 100} for i in range(BIG_PAYLOAD // 100)]).encode()
    assert len(text) >= BIG_PAYLOAD
    assert decode(text) == json.loads(text)
    assert decode(b'{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
