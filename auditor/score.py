"""Scoring: a company's harvest and verdicts in, an itemized score card out.

Pure: no I/O except reading the weights file. Every point gained or lost is one
:class:`ScoreLine`, so a reader can check a score with a pencil; the methodology
page is rendered from the same :class:`Weights`, so it cannot disagree.

Two sub-scores, each 0-100, and a total:

- **availability** from what the audit always measures: channels offered, which
  of them were verified active or found inactive, published hours, toll-free
  and premium-rate numbers, how deep the contact information is, structured
  contact data and dead chat providers;
- **responsiveness** only from live probes, passed in as ``responsiveness``::

      {"email": [{"outcome": "human-reply", "reply_hours": 1.5}, ...],
       "phone": [{"outcome": "answered", "answer_seconds": 40}, ...],
       "chat":  [{"outcome": "answered", "wait_seconds": 35}, ...]}

  (each value may also be a single mapping; email outcomes are ``human-reply``,
  ``auto-ack``, ``no-reply``, ``bounced``; phone ``answered``, ``voicemail``,
  ``no-answer``, ``busy``, ``not-in-service``; chat ``answered``, ``offline``,
  ``no-answer``). Without probes it is ``None`` ("not measured"), never 0, and
  the total is the availability alone.

``unknown`` verdicts neither earn nor lose points; they appear as unknown lines
and in the card's unknown share.
"""

from __future__ import annotations

import math
import re
import statistics
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import reasons
from auditor.data import load
from auditor.models import Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.text import fold

__all__ = [
    "CHANNEL_LABELS",
    "Benchmark",
    "Ranked",
    "ScoreCard",
    "ScoreLine",
    "Weights",
    "benchmark_for",
    "load_weights",
    "rank",
    "score_company",
]

CHANNEL_LABELS: Mapping[str, str] = {
    "phone": "Phone", "email": "Email", "chat": "Live chat", "messaging": "Messaging",
    "form": "Contact form", "hours": "Service hours",
}
STRUCTURED_METHODS = frozenset({"json-ld", "microdata"})
WEEKEND = frozenset({"Sa", "Su"})
_EMAIL_OUTCOMES = {
    "human-reply": "human-reply", "human": "human-reply", "reply": "human-reply",
    "replied": "human-reply", "auto-ack": "auto-ack", "auto-acknowledged": "auto-ack",
    "auto-reply": "auto-ack", "no-reply": "no-reply", "none": "no-reply",
    "bounced": "bounced", "bounce": "bounced",
}  # fmt: skip


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    """Expected hours to a first human email reply in one industry."""

    key: str
    label: str
    low: float
    high: float
    match: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class Weights:
    """Every number the scoring uses, as read from scoring.toml (and overrides)."""

    total: Mapping[str, float]
    channels: tuple[str, ...]
    ignored_labels: tuple[str, ...]
    offered: Mapping[str, float]
    verified: Mapping[str, float]
    penalties: Mapping[str, float]
    hours: Mapping[str, float]
    toll_free: float
    depth_points: tuple[float, ...]
    contact_page_min_score: float
    structured: float
    responsiveness: Mapping[str, float]
    technical_counts_alone: bool
    email: Mapping[str, Any]
    phone: Mapping[str, Any]
    chat: Mapping[str, Any]
    technical: Mapping[str, Any]
    benchmarks: tuple[Benchmark, ...]
    messages: Mapping[str, str]
    source: str = "packaged"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def availability_max(self) -> float:
        """The best availability a company can reach, in points (scaled to 100)."""
        best = sum(self.offered.get(k, 0.0) + self.verified.get(k, 0.0) for k in self.channels)
        best += max(self.hours.values(), default=0.0)
        best += self.toll_free + max(self.depth_points, default=0.0) + self.structured
        return float(best)

    def message(self, rule: str, **fields: Any) -> str:
        """The human message of a scoring rule with its fields filled in."""
        template = self.messages.get(rule, rule)
        return template.format_map(_Blank(fields))


