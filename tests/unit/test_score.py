"""Scoring: itemized, unknown-neutral, weights from data, deterministic ranking."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from auditor.models import Check, Company, CompanyResult, ContactPoint, Failure, PageRecord, Verdict
from auditor.score import ScoreCard, benchmark_for, load_weights, rank, score_company

W = load_weights()
HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"


def company(row: int = 2, name: str = "Acme", industry: str | None = "retail",
            country: str | None = "HU") -> Company:
    return Company(row, name, HOME, country, industry)


def cp(kind: str, value: str, *, label: str | None = None, method: str = "text", page: str = CONTACT,
       details: Mapping[str, Any] | None = None) -> ContactPoint:
    return ContactPoint(kind, value, value, label, method, page, "", 0.9, dict(details or {}))


def verdict(kind: str, value: str, state: str, reason: str = "x", flags: Iterable[str] = (),
            checks: Iterable[Check] = ()) -> Verdict:
    return Verdict(kind, value, state, reason, "", tuple(checks), tuple(flags))


PAGES = (
    PageRecord(HOME, 200, None, "", 0, 10.0),
    PageRecord(CONTACT, 200, None, "", 1, 1.1),
)


def result(*contacts: ContactPoint, pages: tuple[PageRecord, ...] = PAGES, status: str = "done",
           c: Company | None = None) -> CompanyResult:
    return CompanyResult(c or company(), pages, tuple(contacts), (), (), status)


def vmap(*verdicts: Verdict) -> dict[tuple[str, str], Verdict]:
    return {(v.kind, v.value): v for v in verdicts}


def lines(card: ScoreCard, rule: str) -> list[Any]:
    return [line for line in card.lines if line.rule == rule]


PHONE = cp("phone", "+3612345678")
EMAIL = cp("email", "info@acme.example")


# --- the card adds up ---------------------------------------------------------------


def test_default_weights_sum_to_100_points() -> None:
    assert W.availability_max == 100


def test_lines_add_up_to_the_availability_score() -> None:
    r = result(PHONE, EMAIL, cp("hours", "24/7", details={"always_open": True}),
               cp("chat", "tidio", method="widget-script"))
    card = score_company(r, vmap(verdict("phone", PHONE.value, "active"),
                                 verdict("email", EMAIL.value, "inactive", "null-mx")))
    points = sum(line.points or 0 for line in card.lines if line.part == "availability")
    assert points == card.availability_points
    assert card.availability == pytest.approx(100 * points / W.availability_max, abs=0.05)
    for line in card.lines:
        assert line.message and line.tag


def test_nothing_found_scores_zero_not_none() -> None:
    card = score_company(result(pages=(PageRecord(HOME, 200, None, "", 0, 10.0),)), {})
    assert card.availability == 0 and card.total == 0
    assert lines(card, "no-contact-page") and lines(card, "no-hours")


def test_company_that_could_not_be_audited_is_not_scored() -> None:
    r = CompanyResult(company(), (PageRecord(HOME, None, "dns-failure", "", 0, 10.0),), (),
                      (Failure("dns-failure", "NXDOMAIN"),), (), "failed")
    card = score_company(r, {})
    assert card.availability is None and card.total is None and not card.scored
    assert "dns-failure" in lines(card, "not-audited")[0].message


# --- unknown never loses (or earns) points -----------------------------------------


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        (PHONE, "not-dialled"),
        (EMAIL, "accept-all"),
        (EMAIL, "greylisted"),
        (cp("chat", "tidio", method="widget-script"), "dns-failure"),
        (cp("messaging", "https://wa.me/3612345678"), "unverifiable"),
        (cp("form", "https://acme.example/send"), "form-action-unverified"),
    ],
)
def test_unknown_neither_earns_nor_loses(point: ContactPoint, reason: str) -> None:
    unknown = score_company(result(point), vmap(verdict(point.kind, point.value, "unknown", reason)))
    unchecked = score_company(result(point), {})
    active = score_company(result(point), vmap(verdict(point.kind, point.value, "active")))
    inactive = score_company(result(point), vmap(verdict(point.kind, point.value, "inactive")))
    assert unknown.availability == unchecked.availability
    assert inactive.availability < unknown.availability < active.availability
    [line] = lines(unknown, "unknown")
    assert line.points is None and line.status == "unknown" and line.tag == reason
    assert line.value == point.value
    assert unknown.unknown_share == 1.0 and unknown.unknown_count == 1


def test_unknown_share_counts_only_checked_channels() -> None:
    r = result(PHONE, EMAIL, cp("email", "sales@acme.example"), cp("hours", "Mo-Fr 08:00-16:00"))
    card = score_company(r, vmap(verdict("phone", PHONE.value, "unknown", "not-dialled"),
                                 verdict("email", EMAIL.value, "active")))
    assert (card.verdict_count, card.unknown_count) == (2, 1)
    assert card.unknown_share == 0.5
    assert score_company(result(cp("hours", "24/7")), {}).unknown_share is None


# --- availability rules, table-driven ----------------------------------------------


@pytest.mark.parametrize(
    ("point", "verdicts", "rule", "points"),
    [
        (PHONE, [verdict("phone", PHONE.value, "unknown", "premium-rate", ["cost-to-caller"])],
         "premium-rate", -10),
        (PHONE, [verdict("phone", PHONE.value, "unknown", "shared-cost", ["cost-to-caller"])],
         "shared-cost", -4),
        (PHONE, [verdict("phone", PHONE.value, "unknown", "not-dialled", ["toll-free"])], "toll-free", 6),
        (PHONE, [verdict("phone", PHONE.value, "inactive", "invalid-number")], "inactive", -8),
        (cp("phone", "+3680123456", details={"number_type": "TOLL_FREE"}), [], "toll-free", 6),
        (cp("phone", "+3690123456", details={"number_type": "PREMIUM_RATE"}), [], "premium-rate", -10),
        (EMAIL, [verdict("email", EMAIL.value, "active", "mailbox-exists")], "verified", 6),
        (EMAIL, [verdict("email", EMAIL.value, "inactive", "no-such-mailbox")], "inactive", -8),
        (cp("chat", "tidio", method="widget-script"),
         [verdict("chat", "tidio", "inactive", "dead-provider", ["dead-provider"])], "dead-provider", -10),
        (cp("chat", "olark", method="widget-script", details={"dead-provider": True}), [],
         "dead-provider", -10),
        (cp("hours", "24/7", details={"always_open": True}), [], "hours-always-open", 8),
        (cp("hours", "Mo-Sa 08:00-16:00", details={"spans": [
            {"days": ["Mo", "Tu", "We", "Th", "Fr", "Sa"], "open": "08:00", "close": "16:00"}]}),
         [], "hours-weekend", 6),
        (cp("hours", "Mo-Fr 08:00-16:00", details={"spans": [
            {"days": ["Mo", "Tu", "We", "Th", "Fr"], "open": "08:00", "close": "16:00"}]}),
         [], "hours-published", 4),
        (cp("email", "info@acme.example", method="json-ld"), [], "structured-data", 6),
        (cp("email", "info@acme.example", method="mailto", details={"methods": ["mailto", "microdata"]}),
         [], "structured-data", 6),
    ],
)
def test_availability_rule(point: ContactPoint, verdicts: list[Verdict], rule: str, points: float) -> None:
    card = score_company(result(point), vmap(*verdicts))
    found = lines(card, rule)
    assert len(found) == 1, [(line.rule, line.points) for line in card.lines]
    assert found[0].points == points


def test_cost_flags_move_the_score_by_their_points() -> None:
    plain = score_company(result(PHONE), vmap(verdict("phone", PHONE.value, "unknown", "not-dialled")))
    premium = score_company(result(PHONE), vmap(
        verdict("phone", PHONE.value, "unknown", "premium-rate", ["cost-to-caller"])))
    free = score_company(result(PHONE), vmap(verdict("phone", PHONE.value, "unknown", "not-dialled", ["toll-free"])))
    assert premium.availability_points == plain.availability_points - 10
    assert free.availability_points == plain.availability_points + 6


def test_toll_free_counts_once_per_company() -> None:
    a, b = cp("phone", "+3680111111"), cp("phone", "+3680222222")
    card = score_company(result(a, b), vmap(verdict("phone", a.value, "unknown", "not-dialled", ["toll-free"]),
                                            verdict("phone", b.value, "unknown", "not-dialled", ["toll-free"])))
    assert len(lines(card, "toll-free")) == 1


def test_dead_provider_replaces_the_inactive_penalty_and_offers_nothing() -> None:
    chat = cp("chat", "tidio", method="widget-script")
    card = score_company(result(chat), vmap(verdict("chat", "tidio", "inactive", "dead-provider", ["dead-provider"])))
    assert not lines(card, "inactive") and not lines(card, "offered")
    assert lines(card, "offered-all-inactive") and "chat" not in card.channels


def test_a_channel_with_one_working_point_is_still_offered() -> None:
    other = cp("email", "sales@acme.example")
    card = score_company(result(EMAIL, other), vmap(verdict("email", EMAIL.value, "inactive", "null-mx")))
    assert [line.points for line in lines(card, "offered")] == [14]
    assert [line.points for line in lines(card, "inactive")] == [-8]


def test_fax_numbers_are_not_a_channel() -> None:
    card = score_company(result(cp("phone", "+3612345679", label="fax")), {})
    assert "phone" not in card.channels and lines(card, "ignored-label")


def test_best_hours_rule_applies_once() -> None:
    card = score_company(result(cp("hours", "Mo-Fr 08:00-16:00"), cp("hours", "24/7", details={"always_open": True})), {})
    assert [line.rule for line in card.lines if line.rule.startswith("hours")] == ["hours-always-open"]


def test_availability_never_falls_below_zero_and_says_so() -> None:
    dead = [cp("email", f"x{i}@acme.example") for i in range(5)]
    card = score_company(result(*dead), vmap(*(verdict("email", d.value, "inactive", "null-mx") for d in dead)))
    assert card.availability == 0
    assert sum(line.points or 0 for line in card.lines if line.part == "availability") == 0
    assert lines(card, "clamped-floor")


# --- depth of the contact information ---------------------------------------------


def _pages(depth: int) -> tuple[PageRecord, ...]:
    return (
        PageRecord(HOME, 200, None, "", 0, 10.0),
        PageRecord("https://acme.example/sitemap.xml", 200, None, "sitemap", 1, 5.0),
        PageRecord("https://acme.example/about", 200, None, "", 1, 0.4),
        PageRecord(f"https://acme.example/{'x/' * depth}kontakt", 200, None, "", depth, 1.1),
    )


@pytest.mark.parametrize(("depth", "points"), [(1, 8), (2, 5), (3, 2), (5, 2)])
def test_depth_points(depth: int, points: float) -> None:
    pages = _pages(depth)
    card = score_company(result(cp("email", "info@acme.example", page=pages[-1].url), pages=pages), {})
    [line] = lines(card, "depth")
    assert line.points == points and line.value == pages[-1].url


def test_contact_points_on_the_home_page_are_depth_zero() -> None:
    card = score_company(result(cp("phone", PHONE.value, page=HOME), pages=_pages(3)), {})
    [line] = lines(card, "depth-home")
    assert line.points == 8


def test_failed_contact_page_and_sitemap_are_not_contact_pages() -> None:
    pages = (PageRecord(HOME, 200, None, "", 0, 10.0),
             PageRecord("https://acme.example/sitemap.xml", 200, None, "sitemap", 1, 5.0),
             PageRecord("https://acme.example/kontakt/", None, "robots-disallowed", "", 1, 1.1))
    card = score_company(result(pages=pages), {})
    assert lines(card, "no-contact-page") and not lines(card, "depth")


# --- responsiveness -----------------------------------------------------------------


def test_responsiveness_not_measured_is_none_and_total_is_availability() -> None:
    pages = tuple(dataclasses.replace(p, elapsed_ms=120.0) for p in PAGES)
    card = score_company(result(PHONE, pages=pages), {})
    assert card.responsiveness is None
    assert card.total == card.availability
    assert any("not measured" in n for n in card.notes)
    assert lines(card, "not-measured")[0].points is None
    # the technical timings are shown, not scored
    assert lines(card, "technical-info")[0].points is None


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ({"outcome": "human-reply", "reply_hours": 0.5}, 100),
        ({"outcome": "human-reply", "reply_hours": 2.5}, 80),
        ({"outcome": "human-reply", "reply_minutes": 600}, 50),
        ({"outcome": "human-reply", "reply_hours": 48}, 25),
        ({"outcome": "human-reply", "reply_seconds": 100 * 3600}, 10),
        ({"outcome": "human-reply", "reply_hours": 300}, 5),
        ({"outcome": "auto-ack"}, 10),
        ({"outcome": "no-reply"}, 0),
        ({"outcome": "bounced"}, 0),
    ],
)
def test_email_reply_against_the_retail_benchmark(probe: dict[str, Any], expected: float) -> None:
    card = score_company(result(EMAIL), {}, responsiveness={"email": [probe]})
    assert card.responsiveness == expected
    assert card.total == pytest.approx((0.7 * card.availability + 0.3 * expected), abs=0.06)
    assert sum(line.points or 0 for line in card.lines if line.part == "responsiveness") == pytest.approx(expected)


def test_best_email_inquiry_counts() -> None:
    probes = {"email": [{"outcome": "no-reply"}, {"outcome": "human-reply", "reply_hours": 0.2}]}
    assert score_company(result(EMAIL), {}, responsiveness=probes).responsiveness == 100


def test_probes_are_weighted_by_what_was_measured() -> None:
    probes = {
        "email": {"outcome": "human-reply", "reply_hours": 0.5},  # 100, weight .45
        "phone": [{"outcome": "answered", "answer_seconds": 20}, {"outcome": "no-answer"}],  # 50, weight .35
    }
    card = score_company(result(EMAIL), {}, responsiveness=probes)
    assert card.responsiveness == pytest.approx((100 * 0.45 + 50 * 0.35) / 0.8, abs=0.06)


def test_technical_timings_join_a_measured_responsiveness() -> None:
    pages = tuple(dataclasses.replace(p, elapsed_ms=2000.0) for p in PAGES)  # 40
    card = score_company(result(EMAIL, pages=pages), {},
                         responsiveness={"chat": [{"outcome": "answered", "wait_seconds": 30}]})  # 100
    assert card.responsiveness == pytest.approx((100 * 0.1 + 40 * 0.1) / 0.2, abs=0.06)


@pytest.mark.parametrize(
    ("industry", "key", "hours"),
    [
        ("software", "tech", (1, 2)),
        ("Online retail", "retail", (1, 3)),
        ("Investment Banking", "banking", (2, 4)),
        ("hospitality", "travel", (3, 6)),
        ("online games", "online-games", (1, 2)),
        ("bakery", "default", (1, 24)),
        (None, "default", (1, 24)),
        ("bitumen", "default", (1, 24)),  # "it" is a word, not a substring
    ],
)
def test_benchmark_by_industry(industry: str | None, key: str, hours: tuple[float, float]) -> None:
    b = benchmark_for(industry, W)
    assert (b.key, (b.low, b.high)) == (key, hours)


def test_reply_is_judged_by_the_companys_benchmark() -> None:
    probe = {"email": {"outcome": "human-reply", "reply_hours": 5}}
    travel = score_company(result(EMAIL, c=company(industry="travel")), {}, responsiveness=probe)
    tech = score_company(result(EMAIL, c=company(industry="software")), {}, responsiveness=probe)
    assert (travel.responsiveness, tech.responsiveness) == (80, 50)


# --- ranking ------------------------------------------------------------------------


def _card(name: str, total: float | None, availability: float | None = None, inactive: int = 0,
          row: int = 2, industry: str | None = "retail", country: str | None = "HU") -> ScoreCard:
    base = score_company(result(PHONE, c=Company(row, name, HOME, country, industry)), {})
    return dataclasses.replace(base, total=total, inactive_count=inactive,
                               availability=total if availability is None else availability)


@pytest.mark.parametrize(
    ("cards", "order"),
    [
        ([_card("B", 50), _card("A", 70)], ["A", "B"]),
        ([_card("A", 60, availability=50), _card("B", 60, availability=70)], ["B", "A"]),
        ([_card("A", 60, inactive=2), _card("B", 60, inactive=1)], ["B", "A"]),
        ([_card("b", 60), _card("A", 60)], ["A", "b"]),
        ([_card("A", 60, row=9), _card("A", 60, row=3)], [3, 9]),
        ([_card("Z", None), _card("A", 10)], ["A", "Z"]),
    ],
)
def test_tie_breaking(cards: list[ScoreCard], order: list[Any]) -> None:
    ranked = rank(cards)
    got = [r.card.company.row if isinstance(order[0], int) else r.card.company.name for r in ranked]
    assert got == order
    assert [r.rank for r in ranked if r.card.total is not None] == list(range(1, 1 + sum(
        1 for c in cards if c.total is not None)))


def test_unscored_companies_are_listed_last_without_a_rank() -> None:
    ranked = rank([_card("Z", None), _card("A", 10)])
    assert ranked[-1].rank is None and ranked[-1].industry_rank is None


def test_ranks_per_industry_and_country() -> None:
    cards = [
        _card("A", 90, row=2, industry="retail", country="HU"),
        _card("B", 80, row=3, industry="banking", country="HU"),
        _card("C", 70, row=4, industry="retail", country="DE"),
        _card("D", 60, row=5, industry="retail", country="HU"),
        _card("E", 50, row=6, industry=None, country=None),
    ]
    got = {r.card.company.name: (r.rank, r.industry_rank, r.industry_size, r.country_rank, r.country_size)
           for r in rank(cards)}
    assert got == {
        "A": (1, 1, 3, 1, 3),
        "B": (2, 1, 1, 2, 3),
        "C": (3, 2, 3, 1, 1),
        "D": (4, 3, 3, 3, 3),
        "E": (5, None, 0, None, 0),
    }


def test_rank_by_availability() -> None:
    cards = [_card("A", 90, availability=10), _card("B", 50, availability=60)]
    assert [r.card.company.name for r in rank(cards, key="availability")] == ["B", "A"]


# --- weights from a file ------------------------------------------------------------


def test_custom_weights_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        "[availability.offered]\nphone = 30\n"
        "[availability.penalties]\npremium_rate = -25\n"
        "[benchmarks.bakery]\nlabel = \"Bakery\"\nhours = [4, 8]\nmatch = [\"bakery\"]\n",
        encoding="utf-8",
    )
    w = load_weights(path)
    assert w.offered["phone"] == 30 and w.offered["email"] == W.offered["email"]
    assert w.availability_max == W.availability_max + 12
    assert w.source == str(path)
    card = score_company(result(PHONE), vmap(
        verdict("phone", PHONE.value, "unknown", "premium-rate", ["cost-to-caller"])), w)
    assert [line.points for line in lines(card, "offered")] == [30]
    assert [line.points for line in lines(card, "premium-rate")] == [-25]
    assert benchmark_for("bakery", w).low == 4


@pytest.mark.parametrize(
    "text",
    [
        "[availability.offered]\nfax = 3\n",            # unknown channel key
        "[availabilty]\nchannels = []\n",                # typo in a section
        "[availability.penalties]\ninactive = 8\n",      # a penalty must not be positive
        "[benchmarks.tech]\nhours = [3, 1]\n",           # low > high
    ],
)
def test_bad_weights_files_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        load_weights(path)


def test_card_to_dict_is_json_ready() -> None:
    import json

    card = score_company(result(PHONE, EMAIL), vmap(verdict("email", EMAIL.value, "active")))
    doc = json.loads(json.dumps(card.to_dict()))
    assert doc["responsiveness"] is None and doc["lines"][0]["status"] in ("gain", "loss", "info", "unknown")
