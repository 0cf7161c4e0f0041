"""The server expands job sweeps with row_formatter and rows; they must give exactly what the
client's expansion (substitute, combinations) gives, or a sweep sent whole would make other
jobs than the same spec expanded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytorc.parameters import combinations, count_rows, row_formatter, rows, substitute

_names = st.sampled_from(["i", "lr", "mode", "x_1"])
_formats = st.sampled_from(["", ":03d", ":>6", ":.2f", ":x", ":_^9"])
_pieces = st.one_of(
    st.text(alphabet="ab_-/. ${}:", max_size=6),  # literal text, stray braces included
    st.tuples(_names, _formats).map(lambda p: "{" + p[0] + p[1] + "}"),
    st.sampled_from(["{unknown}", "${HOME}", "{", "}", "{{i}}", "awk '{print $1}'"]),
)
_templates = st.lists(_pieces, max_size=8).map("".join)
_values = st.one_of(
    st.lists(st.integers(-50, 5000), min_size=1, max_size=3),
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=3),
    st.lists(st.text(alphabet="xyz", max_size=3), min_size=1, max_size=3),
)


@given(template=_templates, params=st.dictionaries(_names, _values, min_size=1, max_size=3))
def test_row_formatter_makes_what_substitute_makes(
    template: str, params: dict[str, list[int | float | str]]
) -> None:
    names = list(params)
    made = row_formatter(template, names)
    for combo in combinations(params, "product"):
        row = tuple(combo[name] for name in names)
        try:
            expected = substitute(template, combo)
        except ValueError as exc:  # a format that does not apply: the same error either way
            try:
                made(row)
            except ValueError as again:
                assert str(again) == str(exc)
            else:
                raise AssertionError(
                    f"{template!r} {row!r} formatted, substitute refused"
                ) from None
            continue
        assert made(row) == expected


@given(params=st.dictionaries(_names, _values, min_size=1, max_size=3), zip_mode=st.booleans())
def test_rows_come_in_the_order_and_number_of_combinations(
    params: dict[str, list[int | float | str]], zip_mode: bool
) -> None:
    mode = "zip" if zip_mode else "product"
    if zip_mode and len({len(v) for v in params.values()}) > 1:
        return  # both refuse it (tested in test_spec_expand)
    expected = [tuple(c[n] for n in params) for c in combinations(params, mode)]
    assert list(rows(params, mode)) == expected
    assert count_rows(params, mode) == len(expected)
