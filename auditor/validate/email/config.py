"""How far and how politely email addresses are checked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EmailCheckConfig:
    """How far and how politely to check (see the package docstring for each rule)."""

    smtp_port: int = 25
    helo: str = ""  # our FQDN with a matching PTR; never another company's domain
    mail_from: str = ""  # an address on our own domain
    timeout: float = 10.0
    greylist_retry_delay: float = 900.0
    per_mx_concurrency: int = 1
    per_mx_sessions_per_minute: float = 60.0
    max_recipients_per_session: int = 20
    catch_all_probe: bool = True
    preflight: bool = True
    allow_private: bool = False
    smtp: bool = True  # False -> syntax and DNS only
