"""Where alerts go: the ``[notify]`` table and ``--notify DEST`` flags, parsed into a NotifyConfig.

A destination is ``webhook:https://...`` (a JSON POST), ``webhook:env:NAME``
(the URL, secret path and all, read from environment variable NAME) or
``mailto:ADDRESS`` (through ``[notify.email]``'s submission server). Secrets
(the webhook's bearer token, the SMTP password) are named by an environment
variable or a file and read only when a delivery is made; a secret written
into the config file itself is refused. Only destination names reach the
store, logs and exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.config import ConfigError, load_config
from auditor.probes.inquiries.config import SubmissionConfig

# Which transitions are alerts unless [notify] changes = [...] says otherwise (appeared: not by default).
ALERT_KINDS = ("contact-died", "contact-back", "contact-gone", "contact-new", "verdict-changed", "site-down",
               "site-back", "score-drop", "claim-24-7-failed")
DEFAULT_KINDS = frozenset(ALERT_KINDS) - {"contact-new"}
ATTEMPTS = 3  # per destination per run; failures are recorded and retried by the next run
BACKOFF = 2.0  # seconds before the second attempt, doubled for each further one
SCORE_DROP = 10.0  # points a company's total must fall between two waves for a score-drop alert


class SecretError(ConfigError):
    """A configured secret could not be read (the message names where it was looked for, never a value)."""


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file (read at use, never stored)."""

    env: str | None = None
    file: str | None = None

    def read(self, what: str) -> str | None:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretError(f"{what}: environment variable {self.env} is not set")
            return value
        if self.file:
            try:
                return Path(self.file).expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SecretError(f"{what}: cannot read secret file {self.file}: {exc.strerror}") from None
        return None


@dataclass(frozen=True)
class Destination:
    """One place alerts go; ``name`` is what the store and logs show."""

    name: str
    kind: str  # webhook | email
    target: str  # the URL (or the environment variable holding it), or the address

    def url(self) -> str:
        if self.kind != "webhook":
            raise ValueError(self.name)
        if self.target.startswith("env:"):
            value = SecretRef(env=self.target[4:]).read(self.name)
            assert value is not None
            return value
        return self.target


def parse_destination(text: str) -> Destination:
    """``webhook:URL``, ``webhook:env:NAME`` or ``mailto:ADDRESS``."""
    scheme, _, rest = text.strip().partition(":")
    if scheme == "webhook" and rest.startswith("env:") and rest[4:].strip():
        return Destination(text.strip(), "webhook", rest.strip())
    if scheme == "webhook" and rest.startswith(("https://", "http://")):
        if "@" in rest.split("/", 3)[2]:
            raise ConfigError(f"{scheme}: credentials in a webhook URL would be stored and logged; "
                              "use [notify.webhook] token_env or webhook:env:NAME")
        return Destination(text.strip(), "webhook", rest)
    if scheme == "mailto" and "@" in rest and rest.isascii():
        return Destination(text.strip(), "email", rest.strip())
    raise ConfigError(f"notify destination {text!r}: expected webhook:https://..., webhook:env:NAME or mailto:ADDRESS")


@dataclass(frozen=True)
class NotifyConfig:
    """The destinations, which changes are alerts, and how deliveries are made and retried."""

    destinations: tuple[Destination, ...]
    kinds: frozenset[str] = DEFAULT_KINDS
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    timeout: float = 10.0
    allow_private: bool = False  # webhooks on private or loopback addresses (intranets, tests)
    token: SecretRef = field(default_factory=SecretRef)  # the webhook's bearer token
    email_from: str | None = None
    submission: SubmissionConfig | None = None
    report_url: str | None = None  # where the report is published, for links in alerts
    score_drop: float = SCORE_DROP

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(ALERT_KINDS)
        if unknown:
            raise ConfigError(f"[notify] changes: unknown {sorted(unknown)} (known: {', '.join(ALERT_KINDS)})")
        if self.attempts < 1:
            raise ConfigError("[notify] attempts must be >= 1")
        if self.score_drop <= 0:
            raise ConfigError("[notify] score_drop must be > 0")
        if any(d.kind == "email" for d in self.destinations) and (self.submission is None or not self.email_from):
            raise ConfigError("a mailto: destination needs [notify.email] with from and host")


_KEYS = {"destinations", "changes", "attempts", "backoff", "timeout", "allow_private", "report_url", "score_drop"}
_WEBHOOK_KEYS = {"token_env", "token_file"}


def _refuse_inline_secrets(table: Mapping[str, Any], where: str) -> None:
    for key in ("password", "token", "secret"):
        if key in table:
            raise ConfigError(f"[{where}] {key}: a secret is never written in the config file; "
                              f"use {key}_env or {key}_file")


def notify_config(table: Mapping[str, Any] | None, flags: Iterable[str] = (), allow_private: bool = False) -> (
        NotifyConfig | None):
    """``[notify]`` with ``--notify`` flags (which replace its destinations); None: nowhere to send."""
    table = dict(table or {})
    _refuse_inline_secrets(table, "notify")
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    plain = {k.replace("-", "_"): v for k, v in table.items() if k not in nested}
    unknown = set(plain) - _KEYS
    if unknown or set(nested) - {"webhook", "email"}:
        raise ConfigError(f"unknown key(s) in [notify]: {', '.join(sorted(unknown | (set(nested) - {'webhook', 'email'})))}")
    names = list(flags) or [str(d) for d in plain.get("destinations", [])]
    if not names:
        return None
    webhook = dict(nested.get("webhook") or {})
    _refuse_inline_secrets(webhook, "notify.webhook")
    if set(webhook) - _WEBHOOK_KEYS:
        raise ConfigError(f"unknown key(s) in [notify.webhook]: {', '.join(sorted(set(webhook) - _WEBHOOK_KEYS))}")
    email = {k.replace("-", "_"): v for k, v in (nested.get("email") or {}).items()}
    _refuse_inline_secrets(email, "notify.email")
    email_from = email.pop("from", None)
    try:
        submission = SubmissionConfig(**email) if email else None
    except TypeError as exc:
        raise ConfigError(f"[notify.email]: {exc}") from exc
    return NotifyConfig(
        destinations=tuple(parse_destination(n) for n in names),
        kinds=frozenset(plain.get("changes", DEFAULT_KINDS)),
        attempts=int(plain.get("attempts", ATTEMPTS)),
        backoff=float(plain.get("backoff", BACKOFF)),
        timeout=float(plain.get("timeout", 10.0)),
        allow_private=bool(plain.get("allow_private", allow_private)),
        token=SecretRef(webhook.get("token_env"), webhook.get("token_file")),
        email_from=str(email_from) if email_from else None,
        submission=submission,
        report_url=plain.get("report_url"),
        score_drop=float(plain.get("score_drop", SCORE_DROP)),
    )


def load_notify(config_file: str | Path | None, flags: Iterable[str] = (), allow_private: bool = False) -> (
        NotifyConfig | None):
    """The alert configuration from the config file's ``[notify]`` table and the ``--notify`` flags."""
    data = load_config(config_file).data if config_file else {}
    table = data.get("notify")
    if table is not None and not isinstance(table, Mapping):
        raise ConfigError("[notify] must be a table")
    try:
        return notify_config(table, flags, allow_private)
    except ConfigError as exc:
        if config_file and not isinstance(exc, SecretError):
            raise ConfigError(f"{config_file}: {exc}") from None
        raise
