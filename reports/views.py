"""View models: everything the templates show, prepared (and made safe) in Python.

Templates only display. Here harvested strings are redacted, links are allowed
only for http(s) URLs, numbers are formatted and evidence is shaped into DNS,
SMTP and HTTP sections. Escaping itself is left to Jinja's autoescape.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from auditor import reasons
from auditor.extract.emails import classify_address
from auditor.models import KINDS, VERDICTS, Check, CompanyResult, ContactPoint, Verdict
from auditor.score import CHANNEL_LABELS, Ranked, ScoreCard, ScoreLine, Weights, benchmark_for
from auditor.waves.availability import DAYS_SHORT, OUTCOMES, ChannelGrid
from auditor.waves.availability_data import Availability
from auditor.waves.panel import METRICS, Figure
from auditor.waves.transitions import Transition
from reports import charts
from reports.diff import AuditDiff
from reports.studies import BENCHMARK_SOURCES, EMAIL_STUDIES, PHONE_CHAT_STUDIES

SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "apikey", "api_key", "private_key")
KIND_LABELS: Mapping[str, str] = {**CHANNEL_LABELS}
CHIP_LABELS: Mapping[str, str] = {"phone": "Phone", "email": "Email", "chat": "Chat",
                                  "messaging": "Msg", "form": "Form"}
VERDICT_LABELS = charts.VERDICT_LABELS
_EMAIL = re.compile(r"(?<![\w.+\-])([\w.+\-]+)@([\w\-]+(?:\.[\w\-]+)+)", re.UNICODE)
_SCHEME_OK = ("http", "https")


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A text and, only for a well-formed http(s) URL, the href to show it as a link."""

    text: str
    href: str | None = None


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL without tricks, else None."""
    if not url or not isinstance(url, str):
        return None
    if url != url.strip() or any(ord(ch) < 0x21 or ch in "\x7f\"'<>`\\" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEME_OK or not parts.hostname:
        return None
    return url


class Redactor:
    """Masks personal email addresses in every string shown (unless disabled).

    Role addresses (info@, sales@) are published for the public and stay; a
    person's address is shown as ``j***@domain``. Known personal values are
    masked wherever they appear, and any other address in free text (context,
    evidence, transcripts) is classified on the spot.
    """

    def __init__(self, enabled: bool = True, personal: Iterable[str] = ()) -> None:
        self.enabled = enabled
        known = sorted({p.lower() for p in personal if "@" in p}, key=len, reverse=True)
        self.known = frozenset(known)
        # one alternation for all known addresses: masks them even where the generic
        # pattern would not see an address (glued to other text)
        self._known_re = re.compile("|".join(map(re.escape, known)), re.IGNORECASE) if known else None
        self._cache: dict[str, bool] = {}

    @staticmethod
    def mask(address: str) -> str:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"

    def _personal(self, address: str) -> bool:
        key = address.lower()
        if key not in self._cache:
            self._cache[key] = key in self.known or classify_address(key) == "personal"
        return self._cache[key]

    def __call__(self, text: object) -> str:
        if text is None:
            return ""
        text = str(text)
        if not self.enabled or "@" not in text:
            return text
        if self._known_re is not None:
            text = self._known_re.sub(lambda m: self.mask(m.group(0)), text)
        return _EMAIL.sub(lambda m: self.mask(m.group(0)) if self._personal(m.group(0)) else m.group(0), text)

    def deep(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v) for v in value]
        return value


def link(url: str | None, redact: Redactor, text: str | None = None) -> Link:
    shown = redact(url)
    return Link(redact(text) if text is not None else shown, safe_href(shown))


def slug_for(result_or_company: Any) -> str:
    """A stable, unique, ASCII file name: input row plus the website's host."""
    company = getattr(result_or_company, "company", result_or_company)
    host = urlsplit(company.website).hostname or company.name
    host = host.removeprefix("www.")
    text = unicodedata.normalize("NFKD", host).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48] or "company"
    return f"{company.row}-{text}"


def score_text(value: float | None, missing: str = "—") -> str:
    return missing if value is None else f"{value:.0f}"


def pct(value: float | None, missing: str = "—") -> str:
    return missing if value is None else f"{value * 100:.0f} %"


def band(value: float | None) -> str:
    if value is None:
        return "none"
    return "low" if value < 40 else "mid" if value < 70 else "high"


def points_text(points: float | None) -> str:
    if points is None:
        return "—"
    if points == 0:
        return "0"
    return f"{points:+.1f}".replace(".0", "") if float(points).is_integer() else f"{points:+.2f}".rstrip("0")


def fmt_time(epoch: float | None) -> str:
    if not epoch:
        return "—"
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def fmt_bytes(size: int | None) -> str:
    if size is None:
        return "—"
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} B"


