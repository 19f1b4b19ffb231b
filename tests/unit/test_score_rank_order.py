"""Rank order: score first, then availability, fewer inactive, name and row; zero is a score."""

from __future__ import annotations

import dataclasses

from auditor.models import Company, CompanyResult, PageRecord
from auditor.score import ScoreCard, rank, score_company

HOME = "https://acme.example/"


def card(name: str, total: float | None, availability: float | None, inactive: int = 0,
         row: int = 2, industry: str | None = "retail", country: str | None = "HU") -> ScoreCard:
    result = CompanyResult(Company(row, name, HOME, country, industry),
                           (PageRecord(HOME, 200, None, "", 0, 1.0),), (), (), (), "done")
    base = score_company(result, {})
    return dataclasses.replace(base, total=total, availability=availability, inactive_count=inactive)


def names(cards: list[ScoreCard], key: str = "total") -> list[str]:
    return [r.card.company.name for r in rank(cards, key)]


def test_higher_total_first_even_with_equal_availability() -> None:
    assert names([card("B", 40.0, 50.0), card("A", 60.0, 50.0)]) == ["A", "B"]


def test_a_zero_total_ranks_below_a_small_one() -> None:
    assert names([card("A", 0.0, 10.0), card("B", 0.5, 10.0)]) == ["B", "A"]


def test_equal_totals_go_by_availability_then_fewer_inactive_then_name_then_row() -> None:
    assert names([card("A", 50.0, 0.0), card("B", 50.0, 0.5)]) == ["B", "A"]
    assert names([card("A", 50.0, 50.0, inactive=2), card("B", 50.0, 50.0, inactive=1)]) == ["B", "A"]
    assert names([card("b", 50.0, 50.0), card("A", 50.0, 50.0)]) == ["A", "b"]
    ranked = rank([card("A", 50.0, 50.0, row=9), card("A", 50.0, 50.0, row=3)])
    assert [r.card.company.row for r in ranked] == [3, 9]


def test_unscored_are_last_unranked_by_name() -> None:
    ranked = rank([card("z", None, None), card("Y", 10.0, 10.0), card("a", None, None)])
    assert [(r.card.company.name, r.rank) for r in ranked] == [("Y", 1), ("a", None), ("z", None)]


def test_places_within_industry_and_country() -> None:
    ranked = rank([
        card("A", 90.0, 90.0, industry="retail", country="HU"),
        card("B", 80.0, 80.0, industry="banking", country="HU"),
        card("C", 70.0, 70.0, industry="retail", country="DE"),
        card("D", 60.0, 60.0, industry=None, country=None),
    ])
    assert [(r.rank, r.industry_rank, r.industry_size, r.country_rank, r.country_size) for r in ranked] == [
        (1, 1, 2, 1, 2), (2, 1, 1, 2, 2), (3, 2, 2, 1, 1), (4, None, 0, None, 0),
    ]


def test_rank_by_availability() -> None:
    assert names([card("A", 90.0, 10.0), card("B", 10.0, 90.0)], "availability") == ["B", "A"]


def test_unscored_companies_have_no_place_and_no_group() -> None:
    ranked = rank([card("z", None, None, industry="retail", country="HU"), card("Y", 10.0, 10.0)])
    assert [(r.rank, r.industry_rank, r.industry_size, r.country_rank, r.country_size) for r in ranked] == [
        (1, 1, 1, 1, 1), (None, None, 0, None, 0),
    ]


def test_rank_by_a_function_of_the_card() -> None:
    cards = [card("A", 90.0, 10.0, inactive=3), card("B", 10.0, 90.0, inactive=1)]
    assert [r.card.company.name for r in rank(cards, lambda c: -float(c.inactive_count))] == ["B", "A"]
