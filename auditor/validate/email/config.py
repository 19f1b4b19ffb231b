"""How far and how politely email addresses are checked."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.config import default


@dataclass
class EmailCheckConfig:
    """How far and how politely to check (see the package docstring for each rule).

    What a run can be told has its default in :class:`auditor.config.Settings`, once.
    """

    smtp_port: int = default("smtp_port")
    helo: str = default("helo")  # our FQDN with a matching PTR; never another company's domain
    mail_from: str = default("mail_from")  # an address on our own domain
    timeout: float = default("smtp_timeout")
    greylist_retry_delay: float = default("greylist_delay")
    per_mx_concurrency: int = 1
    per_mx_sessions_per_minute: float = 60.0
    max_recipients_per_session: int = 20
    catch_all_probe: bool = True
    preflight: bool = default("smtp_preflight")
    allow_private: bool = default("allow_private_targets")
    smtp: bool = default("smtp")  # False -> syntax and DNS only