def scrub_settings(settings: Any) -> Any:
    """Settings without secrets: keys naming one are dropped, URL passwords masked."""
    if isinstance(settings, Mapping):
        return {
            k: scrub_settings(v) for k, v in sorted(settings.items())
            if not any(word in str(k).lower() for word in SECRET_WORDS)
        }
    if isinstance(settings, list | tuple):
        return [scrub_settings(v) for v in settings]
    if isinstance(settings, str) and "://" in settings and "@" in settings:
        return re.sub(r"(://[^/@:\s]*):[^/@\s]*@", r"\1:***@", settings)
    return settings


# ---------------------------------------------------------------------------
# The audit as the report sees it
# ---------------------------------------------------------------------------


@dataclass
class Audit:
    """Everything read from the store once, scored."""

    results: list[CompanyResult]
    verdicts: dict[str, dict[tuple[str, str], Verdict]]
    sightings: dict[str, list[dict[str, Any]]]
    ranked: list[Ranked]
    weights: Weights
    run: dict[str, Any]
    input_errors: list[Any]
    version: str
    redact: bool = True
    responsiveness: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_key = {r.card.company.key: r for r in self.ranked}
        self.ranked_count = sum(1 for r in self.ranked if r.rank)

    def card(self, key: str) -> Ranked:
        return self._by_key[key]

    def personal_addresses(self) -> list[str]:
        return [
            cp.value for r in self.results for cp in r.contacts
            if cp.kind == "email" and (cp.details.get("address_class") == "personal"
                                       or classify_address(cp.value) == "personal")
        ]


def page_meta(audit: Audit) -> dict[str, Any]:
    """The run line every page's footer shows."""
    return {
        "version": audit.version,
        "run_date": fmt_time(audit.run.get("started")),
        "run_finished": fmt_time(audit.run.get("finished")),
    }


# ---------------------------------------------------------------------------
# Index
# ---------------------------------------------------------------------------


def _verdict_of(verdicts: Mapping[tuple[str, str], Verdict], cp: ContactPoint) -> str:
    v = verdicts.get(cp.dedupe_key)
    if v is None:
        return "not-checked"
    return v.verdict if v.verdict in VERDICTS else "unknown"


def operator_state(verdict: Verdict | None) -> str:
    """"online", "offline" or "unknown" where the chat check asked a provider's public
    status, "" where it did not (the provider exposes none, or the widget did not load)."""
    for check in verdict.checks if verdict else ():
        if check.name == "operator-status":
            return check.reason.removeprefix("operator-")
    return ""


def _channel_chips(card: ScoreCard, channels: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"label": CHIP_LABELS.get(k, k), "title": KIND_LABELS.get(k, k),
         "state": "active" if k in card.active_channels else "offered"}
        for k in channels if k in card.channels
    ]


def build_index(audit: Audit) -> dict[str, Any]:
    w = audit.weights
    kinds_seen: Counter[str] = Counter()
    verdict_counts: dict[str, Counter[str]] = {k: Counter() for k in KINDS if k != "hours"}
    failures: Counter[str] = Counter()
    failure_companies: dict[str, set[str]] = defaultdict(set)
    operators: Counter[str] = Counter()
    for r in audit.results:
        vs = audit.verdicts.get(r.company.key, {})
        for cp in r.contacts:
            kinds_seen[cp.kind] += 1
            if cp.kind in verdict_counts:
                verdict_counts[cp.kind][_verdict_of(vs, cp)] += 1
            if cp.kind == "chat":
                operators[operator_state(vs.get(cp.dedupe_key))] += 1
        for f in r.failures:
            failures[f.tag] += 1
            failure_companies[f.tag].add(r.company.key)
    totals: Counter[str] = Counter()
    for c in verdict_counts.values():
        totals.update(c)
    checked = totals["active"] + totals["inactive"] + totals["unknown"]

    rows = []
    for rk in audit.ranked:
        card = rk.card
        rows.append({
            "rank": rk.rank, "rank_text": str(rk.rank) if rk.rank else "—",
            "name": card.company.name, "href": f"companies/{slug_for(card.company)}.html",
            "website": card.company.website,
            "country": card.company.country or "", "industry": card.company.industry or "",
            "availability": score_text(card.availability), "availability_sort": _sort(card.availability),
            "responsiveness": score_text(card.responsiveness, "not measured"),
            "responsiveness_measured": card.responsiveness is not None,
            "responsiveness_sort": _sort(card.responsiveness),
            "total": score_text(card.total), "total_sort": _sort(card.total),
            "total_value": card.total or 0.0, "band": band(card.total),
            "channels": _channel_chips(card, w.channels), "channels_sort": len(card.channels),
            "unknown": pct(card.unknown_share), "unknown_sort": _sort(card.unknown_share),
            "scored": card.scored,
        })

    industries = sorted({r.company.industry for r in audit.results if r.company.industry}, key=str.casefold)
    countries = sorted({r.company.country for r in audit.results if r.company.country})
    scored_cards = [rk.card for rk in audit.ranked if rk.card.scored]

    coverage = []
    groups: dict[str, list[ScoreCard]] = defaultdict(list)
    for card in scored_cards:
        groups[card.company.industry or "(no industry)"].append(card)
    for name in sorted(groups, key=str.casefold):
        members = groups[name]
        coverage.append(charts.CoverageRow(
            name, len(members), {k: sum(1 for m in members if k in m.channels) for k in w.channels}))

    replies, bench_rows = _reply_view(audit)
    return {
        "summary": {
            "companies": len(audit.results),
            "scored": len(scored_cards),
            "not_scored": len(audit.results) - len(scored_cards),
            "contact_points": sum(kinds_seen.values()),
            "by_kind": [{"label": KIND_LABELS.get(k, k), "count": kinds_seen[k]} for k in KINDS if kinds_seen[k]],
            "verdicts": [{"key": v, "label": VERDICT_LABELS[v], "count": totals[v]}
                         for v in charts.VERDICT_ORDER],
            "unknown_share": pct(totals["unknown"] / checked if checked else None),
            "unknown": totals["unknown"], "checked": checked,
            "operator": _operator_summary(operators),
            "input_errors": [{"row": e.row, "tag": e.tag, "message": e.message,
                              "raw": e.raw} for e in audit.input_errors],
            "failures": [{"tag": t, "message": reasons.message(t), "count": n,
                          "companies": len(failure_companies[t])} for t, n in failures.most_common()],
            "responsiveness_measured": sum(1 for c in scored_cards if c.responsiveness is not None),
        },
        "rows": rows,
        "industries": industries,
        "countries": countries,
        "charts": {
            "histogram": charts.score_histogram([c.total for c in scored_cards if c.total is not None]),
            "verdicts": charts.verdict_bars(
                {k: dict(v) for k, v in verdict_counts.items() if k in w.channels}, KIND_LABELS),
            "coverage": charts.coverage_heatmap(coverage, w.channels, KIND_LABELS),
            "replies": charts.reply_times(replies) if any(r.replies for r in replies) else None,
        },
        "benchmarks": bench_rows,
    }


