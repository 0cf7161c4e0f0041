"""The input hash's document: written out by hand for speed, it must stay json.dumps' text.

A stored hash that no longer matched its recomputation would mark every job changed on
`torc workflows reinitialize`.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pytorc.server.db.jobs import RELATIONS
from pytorc.server.services.initialization import _hash_text

_ids = st.lists(st.integers(min_value=1, max_value=2**53), max_size=5)
_json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)


@given(
    command=st.text(),
    script=st.none() | st.text(),
    relations=st.fixed_dictionaries({field: _ids for field in RELATIONS}),
    data=st.dictionaries(st.integers(min_value=1, max_value=2**53), _json_scalars, max_size=5),
)
def test_hash_text_is_the_sorted_compact_json_of_the_document(
    command: str, script: str | None, relations: dict[str, list[int]], data: dict[int, Any]
) -> None:
    doc = {
        "command": command,
        "invocation_script": script,
        **relations,
        "input_user_data_contents": [
            {"id": ud, "data": data.get(ud)} for ud in relations["input_user_data_ids"]
        ],
    }
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    assert _hash_text(command, script, relations, data) == expected
