"""`auditor check URL`: a business audits its own site and gates CI on the result.

Pure presentation over a finished audit: the audit itself is the same
harvest and validation as `auditor audit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from auditor import reasons
from auditor.models import KINDS, CompanyResult, Verdict

if TYPE_CHECKING:  # scoring's import cost stays out of `auditor --help`
    from auditor.score import ScoreCard


@dataclass
class CheckOutcome:
    """What the terminal, JSON and JUnit outputs are made from."""

    website: str
    status: str
    score: dict[str, Any]
    contacts: list[dict[str, Any]]
    failures: list[dict[str, str]]
    fixes: list[str]
    exit_reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "website": self.website,
            "status": self.status,
            "score": self.score,
            "contacts": self.contacts,
            "failures": self.failures,
            "fix_first": self.fixes,
            "failed_gates": self.exit_reasons,
        }


def build_outcome(
    result: CompanyResult,
    verdicts: dict[tuple[str, str], Verdict],
    card: ScoreCard,
    fail_under: float | None = None,
    fail_on_inactive: bool = False,
) -> CheckOutcome:
    """Gather contact points, verdicts, the score card and the gates' decisions."""
    contacts = []
    for cp in sorted(result.contacts, key=lambda c: (KINDS.index(c.kind) if c.kind in KINDS else len(KINDS), c.value)):
        v = verdicts.get(cp.dedupe_key)
        contacts.append({
            "kind": cp.kind, "value": cp.value, "label": cp.label, "page_url": cp.page_url,
            "verdict": v.verdict if v else None, "reason": v.reason if v else None,
            "message": v.message if v else "", "flags": list(v.flags) if v else [],
        })
    score = {
        "total": card.total, "availability": card.availability, "responsiveness": card.responsiveness,
        "unknown_share": card.unknown_share, "lines": [line.to_dict() for line in card.lines],
    }
    outcome = CheckOutcome(
        website=result.company.website,
        status=result.status,
        score=score,
        contacts=contacts,
        failures=[{"tag": f.tag, "message": f.message, "url": f.url} for f in result.failures],
        fixes=fix_first(contacts, card, result),
    )
    if fail_under is not None and (card.total is None or card.total < fail_under):
        total = "no score" if card.total is None else f"{card.total:g}"
        outcome.exit_reasons.append(f"score {total} is under --fail-under {fail_under:g}")
    inactive = [c for c in contacts if c["verdict"] == "inactive"]
    if fail_on_inactive and inactive:
        outcome.exit_reasons.append(f"{len(inactive)} published contact point(s) are inactive")
    if result.status != "done":
        outcome.exit_reasons.append("the site could not be audited: " + ", ".join(f.tag for f in result.failures))
    return outcome


def fix_first(contacts: list[dict[str, Any]], card: ScoreCard, result: CompanyResult) -> list[str]:
    """The few things that would help customers most, most harmful first."""
    fixes: list[str] = []
    for c in contacts:
        if c["verdict"] == "inactive":
            fixes.append(f"Fix or remove the dead {c['kind']} {c['value']} on {c['page_url']}: {c['message']}")
    losses = sorted((line for line in card.lines if (line.points or 0) < 0), key=lambda line: line.points or 0)
    for line in losses:
        text = line.message + (f" ({line.value})" if line.value else "")
        if text not in fixes:
            fixes.append(text)
    for f in result.failures:
        if f.tag in (reasons.NO_CONTACT_PAGE_FOUND, reasons.NO_CONTACT_POINTS, reasons.ROBOTS_DISALLOWED):
            fixes.append(f.message)
    return fixes[:8]


def render_text(outcome: CheckOutcome) -> str:
    """A terminal summary a person reads top to bottom."""
    out: list[str] = []
    s = outcome.score
    total = "n/a" if s["total"] is None else f"{s['total']:.0f}/100"
    avail = "n/a" if s["availability"] is None else f"{s['availability']:.0f}"
    resp = "not measured" if s["responsiveness"] is None else f"{s['responsiveness']:.0f}"
    out.append(f"Contact audit of {outcome.website}")
    out.append(f"Score {total}  (availability {avail}, responsiveness {resp})")
    if s["unknown_share"]:
        out.append(f"{s['unknown_share']:.0%} of the checks could not decide (unknown); they neither earn nor lose points")
    out.append("")
    if not outcome.contacts:
        out.append("No contact point was found.")
    for c in outcome.contacts:
        verdict = (c["verdict"] or "not checked").upper()
        label = f" [{c['label']}]" if c["label"] else ""
        flags = f" ({', '.join(c['flags'])})" if c["flags"] else ""
        out.append(f"  {verdict:<11} {c['kind']:<9} {c['value']}{label}{flags}")
        if c["verdict"] in ("inactive", "unknown") and c["message"]:
            out.append(f"              {c['reason']}: {c['message']}")
    if outcome.failures:
        out.append("")
        out.append("Problems while auditing:")
        out += [f"  {f['tag']}: {f['message']}" for f in outcome.failures]
    if outcome.fixes:
        out.append("")
        out.append("What to fix first:")
        out += [f"  {i}. {text}" for i, text in enumerate(outcome.fixes, 1)]
    if outcome.exit_reasons:
        out.append("")
        out += [f"FAILED: {reason}" for reason in outcome.exit_reasons]
    return "\n".join(out)


def write_junit(outcome: CheckOutcome, path: Path) -> None:
    """JUnit XML: one test case per contact point, plus one per gate."""
    suite = ET.Element("testsuite", name=f"contact-audit {outcome.website}")
    failures = 0
    for c in outcome.contacts:
        case = ET.SubElement(suite, "testcase", classname=f"contacts.{c['kind']}", name=c["value"])
        if c["verdict"] == "inactive":
            failures += 1
            node = ET.SubElement(case, "failure", message=f"{c['reason']}: {c['message']}", type=c["reason"] or "")
            node.text = f"found on {c['page_url']}"
        elif c["verdict"] != "active":
            ET.SubElement(case, "skipped", message=f"{c['verdict'] or 'not checked'}: {c['reason'] or ''}")
    gate = ET.SubElement(suite, "testcase", classname="gates", name="score")
    if outcome.exit_reasons:
        failures += 1
        ET.SubElement(gate, "failure", message="; ".join(outcome.exit_reasons), type="gate")
    suite.set("tests", str(len(outcome.contacts) + 1))
    suite.set("failures", str(failures))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def print_json(outcome: CheckOutcome) -> str:
    return json.dumps(outcome.to_json(), ensure_ascii=False, indent=2, default=str)
