"""JSON for the wire: the standard library until a process has moved a lot of JSON.

pydantic-core encodes ~3x and decodes ~1.3x faster than `json` (22 -> 8 ms and 18 -> 14 ms per
MB), but importing it costs ~60 ms: more than a 2,000-job workflow's whole upload and answers
(~1.3 MB) take with `json`. So it is loaded only once this process has encoded and decoded
BULK_BYTES, where a bulk upload or a long listing is under way and the rest will repay it.
"""

from __future__ import annotations

import json
from typing import Any

BULK_BYTES = 4 * 1024 * 1024

_moved = 0  # bytes of JSON this process has encoded and decoded so far
# The switch earns its keep: creating a 20,000-job sweep takes 15% (230 ms) longer without it
# (benchmarks/tricks.py, 2026-12-04).


def encode(body: Any) -> bytes:
    global _moved
    if _moved >= BULK_BYTES:
        from pydantic_core import to_json

        return to_json(body)
    data = json.dumps(body, separators=(",", ":")).encode()
    _moved += len(data)
    return data


def decode(payload: bytes) -> Any:
    global _moved
    if _moved >= BULK_BYTES:
        from pydantic_core import from_json

        return from_json(payload)
    _moved += len(payload)
    return json.loads(payload)
