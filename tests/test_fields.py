"""The one validator behind specs (strict) and settings (lenient): its switches and rules."""

from typing import Annotated, Any

import pytest

from pytorc.fields import Model, ValidationError, field, ge, le


class Inner(Model):
    count: int = 0


class Strict(Model):
    port: Annotated[int, ge(1), le(65535)] = 80
    ratio: float = 1.0
    on: bool = False
    either: int | float = 0
    inner: Inner = field(default_factory=Inner)


class Lax(Strict):
    strict = False


class Ignoring(Model):
    unknown_keys = "ignore"
    name: str = ""


class Allowing(Model):
    unknown_keys = "allow"
    name: str = ""


def problems(model: type[Model], data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(p.loc, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"port": "8080"}, {"port": 8080}),
        ({"port": " 8080 ", "ratio": "2.5"}, {"port": 8080, "ratio": 2.5}),
        ({"port": 8080.0}, {"port": 8080}),
        ({"on": "yes"}, {"on": True}),
        ({"on": "OFF"}, {"on": False}),
        ({"on": 1}, {"on": True}),
        ({"either": "3"}, {"either": 3}),
        ({"either": "3.5"}, {"either": 3.5}),
    ],
)
def test_a_lenient_model_converts_strings_the_way_environment_variables_need(
    data: dict[str, Any], expected: dict[str, Any]
) -> None:
    dumped = Lax.model_validate(data).model_dump()
    assert {key: dumped[key] for key in expected} == expected
    assert {key: type(dumped[key]) for key in expected} == {k: type(v) for k, v in expected.items()}


@pytest.mark.parametrize(
    "data", [{"port": "8080"}, {"ratio": "2.5"}, {"on": "yes"}, {"on": 1}, {"port": True}]
)
def test_a_strict_model_refuses_what_a_lenient_one_converts(data: dict[str, Any]) -> None:
    [(loc, message)] = problems(Strict, data)
    assert loc == tuple(data) and message.startswith("expected")


def test_lenient_conversion_still_refuses_nonsense_and_checks_the_rules() -> None:
    found = problems(Lax, {"port": "eighty", "on": "maybe", "ratio": "x", "either": "?"})
    assert [loc for loc, _ in found] == [("port",), ("ratio",), ("on",), ("either",)]
    assert problems(Lax, {"port": "70000"}) == [
        (("port",), "Input should be less than or equal to 65535, got 70000")
    ]
    assert problems(Lax, {"port": "0"}) == [
        (("port",), "Input should be greater than or equal to 1, got 0")
    ]


def test_a_nested_model_keeps_its_own_switch() -> None:
    assert problems(Lax, {"inner": {"count": "3"}}) == [
        (("inner", "count"), "expected an integer, got '3'")
    ]


def test_unknown_keys_are_refused_ignored_or_kept_as_each_class_says() -> None:
    [(loc, message)] = problems(Strict, {"prot": 1})
    assert loc == ("prot",) and "did you mean 'port'?" in message
    ignoring = Ignoring.model_validate({"name": "a", "colour": "red"})
    assert ignoring.ignored_keys == ("colour",) and ignoring.model_dump() == {"name": "a"}
    allowing = Allowing.model_validate({"name": "a", "tui": {"theme": "dark"}})
    assert allowing.model_extra == {"tui": {"theme": "dark"}}
    assert allowing.model_dump() == {"name": "a", "tui": {"theme": "dark"}}


def test_model_fields_set_names_what_the_data_gave() -> None:
    given = Lax.model_validate({"port": "81", "ratio": None})
    assert given.model_fields_set == {"port"}  # null means "not set"
    assert given.inner == Inner() and given.model_fields_set == {"port"}  # a default made later
    assert given.model_copy(update={"on": True}).model_fields_set == {"port", "on"}
    assert Lax().model_fields_set == frozenset()
