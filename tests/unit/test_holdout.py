"""Precision and recall of ``extract_page`` on a blind holdout corpus.

``tests/fixtures/holdout/`` holds pages that were written, with their truth files, by
someone who had not read the extractor code or the main page corpus, and that were
final before the extractors were first run on them (see the README there). The main
corpus (``tests/unit/test_corpus.py``) was visible to the people who wrote the
extractors, so it may flatter them; this corpus measures how they do on pages they
have never seen.

Scoring is the same as in ``test_corpus.py`` (set of (kind, value) per page, hours
compared as weekly schedules) and reuses its helpers. The floors are lower than the
main corpus's contract: they say "the extractor works on unseen pages", not "it is
tuned to them". Every run prints the full table with per-page misses and extras.
Do not edit a holdout page or its truth to make this test pass; add new pages instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import phonenumbers
import pytest

from tests.unit.test_corpus import Page, _problems, render, score_corpus

HOLDOUT = Path(__file__).resolve().parents[1] / "fixtures" / "holdout"

MIN_PAGES = 24
MIN_LANGUAGES = 10
MIN_CHAT_PROVIDERS = 8

# Precision and recall must both reach these over the holdout; other kinds are reported.
FLOORS: dict[str, float] = {
    "phone": 0.80,
    "email": 0.80,
    "chat": 0.75,
}


def load_holdout() -> list[Page]:
    pages = []
    for html in sorted(HOLDOUT.glob("*.html")):
        truth_file = html.with_suffix(".json")
        truth = json.loads(truth_file.read_text("utf-8")) if truth_file.exists() else {}
        pages.append(Page(html.stem, html.read_bytes(), truth))
    return pages


@pytest.fixture(scope="module")
def holdout() -> list[Page]:
    return load_holdout()


def test_holdout_precision_recall(holdout: list[Page], capsys: pytest.CaptureFixture[str]) -> None:
    scores = score_corpus(holdout)
    report = render(scores, len(holdout), "the blind holdout corpus", FLOORS, "floor")
    with capsys.disabled():
        print(report)
    assert not scores.errors, f"pages not scored: {scores.errors}"
    failing = []
    for kind, need in FLOORS.items():
        t = scores.tallies[kind]
        if t.precision < need or t.recall < need:
            failing.append(f"{kind}: P={t.precision:.3f} R={t.recall:.3f} (floor {need:.2f})")
    assert not failing, "below floor on unseen pages: " + "; ".join(failing)


def test_holdout_sanity(holdout: list[Page]) -> None:
    orphans = sorted(p.stem for p in HOLDOUT.glob("*.json") if not p.with_suffix(".html").exists())
    assert not orphans, f"truth files without a page: {orphans}"
    problems = {p.stem: _problems(p) for p in holdout}
    problems = {stem: found for stem, found in problems.items() if found}
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)

    assert len(holdout) >= MIN_PAGES, f"only {len(holdout)} pages"
    languages = {p.truth["language"] for p in holdout}
    assert len(languages) >= MIN_LANGUAGES, f"only languages {sorted(languages)}"
    invalid = [
        f"{p.stem}: {c['value']}"
        for p in holdout
        for c in p.truth["contacts"]
        if c["kind"] == "phone" and not phonenumbers.is_valid_number(phonenumbers.parse(c["value"]))
    ]
    assert not invalid, f"truth phones not valid per libphonenumber: {invalid}"
    providers = {v for p in holdout for k, v in p.expected if k == "chat"}
    assert len(providers) >= MIN_CHAT_PROVIDERS, f"only chat providers {sorted(providers)}"
