"""Settings: defaults < config file < command-line flags, one object handed down.

One loader reads the config file once (:func:`load_config`) and hands each table
to its typed section parser: the run's :class:`Settings` here, ``[sip]`` in
:mod:`auditor.probes.sip.config`, ``[inquiries]`` in
:mod:`auditor.probes.inquiries.config`. Every problem is a :class:`ConfigError`
naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, get_type_hints

from auditor import __version__

DEFAULT_CONTACT_URL = "https://pypi.org/project/contact-auditor/"
RENDER_MODES = ("auto", "always", "never")

T = TypeVar("T")


class ConfigError(ValueError):
    """The config file or a flag holds a value the tool cannot use."""


@dataclass
class Settings:
    """Everything a run can be told. Flags and config keys share these names.

    The defaults below are the only place they are written: help texts read
    them through :func:`default`.
    """

    # crawl
    max_pages: int = 25
    max_depth: int = 3
    delay: float = 1.0  # seconds between requests to one host
    concurrency: int = 16
    per_host_concurrency: int = 1
    autothrottle: bool = True
    timeout: float = 20.0  # per HTTP request
    max_page_bytes: int = 5 * 1024 * 1024
    company_timeout: float = 300.0  # time budget per company
    max_redirects: int = 10
    obey_robots: bool = True
    fingerprints: str | None = None  # Wappalyzer-format files whose live-chat technologies are added
    render: str = "auto"  # pages built by scripts: auto (detected ones) | always | never
    render_timeout: float = 15.0  # seconds per rendered page (its requests included)
    chromium: str = "/usr/bin/chromium"  # the system's Chromium; the renderer never downloads one
    user_agent: str = ""
    contact_url: str = DEFAULT_CONTACT_URL
    # network
    nameserver: str | None = None
    dns_timeout: float = 5.0
    allow_private_targets: bool = False
    # email checks
    smtp: bool = True  # False: syntax and DNS only
    smtp_port: int = 25
    helo: str = ""  # your FQDN (with a matching PTR record)
    mail_from: str = ""  # an address on your own domain
    smtp_timeout: float = 10.0
    greylist_delay: float = 900.0  # seconds before re-probing a greylisted address
    smtp_preflight: bool = True
    # opt-in line probe (needs a [sip] table in the config file)
    probe_lines: bool = False
    line_window: str = ""  # a named window (business-hours, evening, weekend) or "" for any time
    answer_window: float = 0.0  # seconds to wait for an answer; 0 = cancel as soon as it rings
    # pipeline
    browser: bool = False  # render contact pages in headless Chromium (JS-only chat widgets)
    validate: bool = True
    progress: bool = True
    log_level: str = "INFO"
    # where these came from: the line probe reads its [sip] table from the same file
    config_file: str | None = None

    def effective_user_agent(self) -> str:
        """Identify the crawler and say where to read about it or complain."""
        if self.user_agent:
            return self.user_agent
        return f"contact-auditor/{__version__} (+{self.contact_url})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scrapy_settings(self) -> dict[str, Any]:
        """The Scrapy settings this run implies (the spider reads AUDITOR_* too)."""
        return {
            "USER_AGENT": self.effective_user_agent(),
            "ROBOTSTXT_OBEY": self.obey_robots,
            "DOWNLOAD_DELAY": self.delay,
            "DOWNLOAD_DELAY_JITTER": 0,
            "CONCURRENT_REQUESTS": self.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": self.per_host_concurrency,
            "AUTOTHROTTLE_ENABLED": self.autothrottle,
            "AUTOTHROTTLE_START_DELAY": max(self.delay, 0.01),
            "AUTOTHROTTLE_MAX_DELAY": max(30.0, self.delay),
            "DOWNLOAD_TIMEOUT": self.timeout,
            "DOWNLOAD_MAXSIZE": self.max_page_bytes,
            "DOWNLOAD_WARNSIZE": 0,
            "REDIRECT_MAX_TIMES": self.max_redirects,
            "LOG_LEVEL": self.log_level,
            "AUDITOR_MAX_PAGES": self.max_pages,
            "AUDITOR_MAX_DEPTH": self.max_depth,
            "AUDITOR_COMPANY_TIMEOUT": self.company_timeout,
            "AUDITOR_NAMESERVER": self.nameserver,
            "AUDITOR_DNS_TIMEOUT": self.dns_timeout,
            "AUDITOR_ALLOW_PRIVATE_TARGETS": self.allow_private_targets,
            "AUDITOR_FINGERPRINTS": self.fingerprints,
            "AUDITOR_RENDER": self.render,
            "AUDITOR_RENDER_TIMEOUT": self.render_timeout,
            "AUDITOR_CHROMIUM": self.chromium,
        }


_FIELDS = {f.name: f for f in fields(Settings)}
_TYPES: dict[str, Any] = get_type_hints(Settings)
# Tables whose keys are settings (a file may also set them at the top level).
_SECTIONS = ("crawl", "network", "net", "smtp", "pipeline", "auditor")
# Tables other commands read from the same file (the opt-in live probes).
_FOREIGN_SECTIONS = ("inquiries", "sip", "lines", "schedule", "notify")


def default(name: str) -> Any:
    """The default of setting ``name``, for help texts (the one place it is written is Settings)."""
    value = _FIELDS[name].default
    if value is MISSING:
        raise KeyError(name)
    return value


def _coerce(name: str, value: Any) -> Any:
    """``value`` as the type of setting ``name`` (booleans also from yes/no/on/off/1/0 strings)."""
    kind = _TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: expected {getattr(kind, '__name__', 'str')}, got {value!r}") from exc


@dataclass(frozen=True)
class ConfigFile:
    """One config file, read and parsed once; each consumer takes the tables it needs.

    ``path`` is None for "no config file" (every setting at its default).
    """

    path: str | None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def settings(self, **flags: Any) -> Settings:
        """Defaults, then this file's settings, then the flags that were actually given."""
        values: dict[str, Any] = {}
        for key, value in self._flat().items():
            if key not in _FIELDS or key == "config_file":
                raise ConfigError(f"unknown setting {key!r} in {self.path}")
            values[key] = _coerce(key, value)
        for key, value in flags.items():
            if value is not None and key in _FIELDS:
                values[key] = _coerce(key, value)
        values["config_file"] = self.path
        settings = Settings(**values)
        if settings.max_pages < 1 or settings.max_depth < 0:
            raise ConfigError("max_pages must be >= 1 and max_depth >= 0")
        if settings.render not in RENDER_MODES:
            raise ConfigError(f"render must be one of {', '.join(RENDER_MODES)}, got {settings.render!r}")
        return settings

    def section(self, name: str, parse: Callable[[Mapping[str, Any]], T], *, needed_for: str = "") -> T:
        """Hand the ``[name]`` table to its typed parser ``parse``.

        A missing table is an error (``needed_for`` says what it would have
        configured); so is anything ``parse`` rejects, prefixed with the file.
        """
        table = self.data.get(name)
        if table is None:
            why = f" ({needed_for})" if needed_for else ""
            raise ConfigError(f"{self.path or 'the config'} has no [{name}] table{why}")
        try:
            if not isinstance(table, Mapping):
                raise ConfigError(f"[{name}] must be a table")
            return parse(table)
        except ConfigError as exc:
            if self.path is None:
                raise
            raise ConfigError(f"{self.path}: {exc}") from exc

    def _flat(self) -> dict[str, Any]:
        """Top-level keys and the keys of the settings tables, with '-' read as '_'."""
        flat: dict[str, Any] = {}
        for key, value in self.data.items():
            if key in _FOREIGN_SECTIONS:
                continue
            if isinstance(value, dict) and key in _SECTIONS:
                flat.update({k.replace("-", "_"): v for k, v in value.items()})
            else:
                flat[key.replace("-", "_")] = value
        return flat


def load_config(path: str | Path | None) -> ConfigFile:
    """Read and parse the config file at ``path`` (None or "": no file, all defaults)."""
    if not path:
        return ConfigFile(None)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return ConfigFile(str(path), MappingProxyType(data))


def build_settings(config_file: str | Path | None = None, **flags: Any) -> Settings:
    """Defaults, then the config file, then flags that were actually given."""
    return load_config(config_file).settings(**flags)
