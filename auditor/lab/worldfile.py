"""The world file's shape: one dataclass per TOML table, read by :func:`auditor.lab.schema.read`.

Types, defaults and single-field rules live here, once; the rules that join several
fields or need the company (host names within its domain, a redirect's status,
truth pages the world serves) live in :mod:`auditor.lab.worldbuild`. Field names
are the TOML keys (``company`` and ``platform`` are arrays of tables, as in the file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from auditor import reasons
from auditor.lab.schema import Between, Matches, OneOf, known_encoding, not_empty
from auditor.lab.worldmodel import (
    BEHAVIOURS,
    MAIL_BEHAVIOURS,
    NAME_BEHAVIOURS,
    PAGE_FAULTS,
    TLS_MODES,
)
from auditor.models import KINDS, VERDICTS

HttpStatus = Annotated[int, Between(100, 599, "an HTTP status")]
Preference = Annotated[int, Between(0, 65535, "an MX preference")]


def reason_tag(value: Any) -> str | None:
    """A truth must name one of the project's reason tags, or it compares apples to pears."""
    if value not in reasons.TAGS:
        return f"{value!r} is not a reason tag of auditor/data/reasons.toml"
    return None


ReasonTag = Annotated[str, reason_tag]


@dataclass(frozen=True)
class WorldMeta:
    """``[world]``."""

    name: str | None = None
    description: str = ""


@dataclass(frozen=True)
class PageSpec:
    """``[[company.pages]]`` (``page_defaults`` already merged under it)."""

    LABEL: ClassVar[str] = "path"

    path: str
    host: str = "@"
    status: HttpStatus | None = None  # None: 200, or 301 for a redirect
    redirect: str | None = None
    content_type: str = "text/html"
    charset: Annotated[str, known_encoding] = "utf-8"
    header_charset: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    title: str = ""
    delay: Annotated[float, Between(0, None, "a delay in seconds")] = 0.0
    repeat: Annotated[int, Between(1, None, "a repeat count")] | None = None
    raw: bool = False
    fault: Annotated[str, OneOf(PAGE_FAULTS)] | None = None
    size: Annotated[int, Between(0, None, "a size")] | None = None
    length: bool = True
    head_status: HttpStatus | None = None
    main: str | None = None
    body: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class RecordSpec:
    """One entry of ``[company.dns] records``; only the fields given change the name's defaults."""

    a: list[str] | None = None
    aaaa: list[str] | None = None
    txt: list[str] | None = None
    mx: list[tuple[Preference, str]] | Literal["null"] | None = None
    cname: str | None = None
    behaviour: Annotated[str, OneOf(NAME_BEHAVIOURS)] | None = None


@dataclass(frozen=True)
class DnsSpec:
    """``[company.dns]``."""

    behaviour: Annotated[str, OneOf(BEHAVIOURS)] | None = None
    ttl: int = 300
    records: dict[str, RecordSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class MailSpec:
    """``[[company.mail]]``."""

    LABEL: ClassVar[str] = "host"

    host: str = "mx1"
    behaviour: Annotated[str, OneOf(MAIL_BEHAVIOURS)] = "mailboxes"
    mailboxes: list[str] = field(default_factory=list)
    preference: Preference = 10
    ip: str | None = None


@dataclass(frozen=True)
class ContactSpec:
    """One truth contact (``contacts`` / ``must_not_harvest``)."""

    LABEL: ClassVar[str] = "value"

    value: str
    kind: Annotated[str, OneOf(KINDS)]
    page: str
    label: str | None = None
    verdict: Annotated[str, OneOf(VERDICTS)] | None = None
    reason: ReasonTag | None = None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TruthSpec:
    """``[company.truth]``."""

    contacts: list[ContactSpec] = field(default_factory=list)
    must_not_harvest: list[ContactSpec] = field(default_factory=list)
    must_fetch: list[str] = field(default_factory=list)
    must_not_fetch: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failure: ReasonTag | None = None
    notes: str = ""


@dataclass(frozen=True)
class CompanySpec:
    """``[[company]]``; pages stay raw tables until ``page_defaults`` is merged under each."""

    name: Annotated[str, not_empty]
    domain: str
    country: Annotated[str, Matches(r"[a-z]{2}", "an ISO 3166 alpha-2 code like 'HU'")] | None = None
    industry: str | None = None
    language: str | None = None
    website: str | None = None
    aliases: list[str] | None = None  # None: ["www"]
    layout: str | None = None
    robots: str | None = None
    sitemap: list[str] | str | None = None
    page_defaults: dict[str, Any] = field(default_factory=dict)
    pages: list[Any] = field(default_factory=list)
    mail: list[MailSpec] = field(default_factory=list)
    tls: Annotated[str, OneOf(TLS_MODES)] = "valid"
    dns: DnsSpec = field(default_factory=DnsSpec)
    truth: TruthSpec = field(default_factory=TruthSpec)


@dataclass(frozen=True)
class PlatformSpec:
    """``[[platform]]``: pages and DNS like a company, nothing else."""

    name: str
    domain: str
    aliases: list[str] = field(default_factory=list)
    notes: str | None = None
    page_defaults: dict[str, Any] = field(default_factory=dict)
    pages: list[Any] = field(default_factory=list)
    dns: DnsSpec = field(default_factory=DnsSpec)


@dataclass(frozen=True)
class DomainOnly:
    """Just enough of a company to name it in messages before the rest is read."""

    domain: str


@dataclass(frozen=True)
class WorldSpec:
    """The whole file; companies and platforms are read one by one, named by their domain."""

    world: WorldMeta = field(default_factory=WorldMeta)
    templates: dict[str, str] = field(default_factory=dict)
    company: list[Any] = field(default_factory=list)
    platform: list[Any] = field(default_factory=list)
