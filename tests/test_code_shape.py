"""The shape the code keeps (STYLE.md): small functions and modules, SQL only in the server's
db/ and services/ layers, job statuses named, never compared to bare numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "pytorc"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 600
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)
BARE_STATUS = re.compile(
    r"\bstatus\s*(?:=|!=|<>|<|>|<=|>=|(?:NOT\s+)?IN\s*\()\s*\d"
    r"|\bstatus\s*=\s*CASE\b[^;]*?\b(?:THEN|ELSE)\s+\d",
    re.I | re.S,
)


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines})")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def test_no_module_is_longer_than_six_hundred_lines() -> None:
    long = [
        f"{p.relative_to(SRC)} ({n})"
        for p in _modules()
        if (n := p.read_text().count("\n")) > MAX_MODULE_LINES
    ]
    assert not long, "modules over 600 lines: " + ", ".join(long)


def test_routes_hold_no_sql() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted((SRC / "server" / "routes").rglob("*.py"))
        for line, text in _strings(ast.parse(path.read_text()))
        if SQL.search(text)
    ]
    assert not found, "SQL in routes (move it to server/db or server/services): " + ", ".join(found)


def test_no_status_is_compared_to_a_bare_number() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {text.strip()[:80]}"
        for path in _modules()
        for line, text in _strings(ast.parse(path.read_text()))
        if BARE_STATUS.search(text)
    ]
    assert not found, "bind statuses by name:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("WHERE status = 2", True),
        ("AND j.status NOT IN (0, 3, 4, 9)", True),
        ("WHERE status IN (3,4)", True),
        ("WHERE status = ?", False),
        ("WHERE status = :ready", False),
        ("WHERE status_code = 2", False),
        ("SET status = CASE WHEN num_blocking > 0 THEN 1 ELSE 2 END", True),
        ("SET status = CASE WHEN n > 0 THEN :blocked ELSE :ready END", False),
    ],
)
def test_the_bare_status_check_sees_what_it_should(text: str, bare: bool) -> None:
    assert bool(BARE_STATUS.search(text)) is bare
