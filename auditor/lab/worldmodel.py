"""The loaded lab world: companies, their pages, zones, mail hosts and truth, as frozen dataclasses.

What the lab's servers read. How a world file becomes these objects is
:mod:`auditor.lab.world` (the format), :mod:`auditor.lab.worldfile` (its shape) and
:mod:`auditor.lab.worldbuild` (the rules across fields).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import jinja2

from auditor.lab.smtp import BEHAVIOURS as SMTP_BEHAVIOURS

WORLDS_DIR = Path(__file__).with_name("worlds")
DEFAULT_WORLD = WORLDS_DIR / "default.toml"
FAULTS_WORLD = WORLDS_DIR / "faults.toml"
LINKS_WORLD = WORLDS_DIR / "links.toml"  # hosts the link checks meet: 405 to HEAD, soft 404, ...
OPERATORS_WORLD = WORLDS_DIR / "operators.toml"  # chat vendors' public online/offline endpoints
SCRIPTS_WORLD = WORLDS_DIR / "scripts.toml"  # sites built by scripts (--render)
BEHAVIOURS = ("nxdomain", "servfail", "timeout")
NAME_BEHAVIOURS = (*BEHAVIOURS, "huge")  # huge: an answer of ~60 KB (hundreds of records)
PAGE_FAULTS = (
    "huge", "drip", "gzip-bomb", "brotli-bomb", "reset", "header-flood", "calendar",
    "session-trap", "many-links", "nested", "binary",
)
TLS_MODES = ("valid", "self-signed", "expired", "wrong-host")
DEFAULT_ADDRESS = "127.0.0.1"
CATCH_ALL = "*"
# "closed": the name resolves, nothing listens (connection refused), as a dead backup MX.
MAIL_BEHAVIOURS = (*SMTP_BEHAVIOURS, "closed")
WEB_ADDRESS = DEFAULT_ADDRESS  # where every site (and an implicit-MX mail host) lives
FIRST_MAIL_ADDRESS = "127.0.0.20"  # mail hosts without an ``ip`` get the next free one from here
HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_SAFE_PATH = "/%:@!$&'()*+,;=~"


class WorldError(ValueError):
    """A world file that cannot be served; the message names the company and field."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Page:
    """One response a site gives for one path (on one host)."""

    host: str
    path: str
    status: int = 200
    content_type: str = "text/html"
    charset: str = "utf-8"
    header_charset: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    title: str = ""
    redirect: str | None = None
    delay: float = 0.0
    raw_body: str | None = None
    template: jinja2.Template | None = field(default=None, compare=False, repr=False)
    vars: Mapping[str, Any] = field(default_factory=dict, compare=False)
    fault: str | None = None  # one of PAGE_FAULTS: a hostile or broken answer
    size: int | None = None  # the fault's size (bytes, links, depth); None: its default
    length: bool = True  # send Content-Length (the huge fault can stream without one)
    head_status: int | None = None  # HEAD answers this instead of ``status`` (405: HEAD refused)


@dataclass(frozen=True)
class NameRecords:
    """The data (or misbehaviour) of one DNS name. MX hosts are FQDNs; '.' is null MX."""

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    mx: tuple[tuple[int, str], ...] = ()
    txt: tuple[str, ...] = ()
    cname: str | None = None
    behaviour: str | None = None


@dataclass(frozen=True)
class Zone:
    """Every name the lab answers for under one company domain."""

    origin: str
    names: Mapping[str, NameRecords]
    behaviour: str | None = None
    ttl: int = 300


@dataclass(frozen=True)
class TruthContact:
    """A contact point a correct crawler harvests (value normalized like ContactPoint)."""

    kind: str
    value: str
    page: str
    label: str | None = None
    verdict: str | None = None  # what a correct validator concludes (active|inactive|unknown)
    reason: str | None = None  # ... and why: a reason tag
    flags: tuple[str, ...] = ()  # flags the verdict must carry (cost-to-caller, accept-all, ...)


@dataclass(frozen=True)
class MailHost:
    """One lab mail server: the name mail is routed to, its own loopback address, its manner."""

    name: str  # FQDN; the company's domain itself for an implicit-MX host
    ip: str
    behaviour: str = "mailboxes"
    mailboxes: tuple[str, ...] = ()  # full addresses, lower-case
    preference: int = 10
    company: str = ""  # the declaring company's domain
    implicit: bool = False  # the domain itself (no MX record points at it)


@dataclass(frozen=True)
class Truth:
    """What a correct audit of one company finds and does; URLs are absolute."""

    contacts: tuple[TruthContact, ...] = ()
    must_not_harvest: tuple[TruthContact, ...] = ()
    must_fetch: tuple[str, ...] = ()  # fetched with status 200 by a correct crawl
    must_not_fetch: tuple[str, ...] = ()  # own pages never requested (robots.txt forbids them)
    external: tuple[str, ...] = ()  # links recorded as external; not fetched when audited alone
    failure: str | None = None  # the failure tag when the site cannot be audited
    notes: str = ""

    def verdicts(self) -> dict[tuple[str, str], TruthContact]:
        """(kind, value) -> contact, for every contact that states its verdict."""
        return {(c.kind, c.value): c for c in self.contacts if c.verdict is not None}

    def with_port(self, port: int, hosts: Iterable[str]) -> Truth:
        """The same truth with the lab's port in every URL on a world host."""
        hosts = frozenset(hosts)

        def fix(url: str) -> str:
            return lab_url(url, port, hosts)

        def fix_contact(c: TruthContact) -> TruthContact:
            return replace(c, value=fix(c.value), page=fix(c.page))

        return replace(
            self,
            contacts=tuple(map(fix_contact, self.contacts)),
            must_not_harvest=tuple(map(fix_contact, self.must_not_harvest)),
            must_fetch=tuple(map(fix, self.must_fetch)),
            must_not_fetch=tuple(map(fix, self.must_not_fetch)),
            external=tuple(map(fix, self.external)),
        )