def _operator_summary(states: Counter[str]) -> dict[str, Any] | None:
    """Chat checks whose provider told whether an operator was online; None when none did."""
    told = states["online"] + states["offline"]
    if not told and not states["unknown"]:
        return None
    return {"offline": states["offline"], "online": states["online"], "told": told,
            "unknown": states["unknown"], "share": pct(states["offline"] / told if told else None)}


def _sort(value: float | None) -> str:
    """A sort key for the table's script: empty sorts last."""
    return "" if value is None else f"{value:.3f}"


def _first_reply_hours(probe: Mapping[str, Any]) -> float | None:
    """Hours to the first human email reply in a company's probe data, if any."""
    items = probe.get("email")
    items = [items] if isinstance(items, Mapping) else list(items or ())
    hours = []
    for item in items:
        if not isinstance(item, Mapping) or str(item.get("outcome", "")).lower() not in (
                "human-reply", "human", "reply", "replied"):
            continue
        for key, scale in (("reply_hours", 1.0), ("reply_minutes", 1 / 60), ("reply_seconds", 1 / 3600)):
            if item.get(key) is not None:
                try:
                    hours.append(float(item[key]) * scale)
                except (TypeError, ValueError):
                    pass
                break
    return min(hours) if hours else None


def _reply_view(audit: Audit) -> tuple[list[charts.ReplyRow], list[dict[str, Any]]]:
    """Measured first replies per benchmark, and the benchmark table (always shown)."""
    w = audit.weights
    measured: dict[str, list[float]] = defaultdict(list)
    members: Counter[str] = Counter()
    for r in audit.results:
        b = benchmark_for(r.company.industry, w)
        members[b.key] += 1
        hours = _first_reply_hours(audit.responsiveness.get(r.company.key, {}))
        if hours is not None:
            measured[b.key].append(hours)
    rows, table = [], []
    for b in w.benchmarks:
        got = sorted(measured.get(b.key, []))
        rows.append(charts.ReplyRow(b.label, b.low, b.high, got))
        table.append({
            "label": b.label, "range": f"{b.low:g}-{b.high:g} h", "companies": members.get(b.key, 0),
            "replies": len(got),
            "median": f"{statistics.median(got):.1f} h" if got else "not measured",
            "within": pct(sum(1 for h in got if h <= b.high) / len(got)) if got else "not measured",
            "source": BENCHMARK_SOURCES.get(b.source, b.source),
        })
    return rows, table


# ---------------------------------------------------------------------------
# Company page
# ---------------------------------------------------------------------------


def _line_view(line: ScoreLine, redact: Redactor) -> dict[str, Any]:
    return {
        "points": points_text(line.points), "status": line.status, "rule": line.rule, "tag": line.tag,
        "message": redact(line.message), "kind": KIND_LABELS.get(line.kind or "", line.kind or ""),
        "value": redact(line.value) if line.value else "",
    }


