"""The fault matrix run: the auditor against ``worlds/faults.toml``, as a user runs it, measured.

Shared by ``tests/integration/test_faults.py`` (asserts) and ``bench/fault_matrix.py``
(prints the table). One audit is a subprocess (``python -m auditor.cli audit``) whose
peak memory comes from ``os.wait4`` -- the kernel's own account of that one process,
not a sample -- and whose time per company is read from the store: a company's
result is saved the moment it finishes, so ``harvested_at - run start`` bounds the
time spent on it from above (it cannot have started before the run did).

The companies whose names answer non-loopback private addresses
(:data:`PRIVATE_FAULTS`, ``World.private_targets``) are audited without
``--allow-private-targets`` in a run of their own: nothing may ever try to reach
10.0.0.1 or 169.254.169.254 (outside the machine, something may well answer there).
:func:`run_fault_audit` refuses to audit them with the flag.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.lab import Lab
from auditor.lab.world import FAULTS_WORLD, World, load_world

ROOT = Path(__file__).resolve().parents[2]
PRIVATE_FAULTS = tuple(load_world(FAULTS_WORLD).private_targets)
TARPIT_DELAY = 600.0  # the tarpit's banner after ten minutes, as in the wild


@dataclass(frozen=True)
class Budget:
    """The limits one fault run is given (flags of ``auditor audit``)."""

    timeout: float = 3.0
    company_timeout: float = 10.0
    dns_timeout: float = 2.0
    smtp_timeout: float = 3.0
    greylist_delay: float = 1.0
    max_pages: int = 25

    def flags(self) -> list[str]:
        return [
            "--timeout", f"{self.timeout:g}", "--company-timeout", f"{self.company_timeout:g}",
            "--dns-timeout", f"{self.dns_timeout:g}", "--smtp-timeout", f"{self.smtp_timeout:g}",
            "--greylist-delay", f"{self.greylist_delay:g}", "--max-pages", str(self.max_pages),
        ]

    @property
    def crawl_seconds(self) -> float:
        """What one company's crawl may cost: its time budget, plus the requests in
        flight when it ran out (each at most the timeout, retried once), plus DNS
        (robots.txt and page lookups), plus Scrapy's start-up and the wait for a
        free crawl slot (the run's start is recorded before Scrapy starts)."""
        return self.company_timeout + 2 * self.timeout + 2 * self.dns_timeout + STARTUP_SECONDS

    @property
    def check_seconds(self) -> float:
        """What one SMTP check may cost: connect and greeting, or one command, within the
        SMTP timeout, plus a polite QUIT capped at 5 s (auditor.validate.email)."""
        return self.smtp_timeout + 5.0 + 1.0


STARTUP_SECONDS = 6.0


@dataclass
class Measured:
    """One finished subprocess: exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


def run_measured(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 600.0,
                 cwd: Path = ROOT) -> Measured:
    """Run ``cmd``; its peak RSS comes from ``os.wait4`` (ru_maxrss, KiB on Linux)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        deadline = start + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            usage.ru_maxrss / 1024 if usage is not None else 0.0,
        )


def fault_lab(world: World | None = None) -> Lab:
    """A (not yet started) lab serving the fault world with a ten-minute tarpit."""
    return Lab(world or load_world(FAULTS_WORLD), tarpit_delay=TARPIT_DELAY)


def audit_command(lab: Lab, csv_path: Path, out: Path, budget: Budget, *, allow_private: bool,
                  validate: bool = True, report: bool = True) -> list[str]:
    """``auditor audit`` against the running lab with the budget's limits."""
    cmd = [
        sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
        "--nameserver", lab.nameserver, "--delay", "0", "--no-progress",
        "--contact-url", "https://lab.test/about-the-crawler", "--helo", "probe.lab.test",
        "--mail-from", "probe@lab.test", *budget.flags(),
    ]
    if lab.smtp_port:
        cmd += ["--smtp-port", str(lab.smtp_port)]
    if allow_private:
        cmd.append("--allow-private-targets")
    if not validate:
        cmd.append("--no-validate")
    if not report:
        cmd.append("--no-report")
    return cmd


