"""The probe's records, read and written through the audit store's ``InquiryTables``.

The tables themselves (schema, SQL) live in :mod:`auditor.store.inquiries`: no
module outside ``auditor.store`` touches the database connection. Here: what
the probe makes of them (the responsiveness the report and scoring read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor import reasons
from auditor.store.base import InquiryTables, ReplyRow, Store
from auditor.store.inquiries import UNANSWERED, InquiryStore, iso, parse_iso

__all__ = [
    "SENT", "UNANSWERED", "InquiryStore", "InquiryTables", "ReplyRow", "iso", "parse_iso",
    "responsiveness", "scoring_probes",
]

SENT = (reasons.PENDING, reasons.HUMAN_REPLY, reasons.AUTO_ACK_ONLY, reasons.BOUNCED, reasons.NO_REPLY)


def _hours(start: str | None, end: str | None) -> float | None:
    a, b = parse_iso(start), parse_iso(end)
    if a is None or b is None:
        return None
    return round(max((b - a).total_seconds(), 0.0) / 3600, 2)


# auditor.score's email outcome words for each status (None: nothing to score yet).
_SCORE_OUTCOME = {reasons.HUMAN_REPLY: "human-reply", reasons.AUTO_ACK_ONLY: "auto-ack",
                  reasons.BOUNCED: "bounced", reasons.NO_REPLY: "no-reply"}


def responsiveness(store: Store | InquiryTables | str | Path) -> dict[str, dict[str, Any]]:
    """Per company key, the latest sent inquiry's outcome with its times in hours.

    ``status`` is human-reply | auto-ack-only | bounced | no-reply | pending;
    ``final`` says it can no longer change (a person replied or the cutoff passed).
    ``outcome``/``reply_hours``/``to`` are the fields :mod:`auditor.score` reads.
    """
    tables = InquiryStore.of(store, create=False)  # reading never writes (archived audits may be read-only)
    if not tables.exists():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for r in tables.sent_inquiries(SENT):
        status, final = r["status"], bool(r["final"])
        scored = _SCORE_OUTCOME.get(status) if (final or status in (reasons.HUMAN_REPLY, reasons.BOUNCED)) else None
        human_hours = _hours(r["sent_at"], r["first_human_at"])
        out[r["company_key"]] = {  # later inquiries overwrite earlier ones
            "status": status,
            "final": final,
            "no_reply": bool(r["no_reply"]),
            "hours_to_first_human_reply": human_hours,
            "hours_to_first_ack": _hours(r["sent_at"], r["first_ack_at"]),
            "hours_to_bounce": _hours(r["sent_at"], r["bounced_at"]),
            "address": r["address"],
            "language": r["language"],
            "topic": r["topic"],
            "sent_at": r["sent_at"],
            "first_ack_at": r["first_ack_at"],
            "first_human_reply_at": r["first_human_at"],
            "bounced_at": r["bounced_at"],
            "closed_at": r["closed_at"],
            "bounce_detail": r["bounce_detail"],
            "replies": r["n_replies"],
            "inquiries": r["n_inquiries"],
            "outcome": scored,
            "reply_hours": human_hours,
            "to": r["address"],
        }
    return out


def scoring_probes(store: Store | InquiryTables | str | Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{company_key: {"email": [{outcome, reply_hours, to}]}}``: what ``score_company`` takes."""
    return {
        key: {"email": [{"outcome": v["outcome"], "reply_hours": v["reply_hours"], "to": v["to"]}]}
        for key, v in responsiveness(store).items()
        if v["outcome"]
    }
