"""What an SMTP check records: one attempt's outcome, a recipient to name, a catch-all probe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.models import INACTIVE, VerdictValue
from auditor.validate.email.evidence import MAX_TRANSCRIPT, clean
from auditor.validate.email.routing import MailRoute
from auditor.validate.smtp_reply import enhanced_code

# A probe's state within a batch.
PENDING, DONE, NEXT_HOST, SPLIT = "pending", "done", "next-host", "split"


@dataclass
class Outcome:
    """What one attempt at one recipient ended with."""

    verdict: VerdictValue
    reason: str
    code: int | None = None
    text: str = ""
    host: str = ""
    ip: str = ""
    port: int = 0
    tls: dict[str, Any] | str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = 0.0
    duration_ms: float = 0.0
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.code in (250, 251)

    def evidence(self) -> dict[str, Any]:
        # tls: None = not offered/used; a dict = used; a string = refused or failed (then plain).
        data: dict[str, Any] = {
            "mx": self.host,
            "ip": self.ip,
            "port": self.port,
            "tls": self.tls,
            "code": self.code,
            "enhanced": enhanced_code(self.text) if self.text else None,
            "text": clean(self.text),
            "transcript": self.transcript[:MAX_TRANSCRIPT],
        }
        if self.error:
            data["error"] = clean(self.error)
        return data


@dataclass(eq=False)
class Probe:
    """One recipient to name in some session: a real address or a catch-all probe."""

    key: str
    rcpt: str
    domain: str
    route: MailRoute
    utf8: bool = False
    catch_all: bool = False
    target_index: int = 0
    state: str = PENDING
    outcome: Outcome | None = None
    failures: list[Outcome] = field(default_factory=list)  # earlier hosts
    earlier: list[Outcome] = field(default_factory=list)  # earlier passes (greylisting)

    def retry(self) -> None:
        if self.outcome is not None:
            self.earlier.append(self.outcome)
        self.outcome = None
        self.failures = []
        self.state = PENDING
        self.target_index = 0


@dataclass
class CatchAll:
    """A random local part tried at a domain that accepted a real recipient."""

    probe: Probe

    @property
    def accepted(self) -> bool | None:
        """True: random address accepted; False: rejected as unknown; None: could not tell."""
        outcome = self.probe.outcome
        if outcome is None:
            return None
        if outcome.accepted:
            return True
        if outcome.verdict == INACTIVE:
            return False
        return None