class _Blank(dict):  # type: ignore[type-arg]
    """format_map helper: a field a custom message names but we lack stays empty."""

    def __missing__(self, key: str) -> str:
        return ""


def _merge(base: dict[str, Any], extra: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Deep-merge a user's file over the defaults, rejecting keys that do not exist.

    New benchmarks may be added (their names are free); anything else unknown is
    a typo that would otherwise be silently ignored.
    """
    out = dict(base)
    for key, value in extra.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            if where == "benchmarks" and isinstance(value, Mapping):
                out[key] = dict(value)
                continue
            raise ValueError(f"unknown scoring setting {path!r}")
        table = isinstance(base[key], dict)
        if table != isinstance(value, Mapping):
            # a table for a list was read as its keys, a number for a table failed on .items()
            shape = "a table" if table else "a value, not a table"
            raise ValueError(f"scoring setting {path!r} must be {shape}")
        out[key] = _merge(base[key], value, path) if table else value
    return out


def _steps(value: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(limit), float(score)) for limit, score in value)


def load_weights(path: str | Path | None = None) -> Weights:
    """Weights from the packaged scoring.toml, with ``path``'s values on top."""
    data = _deep_copy(load("scoring.toml"))
    source = "packaged"
    if path is not None:
        with Path(path).open("rb") as fh:
            data = _merge(data, tomllib.load(fh))
        source = str(path)
    return weights_from_dict(data, source)


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def weights_from_dict(data: Mapping[str, Any], source: str = "dict") -> Weights:
    """Build and check :class:`Weights` from parsed TOML (a complete document)."""
    av = data["availability"]
    rs = data["responsiveness"]
    benchmarks = []
    for key, b in data["benchmarks"].items():
        try:
            low, high = (float(h) for h in b["hours"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"benchmark {key!r} needs hours = [low, high]") from exc
        if not 0 < low <= high:
            raise ValueError(f"benchmark {key!r}: hours must satisfy 0 < low <= high")
        benchmarks.append(Benchmark(
            key, str(b.get("label", key)), low, high,
            tuple(_words(m) for m in b.get("match", ())), str(b.get("source", "")),
        ))
    if not any(b.key == "default" for b in benchmarks):
        raise ValueError("scoring needs a [benchmarks.default] entry")
    # default last, so a specific benchmark always wins
    benchmarks.sort(key=lambda b: b.key == "default")
    weights = Weights(
        total={k: float(v) for k, v in data["total"].items()},
        channels=tuple(av["channels"]),
        ignored_labels=tuple(av.get("ignored_labels", ())),
        offered={k: float(v) for k, v in av["offered"].items()},
        verified={k: float(v) for k, v in av["verified"].items()},
        penalties={k: float(v) for k, v in av["penalties"].items()},
        hours={k: float(v) for k, v in av["hours"].items()},
        toll_free=float(av["phone"]["toll_free"]),
        depth_points=tuple(float(p) for p in av["depth"]["points"]),
        contact_page_min_score=float(av["depth"]["contact_page_min_score"]),
        structured=float(av["structured"]["points"]),
        responsiveness={k: float(v) for k, v in rs["weights"].items()},
        technical_counts_alone=bool(rs.get("technical_counts_alone", False)),
        email={**rs["email"], "later": _steps(rs["email"]["later"])},
        phone={**rs["phone"], "answered": _steps(rs["phone"]["answered"])},
        chat={**rs["chat"], "answered": _steps(rs["chat"]["answered"])},
        technical={**rs["technical"], "page_ms": _steps(rs["technical"]["page_ms"]),
                   "smtp_ms": _steps(rs["technical"]["smtp_ms"])},
        benchmarks=tuple(benchmarks),
        messages=dict(data.get("messages", {})),
        source=source,
        raw=data,
    )
    if any(v > 0 for v in weights.penalties.values()):
        raise ValueError("penalties must be zero or negative")
    if weights.availability_max <= 0:
        raise ValueError("availability has no points to earn")
    if not weights.depth_points:
        raise ValueError("availability.depth.points needs at least one value")
    if sum(weights.total.values()) <= 0:
        raise ValueError("total weights must add up to more than 0")
    return weights


# ---------------------------------------------------------------------------
# Score cards
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLine:
    """One itemized reason: points gained (+), lost (-), or unknown/info (no points).

    ``rule`` is the scoring rule (a key of [messages]); ``tag`` the reason tag
    behind it (a verdict's reason, or the rule itself).
    """

    part: str  # availability | responsiveness
    rule: str
    points: float | None
    tag: str
    message: str
    kind: str | None = None
    value: str | None = None

    @property
    def status(self) -> str:
        if self.rule == "unknown":
            return "unknown"
        if self.points is None or self.points == 0:
            return "info"
        return "gain" if self.points > 0 else "loss"

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part, "rule": self.rule, "points": self.points, "tag": self.tag,
            "message": self.message, "kind": self.kind, "value": self.value, "status": self.status,
        }


@dataclass(frozen=True)
class ScoreCard:
    """A company's sub-scores, total and every line that produced them."""

    company: Company
    availability: float | None
    responsiveness: float | None
    total: float | None
    lines: tuple[ScoreLine, ...]
    availability_points: float
    availability_max: float
    channels: tuple[str, ...]
    active_channels: tuple[str, ...]
    verdict_count: int
    unknown_count: int
    inactive_count: int
    active_count: int
    benchmark: Benchmark
    notes: tuple[str, ...] = ()

    @property
    def unknown_share(self) -> float | None:
        """Share of verdicts that are unknown (None when nothing was checked)."""
        return self.unknown_count / self.verdict_count if self.verdict_count else None

    @property
    def scored(self) -> bool:
        return self.total is not None

    def to_dict(self) -> dict[str, Any]:
        c = self.company
        return {
            "key": c.key, "row": c.row, "name": c.name, "website": c.website,
            "country": c.country, "industry": c.industry,
            "availability": self.availability, "responsiveness": self.responsiveness,
            "total": self.total, "availability_points": self.availability_points,
            "availability_max": self.availability_max, "channels": list(self.channels),
            "active_channels": list(self.active_channels), "verdicts": self.verdict_count,
            "unknown": self.unknown_count, "inactive": self.inactive_count,
            "active": self.active_count, "unknown_share": self.unknown_share,
            "benchmark": self.benchmark.key, "notes": list(self.notes),
            "lines": [line.to_dict() for line in self.lines],
        }


def _words(text: str) -> str:
    """Folded (:func:`auditor.text.fold`), words separated by single spaces."""
    return " ".join(re.split(r"[^\w]+|_", fold(text))).strip()


def benchmark_for(industry: str | None, weights: Weights) -> Benchmark:
    """The email-reply benchmark of an industry (the default when none matches)."""
    words = f" {_words(industry or '')} "
    for b in weights.benchmarks:
        if any(m and f" {m} " in words for m in b.match):
            return b
    return next(b for b in weights.benchmarks if b.key == "default")


def _is_dead(cp: ContactPoint, verdict: Verdict | None) -> bool:
    if cp.kind != "chat":
        return False
    if cp.details.get("dead-provider") or cp.details.get("dead"):
        return True
    return verdict is not None and (verdict.reason == reasons.DEAD_PROVIDER or reasons.DEAD_PROVIDER in verdict.flags)


def _phone_cost(cp: ContactPoint, verdict: Verdict | None) -> str | None:
    """'toll-free', 'premium-rate', 'shared-cost' or None, from the verdict (or harvest)."""
    if verdict is not None:
        if reasons.TOLL_FREE in verdict.flags or verdict.reason == reasons.TOLL_FREE:
            return reasons.TOLL_FREE
        if verdict.reason in (reasons.PREMIUM_RATE, reasons.SHARED_COST):
            return verdict.reason
        if "cost-to-caller" in verdict.flags:
            types = {str(c.evidence.get("type", "")) for c in verdict.checks}
            return reasons.SHARED_COST if "shared-cost" in types else reasons.PREMIUM_RATE
        if verdict.checks:
            return None
    number_type = str(cp.details.get("number_type", "")).upper()
    return {"TOLL_FREE": reasons.TOLL_FREE, "PREMIUM_RATE": reasons.PREMIUM_RATE,
            "SHARED_COST": reasons.SHARED_COST}.get(number_type)


def _ok_page(p: PageRecord) -> bool:
    return p.error_tag is None and p.status is not None and 200 <= p.status < 300


def _contact_depth(result: CompanyResult, weights: Weights) -> tuple[int, str] | None:
    """Clicks from the home page to contact information, and the page showing it."""
    pages = [p for p in result.pages if _ok_page(p)]
    depth_of: dict[str, int] = {}
    for p in pages:
        depth_of[p.url] = min(p.depth, depth_of.get(p.url, p.depth))
    candidates = [
        (p.depth, p.url) for p in pages
        # the home page's and sitemaps' scores are frontier seeds, not keyword scores
        if p.depth > 0 and p.message != "sitemap" and p.score >= weights.contact_page_min_score
    ]
    for cp in result.contacts:
        if cp.kind in weights.channels and cp.page_url in depth_of:
            candidates.append((depth_of[cp.page_url], cp.page_url))
    return min(candidates) if candidates else None


def _hours_best(contacts: Iterable[ContactPoint]) -> tuple[str, str] | None:
    """('always_open' | 'weekend' | 'published', the hours value) of the best schedule."""
    best: tuple[int, str, str] | None = None
    order = {"always_open": 0, "weekend": 1, "published": 2}
    for cp in contacts:
        if cp.kind != "hours":
            continue
        days = {d for span in cp.details.get("spans") or () for d in span.get("days", ())}
        if cp.details.get("always_open") or cp.value.strip() == "24/7":
            level = "always_open"
        elif days & WEEKEND:
            level = "weekend"
        else:
            level = "published"
        if best is None or order[level] < best[0]:
            best = (order[level], level, cp.value)
    return (best[1], best[2]) if best else None


def _step_score(value: float, steps: Sequence[tuple[float, float]], slower: float) -> float:
    for limit, score in steps:
        if value <= limit:
            return score
    return slower


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(round(hours), 24)
    return f"{d} d {h} h" if h else f"{d} d"


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _as_list(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value if isinstance(v, Mapping)]


def _number(item: Mapping[str, Any], *keys: str, scale: Sequence[float] = ()) -> float | None:
    """The first present key, converted by its scale (e.g. seconds -> hours)."""
    for i, key in enumerate(keys):
        if item.get(key) is not None:
            try:
                value = float(item[key])
            except (TypeError, ValueError):
                return None
            return value * (scale[i] if i < len(scale) else 1.0)
    return None


class _Card:
    """Accumulates lines while scoring one company."""

    def __init__(self, weights: Weights) -> None:
        self.w = weights
        self.lines: list[ScoreLine] = []

    def add(self, part: str, rule: str, points: float | None, tag: str | None = None,
            kind: str | None = None, value: str | None = None, message: str | None = None,
            **fields: Any) -> None:
        channel = CHANNEL_LABELS.get(kind or "", (kind or "").capitalize())
        text = message if message is not None else self.w.message(
            rule, kind=kind, value=value, channel=channel, **fields)
        self.lines.append(ScoreLine(part, rule, points, tag or rule, text, kind, value))

    def points(self, part: str) -> float:
        return sum(line.points or 0.0 for line in self.lines if line.part == part)


def _reason_message(verdict: Verdict) -> str:
    """The verdict's own message (it names the host or number), else the tag's."""
    if verdict.message:
        return verdict.message
    return reasons.message(verdict.reason) or verdict.reason


def score_company(
    result: CompanyResult,
    verdicts: Mapping[tuple[str, str], Verdict],
    weights: Weights | None = None,
    responsiveness: Mapping[str, Any] | None = None,
) -> ScoreCard:
    """Score one company from its harvest, its verdicts and (optionally) live probes."""
    w = weights or load_weights()
    card = _Card(w)
    benchmark = benchmark_for(result.company.industry, w)
    notes: list[str] = []
    counts = {"verdicts": 0, "unknown": 0, "inactive": 0, "active": 0}
    for cp in result.contacts:
        v = verdicts.get(cp.dedupe_key)
        if v is not None and cp.kind in w.channels:
            counts["verdicts"] += 1
            counts[v.verdict if v.verdict in ("unknown", "inactive", "active") else "unknown"] += 1

    if result.status != "done" and not result.contacts:
        tags = ", ".join(sorted({f.tag for f in result.failures})) or result.status
        card.add("availability", "not-audited", None, tags=tags)
        return ScoreCard(
            result.company, None, None, None, tuple(card.lines), 0.0, w.availability_max,
            (), (), counts["verdicts"], counts["unknown"], counts["inactive"], counts["active"],
            benchmark, (card.lines[-1].message,),
        )

    offered, active = _availability(result, verdicts, w, card)
    raw = card.points("availability")
    if raw < 0:
        card.add("availability", "clamped-floor", -raw)
        raw = 0.0
    raw = min(raw, w.availability_max)
    availability = round(100.0 * raw / w.availability_max, 1)

    resp = _responsiveness(result, verdicts, w, card, benchmark, responsiveness or {})
    if resp is None:
        notes.append(w.message("not-measured"))
    parts = {"availability": availability, "responsiveness": resp}
    measured = {k: v for k, v in parts.items() if v is not None and w.total.get(k, 0) > 0}
    weight_sum = sum(w.total[k] for k in measured)
    total = round(sum(w.total[k] * v for k, v in measured.items()) / weight_sum, 1) if weight_sum else None
    return ScoreCard(
        company=result.company, availability=availability, responsiveness=resp, total=total,
        lines=tuple(card.lines), availability_points=round(raw, 2),
        availability_max=w.availability_max, channels=offered, active_channels=active,
        verdict_count=counts["verdicts"], unknown_count=counts["unknown"],
        inactive_count=counts["inactive"], active_count=counts["active"],
        benchmark=benchmark, notes=tuple(notes),
    )


_AVAILABILITY = "availability"


def _availability(
    result: CompanyResult, verdicts: Mapping[tuple[str, str], Verdict], w: Weights, card: _Card
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Add the availability lines; return the channels offered and verified active."""
    offered: list[str] = []
    active: list[str] = []
    toll_free: str | None = None
    for kind, points in _by_channel(result, w, card).items():
        if not points:
            continue
        working, first_active, free = _channel(kind, points, verdicts, w, card)
        toll_free = toll_free or free
        if working:
            offered.append(kind)
            card.add(_AVAILABILITY, "offered", w.offered.get(kind, 0.0), "offered", kind, count=working)
        else:
            card.add(_AVAILABILITY, "offered-all-inactive", None, "offered-all-inactive", kind)
        if first_active:
            active.append(kind)
            card.add(_AVAILABILITY, "verified", w.verified.get(kind, 0.0), "verified", kind, first_active)
    if toll_free:
        card.add(_AVAILABILITY, "toll-free", w.toll_free, reasons.TOLL_FREE, "phone", toll_free)
    _hours_line(result, w, card)
    _depth_line(result, w, card)
    _structured_line(result, w, card)
    return tuple(offered), tuple(active)


def _by_channel(result: CompanyResult, w: Weights, card: _Card) -> dict[str, list[ContactPoint]]:
    """The contact points of each scored channel; those under an ignored label get a line instead."""
    by_kind: dict[str, list[ContactPoint]] = {k: [] for k in w.channels}
    for cp in result.contacts:
        if cp.kind not in by_kind:
            continue
        if cp.label and cp.label in w.ignored_labels:
            card.add(_AVAILABILITY, "ignored-label", None, kind=cp.kind, value=cp.value, label=cp.label)
            continue
        by_kind[cp.kind].append(cp)
    return by_kind


def _channel(
    kind: str, points: list[ContactPoint], verdicts: Mapping[tuple[str, str], Verdict], w: Weights, card: _Card
) -> tuple[int, str | None, str | None]:
    """One channel's verdict and cost lines: (points still working, first active value, a toll-free number)."""
    working = 0
    first_active: str | None = None
    toll_free: str | None = None
    for cp in points:
        v = verdicts.get(cp.dedupe_key)
        if _is_dead(cp, v):
            card.add(_AVAILABILITY, "dead-provider", w.penalties.get("dead_provider", 0.0), reasons.DEAD_PROVIDER,
                     kind, cp.value)
            continue
        _verdict_line(kind, cp, v, w, card)
        if v is None or v.verdict != "inactive":
            working += 1
            if v is not None and v.verdict == "active":
                first_active = first_active or cp.value
            if kind == "phone":
                free = _cost_line(cp, v, w, card)  # premium and shared-cost lines for every number
                toll_free = toll_free or free
    return working, first_active, toll_free


def _verdict_line(kind: str, cp: ContactPoint, v: Verdict | None, w: Weights, card: _Card) -> None:
    """What the check of one contact point said; an active verdict adds no line of its own."""
    if v is None:
        card.add(_AVAILABILITY, "not-checked", None, "not-checked", kind, cp.value)
    elif v.verdict == "inactive":
        channel = CHANNEL_LABELS.get(kind, kind)
        card.add(_AVAILABILITY, "inactive", w.penalties.get("inactive", 0.0), v.reason, kind, cp.value,
                 message=f"{w.message('inactive', channel=channel)} {_reason_message(v)}")
    elif v.verdict != "active":
        card.add(_AVAILABILITY, "unknown", None, v.reason, kind, cp.value, message=_reason_message(v))


def _cost_line(cp: ContactPoint, v: Verdict | None, w: Weights, card: _Card) -> str | None:
    """A premium-rate or shared-cost line for one phone number; its value when it is toll-free."""
    cost = _phone_cost(cp, v)
    if cost == reasons.TOLL_FREE:
        return cp.value
    if cost == reasons.PREMIUM_RATE:
        card.add(_AVAILABILITY, "premium-rate", w.penalties.get("premium_rate", 0.0), cost, "phone", cp.value)
    elif cost == reasons.SHARED_COST:
        card.add(_AVAILABILITY, "shared-cost", w.penalties.get("shared_cost", 0.0), cost, "phone", cp.value)
    return None


def _hours_line(result: CompanyResult, w: Weights, card: _Card) -> None:
    hours = _hours_best(result.contacts)
    if hours is None:
        card.add(_AVAILABILITY, "no-hours", None, "no-hours", "hours")
        return
    level, value = hours
    rule = {"always_open": "hours-always-open", "weekend": "hours-weekend", "published": "hours-published"}[level]
    card.add(_AVAILABILITY, rule, w.hours.get(level, 0.0), rule, "hours", value)


def _depth_line(result: CompanyResult, w: Weights, card: _Card) -> None:
    depth = _contact_depth(result, w)
    if depth is None:
        card.add(_AVAILABILITY, "no-contact-page", None, "no-contact-page")
        return
    d, url = depth
    earned = w.depth_points[min(d, len(w.depth_points) - 1)]
    card.add(_AVAILABILITY, "depth-home" if d == 0 else "depth", earned, "depth", None, url, depth=d, url=url)


def _structured_line(result: CompanyResult, w: Weights, card: _Card) -> None:
    structured = next(
        (cp for cp in result.contacts
         if cp.method in STRUCTURED_METHODS or STRUCTURED_METHODS & set(cp.details.get("methods") or ())),
        None,
    )
    if structured is not None:
        card.add(_AVAILABILITY, "structured-data", w.structured, "structured-data", structured.kind, structured.value)


def _responsiveness(
    result: CompanyResult, verdicts: Mapping[tuple[str, str], Verdict], w: Weights, card: _Card,
    benchmark: Benchmark, probes: Mapping[str, Any],
) -> float | None:
    """Add the responsiveness lines; None when no human-facing probe was measured."""
    parts: dict[str, tuple[float, str, str, str | None]] = {}  # part -> (score, rule, message, value)
    email = _email_part(_as_list(probes.get("email")), w, benchmark)
    if email:
        parts["email"] = email
    phone = _probe_part("phone", _as_list(probes.get("phone")), w)
    if phone:
        parts["phone"] = phone
    chat = _probe_part("chat", _as_list(probes.get("chat")), w)
    if chat:
        parts["chat"] = chat
    technical = _technical_part(result, verdicts, w)
    measured = bool(parts) or (technical is not None and w.technical_counts_alone)
    if not measured:
        if technical is not None:
            card.add("responsiveness", "technical-info", None, "technical", message=technical[3])
        card.add("responsiveness", "not-measured", None, "not-measured")
        return None
    if technical is not None:
        parts["technical"] = technical[:3] + (None,)
    weight_sum = sum(w.responsiveness.get(k, 0.0) for k in parts)
    if weight_sum <= 0:
        card.add("responsiveness", "not-measured", None, "not-measured")
        return None
    total = 0.0
    for name, (score, rule, message, value) in parts.items():
        share = w.responsiveness.get(name, 0.0) / weight_sum
        points = round(score * share, 2)
        total += points
        card.add("responsiveness", rule, points, rule, name if name != "technical" else None, value,
                 message=f"{message} Scores {score:.0f}/100 × weight {share:.2f}.")
    return round(min(max(total, 0.0), 100.0), 1)


def _email_part(
    items: list[Mapping[str, Any]], w: Weights, b: Benchmark
) -> tuple[float, str, str, str | None] | None:
    """The company's best email inquiry outcome, scored against the benchmark."""
    best: tuple[float, str, str, str | None] | None = None
    e = w.email
    for item in items:
        outcome = _EMAIL_OUTCOMES.get(str(item.get("outcome", "")).strip().lower())
        if outcome is None:
            continue
        to = item.get("to") or item.get("address")
        if outcome == "human-reply":
            hours = _number(item, "reply_hours", "reply_minutes", "reply_seconds",
                            scale=(1.0, 1 / 60, 1 / 3600))
            if hours is None or hours < 0 or math.isnan(hours):
                continue
            if hours <= b.low:
                score = float(e["within_low"])
            elif hours <= b.high:
                score = float(e["within_high"])
            else:
                score = _step_score(hours, e["later"], float(e["too_late"]))
            message = w.message("email-reply", hours=_duration(hours), benchmark=b.label,
                                low=_num(b.low), high=_num(b.high))
            candidate = (score, "email-reply", message, to)
        elif outcome == "auto-ack":
            candidate = (float(e["auto_ack_only"]), "email-auto-ack", w.message("email-auto-ack"), to)
        elif outcome == "bounced":
            candidate = (float(e["bounced"]), "email-bounced", w.message("email-bounced"), to)
        else:
            candidate = (float(e["no_reply"]), "email-no-reply", w.message("email-no-reply"), to)
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best


def _num(value: float) -> str:
    return f"{value:g}"


_PROBE_OUTCOMES: Mapping[str, Mapping[str, str]] = {
    "phone": {"answered": "answered", "voicemail": "voicemail", "no-answer": "no_answer",
              "busy": "busy", "not-in-service": "not_in_service", "failed": "not_in_service",
              "unreachable": "not_in_service"},
    "chat": {"answered": "answered", "offline": "offline", "no-answer": "no_answer"},
}
_PROBE_TIME: Mapping[str, tuple[str, ...]] = {
    "phone": ("answer_seconds", "wait_seconds", "seconds"),
    "chat": ("wait_seconds", "answer_seconds", "seconds"),
}


def _probe_part(channel: str, items: list[Mapping[str, Any]], w: Weights) -> tuple[float, str, str, None] | None:
    """Mean score of the line probes or chat tests of one channel."""
    table: Mapping[str, Any] = w.phone if channel == "phone" else w.chat
    scores: list[float] = []
    details: list[str] = []
    for item in items:
        outcome = _PROBE_OUTCOMES[channel].get(str(item.get("outcome", "")).strip().lower())
        if outcome is None:
            continue
        if outcome == "answered":
            seconds = _number(item, *_PROBE_TIME[channel])
            if seconds is None:
                continue
            scores.append(_step_score(seconds, table["answered"], float(table["answered_later"])))
            details.append(f"answered in {seconds:.0f} s")
        else:
            scores.append(float(table.get(outcome, 0.0)))
            details.append(outcome.replace("_", " "))
    if not scores:
        return None
    rule = f"{channel}-probe"
    return statistics.fmean(scores), rule, w.message(rule, detail="; ".join(details)), None


def _technical_part(
    result: CompanyResult, verdicts: Mapping[tuple[str, str], Verdict], w: Weights
) -> tuple[float, str, str, str] | None:
    """Score of contact-page load and SMTP answer times: (score, rule, scored msg, info msg)."""
    pages = [
        p.elapsed_ms for p in result.pages
        if _ok_page(p) and p.elapsed_ms is not None and p.depth > 0 and p.message != "sitemap"
        and p.score >= w.contact_page_min_score
    ]
    smtp = [
        c.duration_ms for v in verdicts.values() if v.kind == "email"
        for c in v.checks if c.name == "smtp-rcpt" and c.evidence.get("code") is not None
    ]
    if not pages:
        return None
    t = w.technical
    page_ms = statistics.median(pages)
    score = _step_score(page_ms, t["page_ms"], float(t["page_slower"]))
    smtp_text = ""
    if smtp:
        smtp_ms = statistics.median(smtp)
        score = (score + _step_score(smtp_ms, t["smtp_ms"], float(t["smtp_slower"]))) / 2
        smtp_text = f", mail servers answer in {_ms(smtp_ms)} (median)"
    fields = {"page_ms": _ms(page_ms), "smtp": smtp_text}
    return score, "technical", w.message("technical", **fields), w.message("technical-info", **fields)


# ---------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A card with its place overall and within its industry and country."""

    card: ScoreCard
    rank: int | None
    industry_rank: int | None
    industry_size: int
    country_rank: int | None
    country_size: int


SORT_KEYS: Mapping[str, Callable[[ScoreCard], float | None]] = {
    "total": lambda c: c.total,
    "availability": lambda c: c.availability,
    "responsiveness": lambda c: c.responsiveness,
}


def _order(key: Callable[[ScoreCard], float | None]) -> Callable[[ScoreCard], tuple[Any, ...]]:
    """Score desc, then availability desc, fewer inactive, name, input row."""

    def sort_key(c: ScoreCard) -> tuple[Any, ...]:
        return (-(key(c) or 0.0), -(c.availability or 0.0), c.inactive_count,
                c.company.name.casefold(), c.company.row)

    return sort_key


def rank(
    cards: Iterable[ScoreCard], key: str | Callable[[ScoreCard], float | None] = "total"
) -> list[Ranked]:
    """Cards in rank order; a company without a score is listed last, unranked.

    Ties are broken explicitly (availability, fewer inactive points, name, row),
    so the same data always gives the same ranks.
    """
    getter = SORT_KEYS[key] if isinstance(key, str) else key
    cards = list(cards)
    scored = sorted((c for c in cards if getter(c) is not None), key=_order(getter))
    unscored = sorted((c for c in cards if getter(c) is None),
                      key=lambda c: (c.company.name.casefold(), c.company.row))
    groups: dict[str, dict[str, list[ScoreCard]]] = {"industry": {}, "country": {}}
    for c in scored:
        for attr, table in groups.items():
            value = getattr(c.company, attr)
            if value:
                table.setdefault(value, []).append(c)
    place = {
        attr: {id(c): i for members in table.values() for i, c in enumerate(members, 1)}
        for attr, table in groups.items()
    }
    out: list[Ranked] = []
    for i, c in enumerate(scored, 1):
        ind, cty = c.company.industry, c.company.country
        out.append(Ranked(
            c, i,
            place["industry"].get(id(c)), len(groups["industry"].get(ind or "", [])) if ind else 0,
            place["country"].get(id(c)), len(groups["country"].get(cty or "", [])) if cty else 0,
        ))
    out.extend(Ranked(c, None, None, 0, None, 0) for c in unscored)
    return out
