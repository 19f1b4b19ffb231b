"""Records that flow through the pipeline.

Harvested contact points are frozen: validators and scoring read them and store
their own results beside them, never on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, get_args

# The closed vocabularies of the pipeline, each written once: the tuples are
# read from the Literal types so that a new value is added in one place.
Kind = Literal["phone", "email", "chat", "messaging", "form", "hours"]
KINDS: tuple[Kind, ...] = get_args(Kind)

Method = Literal[
    "tel-link",
    "mailto",
    "text",
    "json-ld",
    "microdata",
    "widget-script",
    "deep-link",
    "form",
    "attribute",
    "framework-state",  # a string value of a framework's embedded state (__NEXT_DATA__, __NUXT__, ...)
    "rendered",  # found only in the page as a browser rendered it (its scripts built it)
]
METHODS: tuple[Method, ...] = get_args(Method)

# A verdict judges a contact point, or (`auditor verify URL`) a bare page.
Subject = Kind | Literal["page"]

VerdictValue = Literal["active", "inactive", "unknown"]
VERDICTS: tuple[VerdictValue, ...] = get_args(VerdictValue)
ACTIVE: Final[VerdictValue] = "active"
INACTIVE: Final[VerdictValue] = "inactive"
UNKNOWN: Final[VerdictValue] = "unknown"

CONTEXT_MAX = 200


@dataclass(frozen=True)
class Company:
    """One row of the input: who is audited and where their website is."""

    row: int
    name: str
    website: str
    country: str | None = None
    industry: str | None = None
    language: str | None = None

    @property
    def key(self) -> str:
        """Stable identity within a run: the row number plus the website."""
        return f"{self.row}:{self.website}"


@dataclass(frozen=True)
class InputError:
    """A row of the companies file that could not be audited, and why."""

    row: int
    tag: str
    message: str
    raw: str = ""


@dataclass(frozen=True)
class ContactPoint:
    """One published contact point, exactly as harvested from one page.

    ``value`` is normalized (E.164, lower-cased address, provider slug, absolute
    URL) so that sightings on several pages deduplicate; ``raw`` keeps what the
    page said. ``details`` holds kind-specific facts (account id, role/personal,
    structured hours, dead-provider flag) and does not take part in hashing.
    """

    kind: Kind
    value: str
    raw: str
    label: str | None
    method: Method
    page_url: str
    context: str = ""
    confidence: float = 1.0
    details: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.context) > CONTEXT_MAX:
            object.__setattr__(self, "context", clip_context(self.context))

    @property
    def dedupe_key(self) -> tuple[Kind, str]:
        """Two sightings are the same contact point when kind and value agree."""
        return (self.kind, self.value)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = dict(self.details)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactPoint:
        return cls(
            kind=data["kind"],
            value=data["value"],
            raw=data.get("raw", ""),
            label=data.get("label"),
            method=data.get("method", "text"),
            page_url=data.get("page_url", ""),
            context=data.get("context", ""),
            confidence=float(data.get("confidence", 1.0)),
            details=dict(data.get("details") or {}),
        )


def clip_context(text: str, limit: int = CONTEXT_MAX) -> str:
    """Collapse whitespace and cut to ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class PageRecord:
    """A page the crawler fetched (or failed to), for provenance and errors."""

    url: str
    status: int | None
    error_tag: str | None = None
    message: str = ""
    depth: int = 0
    score: float = 0.0
    elapsed_ms: float | None = None
    size: int | None = None


@dataclass(frozen=True)
class Failure:
    """A per-company failure with a stable kebab-case tag and a human message."""

    tag: str
    message: str
    url: str = ""


@dataclass(frozen=True)
class CompanyResult:
    """Everything the harvest stage learned about one company."""

    company: Company
    pages: tuple[PageRecord, ...] = ()
    contacts: tuple[ContactPoint, ...] = ()
    failures: tuple[Failure, ...] = ()
    external_links: tuple[str, ...] = ()
    status: str = "done"


@dataclass(frozen=True)
class Check:
    """One check of one contact point: verdict, stable reason tag, evidence.

    ``unknown`` means the check could not tell; it is never counted as inactive.
    """

    name: str  # e.g. email-syntax, email-dns, smtp-rcpt, catch-all, phone-plan, http
    verdict: VerdictValue
    reason: str  # stable kebab-case tag, e.g. null-mx, no-such-mailbox, greylisted
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    started_at: float = 0.0  # epoch seconds
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = dict(self.evidence)
        return data


@dataclass(frozen=True)
class Verdict:
    """The overall verdict for one contact point, from its checks.

    ``flags`` carry facts the report shows beside the verdict (cost-to-caller,
    dead-provider, accept-all, ...).
    """

    kind: Subject
    value: str
    verdict: VerdictValue
    reason: str
    message: str = ""
    checks: tuple[Check, ...] = ()
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "verdict": self.verdict,
            "reason": self.reason,
            "message": self.message,
            "flags": list(self.flags),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            kind=data["kind"],
            value=data["value"],
            verdict=data["verdict"],
            reason=data["reason"],
            message=data.get("message", ""),
            checks=tuple(
                Check(
                    name=c["name"], verdict=c["verdict"], reason=c["reason"], message=c.get("message", ""),
                    evidence=dict(c.get("evidence") or {}), started_at=float(c.get("started_at", 0.0)),
                    duration_ms=float(c.get("duration_ms", 0.0)),
                )
                for c in data.get("checks", ())
            ),
            flags=tuple(data.get("flags", ())),
        )