def run_fault_audit(lab: Lab, out: Path, budget: Budget, domains: list[str], *, allow_private: bool,
                    timeout: float = 600.0) -> Measured:
    """Audit ``domains`` of the running fault lab into ``out`` (a fresh directory)."""
    unsafe = sorted(set(domains) & set(lab.world.private_targets))
    if allow_private and unsafe:
        raise ValueError(f"{', '.join(unsafe)} answer non-loopback addresses: never audit them "
                         "with --allow-private-targets")
    csv_path = lab.write_companies_csv(out.parent / f"{out.name}-companies.csv", list(domains))
    cmd = audit_command(lab, csv_path, out, budget, allow_private=allow_private)
    return run_measured(cmd, env={**os.environ, **lab.env()}, timeout=timeout)


@dataclass
class FaultOutcome:
    """What the audit recorded about one fault company."""

    domain: str
    status: str
    tags: list[str]
    expected: str | None  # the truth's failure tag, if any
    crawl_seconds: float
    checks: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # email -> (verdict, reason, s)
    verdicts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (kind, value) -> ...
    contacts: set[tuple[str, str]] = field(default_factory=set)
    pages: int = 0
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def fault(self) -> str:
        return self.domain.rsplit(".", 1)[0]

    @property
    def outcome(self) -> str:
        """The tag that answers "what happened": the email verdict's reason for mail
        faults, else the expected tag if recorded, else the first tag, else harvested."""
        if self.checks and self.domain.startswith("smtp-"):
            return ",".join(reason for _, reason, _ in self.checks.values())
        if self.expected and self.expected in self.tags:
            return self.expected
        if self.tags:
            return self.tags[0]
        return f"harvested ({len(self.contacts)})"

    @property
    def check_seconds(self) -> float:
        return max((s for _, _, s in self.checks.values()), default=0.0)


def outcomes(lab: Lab, out: Path) -> dict[str, FaultOutcome]:
    """domain -> outcome, from ``out/results.json`` and ``out/audit.sqlite``."""
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(out / "audit.sqlite")
    try:
        started = db.execute("SELECT min(started) FROM runs").fetchone()[0]
        finished = dict(db.execute("SELECT website, harvested_at FROM companies"))
    finally:
        db.close()
    by_site = {lab.website(c): c for c in lab.world.companies}
    found: dict[str, FaultOutcome] = {}
    for record in doc["companies"]:
        company = by_site[record["website"]]
        checks: dict[str, tuple[str, str, float]] = {}
        verdicts: dict[tuple[str, str], tuple[str, str]] = {}
        for cp in record["contacts"]:
            validation = cp.get("validation")
            if validation:
                verdicts[(cp["kind"], cp["value"])] = (validation["verdict"], validation["reason"])
            if cp["kind"] == "email" and validation:
                seconds = max((c.get("duration_ms", 0.0) for c in validation.get("checks", [])), default=0.0) / 1000
                checks[cp["value"]] = (validation["verdict"], validation["reason"], seconds)
        found[company.domain] = FaultOutcome(
            domain=company.domain,
            status=record["status"],
            tags=[f["tag"] for f in record["failures"]],
            expected=company.truth.failure,
            crawl_seconds=(finished.get(record["website"]) or started) - started,
            checks=checks,
            verdicts=verdicts,
            contacts={(c["kind"], c["value"]) for c in record["contacts"]},
            pages=sum(1 for p in record["pages"] if p["status"] is not None),
            record=record,
        )
    return found


def table(rows: list[tuple[str, str, float, float, float]]) -> str:
    """The matrix as text: fault, outcome tag, crawl s, check s, peak memory MB."""
    head = f"{'fault':<22} {'outcome tag':<28} {'crawl s':>8} {'check s':>8} {'peak MB':>8}"
    lines = [head, "-" * len(head)]
    for fault, outcome, crawl, check, peak in rows:
        lines.append(f"{fault:<22} {outcome:<28} {crawl:8.1f} {check:8.1f} {peak:8.0f}")
    return "\n".join(lines)