def _evidence_view(check: Check, redact: Redactor) -> dict[str, Any]:
    """Split a check's evidence into DNS answers, SMTP transcript, HTTP chain and the rest."""
    ev = redact.deep(dict(check.evidence))
    dns = []
    answers = list(ev.pop("answers", None) or [])
    if isinstance(ev.get("dns"), Mapping):
        answers.append(ev.pop("dns"))
    for a in answers:
        if isinstance(a, Mapping):
            dns.append({
                "name": str(a.get("name", "")), "type": str(a.get("type", "")),
                "status": str(a.get("status", "")),
                "records": ", ".join(str(x) for x in a.get("records") or ()) or "—",
                "ttl": "—" if a.get("ttl") is None else str(a.get("ttl")),
                "elapsed": fmt_ms(a.get("elapsed_ms")),
            })
    smtp = []
    for item in ev.pop("transcript", None) or ():
        if not isinstance(item, Mapping):
            continue
        if item.get("send"):
            smtp.append({"dir": "C", "text": str(item["send"])})
        if item.get("code") is not None:
            smtp.append({"dir": "S", "text": f"{item['code']} {item.get('text', '')}".strip()})
        if item.get("error"):
            smtp.append({"dir": "!", "text": str(item["error"])})
    chain = []
    for hop in ev.pop("chain", None) or ():
        if isinstance(hop, Mapping):
            chain.append({"url": link(hop.get("url"), Redactor(False)), "status": hop.get("status") or "—",
                          "location": str(hop.get("location") or "")})
    sip = ev.pop("sip", None) or ev.pop("responses", None)
    rest = json.dumps(ev, indent=1, ensure_ascii=False, sort_keys=True, default=str) if ev else ""
    return {"dns": dns, "smtp": smtp, "chain": chain,
            "sip": json.dumps(sip, indent=1, ensure_ascii=False, default=str) if sip else "",
            "rest": rest}


def _check_view(check: Check, redact: Redactor) -> dict[str, Any]:
    return {
        "name": check.name, "verdict": check.verdict if check.verdict in VERDICT_LABELS else "unknown",
        "verdict_label": VERDICT_LABELS.get(check.verdict, check.verdict),
        "reason": check.reason, "reason_message": reasons.message(check.reason),
        "message": redact(check.message), "duration": fmt_ms(check.duration_ms),
        "evidence": _evidence_view(check, redact),
    }


def _contact_view(cp: ContactPoint, verdict: Verdict | None, sightings: list[dict[str, Any]],
                  redact: Redactor) -> dict[str, Any]:
    if verdict is None:
        state = "none" if cp.kind == "hours" else "not-checked"  # hours are facts, not checked
    else:
        state = verdict.verdict if verdict.verdict in VERDICT_LABELS else "unknown"
    value_href = safe_href(redact(cp.value)) if cp.kind in ("form", "messaging") else None
    address_class = ""
    if cp.kind == "email":
        address_class = str(cp.details.get("address_class") or classify_address(cp.value))
    seen = [
        {"page": link(s.get("page_url"), redact), "raw": redact(s.get("raw")),
         "context": redact(s.get("context")), "method": s.get("method", "")}
        for s in sightings if (s.get("kind"), s.get("value")) == cp.dedupe_key
    ]
    details = {k: v for k, v in cp.details.items() if k not in ("address_class",)}
    return {
        "kind": cp.kind, "kind_label": KIND_LABELS.get(cp.kind, cp.kind),
        "value": redact(cp.value), "value_href": value_href, "raw": redact(cp.raw),
        "label": redact(cp.label) if cp.label else "", "method": cp.method,
        "confidence": f"{cp.confidence:.2f}", "page": link(cp.page_url, redact),
        "context": redact(cp.context), "address_class": address_class,
        "details": [{"key": redact(k), "value": redact(v if isinstance(v, str) else json.dumps(
            v, ensure_ascii=False, default=str))} for k, v in sorted(details.items())],
        "verdict": state, "verdict_label": VERDICT_LABELS.get(state, ""),
        "reason": verdict.reason if verdict else "",
        "reason_message": reasons.message(verdict.reason) if verdict else "",
        "message": redact(verdict.message) if verdict else "",
        "flags": [{"tag": f, "message": reasons.message(f)} for f in verdict.flags] if verdict else [],
        "operator": operator_state(verdict) if cp.kind == "chat" else "",
        "checks": [_check_view(c, redact) for c in verdict.checks] if verdict else [],
        "sightings": seen,
    }


