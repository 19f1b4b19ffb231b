"""Settings of the mystery-shopper probe: what to send, through which server, where replies land.

Passwords are never stored in these objects' reprs, logs or results: the config
names an environment variable or a file, and :meth:`password` reads it only when
a connection is made.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.config import ConfigError, ConfigFile
from auditor.config import load_config as load_config_file

SECURITY = ("starttls", "tls", "none")
TOPICS = ("hours", "delivery")
LANGUAGES = ("en", "de", "hu", "pl", "tr", "ru")
# Written once here; the sending and collecting functions default to them too.
RATE_PER_MINUTE = 6.0
CUTOFF_DAYS = 7.0
INTERVAL_DAYS = 90.0  # a company is sent at most one inquiry per this many days, across waves and runs


def _read_secret(what: str, env: str | None, file: str | None) -> str | None:
    """The password from ``env`` or ``file``; None when neither is configured."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}: environment variable {env} is not set")
        return value
    if file:
        try:
            return Path(file).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read password file {file}: {exc.strerror}") from exc
    return None


def is_loopback(host: str) -> bool:
    """True for localhost and loopback literals: plaintext logins are tolerated only there."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SubmissionConfig:
    """The outgoing server the inquiries are submitted to (RFC 6409 submission).

    ``security``: ``starttls`` (port 587), ``tls`` (implicit TLS, port 465) or
    ``none`` (only sensible on loopback; a login over it elsewhere is refused).
    ``ca_file`` trusts a private CA instead of the system store.
    """

    host: str
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0
    helo: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ConfigError(f"submission.security must be one of {', '.join(SECURITY)}")
        if self.user and not (self.password_env or self.password_file):
            raise ConfigError("submission.user is set but neither password_env nor password_file")
        if self.user and self.security == "none" and not is_loopback(self.host):
            raise ConfigError("refusing to send a password unencrypted: use starttls or tls")

    def password(self) -> str | None:
        return _read_secret("submission", self.password_env, self.password_file)

    def describe(self) -> str:
        """Where mail goes, for summaries (no secrets)."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.port} ({self.security})"


@dataclass(frozen=True)
class ImapConfig:
    """The auditor's own mailbox, where replies and bounces arrive.

    ``tls`` means implicit TLS (port 993); without it STARTTLS is used when the
    server offers it and a login without TLS is refused unless the host is loopback.
    """

    host: str
    user: str
    port: int = 993
    tls: bool = True
    folder: str = "INBOX"
    password_env: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if not (self.password_env or self.password_file):
            raise ConfigError("imap: set password_env or password_file")

    def password(self) -> str:
        return _read_secret("imap", self.password_env, self.password_file) or ""

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True)
class InquiryConfig:
    """What is sent and to whom.

    ``from_address`` must be the mailbox that ``ImapConfig`` reads: it is both
    the From/Reply-To and the envelope sender, so bounces come back there too.
    ``interval_days``: a company asked less than this many days ago (any
    wave, any run: the store keeps every inquiry) is not asked again.
    ``language`` forces one template language; otherwise the company's own
    language, then its country, then English. ``topics_by_industry`` picks the
    question per industry (e.g. retail asks about delivery).
    """

    from_address: str
    sender_name: str
    topic: str = "hours"
    topics_by_industry: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    force: bool = False
    include_personal: bool = False
    include_inactive: bool = False
    rate_per_minute: float = RATE_PER_MINUTE
    cutoff_days: float = CUTOFF_DAYS
    interval_days: float = INTERVAL_DAYS
    templates_dir: str | None = None  # your own {topic}.{language}.j2 files, first line "Subject: ..."

    def __post_init__(self) -> None:
        if "@" not in self.from_address or not self.from_address.isascii():
            raise ConfigError("inquiries.from must be an ASCII email address")
        if not self.sender_name.strip():
            raise ConfigError("inquiries.sender_name is required (it signs the inquiry)")
        for topic in (self.topic, *self.topics_by_industry.values()):
            if topic not in TOPICS:
                raise ConfigError(f"unknown inquiry topic {topic!r} (known: {', '.join(TOPICS)})")
        if self.language is not None and self.language not in LANGUAGES and not self.templates_dir:
            raise ConfigError(f"no templates for language {self.language!r}")
        if self.rate_per_minute <= 0:
            raise ConfigError("inquiries.rate_per_minute must be > 0")
        if self.interval_days < 0:
            raise ConfigError("inquiries.interval_days must be >= 0")


@dataclass(frozen=True)
class ProbeConfig:
    """The three parts of ``[inquiries]`` in a config file."""

    inquiry: InquiryConfig
    submission: SubmissionConfig | None
    imap: ImapConfig | None


def _keys(table: Any, name: str, allowed: set[str]) -> dict[str, Any]:
    """The plain keys of table ``[name]`` ('-' read as '_'), refusing any not in ``allowed``."""
    raw = table or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    out = {k.replace("-", "_"): v for k, v in raw.items() if not isinstance(v, Mapping)}
    unknown = set(out) - allowed
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    return out


def inquiries_section(table: Mapping[str, Any]) -> ProbeConfig:
    """The ``[inquiries]`` table with its ``submission`` and ``imap`` tables, as probe settings."""
    inq = _keys(table, "inquiries", {
        "from", "sender_name", "topic", "language", "force", "include_personal",
        "include_inactive", "rate_per_minute", "cutoff_days", "interval_days", "templates_dir",
    })
    topics = table.get("topics_by_industry") or {}
    try:
        inquiry = InquiryConfig(
            from_address=str(inq.pop("from", "")), topics_by_industry=dict(topics), **inq
        )
        sub = _keys(table.get("submission"), "inquiries.submission", set(SubmissionConfig.__dataclass_fields__))
        imap = _keys(table.get("imap"), "inquiries.imap", set(ImapConfig.__dataclass_fields__))
        return ProbeConfig(
            inquiry=inquiry,
            submission=SubmissionConfig(**sub) if sub else None,
            imap=ImapConfig(**imap) if imap else None,
        )
    except TypeError as exc:
        raise ConfigError(f"[inquiries]: {exc}") from exc


_NEEDED_FOR = "your own submission server and mailbox for the mystery-shopper inquiries"


def parse_config(data: Mapping[str, Any]) -> ProbeConfig:
    """The probe settings from a parsed TOML document (its ``[inquiries]`` table)."""
    return ConfigFile(None, data).section("inquiries", inquiries_section, needed_for=_NEEDED_FOR)


def load_config(path: str | Path) -> ProbeConfig:
    """Read ``[inquiries]``, ``[inquiries.submission]`` and ``[inquiries.imap]`` from a TOML file."""
    return load_config_file(path).section("inquiries", inquiries_section, needed_for=_NEEDED_FOR)
