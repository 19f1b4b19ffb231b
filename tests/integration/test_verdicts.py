"""The whole pipeline -- crawl and every validator -- against the whole default world.

One ``auditor audit`` run (a subprocess, as a user runs it) on a fresh lab: HTTP and
HTTPS sites, platforms (t.me, m.me, chat CDNs), DNS and one SMTP server per mail host.
Every harvested contact point's stored verdict is compared with the world's truth, and
a confusion table (truth verdict x found verdict, per kind) is printed.

The lab is fresh (not the session one) because greylisting remembers (client,
recipient) pairs: the truth says "greylisted, then accepted", which only holds for a
server that has never seen the pair.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.models import VERDICTS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHECKED_KINDS = ("phone", "email", "chat", "messaging", "form")
SMTP_TIMEOUT = 3
GREYLIST_DELAY = 2  # longer than the lab's greylist window (1 s)

# Cases where the lab world is right and a validator is not: none today. A new one
# goes here with its reason, and is printed as a known mismatch.
KNOWN_DISAGREEMENTS: dict[tuple[str, str, str], str] = {}

# What the world must cover: reasons and flags of the verdicts, per kind.
REQUIRED_REASONS = {
    "phone": {"not-dialled", "premium-rate", "shared-cost"},
    "email": {
        "mailbox-exists",
        "no-such-mailbox",
        "accept-all",
        "blocked-by-policy",
        "null-mx",
        "nxdomain",
        "dns-servfail",
        "dns-timeout",
        "no-mail-host",
        "smtp-timeout",
        "smtp-error",
        "greylisted",
    },
    "chat": {"widget-loads", "widget-missing", "dead-provider", "bot-challenge"},
    "messaging": {"account-exists", "account-missing", "unverifiable", "invalid-number"},
    "form": {"form-action-ok", "form-action-broken", "form-action-unverified"},
}
REQUIRED_FLAGS = {
    "toll-free",
    "cost-to-caller",
    "greylisted",
    "accept-all",
    "implicit-mx",
    "dead-provider",
}


@dataclass(frozen=True)
class Row:
    """One harvested, validated contact point beside its truth."""

    domain: str
    kind: str
    value: str
    truth_verdict: str | None
    truth_reason: str | None
    truth_flags: tuple[str, ...]
    verdict: str | None
    reason: str | None
    flags: tuple[str, ...]
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.domain, self.kind, self.value)

    @property
    def matches(self) -> bool:
        return (self.verdict, self.reason) == (self.truth_verdict, self.truth_reason) and set(
            self.truth_flags
        ) <= set(self.flags)

    def describe(self) -> str:
        found = f"{self.verdict}/{self.reason} {list(self.flags)}"
        wanted = f"{self.truth_verdict}/{self.truth_reason} {list(self.truth_flags)}"
        return f"{self.domain} {self.kind} {self.value}: truth {wanted}, found {found} ({self.message})"


@dataclass
class VerdictRun:
    lab: Lab
    results: dict[str, Any]
    elapsed: float
    smtp: dict[str, Any]
    rows: list[Row]


def _rows(lab: Lab, results: dict[str, Any]) -> list[Row]:
    by_website = {c["website"]: c for c in results["companies"]}
    rows: list[Row] = []
    for company in lab.world.companies:
        record = by_website[lab.website(company)]
        truth = lab.truth_for(company)
        known = {(c.kind, c.value): c for c in truth.contacts}
        for contact in record["contacts"]:
            if contact["kind"] not in CHECKED_KINDS:
                continue
            t = known.get((contact["kind"], contact["value"]))
            found = contact.get("validation") or {}
            rows.append(
                Row(
                    domain=company.domain,
                    kind=contact["kind"],
                    value=contact["value"],
                    truth_verdict=t.verdict if t else None,
                    truth_reason=t.reason if t else None,
                    truth_flags=t.flags if t else (),
                    verdict=found.get("verdict"),
                    reason=found.get("reason"),
                    flags=tuple(found.get("flags") or ()),
                    message=str(found.get("message", ""))[:160],
                )
            )
    return rows


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VerdictRun]:
    tmp = tmp_path_factory.mktemp("verdicts")
    with Lab() as lab:  # fresh greylist memory and counters
        assert lab.smtp_port is not None
        companies = lab.write_companies_csv(tmp / "companies.csv")
        out = tmp / "out"
        cmd = [
            sys.executable,
            "-m",
            "auditor.cli",
            "audit",
            str(companies),
            "--out",
            str(out),
            "--nameserver",
            lab.nameserver,
            "--allow-private-targets",
            "--delay",
            "0",
            "--no-progress",
            "--smtp-port",
            str(lab.smtp_port),
            "--greylist-delay",
            str(GREYLIST_DELAY),
            "--smtp-timeout",
            str(SMTP_TIMEOUT),
            "--helo",
            "lab-auditor.test",
            "--mail-from",
            "probe@lab-auditor.test",
        ]
        env = {**os.environ, **lab.env()}
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        servers = lab.mail_servers
        assert servers is not None
        yield VerdictRun(lab, results, elapsed, servers.snapshot(), _rows(lab, results))


def _confusion_table(rows: list[Row]) -> str:
    """Truth verdict (rows) x found verdict (columns), per kind, plus totals."""
    columns = [*VERDICTS, "none"]
    counts: Counter[tuple[str, str, str]] = Counter(
        (r.kind, r.truth_verdict or "none", r.verdict or "none") for r in rows
    )
    lines = [
        "verdicts: truth (rows) x found (columns), per kind",
        f"{'kind':<10} {'truth':<9} " + " ".join(f"{c:>8}" for c in columns) + "   match",
    ]
    for kind in CHECKED_KINDS:
        mine = [r for r in rows if r.kind == kind]
        for truth in [*VERDICTS, "none"]:
            line = [counts[(kind, truth, found)] for found in columns]
            if not any(line):
                continue
            total = sum(line)
            ok = sum(1 for r in mine if (r.truth_verdict or "none") == truth and r.matches)
            lines.append(
                f"{kind:<10} {truth:<9} " + " ".join(f"{n:>8}" for n in line) + f"   {ok}/{total}"
            )
    matched = sum(r.matches for r in rows)
    lines.append(f"total: {matched}/{len(rows)} verdicts match the truth")
    reasons = Counter(f"{r.kind}:{r.reason}" for r in rows)
    lines.append("reasons found: " + ", ".join(f"{k} {n}" for k, n in sorted(reasons.items())))
    return "\n".join(lines)


def test_every_checked_contact_has_a_truth_verdict(run: VerdictRun) -> None:
    unknown = [r.describe() for r in run.rows if r.truth_verdict is None]
    assert not unknown, "harvested contacts the world has no verdict for:\n" + "\n".join(unknown)
    unvalidated = [r.describe() for r in run.rows if r.verdict is None]
    assert not unvalidated, "contacts stored without a verdict:\n" + "\n".join(unvalidated)
    seen = {r.key for r in run.rows}
    missing = [
        (c.domain, t.kind, t.value)
        for c in run.lab.world.companies
        for t in run.lab.truth_for(c).contacts
        if t.verdict is not None and (c.domain, t.kind, t.value) not in seen
    ]
    assert not missing, f"truth verdicts with nothing harvested to compare: {missing}"


def test_verdicts_match_the_truth(run: VerdictRun, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print()
        print(_confusion_table(run.rows))
        print(
            f"audit run: {run.elapsed:.1f} s; SMTP sessions per mail host: {run.smtp['sessions']}"
        )
        for row in run.rows:
            if not row.matches:
                known = " (known validator disagreement)" if row.key in KNOWN_DISAGREEMENTS else ""
                print(f"  MISMATCH{known}: {row.describe()}")
    wrong = [r.describe() for r in run.rows if not r.matches and r.key not in KNOWN_DISAGREEMENTS]
    assert not wrong, "verdicts that differ from the world's truth:\n" + "\n".join(wrong)


def test_the_world_covers_every_case(run: VerdictRun) -> None:
    truth = [t for c in run.lab.world.companies for t in c.truth.contacts if t.verdict]
    for kind, wanted in REQUIRED_REASONS.items():
        have = {t.reason for t in truth if t.kind == kind}
        assert wanted <= have, f"{kind}: no truth contact for {sorted(wanted - have)}"
    flags = {f for t in truth for f in t.flags}
    assert REQUIRED_FLAGS <= flags, sorted(REQUIRED_FLAGS - flags)
    for kind in CHECKED_KINDS:
        verdicts = {t.verdict for t in truth if t.kind == kind}
        assert "unknown" in verdicts, kind
        if kind != "phone":  # harvested phones are valid by construction: never inactive
            assert {"inactive", "unknown"} <= verdicts, kind
    # A deliberately invalid number is on a page but, being invalid, never harvested.
    invalid = [
        t
        for c in run.lab.world.companies
        for t in c.truth.must_not_harvest
        if t.kind == "phone" and t.reason == "invalid-number"
    ]
    assert invalid and not {(t.kind, t.value) for t in invalid} & {
        (r.kind, r.value) for r in run.rows
    }


def test_the_run_is_polite(run: VerdictRun) -> None:
    assert run.smtp["data_commands"] == 0  # never DATA: nothing is ever sent
    assert max(run.smtp["max_concurrent"].values()) == 1  # one session per mail host at a time
    # The greylisting host was asked again after the delay, once: no tight retry loop.
    greylist = run.lab.mail_host("mx1.pixelhry.sk")
    assert 2 <= run.smtp["sessions"][greylist.ip] <= 4
    # Slow mail hosts cost one SMTP timeout each, concurrently, not a tarpit's full delay.
    slow = [r for r in run.rows if r.kind == "email" and r.reason == "smtp-timeout"]
    assert slow and all(r.verdict == "unknown" for r in slow)


def test_results_record_evidence_for_https_and_smtp(run: VerdictRun) -> None:
    contacts = {
        (c["kind"], c["value"]): c
        for company in run.results["companies"]
        for c in company["contacts"]
    }
    telegram = contacts[("messaging", "https://t.me/pixelhry")]["validation"]["checks"][0]
    assert telegram["evidence"]["tls_ok"] is True and telegram["evidence"]["status"] == 200
    backup = contacts[("email", "support@support-sub.de")]["validation"]
    rcpt = next(c for c in backup["checks"] if c["name"] == "smtp-rcpt")
    assert rcpt["evidence"]["mx"] == "mx2.support-sub.de"  # the closed primary was skipped
    assert rcpt["evidence"]["failed_hosts"][0]["mx"] == "mx1.support-sub.de"
    tls = contacts[("email", "suport@carpati-net.ro")]["validation"]
    rcpt = next(c for c in tls["checks"] if c["name"] == "smtp-rcpt")
    assert str(rcpt["evidence"]["tls"]).startswith("failed, retried without TLS")
