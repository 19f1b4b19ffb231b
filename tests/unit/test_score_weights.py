"""Scoring weights as read from data: benchmarks, defaults and the checks that refuse bad files."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from auditor.data import load
from auditor.score import Benchmark, benchmark_for, load_weights, weights_from_dict


def packaged() -> dict[str, Any]:
    return copy.deepcopy(load("scoring.toml"))


def test_benchmarks_keep_label_hours_words_and_source() -> None:
    w = load_weights()
    retail = next(b for b in w.benchmarks if b.key == "retail")
    assert retail == Benchmark("retail", "Retail", 1.0, 3.0,
                               ("retail", "shop", "store", "e commerce", "ecommerce", "wholesale"),
                               "hu-guide")
    assert w.benchmarks[-1].key == "default"  # a specific benchmark always wins
    assert benchmark_for("Online Shop", w).key == "retail"
    assert w.source == "packaged"


def test_a_benchmark_without_label_or_source() -> None:
    data = packaged()
    data["benchmarks"]["b2b"] = {"hours": [4, 4]}
    w = weights_from_dict(data)
    assert w.source == "dict"
    b2b = next(b for b in w.benchmarks if b.key == "b2b")
    assert (b2b.label, b2b.low, b2b.high, b2b.match, b2b.source) == ("b2b", 4.0, 4.0, (), "")


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (None, "benchmark 'b2b' needs hours = [low, high]"),
        (["x", 2], "benchmark 'b2b' needs hours = [low, high]"),
        ([0, 2], "benchmark 'b2b': hours must satisfy 0 < low <= high"),
        ([3, 2], "benchmark 'b2b': hours must satisfy 0 < low <= high"),
    ],
)
def test_bad_benchmark_hours_are_refused(hours: Any, message: str) -> None:
    data = packaged()
    data["benchmarks"]["b2b"] = {} if hours is None else {"hours": hours}
    with pytest.raises(ValueError) as info:
        weights_from_dict(data)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["benchmarks"].pop("default"), "scoring needs a [benchmarks.default] entry"),
        (lambda d: d["availability"]["penalties"].update(inactive=1), "penalties must be zero or negative"),
        (lambda d: d["availability"]["depth"].update(points=[]),
         "availability.depth.points needs at least one value"),
        (lambda d: d["total"].update({k: 0 for k in d["total"]}), "total weights must add up to more than 0"),
    ],
)
def test_inconsistent_weights_are_refused(change: Any, message: str) -> None:
    data = packaged()
    change(data)
    with pytest.raises(ValueError) as info:
        weights_from_dict(data)
    assert str(info.value) == message


def test_zero_penalty_is_allowed() -> None:
    data = packaged()
    data["availability"]["penalties"]["inactive"] = 0
    assert weights_from_dict(data).penalties["inactive"] == 0.0
