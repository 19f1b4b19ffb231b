"""The generic reader of the world file: types, places and rules from the dataclasses alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

import pytest

from auditor.lab.schema import Between, OneOf, SchemaError, read


@dataclass(frozen=True)
class Inner:
    LABEL: ClassVar[str] = "name"

    name: str
    size: Annotated[int, Between(0, 9, "a digit")] = 0


@dataclass(frozen=True)
class Outer:
    title: str
    ratio: float = 1.0
    flag: bool = False
    mode: Annotated[str, OneOf(("a", "b"))] = "a"
    tags: list[str] = field(default_factory=list)
    pair: tuple[int, str] | Literal["none"] | None = None
    items: list[Inner] = field(default_factory=list)
    table: dict[str, Inner] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    inner: Inner | None = None


def error(data: object) -> str:
    with pytest.raises(SchemaError) as info:
        read(Outer, data, "company 'x'")
    return str(info.value)


def test_a_good_table_becomes_the_dataclass() -> None:
    got = read(Outer, {"title": "t", "ratio": 2, "pair": [1, "a"], "items": [{"name": "n", "size": 3}],
                       "table": {"k": {"name": "m"}}, "inner": {"name": "i"}}, "company 'x'")
    assert got == Outer("t", 2.0, pair=(1, "a"), items=[Inner("n", 3)], table={"k": Inner("m")}, inner=Inner("i"))
    assert isinstance(got.ratio, float)
    assert read(Outer, {"title": "t", "pair": "none"}, "w").pair == "none"


@pytest.mark.parametrize(("data", "message"), [
    ([], "company 'x': expected a table, got []"),
    ({}, "company 'x': title: is required"),
    ({"title": "t", "titel": 1}, "company 'x': unknown key(s) titel"),
    ({"title": 1}, "company 'x': title: expected a string, got 1"),
    ({"title": "t", "ratio": True}, "company 'x': ratio: expected a number, got True"),
    ({"title": "t", "flag": 1}, "company 'x': flag: expected true/false, got 1"),
    ({"title": "t", "mode": "c"}, "company 'x': mode: expected one of a, b, got 'c'"),
    ({"title": "t", "tags": ["a", 2]}, "company 'x': tags: expected a list of strings, got ['a', 2]"),
    ({"title": "t", "pair": "x"}, "company 'x': pair: expected [an integer, a string] or \"none\", got 'x'"),
    ({"title": "t", "items": [{"name": "n", "size": 10}]},
     "company 'x' items[0] (n): size: expected a digit 0-9, got 10"),
    ({"title": "t", "items": [{"size": 1}]}, "company 'x' items[0]: name: is required"),
    ({"title": "t", "table": {"k": {"name": "m", "x": 1}}}, "company 'x' table.k (m): unknown key(s) x"),
    ({"title": "t", "headers": {"A": 1}}, "company 'x': headers.A: expected a string, got 1"),
    ({"title": "t", "inner": {"name": 5}}, "company 'x' inner: name: expected a string, got 5"),
])
def test_errors_name_the_place(data: object, message: str) -> None:
    assert error(data) == message
