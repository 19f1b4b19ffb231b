"""Read parsed TOML into dataclasses by their type hints, naming the place of every error.

The world file's shape is written once, as dataclasses (:mod:`auditor.lab.worldfile`);
this reader checks a table against them: unknown keys, missing required keys, the
type of every value (strictly: TOML's booleans are never numbers, strings never
numbers), lists and tables of them, unions, and the single-field rules attached with
``Annotated`` (:class:`OneOf`, :class:`Between`, ...). The message names the place::

    t.toml: company 'kovacs.hu' pages[3] (/kontakt): status: expected an integer, got 'ok'

Supported hints: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``Literal[...]``,
``list[T]``, ``dict[str, T]``, ``tuple[A, B]`` (a fixed-length list), ``A | B``
(``None`` in a union only means "may be left out"), nested dataclasses and
``Annotated[T, check, ...]``. A dataclass may name a ``LABEL`` field: its value is
shown after the place (``pages[3] (/kontakt)``), as a reader of the file would look
for it.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


class SchemaError(ValueError):
    """A value that does not fit its field; ``where`` and ``key`` name the place."""

    def __init__(self, where: str, key: str | None, message: str) -> None:
        place = where or "top level"
        super().__init__(f"{place}: {key}: {message}" if key else f"{place}: {message}")
        self.where = where
        self.key = key
        self.message = message


# ----------------------------------------------------------------- single-field rules


@dataclass(frozen=True)
class OneOf:
    """The value is one of ``choices`` (a tuple kept in one place, e.g. PAGE_FAULTS)."""

    choices: Collection[str]

    def __call__(self, value: Any) -> str | None:
        if value in self.choices:
            return None
        return f"expected one of {', '.join(self.choices)}, got {value!r}"


@dataclass(frozen=True)
class Between:
    """A number within [low, high] (``high`` None: no upper bound); ``what`` names it."""

    low: float
    high: float | None
    what: str

    def __call__(self, value: Any) -> str | None:
        if value >= self.low and (self.high is None or value <= self.high):
            return None
        bounds = f"{self.low:g}-{self.high:g}" if self.high is not None else f">= {self.low:g}"
        return f"expected {self.what} {bounds}, got {value}"


@dataclass(frozen=True)
class Matches:
    """A string matching ``pattern`` (case-insensitively, surrounding blanks ignored)."""

    pattern: str
    what: str

    def __call__(self, value: Any) -> str | None:
        if re.fullmatch(self.pattern, value.strip(), re.IGNORECASE):
            return None
        return f"expected {self.what}, got {value!r}"


def not_empty(value: Any) -> str | None:
    """A string with something in it besides blanks."""
    return None if value.strip() else "must not be empty"


def known_encoding(value: Any) -> str | None:
    """A charset Python can encode with (the author's spelling is kept)."""
    try:
        codecs.lookup(value)
    except LookupError:
        return f"unknown encoding {value!r}"
    return None


# ------------------------------------------------------------------------- reading

_NAMES: dict[Any, str] = {
    str: "a string", int: "an integer", float: "a number", bool: "true/false", dict: "a table",
}


class _Mismatch(Exception):
    """A value of the wrong type; the caller says where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe(hint: Any) -> str:
    """How a type is named in messages: "a list of strings", "[an integer, a string]"."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin is typing.Literal:
        return " or ".join(f'"{a}"' for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args if a is not type(None))
    if origin is list:
        if args[0] is Any:
            return "a list"
        inner = describe(args[0])
        plural = {"a string": "strings", "an integer": "integers", "a table": "tables"}
        return f"a list of {plural.get(inner, inner)}"
    if origin is tuple:
        return "[" + ", ".join(describe(a) for a in args) + "]"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(hint):
        return "a table"
    if hint is Any:
        return "anything"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def read(cls: type[T], data: Any, where: str, depth: int = 0) -> T:
    """``data`` (a parsed TOML table) as a ``cls`` instance; SchemaError names what is wrong.

    ``where`` names the table (``company 'kovacs.hu'``); tables within it are joined
    with a blank at ``depth`` 0 and with dots below (``company 'kovacs.hu' dns.records.www``).
    """
    if not isinstance(data, dict):
        raise SchemaError(where, None, f"expected a table, got {data!r}")
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    label = getattr(cls, "LABEL", None)
    order = [label, *(n for n in fields if n != label)] if label else list(fields)
    for name in order:
        field = fields[name]
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise SchemaError(where, name, "is required")
        else:
            values[name] = _value(hints[name], data[name], where, name, depth)
        if name == label:
            shown = values.get(name, field.default)
            where = f"{where} ({str(shown).strip()})"
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SchemaError(where, None, f"unknown key(s) {', '.join(unknown)}")
    return cls(**values)


def _join(where: str, depth: int, key: str) -> str:
    """The place of a table within ``where`` ("" is the file's top level)."""
    if not where:
        return key
    return f"{where}{' ' if depth == 0 else '.'}{key}"


def _value(hint: Any, value: Any, where: str, key: str, depth: int) -> Any:
    """One field's value converted by its hint."""
    try:
        return _convert(hint, value, where, key, depth)
    except _Mismatch as exc:
        raise SchemaError(where, key, exc.message) from None


@dataclass(frozen=True)
class _Place:
    """Where a value sits: the table's place, the key within it, and the table's depth."""

    where: str
    key: str
    depth: int

    def at(self, key: str) -> _Place:
        return _Place(self.where, key, self.depth)


def _convert(hint: Any, value: Any, where: str, key: str, depth: int) -> Any:
    return _by_hint(hint, value, _Place(where, key, depth))


def _by_hint(hint: Any, value: Any, place: _Place) -> Any:
    if hint is Any:
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return read(hint, value, _join(place.where, place.depth, place.key), place.depth + 1)
    handler = _HANDLERS.get(get_origin(hint))
    if handler is not None:
        return handler(hint, value, place)
    return _scalar(hint, value)


def _annotated(hint: Any, value: Any, place: _Place) -> Any:
    base, *checks = get_args(hint)
    out = _by_hint(base, value, place)
    for check in checks:
        problem = check(out) if callable(check) else None
        if problem:
            raise SchemaError(place.where, place.key, problem)
    return out


def _literal(hint: Any, value: Any, place: _Place) -> Any:
    if isinstance(value, str) and value in get_args(hint):
        return value
    raise _Mismatch(f"expected {describe(hint)}, got {value!r}")


def _union(hint: Any, value: Any, place: _Place) -> Any:
    """The first option the value fits; a rule broken within a fitting type is reported as is."""
    options = [a for a in get_args(hint) if a is not type(None)]
    for option in options:
        try:
            return _by_hint(option, value, place)
        except _Mismatch:
            continue
    raise _Mismatch(f"expected {' or '.join(describe(o) for o in options)}, got {value!r}")


def _list(hint: Any, value: Any, place: _Place) -> Any:
    if not isinstance(value, list):
        raise _Mismatch(f"expected {describe(hint)}, got {value!r}")
    (inner,) = get_args(hint)
    return [_item(inner, item, place.where, place.key, place.depth, i, hint, value) for i, item in enumerate(value)]


def _tuple(hint: Any, value: Any, place: _Place) -> Any:
    args = get_args(hint)
    if not isinstance(value, list) or len(value) != len(args):
        raise _Mismatch(f"expected {describe(hint)}, got {value!r}")
    return tuple(_by_hint(a, v, place) for a, v in zip(args, value, strict=True))


def _dict(hint: Any, value: Any, place: _Place) -> Any:
    if not isinstance(value, dict):
        raise _Mismatch(f"expected a table, got {value!r}")
    inner = get_args(hint)[1]
    return {k: _value(inner, v, place.where, f"{place.key}.{k}", place.depth) for k, v in value.items()}


_HANDLERS: dict[Any, Callable[[Any, Any, _Place], Any]] = {
    typing.Annotated: _annotated,
    typing.Literal: _literal,
    Union: _union,
    types.UnionType: _union,
    list: _list,
    tuple: _tuple,
    dict: _dict,
}


def _item(hint: Any, item: Any, where: str, key: str, depth: int, index: int, whole: Any, value: Any) -> Any:
    """One element of a list: a table gets its own place (``pages[3]``), a scalar the list's message."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return read(hint, item, _join(where, depth, f"{key}[{index}]"), depth + 1)
    try:
        return _convert(hint, item, where, f"{key}[{index}]", depth)
    except _Mismatch:
        raise _Mismatch(f"expected {describe(whole)}, got {value!r}") from None


def _scalar(hint: Any, value: Any) -> Any:
    # TOML booleans are ints in Python; never accept one where a number is meant.
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    raise _Mismatch(f"expected {describe(hint)}, got {value!r}")

