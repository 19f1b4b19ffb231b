"""Read the user's SIP trunk from the `[sip]` table of the config file.

The password is never in the file: `password_env` names an environment
variable (default AUDITOR_SIP_PASSWORD) or `password_file` a file that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

from auditor.config import ConfigError, ConfigFile, load_config
from auditor.probes.sip.probe import DEFAULT_WINDOWS, ProbeWindow, SipTrunkConfig

DAY_NAMES = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
KEYS = {"host", "port", "transport", "username", "from_user", "display_name", "domain", "realm",
        "password_env", "password_file", "t1", "t2", "ring_timeout", "connect_timeout",
        "calls_per_minute", "max_concurrent_calls", "user_agent"}
# A window of [sip.windows] that leaves out its days or times has business hours' ones.
_BASE_WINDOW = DEFAULT_WINDOWS["business-hours"]


# The error every config problem raises; the old name stays for callers that catch it.
SipConfigError = ConfigError


def parse_days(text: str) -> frozenset[int]:
    """'Mo-Fr', 'Sa,Su', 'Mo-Su' -> weekday numbers (0 = Monday)."""
    days: set[int] = set()
    for part in text.replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        try:
            a, b = DAY_NAMES[first[:2]], DAY_NAMES[(last or first)[:2]]
        except KeyError as exc:
            raise ConfigError(f"unknown day in {text!r} (use Mo Tu We Th Fr Sa Su)") from exc
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def _time(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: expected HH:MM, got {value!r}") from exc


def _window(name: str, spec: Any) -> ProbeWindow:
    """A named window of ``[sip.windows]``; what it leaves out is taken from business hours."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"[sip.windows.{name}] must be a table with days, start, end")
    days = parse_days(str(spec["days"])) if "days" in spec else _BASE_WINDOW.days
    start = _time(spec["start"], f"sip.windows.{name}.start") if "start" in spec else _BASE_WINDOW.start
    end = _time(spec["end"], f"sip.windows.{name}.end") if "end" in spec else _BASE_WINDOW.end
    return ProbeWindow(name, days, start, end)


def sip_section(table: Mapping[str, Any]) -> SipTrunkConfig:
    """The ``[sip]`` table (and its ``[sip.windows.*]``) as the trunk the line probe calls through."""
    unknown = set(table) - KEYS - {"windows", "password"}
    if unknown:
        raise ConfigError(f"unknown key(s) in [sip]: {', '.join(sorted(unknown))}")
    if "password" in table:
        raise ConfigError("never put the SIP password in the config: use password_env or password_file")
    windows = dict(DEFAULT_WINDOWS)
    for name, spec in (table.get("windows") or {}).items():
        windows[name] = _window(name, spec)
    values = {k: v for k, v in table.items() if k in KEYS}
    try:
        return SipTrunkConfig(windows=windows, **values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[sip]: {exc}") from exc


_NEEDED_FOR = "your own SIP trunk"


def sip_config_from(data: Mapping[str, Any]) -> SipTrunkConfig:
    """The trunk from a parsed TOML document (its ``[sip]`` table)."""
    return ConfigFile(None, data).section("sip", sip_section, needed_for=_NEEDED_FOR)


def load_sip_config(path: str | Path) -> SipTrunkConfig:
    """The trunk from the ``[sip]`` table of the config file at ``path``."""
    return load_config(path).section("sip", sip_section, needed_for=_NEEDED_FOR)