def build_company(audit: Audit, result: CompanyResult, redact: Redactor) -> dict[str, Any]:
    rk = audit.card(result.company.key)
    card = rk.card
    c = result.company
    verdicts = audit.verdicts.get(c.key, {})
    sightings = audit.sightings.get(c.key, [])
    groups = []
    for kind in KINDS:
        points = [cp for cp in result.contacts if cp.kind == kind]
        if points:
            groups.append({"kind": kind, "label": KIND_LABELS.get(kind, kind),
                           "points": [_contact_view(cp, verdicts.get(cp.dedupe_key), sightings, redact)
                                      for cp in points]})
    # points first, then what could not be told, then notes: the order a reader checks a sum in
    order = {"gain": 0, "loss": 0, "unknown": 1, "info": 2}
    ordered = sorted(card.lines, key=lambda line: order[line.status])
    lines = [_line_view(line, redact) for line in ordered]
    parts = [
        {"key": "availability", "title": "Availability",
         "lines": [x for x, line in zip(lines, ordered, strict=True) if line.part == "availability"],
         "summary": (f"{card.availability_points:g} of {card.availability_max:g} points → "
                     f"{score_text(card.availability)} / 100") if card.availability is not None
         else "not scored"},
        {"key": "responsiveness", "title": "Responsiveness",
         "lines": [x for x, line in zip(lines, ordered, strict=True) if line.part == "responsiveness"],
         "summary": f"{score_text(card.responsiveness)} / 100" if card.responsiveness is not None
         else "not measured"},
    ]
    places = []
    if rk.rank:
        places.append(f"#{rk.rank} of {audit.ranked_count} overall")
    if rk.industry_rank and c.industry:
        places.append(f"#{rk.industry_rank} of {rk.industry_size} in {c.industry}")
    if rk.country_rank and c.country:
        places.append(f"#{rk.country_rank} of {rk.country_size} in {c.country}")
    return {
        "name": c.name, "website": link(c.website, redact), "country": c.country or "",
        "industry": c.industry or "", "language": c.language or "", "status": result.status,
        "places": places,
        "scores": [
            {"label": "Availability", "value": score_text(card.availability), "band": band(card.availability),
             "numeric": card.availability is not None},
            {"label": "Responsiveness", "value": score_text(card.responsiveness, "not measured"),
             "band": band(card.responsiveness), "numeric": card.responsiveness is not None},
            {"label": "Total", "value": score_text(card.total), "band": band(card.total),
             "numeric": card.total is not None},
        ],
        "unknown": pct(card.unknown_share), "unknown_count": card.unknown_count,
        "verdict_count": card.verdict_count, "notes": [redact(n) for n in card.notes],
        "benchmark": f"{card.benchmark.label}: {card.benchmark.low:g}-{card.benchmark.high:g} h",
        "parts": parts, "groups": groups,
        "failures": [{"tag": f.tag, "message": redact(f.message), "reason_message": reasons.message(f.tag),
                      "url": link(f.url, redact) if f.url else None} for f in result.failures],
        "pages": [{"url": link(p.url, redact), "status": p.status if p.status is not None else "—",
                   "error": p.error_tag or "", "message": redact(p.message), "depth": p.depth,
                   "score": f"{p.score:.2f}", "elapsed": fmt_ms(p.elapsed_ms), "size": fmt_bytes(p.size)}
                  for p in result.pages],
        "external": [link(u, redact) for u in result.external_links],
    }


# ---------------------------------------------------------------------------
# Methodology
# ---------------------------------------------------------------------------


