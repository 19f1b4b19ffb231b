"""Which transitions are alerts, and the message that carries them: pure, transitions in, payload out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from auditor import reasons
from auditor.alerts.rules import WaveAlert
from auditor.waves.transitions import Transition


def alert_kind(t: Transition) -> str:
    """The alert a transition is: a contact point died or came back, went, appeared; a site went down or back."""
    if t.change == "verdict-changed":
        if t.verdict_to == "inactive":
            return "contact-died"
        if t.verdict_from == "inactive" and t.verdict_to == "active":
            return "contact-back"
        return "verdict-changed"
    return {"appeared": "contact-new", "gone": "contact-gone"}.get(t.change, t.change)


def select(transitions: Iterable[Transition], kinds: Iterable[str]) -> list[tuple[str, Transition]]:
    """The transitions that are alerts of ``kinds``, with their alert kind, in their order."""
    wanted = set(kinds)
    return [(k, t) for t in transitions if (k := alert_kind(t)) in wanted]


def select_rules(alerts: Iterable[WaveAlert], kinds: Iterable[str]) -> list[WaveAlert]:
    """The score and claim alerts of ``kinds``, in their order."""
    wanted = set(kinds)
    return [a for a in alerts if a.alert in wanted]


def _rule_item(a: WaveAlert) -> dict[str, Any]:
    return {
        "alert": a.alert, "company": a.company, "company_key": a.company_key, "kind": a.kind or None,
        "value": a.value or None, "change": a.alert, "wave_from": a.wave_from, "wave_to": a.wave_to,
        "verdict_from": None, "verdict_to": None, "reason_from": None, "reason_to": None,
        "reason_message": reasons.message(a.alert), "summary": a.summary, "evidence": dict(a.evidence),
    }


def payload(event: str, source: str, alerts: list[tuple[str, Transition]], report: str | None,
            rules: Iterable[WaveAlert] = (), **extra: Any) -> dict[str, Any]:
    """The JSON a webhook receives (and an email shows): the event, counts and every alert with its evidence."""
    items = []
    for kind, t in alerts:
        items.append({
            "alert": kind, "company": t.company, "company_key": t.company_key, "kind": t.kind or None,
            "value": t.value or None, "change": t.change, "wave_from": t.wave_from, "wave_to": t.wave_to,
            "verdict_from": t.verdict_from, "verdict_to": t.verdict_to,
            "reason_from": t.reason_from, "reason_to": t.reason_to,
            "reason_message": reasons.message(t.reason_to or t.reason_from or ""),
            "evidence": {"page_from": t.page_from, "page_to": t.page_to},
        })
    items += [_rule_item(a) for a in rules]
    return {"event": event, "source": source, "counts": dict(Counter(i["alert"] for i in items)), "alerts": items,
            "report": report, **extra}


def subject(body: dict[str, Any]) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(body["counts"].items()))
    return f"[contact-auditor] {body['source']}: {counts or 'no changes'} ({body['event']})"


def text(body: dict[str, Any]) -> str:
    """The plain-text email of an alert payload."""
    lines = [subject(body), ""]
    for a in body["alerts"]:
        what = f"{a['kind']} {a['value']}" if a["value"] else "site"
        if a.get("summary"):
            lines.append(f"- {a['alert']}: {a['company']}: {what + ': ' if a['value'] else ''}{a['summary']}")
            continue
        change = f"{a['verdict_from'] or '-'} -> {a['verdict_to'] or '-'}" if a["kind"] else a["change"]
        lines.append(f"- {a['alert']}: {a['company']}: {what}: {change}"
                     + (f" ({a['reason_to'] or a['reason_from']}: {a['reason_message']})" if a["reason_message"] else ""))
        page = a["evidence"]["page_to"] or a["evidence"]["page_from"]
        if page:
            lines.append(f"  found on {page}")
    if body.get("report"):
        lines += ["", f"Report: {body['report']}"]
    return "\n".join(lines) + "\n"
