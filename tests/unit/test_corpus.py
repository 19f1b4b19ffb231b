"""Precision and recall of ``extract_page`` over the hand-labelled page corpus.

Every ``tests/fixtures/pages/<stem>.html`` has a ``<stem>.json`` truth file written by
a person reading the page (see ``tests/fixtures/pages/README.md``), never from extractor
output. The corpus is the independent yardstick for the extractors: the thresholds below
are the contract and are not to be lowered to make a run pass.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
import pytest

from auditor.extract import extract_page
from auditor.models import KINDS

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"

MIN_PAGES = 55
MIN_LANGUAGES = 10
MIN_CHAT_PROVIDERS = 20

# Precision and recall must both reach these, per kind, over the whole corpus.
THRESHOLDS: dict[str, float] = {
    "phone": 0.95,
    "email": 0.95,
    "chat": 0.90,
    "messaging": 0.80,
    "form": 0.80,
    "hours": 0.80,
}

CHAT_SLUGS = frozenset(
    """tawk.to smartsupp jivochat liveagent tidio crisp intercom zendesk livechat drift hubspot
    freshchat olark liveperson userlike chatra zoho-salesiq facebook-customer-chat bitrix24
    talk-me livetex webim redhelper carrotquest envybox yandex-messenger onicon czater sugester
    chatgo ondestek infoset gorgias helpscout reamaze kustomer gladly front trengo comm100
    salesforce dynamics365 genesys botpress""".split()
)
PHONE_LABELS = frozenset(
    """hotline customer-service sales support fax mobile office billing complaints reception
    whatsapp""".split()
)
ADDRESS_CLASSES = frozenset({"role", "personal"})

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_MESSAGING = re.compile(
    r"^(https://wa\.me/\d{7,15}"
    r"|https://t\.me/[a-z0-9_]{4,}"
    r"|viber://chat\?number=%2B\d{7,15}"
    r"|https://m\.me/[a-z0-9.]+"
    r"|skype:[a-z0-9._-]+\?chat)$"
)
_DAY = r"(Mo|Tu|We|Th|Fr|Sa|Su)"
_DAYS = rf"{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*"
_TIME = r"([01]\d|2[0-3]):[0-5]\d"
_SPAN = rf"{_TIME}-({_TIME}|24:00)"
_RULE = rf"{_DAYS} {_SPAN}(,{_SPAN})*"
_HOURS = re.compile(rf"^(24/7|{_RULE}(; {_RULE})*)$")


@dataclass
class Page:
    stem: str
    body: bytes
    truth: dict

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {(c["kind"], _canon(c["kind"], c["value"])) for c in self.truth["contacts"]}


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Scores:
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    misses: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    extras: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, str] = field(default_factory=dict)
    unknown_kinds: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    labels_total: int = 0
    labels_right: int = 0
    label_misses: list[str] = field(default_factory=list)


_WEEK = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_ROUND_THE_CLOCK = (("00:00", "24:00"),)


def _canon(kind: str, value: str) -> str:
    """The comparison form of a value: every kind must already be canonical, except that
    equivalent spellings of one weekly schedule ("Fr,Sa" / "Fr-Sa", split or merged rules,
    "8:00" / "08:00", "Mo-Su 00:00-24:00" / "24/7") compare equal."""
    if kind != "hours":
        return value
    text = " ".join(value.split())
    try:
        return _canon_hours(text)
    except (ValueError, IndexError):
        return text


def _canon_hours(text: str) -> str:
    if text == "24/7":
        return text
    week: dict[str, tuple[tuple[str, str], ...]] = {}
    for rule in filter(None, (r.strip() for r in text.split(";"))):
        days_part, spans_part = rule.split(" ", 1)
        spans = []
        for span in spans_part.replace(" ", "").split(","):
            start, end = span.split("-")
            spans.append((_clock(start), "24:00" if _clock(end) == "23:59" else _clock(end)))
        for item in days_part.split(","):
            first, _, last = item.partition("-")
            i, j = _WEEK.index(first), _WEEK.index(last or first)
            for k in range(i, i + (j - i) % 7 + 1):
                week[_WEEK[k % 7]] = tuple(spans)
    if len(week) == 7 and all(s == _ROUND_THE_CLOCK for s in week.values()):
        return "24/7"
    rules: list[str] = []
    run: list[str] = []
    for day in (*_WEEK, None):
        if run and (day is None or week.get(day) != week.get(run[0])):
            if week.get(run[0]):
                days = run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}"
                rules.append(f"{days} " + ",".join(f"{a}-{b}" for a, b in week[run[0]]))
            run = []
        if day is not None:
            run.append(day)
    return "; ".join(rules)


def _clock(text: str) -> str:
    hours, minutes = text.split(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) <= 24):
        raise ValueError(text)
    return f"{int(hours):02d}:{minutes}"


def load_corpus() -> list[Page]:
    pages = []
    for html in sorted(PAGES.glob("*.html")):
        truth_file = html.with_suffix(".json")
        truth = json.loads(truth_file.read_text("utf-8")) if truth_file.exists() else {}
        pages.append(Page(html.stem, html.read_bytes(), truth))
    return pages


def score_corpus(pages: list[Page]) -> Scores:
    scores = Scores()
    for page in pages:
        if "url" not in page.truth or "contacts" not in page.truth:
            scores.errors[page.stem] = "no usable truth file"
            continue
        expected = page.expected
        try:
            found = extract_page(page.body, page.truth["url"], page.truth["country"])
        except Exception as exc:  # noqa: BLE001 - report every page, then fail
            scores.errors[page.stem] = f"extract_page raised {type(exc).__name__}: {exc}"
            found = []
        got: set[tuple[str, str]] = set()
        labels: dict[str, set[str]] = defaultdict(set)
        for point in found:
            if point.kind not in KINDS:
                scores.unknown_kinds[page.stem].add(point.kind)
                continue
            got.add((point.kind, _canon(point.kind, point.value)))
            if point.kind == "phone" and point.label:
                labels[point.value].add(point.label)
        for kind, _value in expected & got:
            scores.tallies[kind].tp += 1
        for kind, value in sorted(expected - got):
            scores.tallies[kind].fn += 1
            scores.misses[page.stem].append((kind, value))
        for kind, value in sorted(got - expected):
            scores.tallies[kind].fp += 1
            scores.extras[page.stem].append((kind, value))
        for contact in page.truth["contacts"]:
            if contact["kind"] != "phone" or not contact.get("label"):
                continue
            if ("phone", contact["value"]) not in got:
                continue
            scores.labels_total += 1
            if contact["label"] in labels[contact["value"]]:
                scores.labels_right += 1
            else:
                seen = ",".join(sorted(labels[contact["value"]])) or "none"
                scores.label_misses.append(
                    f"{page.stem}: {contact['value']} want {contact['label']} got {seen}"
                )
    return scores


def render(
    scores: Scores,
    pages: int,
    title: str = "the page corpus",
    limits: dict[str, float] | None = None,
    limit_name: str = "need",
) -> str:
    """The P/R table and every miss and extra; shared by the corpus and the holdout test."""
    limits = THRESHOLDS if limits is None else limits
    lines = [
        "",
        f"Extraction over {title} ({pages} pages)",
        f"{'kind':<10}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>9}{limit_name:>7}",
    ]
    for kind in KINDS:
        t = scores.tallies[kind]
        limit = f"{limits[kind]:.2f}" if kind in limits else "-"
        lines.append(
            f"{kind:<10}{t.tp:>6}{t.fp:>6}{t.fn:>6}{t.precision:>11.3f}{t.recall:>9.3f}{limit:>7}"
        )
    if scores.labels_total:
        share = scores.labels_right / scores.labels_total
        lines.append(
            f"phone label accuracy (found phones with a truth label): "
            f"{scores.labels_right}/{scores.labels_total} = {share:.3f}"
        )
    for stem in sorted(set(scores.misses) | set(scores.extras)):
        lines.append(f"-- {stem}")
        lines += [f"   miss  {k:<9} {v}" for k, v in scores.misses.get(stem, [])]
        lines += [f"   extra {k:<9} {v}" for k, v in scores.extras.get(stem, [])]
    if scores.label_misses:
        lines.append("-- phone labels")
        lines += [f"   {m}" for m in scores.label_misses]
    for stem, kinds in sorted(scores.unknown_kinds.items()):
        lines.append(f"-- {stem}: unknown kinds {sorted(kinds)}")
    for stem, err in sorted(scores.errors.items()):
        lines.append(f"-- {stem}: {err}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def corpus() -> list[Page]:
    return load_corpus()


def test_corpus_precision_recall(corpus: list[Page], capsys: pytest.CaptureFixture[str]) -> None:
    scores = score_corpus(corpus)
    report = render(scores, len(corpus))
    with capsys.disabled():
        print(report)
    assert not scores.errors, f"pages not scored: {scores.errors}"
    failing = []
    for kind in KINDS:
        t, need = scores.tallies[kind], THRESHOLDS[kind]
        if t.precision < need or t.recall < need:
            failing.append(f"{kind}: P={t.precision:.3f} R={t.recall:.3f} (need {need:.2f})")
    assert not failing, "below threshold: " + "; ".join(failing)


def _problems(page: Page) -> list[str]:
    """Everything wrong with one truth file, as readable strings."""
    truth = page.truth
    if not truth:
        return ["no truth file"]
    out = []
    for key in ("url", "country", "language", "contacts"):
        if key not in truth:
            out.append(f"missing key {key!r}")
    if out:
        return out
    url = urlsplit(truth["url"])
    if url.scheme not in ("http", "https") or not url.hostname:
        out.append(f"url not absolute: {truth['url']}")
    country = truth["country"]
    if country is not None and country not in phonenumbers.SUPPORTED_REGIONS:
        out.append(f"unknown country {country!r}")
    if not re.fullmatch(r"[a-z]{2}", truth["language"] or ""):
        out.append(f"language must be an ISO 639-1 code: {truth['language']!r}")
    seen: set[tuple[str, str]] = set()
    for c in truth["contacts"]:
        kind, value = c.get("kind"), c.get("value")
        if kind not in KINDS or not isinstance(value, str) or not value:
            out.append(f"bad contact {c}")
            continue
        if (kind, value) in seen:
            out.append(f"duplicate {kind} {value}")
        seen.add((kind, value))
        if kind == "phone":
            if not _E164.match(value):
                out.append(f"phone not E.164: {value}")
            elif not phonenumbers.is_valid_number(phonenumbers.parse(value)):
                out.append(f"phone not valid per libphonenumber: {value}")
            if c.get("label") is not None and c["label"] not in PHONE_LABELS:
                out.append(f"unknown phone label {c['label']!r}")
        elif kind == "email":
            if not _EMAIL.match(value):
                out.append(f"email not canonical: {value}")
            if c.get("address_class") not in (None, *ADDRESS_CLASSES):
                out.append(f"unknown address_class {c['address_class']!r}")
        elif kind == "chat" and value not in CHAT_SLUGS:
            out.append(f"unknown chat slug {value!r}")
        elif kind == "messaging" and not _MESSAGING.match(value):
            out.append(f"messaging link not canonical: {value}")
        elif kind == "form":
            action = urlsplit(value)
            if action.scheme not in ("http", "https") or not action.hostname:
                out.append(f"form action not absolute: {value}")
        elif kind == "hours" and not _HOURS.match(value):
            out.append(f"hours not canonical: {value!r}")
    return out


def test_corpus_sanity(corpus: list[Page]) -> None:
    orphans = sorted(p.stem for p in PAGES.glob("*.json") if not p.with_suffix(".html").exists())
    assert not orphans, f"truth files without a page: {orphans}"
    problems = {p.stem: _problems(p) for p in corpus}
    problems = {stem: found for stem, found in problems.items() if found}
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)

    assert len(corpus) >= MIN_PAGES, f"only {len(corpus)} pages"
    languages = {p.truth["language"] for p in corpus}
    assert len(languages) >= MIN_LANGUAGES, f"only languages {sorted(languages)}"
    providers = {v for p in corpus for k, v in p.expected if k == "chat"}
    assert len(providers) >= MIN_CHAT_PROVIDERS, f"only chat providers {sorted(providers)}"
    kinds = {k for p in corpus for k, _ in p.expected}
    assert kinds == set(KINDS), f"kinds never labelled: {sorted(set(KINDS) - kinds)}"