def build_methodology(audit: Audit) -> dict[str, Any]:
    w = audit.weights
    chan = [{"label": KIND_LABELS.get(k, k), "offered": f"{w.offered.get(k, 0):g}",
             "verified": f"{w.verified.get(k, 0):g}"} for k in w.channels]
    penalties = [
        {"rule": rule, "points": w.penalties.get(key, 0), "message": w.message(rule, channel="Any channel")}
        for rule, key in (("inactive", "inactive"), ("dead-provider", "dead_provider"),
                          ("premium-rate", "premium_rate"), ("shared-cost", "shared_cost"))
    ]
    extras = [
        {"rule": "hours-always-open", "points": w.hours.get("always_open", 0), "what": "Service hours 24/7"},
        {"rule": "hours-weekend", "points": w.hours.get("weekend", 0), "what": "Service hours including the weekend"},
        {"rule": "hours-published", "points": w.hours.get("published", 0), "what": "Service hours on weekdays"},
        {"rule": "toll-free", "points": w.toll_free, "what": "At least one toll-free number"},
        {"rule": "structured-data", "points": w.structured,
         "what": "Contact data as schema.org JSON-LD or microdata"},
    ]
    depth = [{"depth": (f"{i}" if i < len(w.depth_points) - 1 else f"{i} or more"), "points": f"{p:g}"}
             for i, p in enumerate(w.depth_points)]
    e = w.email
    email_steps = [{"when": "within the benchmark's lower bound", "score": f"{e['within_low']:g}"},
                   {"when": "within the benchmark's upper bound", "score": f"{e['within_high']:g}"}]
    email_steps += [{"when": f"within {h:g} h", "score": f"{s:g}"} for h, s in e["later"]]
    email_steps += [{"when": "later, before the cutoff", "score": f"{e['too_late']:g}"},
                    {"when": "automatic acknowledgement only", "score": f"{e['auto_ack_only']:g}"},
                    {"when": "no reply by the cutoff", "score": f"{e['no_reply']:g}"},
                    {"when": "bounced", "score": f"{e['bounced']:g}"}]

    def steps(table: Mapping[str, Any], key: str, unit: str, later_key: str) -> list[dict[str, str]]:
        out = [{"when": f"answered within {lim:g} {unit}", "score": f"{s:g}"} for lim, s in table[key]]
        out.append({"when": "answered later", "score": f"{table[later_key]:g}"})
        out += [{"when": k.replace("_", " "), "score": f"{v:g}"} for k, v in table.items()
                if k not in (key, later_key) and isinstance(v, int | float)]
        return out

    t = w.technical
    technical = [{"when": f"contact pages load within {lim:g} ms", "score": f"{s:g}"} for lim, s in t["page_ms"]]
    technical.append({"when": "contact pages load slower", "score": f"{t['page_slower']:g}"})
    technical += [{"when": f"SMTP answers within {lim:g} ms", "score": f"{s:g}"} for lim, s in t["smtp_ms"]]
    technical.append({"when": "SMTP answers slower", "score": f"{t['smtp_slower']:g}"})

    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for r in audit.results:
        vs = audit.verdicts.get(r.company.key, {})
        for cp in r.contacts:
            if cp.kind in w.channels:
                counts[_verdict_of(vs, cp)] += 1
        failures.update(f.tag for f in r.failures)
    settings = scrub_settings(audit.run.get("settings") or {})
    return {
        "weights_source": "auditor/data/scoring.toml, the packaged defaults" if w.source == "packaged"
        else w.source,
        "total": [{"part": k.capitalize(), "weight": f"{v:g}"} for k, v in w.total.items()],
        "availability_max": f"{w.availability_max:g}",
        "channels": chan, "penalties": [{**p, "points": f"{p['points']:g}"} for p in penalties],
        "extras": [{**x, "points": f"{x['points']:g}"} for x in extras],
        "depth": depth, "contact_page_min_score": f"{w.contact_page_min_score:g}",
        "ignored_labels": ", ".join(w.ignored_labels) or "none",
        "resp_weights": [{"part": k.capitalize(), "weight": f"{v:g}"} for k, v in w.responsiveness.items()],
        "technical_alone": w.technical_counts_alone,
        "email_steps": email_steps,
        "phone_steps": steps(w.phone, "answered", "s", "answered_later"),
        "chat_steps": steps(w.chat, "answered", "s", "answered_later"),
        "technical_steps": technical,
        "benchmarks": [{"label": b.label, "range": f"{b.low:g}-{b.high:g} h",
                        "match": ", ".join(b.match) or "any other industry",
                        "source": BENCHMARK_SOURCES.get(b.source, b.source)} for b in w.benchmarks],
        "messages": [{"rule": k, "message": v} for k, v in w.messages.items()],
        "email_studies": EMAIL_STUDIES, "phone_studies": PHONE_CHAT_STUDIES,
        "run": {
            "id": audit.run.get("id", "—"), "started": fmt_time(audit.run.get("started")),
            "finished": fmt_time(audit.run.get("finished")), "version": audit.run.get("version", "—"),
        },
        "settings": [{"key": k, "value": json.dumps(v, ensure_ascii=False, default=str)
                      if not isinstance(v, str) else v} for k, v in settings.items()],
        "counts": {"checked": counts["active"] + counts["inactive"] + counts["unknown"],
                   "unknown": counts["unknown"], "not_checked": counts["not-checked"],
                   "input_errors": len(audit.input_errors), "failures": sum(failures.values())},
        "failures": [{"tag": t, "count": n, "message": reasons.message(t)} for t, n in failures.most_common()],
        "redacted": audit.redact,
    }


# ---------------------------------------------------------------------------
# Changes since a previous audit
# ---------------------------------------------------------------------------


def build_diff(diff: AuditDiff, compare_label: str, redact: Redactor) -> dict[str, Any]:
    def change(p: Any) -> dict[str, Any]:
        return {"kind": KIND_LABELS.get(p.kind, p.kind), "value": redact(p.value),
                "old": p.old_verdict or "not-checked", "new": p.new_verdict or "not-checked",
                "old_label": VERDICT_LABELS.get(p.old_verdict or "not-checked", p.old_verdict),
                "new_label": VERDICT_LABELS.get(p.new_verdict or "not-checked", p.new_verdict),
                "old_reason": p.old_reason or "", "new_reason": p.new_reason or ""}

    companies = [
        {"name": c.company.name, "href": f"companies/{slug_for(c.company)}.html",
         "added": [change(p) for p in c.added], "removed": [change(p) for p in c.removed],
         "changed": [change(p) for p in c.changed]}
        for c in diff.companies if not c.empty
    ]
    return {
        "compare": compare_label, "counts": diff.counts, "companies": companies,
        "unchanged": sum(1 for c in diff.companies if c.empty),
        "companies_added": [{"name": c.name, "href": f"companies/{slug_for(c)}.html",
                             "website": c.website} for c in diff.companies_added],
        "companies_removed": [{"name": c.name, "website": c.website} for c in diff.companies_removed],
    }


