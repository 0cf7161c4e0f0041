"""Every example in docs/spec.md loads and creates on a real server, so the page cannot rot.

Blocks fenced as ```<format> spec are specs that must work; ```<format> spec-error blocks start
with a comment `# error: <text>` that the SpecError they raise must contain. A spec block whose
keys pytorc does not act on lists the warnings it expects in comments `# warning: <text>` (or
`// warning: <text>`), one for each warning the spec gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ServerProcess
from pytorc.client.api import TorcClient
from pytorc.spec import SpecError, create_workflow_from_spec, load_spec, plan

DOC = Path(__file__).parent.parent / "docs" / "spec.md"
_BLOCK = re.compile(r"^```(yaml|json5|json|kdl) (spec|spec-error)\n(.*?)^```$", re.M | re.S)
_WARNING = re.compile(r"^\s*(?:#|//) warning: (.*)$", re.M)
EXTENSION = {"yaml": ".yaml", "json": ".json", "json5": ".json5", "kdl": ".kdl"}


def blocks(kind: str) -> list[tuple[str, str]]:
    found = [(m[1], m[3]) for m in _BLOCK.finditer(DOC.read_text()) if m[2] == kind]
    return found


def block_id(fmt: str, text: str) -> str:
    name = re.search(r'^\s*"?name"?[:\s]\s*["\']?([\w-]+)', text, re.M)
    return f"{fmt}-{name[1] if name else 'unnamed'}"


EXAMPLES = blocks("spec")
ERRORS = blocks("spec-error")


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url, retry_seconds=5) as c:
        yield c


def test_the_page_has_examples_of_every_format() -> None:
    assert {fmt for fmt, _ in EXAMPLES} == set(EXTENSION)
    assert len(EXAMPLES) >= 20 and ERRORS


@pytest.mark.parametrize(
    ("fmt", "text"), EXAMPLES, ids=[block_id(fmt, text) for fmt, text in EXAMPLES]
)
def test_example_creates(client: TorcClient, tmp_path: Path, fmt: str, text: str) -> None:
    path = tmp_path / f"example{EXTENSION[fmt]}"
    path.write_text(text)
    expected = plan(load_spec(path))
    documented = _WARNING.findall(text)
    assert len(expected.warnings) == len(documented), expected.warnings
    for phrase, warning in zip(documented, expected.warnings, strict=True):
        assert phrase in warning
    wf = create_workflow_from_spec(client, path, user="docs")
    assert client.workflow_status(wf["id"])["total_jobs"] == expected.counts["jobs"]


@pytest.mark.parametrize(("fmt", "text"), ERRORS)
def test_error_example_fails_as_documented(tmp_path: Path, fmt: str, text: str) -> None:
    expected = re.match(r"(?:#|//) error: (.*)", text)
    assert expected, "an error example starts with a '# error: ...' comment"
    path = tmp_path / f"example{EXTENSION[fmt]}"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert expected[1] in str(info.value)


def test_documented_counts(tmp_path: Path) -> None:
    """The numbers the prose states about its examples."""
    by_name = {block_id(fmt, text): (fmt, text) for fmt, text in EXAMPLES}

    def jobs(name: str) -> list[str]:
        fmt, text = by_name[name]
        path = tmp_path / f"{name}{EXTENSION[fmt]}"
        path.write_text(text)
        return [j.name for j in load_spec(path).jobs]

    assert jobs("yaml-range")[0] == "chunk_001" and jobs("yaml-range")[-1] == "chunk_100"
    assert len(jobs("yaml-floats-and-lists")) == 10
    assert jobs("yaml-zipped") == ["run_oslo", "run_lima", "run_pune"]
    _, text = by_name["yaml-pipeline"]
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    assert plan(load_spec(path)).levels == [["clean"], ["count"], ["report"]]