@dataclass(frozen=True)
class WorldCompany:
    """One fictional company: its input row, its sites, its zone and its truth."""

    name: str
    domain: str
    website: str
    country: str | None = None
    industry: str | None = None
    language: str | None = None
    aliases: tuple[str, ...] = ()
    pages: tuple[Page, ...] = ()
    robots: jinja2.Template | None = field(default=None, compare=False, repr=False)
    sitemap: tuple[str, ...] | jinja2.Template | None = field(
        default=None, compare=False, repr=False
    )
    layout: str = "base.html"
    zone: Zone | None = None
    truth: Truth = field(default_factory=Truth)
    mail: tuple[MailHost, ...] = ()
    tls: str = "valid"  # the certificate its hosts present over HTTPS (TLS_MODES)

    @property
    def site_host(self) -> str:
        """The host of the website: where '/paths' of the sitemap and the truth live."""
        return urlsplit(self.website).hostname or self.domain

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host name that serves pages for this company (domain first)."""
        seen = dict.fromkeys([self.domain, *self.aliases, *(p.host for p in self.pages)])
        return tuple(seen)

    def row(self) -> dict[str, str]:
        """The company as a row of the auditor's input (website without the lab port)."""
        return {
            "name": self.name,
            "website": self.website,
            "country": self.country or "",
            "industry": self.industry or "",
            "language": self.language or "",
        }


@dataclass(frozen=True)
class World:
    """A loaded, validated world."""

    name: str
    companies: tuple[WorldCompany, ...]
    source: str = ""
    description: str = ""
    platforms: tuple[WorldCompany, ...] = ()  # services the validators load; never audited

    @property
    def mail_hosts(self) -> tuple[MailHost, ...]:
        """Every company's mail hosts, in world order."""
        return tuple(m for c in self.companies for m in c.mail)

    def mail_host(self, name: str) -> MailHost:
        """A mail host by name (``mx1.kovacs-szerviz.hu``)."""
        wanted = name.strip().lower().rstrip(".")
        for host in self.mail_hosts:
            if host.name == wanted:
                return host
        raise KeyError(f"no mail host {name!r} in world {self.name!r}")

    def platform(self, key: str) -> WorldCompany:
        """A platform by domain, name or any of its hosts."""
        wanted = key.strip().lower().rstrip(".")
        for platform in self.platforms:
            if wanted in platform.hosts or wanted == platform.name.lower():
                return platform
        raise KeyError(f"no platform {key!r} in world {self.name!r}")

    def company(self, key: str | WorldCompany) -> WorldCompany:
        """Look a company up by domain, name or any of its hosts."""
        if isinstance(key, WorldCompany):
            return key
        wanted = key.strip().lower().rstrip(".")
        for company in self.companies:
            if wanted in company.hosts or wanted == company.name.lower():
                return company
        raise KeyError(f"no company {key!r} in world {self.name!r}")

    @cached_property
    def sites(self) -> dict[str, tuple[WorldCompany, str]]:
        """host -> (company, host whose pages it serves); aliases serve the domain's pages."""
        out: dict[str, tuple[WorldCompany, str]] = {}
        for company in (*self.companies, *self.platforms):
            for host in company.hosts:
                out[host] = (company, company.domain if host in company.aliases else host)
        return out

    @cached_property
    def port_hosts(self) -> frozenset[str]:
        """Hosts whose port-less URLs get the lab's HTTP port: the companies', not platforms'."""
        return frozenset(h for c in self.companies for h in c.hosts)

    @cached_property
    def hostnames(self) -> tuple[str, ...]:
        """Every name a TLS certificate must cover: sites, platforms, mail hosts."""
        names = dict.fromkeys(self.sites)
        names.update(dict.fromkeys(m.name for m in self.mail_hosts))
        return tuple(names)

    @cached_property
    def private_targets(self) -> dict[str, tuple[str, ...]]:
        """Company domain -> the non-loopback addresses its names answer (10.0.0.1, ...).

        Such a company must only be audited without --allow-private-targets: with it,
        the auditor would really try to reach those addresses outside the machine.
        """
        out: dict[str, tuple[str, ...]] = {}
        for company in self.companies:
            zone = company.zone
            found = [
                a for rec in (zone.names.values() if zone else ()) for a in (*rec.a, *rec.aaaa)
                if not ipaddress.ip_address(a).is_loopback
            ]
            if found:
                out[company.domain] = tuple(dict.fromkeys(found))
        return out

    @cached_property
    def zones(self) -> dict[str, Zone]:
        return {
            c.domain: c.zone for c in (*self.companies, *self.platforms) if c.zone is not None
        }

    def zone_for(self, name: str) -> Zone | None:
        """The zone that ``name`` falls in, or None when the lab is not authoritative."""
        name = name.lower().rstrip(".")
        while name:
            zone = self.zones.get(name)
            if zone is not None:
                return zone
            name = name.partition(".")[2]
        return None


def lab_url(url: str, port: int, hosts: Iterable[str]) -> str:
    """``url`` with ``:port`` added when its host is a lab host and has no port.

    Non-ASCII paths are percent-encoded (UTF-8), as a browser or Scrapy would send them.
    Anything that is not an http(s) URL is returned unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return url
    netloc = parts.netloc
    if parts.port is None and parts.hostname in hosts:
        netloc = f"{parts.hostname}:{port}"
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