TIMELINE_LABELS = {"appeared": "new", "gone": "gone", "verdict-changed": "verdict changed",
                   "site-down": "site stopped answering", "site-back": "site answers again"}


def build_timeline(changes: Sequence[Transition], audit: Audit, redact: Redactor) -> dict[str, Any]:
    """Transitions across waves grouped per company, in input order then wave order."""
    results = {r.company.key: r for r in audit.results}
    per: dict[str, list[dict[str, Any]]] = {}
    for t in changes:
        per.setdefault(t.company_key, []).append({
            "waves": f"{t.wave_from} → {t.wave_to}", "change": t.change,
            "label": TIMELINE_LABELS.get(t.change, t.change), "kind": KIND_LABELS.get(t.kind, t.kind),
            "value": redact(t.value) if t.value else "",
            "before": t.verdict_from or "", "before_label": VERDICT_LABELS.get(t.verdict_from or "", t.verdict_from),
            "after": t.verdict_to or "", "after_label": VERDICT_LABELS.get(t.verdict_to or "", t.verdict_to),
            "reason_from": t.reason_from or "", "reason_to": t.reason_to or "",
            "page_from": t.page_from or "", "page_to": t.page_to or ""})
    companies = []
    for key, rows in sorted(per.items(), key=lambda kv: results[kv[0]].company.row if kv[0] in results else 0):
        result = results.get(key)
        name = result.company.name if result else next(t.company for t in changes if t.company_key == key)
        companies.append({"name": name, "href": f"companies/{slug_for(result)}.html" if result else "",
                          "changes": rows})
    return {"companies": companies, "count": len(changes)}


# ---------------------------------------------------------------------------
# Availability by hour of week, and the panel figures
# ---------------------------------------------------------------------------

CELL_SYMBOLS: Mapping[str, str] = {"up": "✓", "down": "✗", "no-answer": "○", "unknown": "?", "mixed": "±",
                                   "none": ""}
OUTCOME_WORDS: Mapping[str, Mapping[str, str]] = {
    "phone": {"up": "rang", "down": "not in service", "no-answer": "no answer", "unknown": "could not tell"},
    "chat": {"up": "operator online", "down": "widget gone", "no-answer": "no operator online",
             "unknown": "could not tell"},
}
LINK_WORDS: Mapping[str, str] = {"up": "up", "down": "down", "no-answer": "no answer", "unknown": "could not tell"}
CLAIM_LABELS: Mapping[str, str] = {"held": "24/7 claim held", "failed": "24/7 claim failed",
                                   "untested": "24/7 claim not tested yet"}
METRIC_LABELS: Mapping[str, str] = {
    "numbers-inactive": "Numbers inactive",
    "lines-reachable-outside-hours": "Lines reachable outside their published hours",
    "claims-24-7-held": "“24/7” claims that held",
    "chat-checks-no-operator": "Chat checks with no operator online",
    "email-replied": "Inquiries a person replied to",
    "email-reply-hours": "Median time to a person's reply",
}
HOURS = tuple(range(24))


def _words(grid: ChannelGrid) -> Mapping[str, str]:
    """A chat whose provider never told an operator state is read by whether its widget loads."""
    if grid.kind == "chat" and not sum(grid.operator.values()):
        return LINK_WORDS
    return OUTCOME_WORDS.get(grid.kind, LINK_WORDS)


def _cell_title(grid: ChannelGrid, day: int, hour: int) -> str:
    """What a cell says in words (its tooltip and its accessible name)."""
    label = f"{DAYS_SHORT[day]} {hour:02d}:00-{hour + 1:02d}:00"
    cell = grid.cells.get((day, hour))
    words = _words(grid)
    text = label + (": " + ", ".join(f"{n} {words[o]}" for o, n in cell.items() if n) if cell and any(
        cell.values()) else ": not checked")
    if grid.hours is not None:
        text += "; published hours: " + ("open" if grid.hours.open_hour(day, hour) else "closed")
    return text


