"""Settings: defaults < config file < command-line flags, one object handed down."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from auditor import __version__

DEFAULT_CONTACT_URL = "https://pypi.org/project/contact-auditor/"


class ConfigError(ValueError):
    """The config file or a flag holds a value the tool cannot use."""


@dataclass
class Settings:
    """Everything a run can be told. Flags and config keys share these names."""

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
        }


_FIELDS = {f.name: f for f in fields(Settings)}
_SECTIONS = ("crawl", "network", "net", "smtp", "pipeline", "auditor")
# Tables other commands read from the same file (the opt-in live probes).
_FOREIGN_SECTIONS = ("inquiries", "sip", "lines")


def _coerce(name: str, value: Any) -> Any:
    default = getattr(Settings(), name)
    kind = type(default) if default is not None else str
    try:
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind in (int, float):
            return kind(value)
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: expected {kind.__name__}, got {value!r}") from exc


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Flatten a TOML config (top-level keys or [crawl]/[network]/... sections)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _FOREIGN_SECTIONS:
            continue
        if isinstance(value, dict) and key in _SECTIONS:
            flat.update({k.replace("-", "_"): v for k, v in value.items()})
        else:
            flat[key.replace("-", "_")] = value
    return flat


def build_settings(config_file: str | Path | None = None, **flags: Any) -> Settings:
    """Defaults, then the config file, then flags that were actually given."""
    values: dict[str, Any] = {}
    if config_file:
        for key, value in load_config_file(config_file).items():
            if key not in _FIELDS or key == "config_file":
                raise ConfigError(f"unknown setting {key!r} in {config_file}")
            values[key] = _coerce(key, value)
    for key, value in flags.items():
        if value is not None and key in _FIELDS:
            values[key] = _coerce(key, value)
    values["config_file"] = str(config_file) if config_file else None
    settings = Settings(**values)
    if settings.max_pages < 1 or settings.max_depth < 0:
        raise ConfigError("max_pages must be >= 1 and max_depth >= 0")
    return settings
