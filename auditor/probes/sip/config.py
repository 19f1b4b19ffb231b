"""Read the user's SIP trunk from the `[sip]` table of the config file.

The password is never in the file: `password_env` names an environment
variable (default AUDITOR_SIP_PASSWORD) or `password_file` a file that holds it.
"""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Any

from auditor.probes.sip.probe import DEFAULT_WINDOWS, ProbeWindow, SipTrunkConfig

DAY_NAMES = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
KEYS = {"host", "port", "transport", "username", "from_user", "display_name", "domain", "realm",
        "password_env", "password_file", "t1", "t2", "ring_timeout", "connect_timeout",
        "calls_per_minute", "max_concurrent_calls", "user_agent"}


class SipConfigError(ValueError):
    """The [sip] table cannot be used; the message says which key and why."""


def parse_days(text: str) -> frozenset[int]:
    """'Mo-Fr', 'Sa,Su', 'Mo-Su' -> weekday numbers (0 = Monday)."""
    days: set[int] = set()
    for part in text.replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        try:
            a, b = DAY_NAMES[first[:2]], DAY_NAMES[(last or first)[:2]]
        except KeyError as exc:
            raise SipConfigError(f"unknown day in {text!r} (use Mo Tu We Th Fr Sa Su)") from exc
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def _time(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise SipConfigError(f"{where}: expected HH:MM, got {value!r}") from exc


def sip_config_from(data: dict[str, Any]) -> SipTrunkConfig:
    table = data.get("sip")
    if not isinstance(table, dict):
        raise SipConfigError("the config file has no [sip] table (your own SIP trunk)")
    unknown = set(table) - KEYS - {"windows", "password"}
    if unknown:
        raise SipConfigError(f"unknown key(s) in [sip]: {', '.join(sorted(unknown))}")
    if "password" in table:
        raise SipConfigError("never put the SIP password in the config: use password_env or password_file")
    windows = dict(DEFAULT_WINDOWS)
    for name, spec in (table.get("windows") or {}).items():
        if not isinstance(spec, dict):
            raise SipConfigError(f"[sip.windows.{name}] must be a table with days, start, end")
        windows[name] = ProbeWindow(name, parse_days(str(spec.get("days", "Mo-Fr"))),
                                    _time(spec.get("start", "09:00"), f"sip.windows.{name}.start"),
                                    _time(spec.get("end", "17:00"), f"sip.windows.{name}.end"))
    values = {k: v for k, v in table.items() if k in KEYS}
    try:
        return SipTrunkConfig(windows=windows, **values)
    except (TypeError, ValueError) as exc:
        raise SipConfigError(f"[sip]: {exc}") from exc


def load_sip_config(path: str | Path) -> SipTrunkConfig:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SipConfigError(f"cannot read {path}: {exc}") from exc
    return sip_config_from(data)