def _grid_view(grid: ChannelGrid, redact: Redactor) -> dict[str, Any]:
    words = _words(grid)
    rows = []
    for day in range(7):
        cells = []
        for hour in HOURS:
            state = grid.cell_state(day, hour)
            published = grid.hours is not None and grid.hours.open_hour(day, hour)
            # an unchecked cell says nothing the row and column headers do not: no text (pages stay small)
            cells.append({"state": state, "symbol": CELL_SYMBOLS[state], "published": published,
                          "title": redact(_cell_title(grid, day, hour)) if state != "none" else ""})
        rows.append({"day": DAYS_SHORT[day], "cells": cells})
    conclusive = grid.conclusive
    noun = "calls (one per window)" if grid.kind == "phone" else "checks"
    summary = f"{words['up']} in {grid.totals['up']} of {conclusive} conclusive {noun}" if conclusive \
        else "no conclusive check yet"
    outside = grid.reachable_outside_hours
    return {
        "kind": grid.kind, "kind_label": KIND_LABELS.get(grid.kind, grid.kind), "value": redact(grid.value),
        "zone": grid.zone, "hours": redact(grid.hours.text) if grid.hours else "",
        "claim": grid.claim, "claim_label": CLAIM_LABELS.get(grid.claim, ""),
        "checks": grid.checks, "summary": summary,
        "counts": [{"state": o, "label": words[o], "count": grid.totals[o]} for o in OUTCOMES if grid.totals[o]],
        "offline": pct(grid.offline_share) if grid.offline_share is not None else "",
        "outside": "" if outside is None else ("answered outside its published hours" if outside
                                               else "never answered outside its published hours"),
        "waves": ", ".join(str(w) for w in sorted(grid.waves)),
        "rows": rows,
    }


def build_availability(data: Availability, audit: Audit, redact: Redactor) -> dict[str, Any]:
    """Each company's channels with their 7x24 grids, in input order."""
    results = {r.company.key: r for r in audit.results}
    per: dict[str, list[ChannelGrid]] = {}
    for grid in data.grids:
        per.setdefault(grid.company_key, []).append(grid)
    kind_order: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
    companies: list[dict[str, Any]] = []
    for key, grids in sorted(per.items(), key=lambda kv: (results[kv[0]].company.row if kv[0] in results
                                                          else 1 << 30, kv[0])):
        result = results.get(key)
        info = data.companies.get(key)
        name = result.company.name if result else (info.name if info else key)
        grids.sort(key=lambda g: (kind_order.get(g.kind, 99), g.value))
        companies.append({"name": redact(name), "href": f"companies/{slug_for(result)}.html" if result else "",
                          "anchor": slug_for(result) if result else f"gone-{len(companies) + 1}",
                          "channels": [_grid_view(g, redact) for g in grids]})
    return {"companies": companies, "waves": data.waves, "hours": HOURS,
            "legend": [{"state": s, "symbol": CELL_SYMBOLS[s], "label": label} for s, label in (
                ("up", "answered / up / operator online"), ("no-answer", "no answer / no operator online"),
                ("down", "not in service / down"), ("mixed", "different outcomes in that hour"),
                ("unknown", "checked, could not tell"))]}


def _figure_parts(f: Figure) -> tuple[str, str]:
    """(the figure, what it rests on): ``50 %``, ``1 of 2``; ``3.0 h``, ``14 replies``."""
    if f.metric == "email-reply-hours":
        return ("—" if f.value is None else f"{f.value:.1f} h"), f"{f.numerator} repl{'y' if f.numerator == 1 else 'ies'}"
    return pct(f.share), f"{f.numerator} of {f.denominator}"


def _figure_text(f: Figure) -> str:
    value, basis = _figure_parts(f)
    return f"{value} ({basis})"


def build_panel(figures: Sequence[Figure], redact: Redactor) -> dict[str, Any]:
    """The panel figures wave by wave (each metric for all companies, by industry, by country), and each
    company's share of chat checks without an operator across waves."""
    waves: dict[int, dict[str, dict[str, Any]]] = {}
    companies = []
    for f in figures:
        if f.wave is None:
            if f.scope == "company" and f.metric == "chat-checks-no-operator":
                companies.append({"name": redact(f.group), "text": _figure_text(f), "share": f.share or 0.0})
            continue
        row = waves.setdefault(f.wave, {}).setdefault(f.metric, {
            "metric": f.metric, "label": METRIC_LABELS.get(f.metric, f.metric), "what": METRICS.get(f.metric, ""),
            "panel": "—", "value": "—", "basis": "", "industry": [], "country": []})
        if f.scope == "panel":
            row["panel"] = _figure_text(f)
            row["value"], row["basis"] = _figure_parts(f)
        elif f.scope in ("industry", "country"):
            row[f.scope].append({"group": redact(f.group), "text": _figure_text(f)})
    order = list(METRIC_LABELS)
    return {
        "waves": [{"wave": w, "rows": sorted(rows.values(), key=lambda r: order.index(r["metric"])
                                             if r["metric"] in order else 99)}
                  for w, rows in sorted(waves.items())],
        "companies": sorted(companies, key=lambda c: (-c["share"], c["name"].casefold())),
    }
