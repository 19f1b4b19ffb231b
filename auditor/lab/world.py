"""The lab's world file: fictional companies, their sites, their DNS and the ground truth.

A world is one TOML file (plus optional page/template files in a folder named after
it). Loading validates everything up front -- unknown keys, bad statuses, invalid
phone numbers, template syntax -- so a typo fails with the company and field named,
not as a puzzling crawl result later. The servers only read the loaded objects.

Format in brief (see ``worlds/default.toml`` for a full example)::

    [world]
    name = "default"

    [templates]                      # optional shared jinja2 templates by name
    "card.html" = "..."              # files in worlds/<name>/ are templates too

    [[company]]
    name = "Kovács Autószerviz Kft."
    domain = "kovacs-szerviz.hu"     # a registrable domain (PSL)
    country = "HU"                   # ISO 3166 alpha-2
    industry = "automotive repair"
    language = "hu"
    website = "http://kovacs-szerviz.hu/"   # default; a path ("/en/") or another host of the company
    aliases = ["www"]                # hosts serving the same site as the domain (default)
    layout = "{% extends 'base.html' %}..."  # the company's page layout (optional)
    robots = "User-agent: *..."      # /robots.txt (jinja2); none -> 404
    page_defaults = { charset = "windows-1251" }   # merged under every page
    sitemap = ["/", "/kontakt"]      # /sitemap.xml generated from paths, or a jinja2 string
                                     # ('/paths' here and in the truth are on the website's host)

    [[company.pages]]
    path = "/rolunk"                 # decoded path; "*" answers every unlisted path
    host = "@"                       # "@" (default), a label ("support") or "fqdn."
    title = "Rólunk"
    main = "<h1>...</h1>"            # wrapped in the layout's main block
    # or: body = "..." (whole template), file = "teashop/about.html", raw = true (no jinja)
    # or: redirect = "/ro/" (status 301 unless given; absolute world URLs get the lab port)
    status = 200
    head_status = 405                # what HEAD gets instead (GET keeps status): no body, the
                                     # page's headers ("Allow" = "GET"); a 3xx one needs redirect
    content_type = "text/html"
    charset = "utf-8"                # e.g. "windows-1250": the body is encoded with it
    header_charset = true            # false: charset only in <meta>, not in Content-Type
    headers = { "X-Frame-Options" = "DENY" }
    delay = 0.0                      # seconds before answering
    repeat = 80                      # generate n = 1..80; path/title/main/redirect may use {{ n }}
    fault = "huge"                   # a misbehaving answer (see PAGE_FAULTS below), with:
    size = 52428800                  # its size: bytes, links, nesting depth (per fault)
    length = false                   # huge: send no Content-Length (default true)

    tls = "expired"                  # the certificate its hosts present over HTTPS: valid
                                     # (default) | self-signed | expired | wrong-host
                                     # (website may then be "https://...": served on the HTTPS port)

    [company.dns]
    behaviour = "nxdomain"           # whole zone: nxdomain | servfail | timeout (names also: huge)
    records = { "@" = { mx = "null" }, "www" = { cname = "@" }, "_dmarc" = { txt = ["v=DMARC1; p=none"] } }

    [[company.mail]]                 # a lab mail server (none: mx1 -> 127.0.0.1, no SMTP)
    host = "mx1"                     # MX name ("@": the domain itself, implicit MX on 127.0.0.1)
    behaviour = "mailboxes"          # see auditor/lab/smtp.py, or "closed" (connection refused)
    mailboxes = ["info", "ugyfelszolgalat"]   # local parts (or full addresses) that exist
    preference = 10                  # MX preference
    ip = "127.0.0.42"                # optional: a loopback address (default: the next free one)

    [company.truth]
    must_fetch = ["/rolunk/kapcsolat"]      # pages a correct crawl fetches (status 200)
    must_not_fetch = ["/kontakt/"]           # own pages no run may ever request
    external = ["http://other.com.tr/iletisim"]  # links to record, not follow (when audited alone)
    failure = "dns-failure"          # the site cannot be audited: a tag of auditor/data/reasons.toml
    notes = "..."
    contacts = [ { kind = "phone", value = "+36 1 555 0123", label = "Ügyfélszolgálat", page = "/rolunk/kapcsolat",
                   verdict = "unknown", reason = "not-dialled", flags = [] } ]
    must_not_harvest = [ { kind = "phone", value = "+49 30 23125 200", page = "/kontakt/" } ]

    [[platform]]                     # a service the validators load (t.me, a chat CDN), not audited
    name = "Telegram"
    domain = "t.me"
    aliases = []                     # no www by default
    [[platform.pages]]               # pages as for a company; served over http and https
    path = "/tehnoservis_help"

Templates (jinja2, autoescaped) see ``company``, ``host``, ``port``, ``site`` (the
website's base URL with port), ``url(x)`` (absolute lab URL of a path on this host or
of a port-less world URL), ``layout``, ``page`` (the path), ``title``, ``charset``
and ``n`` for repeated pages. The built-in ``base.html`` has the blocks title, head,
nav, main, footer and scripts.

DNS defaults: the domain gets A 127.0.0.1 and ``MX 10 mx1.<domain>``; ``www`` (every
alias), ``mx1``, ``ns1`` and every page host get A 127.0.0.1. Declared mail hosts replace
the MX set (``MX pref host`` each, none when the only one is ``@``) and their names get A
records to their own loopback addresses, where the lab's SMTP servers listen. A ``records`` entry
overrides the fields it names (``mx = []`` removes the MX, ``mx = "null"`` is the
null MX, ``cname`` replaces the address); a new name listed with no data gets A
127.0.0.1. Names are relative to the domain unless they end with a dot.

Truth contact values are normalized on load the way the extractors normalize them:
phones to E.164 (must be valid for the company's country), emails lower-cased (must
be on a world domain), chat as the provider slug, messaging as the canonical deep
link, a form as its action URL, opening hours in opening_hours style ("Mo-Fr
07:30-17:00; Sa 08:00-12:00"); paths become absolute URLs without a port
(:meth:`Truth.with_port` adds the lab's). ``contacts`` is exhaustive: anything else
harvested from the site is a false positive.

A truth contact may say what a correct validator concludes about it: ``verdict``
(active | inactive | unknown), ``reason`` (a tag of auditor/data/reasons.toml) and
``flags`` it must carry. A phone number that is not valid for the company's country is
refused unless its verdict is ``inactive`` (a deliberately broken number).

Page faults (``fault = ...``) are the hostile and broken answers of the fault matrix
(``worlds/faults.toml``); the lab streams or generates them, never holding a huge body::

    huge          ``size`` bytes of filler HTML, streamed (``length = false``: no Content-Length)
    drip          headers at once, then one body byte per second (``size`` bytes in all)
    gzip-bomb     Content-Encoding gzip: ~1 MB on the wire that inflates to ``size`` bytes
    brotli-bomb   Content-Encoding br, the same with brotli
    reset         Content-Length of the whole page, half of it, then a TCP reset
    header-flood  an endless stream of response header lines, never a body
    calendar      an infinite calendar: every day links the next and previous day and month
    session-trap  every answer links its own paths again with a fresh ``?sid=`` token
    many-links    a page with ``size`` links (default 100,000)
    nested        the page's body wrapped in ``size`` nested <div> elements (default 100,000)
    binary        ``size`` random bytes under the page's content type (text/html)

A name answering a non-loopback private address (``a = ["10.0.0.1"]``, 169.254.169.254)
tests the address guard; such a world is only ever audited *without*
``--allow-private-targets`` (nothing in the lab listens there). Public addresses are refused.

Platforms (``[[platform]]``) are the outside services the validators fetch -- t.me,
wa.me, m.me, chat widget CDNs -- as fictional lab copies: they resolve only through the
lab DNS, are served on the lab's HTTP and HTTPS ports, are never audited, and URLs to
them keep no port (the validators reach them through their per-scheme port overrides).
"""

from __future__ import annotations

import codecs
import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import jinja2
import phonenumbers

from auditor.lab.smtp import BEHAVIOURS as SMTP_BEHAVIOURS
from auditor.models import KINDS
from auditor.net.domains import registrable_domain

WORLDS_DIR = Path(__file__).with_name("worlds")
DEFAULT_WORLD = WORLDS_DIR / "default.toml"
FAULTS_WORLD = WORLDS_DIR / "faults.toml"
LINKS_WORLD = WORLDS_DIR / "links.toml"  # hosts the link checks meet: 405 to HEAD, soft 404, ...
BEHAVIOURS = ("nxdomain", "servfail", "timeout")
NAME_BEHAVIOURS = (*BEHAVIOURS, "huge")  # huge: an answer of ~60 KB (hundreds of records)
PAGE_FAULTS = (
    "huge", "drip", "gzip-bomb", "brotli-bomb", "reset", "header-flood", "calendar",
    "session-trap", "many-links", "nested", "binary",
)
TLS_MODES = ("valid", "self-signed", "expired", "wrong-host")
DEFAULT_ADDRESS = "127.0.0.1"
CATCH_ALL = "*"
VERDICTS = ("active", "inactive", "unknown")
# "closed": the name resolves, nothing listens (connection refused), as a dead backup MX.
MAIL_BEHAVIOURS = (*SMTP_BEHAVIOURS, "closed")
WEB_ADDRESS = DEFAULT_ADDRESS  # where every site (and an implicit-MX mail host) lives
FIRST_MAIL_ADDRESS = "127.0.0.20"  # mail hosts without an ``ip`` get the next free one from here
_HOST_RE = re.compile(
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


# --------------------------------------------------------------------------- loading


def load_world(path: str | Path | None = None) -> World:
    """Load and validate a world file; None loads the shipped default world."""
    path = Path(path) if path is not None else DEFAULT_WORLD
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"{path}: cannot read world file: {exc}") from exc
    return parse_world(text, source=str(path), base_dir=path.parent / path.stem)


def parse_world(text: str, source: str = "<world>", base_dir: Path | None = None) -> World:
    """Validate a world given as TOML text; ``base_dir`` holds its page files."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorldError(f"{source}: not valid TOML: {exc}") from exc
    world = _Loader(source, base_dir).world(data)
    # A trial render finds what compiling cannot: a missing layout, an undefined name.
    from auditor.lab.http import Sites  # the renderer lives with the server that uses it

    try:
        Sites(world, port=1)
    except WorldError as exc:
        raise WorldError(f"{source}: {exc}") from None
    return world


class _Fields:
    """Reads a TOML table, naming the place in every error and rejecting unknown keys."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise WorldError(f"{source}: {where}: expected a table, got {data!r}")
        self.data = data
        self.where = where
        self.source = source
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> WorldError:
        return WorldError(f"{self.source}: {self.where}: {key}: {message}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints in Python; never accept one where a number is meant.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(_type_name(k) for k in kinds)
            raise self.fail(key, f"expected {names}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise WorldError(f"{self.source}: {self.where}: unknown key(s) {', '.join(unknown)}")


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)


class _Loader:
    """Builds a World from parsed TOML, one validated piece at a time."""

    def __init__(self, source: str, base_dir: Path | None) -> None:
        self.source = source
        self.base_dir = base_dir
        self.templates: dict[str, str] = {}
        loaders: list[jinja2.BaseLoader] = [jinja2.DictLoader(self.templates)]
        if base_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(base_dir)))
        loaders.append(jinja2.DictLoader({"base.html": _BASE_LAYOUT}))
        # Keep trailing newlines and never silently print undefined names.
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self.text_env = self.env.overlay(autoescape=False)
        self._ip_cursor = 0
        self._auto_ips: set[str] = set()
        self._fixed_ips: set[str] = set()

    # -- top level

    def world(self, data: dict[str, Any]) -> World:
        top = _Fields(data, "top level", self.source)
        meta = _Fields(top.get("world", dict, {}), "[world]", self.source)
        name = meta.get("name", str, Path(self.source).stem)
        description = meta.get("description", str, "")
        meta.done()
        templates = top.get("templates", dict, {})
        for key, value in templates.items():
            if not isinstance(value, str):
                raise WorldError(f"{self.source}: [templates]: {key}: expected a string")
            self.templates[key] = value
        raw_companies = top.get("company", list, [])
        raw_platforms = top.get("platform", list, [])
        top.done()
        if not raw_companies:
            raise WorldError(f"{self.source}: the world has no [[company]]")

        domains = [self._peek_domain(c, i) for i, c in enumerate(raw_companies)]
        platform_domains = [
            self._peek_domain(p, i, "platform") for i, p in enumerate(raw_platforms)
        ]
        every = domains + platform_domains
        dupes = sorted({d for d in every if every.count(d) > 1})
        if dupes:
            raise WorldError(
                f"{self.source}: domain(s) used by more than one company: {', '.join(dupes)}"
                " (companies and platforms share one set of domains)"
            )
        self.world_domains = frozenset(domains)

        companies = [self.company(raw, d) for raw, d in zip(raw_companies, domains, strict=True)]
        platforms = [
            self.platform(raw, d) for raw, d in zip(raw_platforms, platform_domains, strict=True)
        ]
        world = World(
            name=name,
            companies=tuple(companies),
            source=self.source,
            description=description,
            platforms=tuple(platforms),
        )
        self.check_references(world)
        self.check_mail(world)
        return world

    def _peek_domain(self, raw: Any, index: int, what: str = "company") -> str:
        where = f"{what} #{index + 1}"
        fields = _Fields(raw, where, self.source)
        domain = fields.get("domain", str, required=True).strip().lower().rstrip(".")
        if not _HOST_RE.match(domain) or registrable_domain(domain) != domain:
            raise fields.fail(
                "domain", f"{domain!r} is not a registrable domain (like firma.com.tr)"
            )
        return domain

    # -- one company

    def company(self, raw: dict[str, Any], domain: str) -> WorldCompany:
        f = _Fields(raw, f"company {domain!r}", self.source)
        f.get("domain", str)
        name = f.get("name", str, required=True).strip()
        if not name:
            raise f.fail("name", "must not be empty")
        country = f.get("country", str)
        if country is not None:
            country = country.strip().upper()
            if not re.fullmatch(r"[A-Z]{2}", country):
                raise f.fail(
                    "country", f"expected an ISO 3166 alpha-2 code like 'HU', got {country!r}"
                )
        industry = f.get("industry", str)
        language = f.get("language", str)
        alias_names = f.strings("aliases") if "aliases" in raw else ("www",)
        aliases = tuple(self.host(a, domain, f, "aliases") for a in alias_names)
        layout_src = f.get("layout", str)
        layout = "base.html"
        if layout_src is not None:
            layout = f"layout:{domain}"
            self.templates[layout] = layout_src
            self.compile(layout_src, f, "layout", env=self.env)

        defaults = f.get("page_defaults", dict, {})
        pages: list[Page] = []
        for i, raw_page in enumerate(f.get("pages", list, [])):
            merged = {**defaults, **raw_page} if isinstance(raw_page, dict) else raw_page
            pages.extend(self.pages(merged, i, domain))

        website = self.website(f.get("website", str), domain, aliases, pages, f)
        site_host = urlsplit(website).hostname or domain
        robots_src = f.get("robots", str)
        robots = (
            self.compile(robots_src, f, "robots", env=self.text_env)
            if robots_src is not None
            else None
        )
        sitemap_raw = f.get("sitemap", (list, str))
        sitemap: tuple[str, ...] | jinja2.Template | None = None
        if isinstance(sitemap_raw, str):
            sitemap = self.compile(sitemap_raw, f, "sitemap", env=self.env)
        elif sitemap_raw is not None:
            sitemap = tuple(self.ref(s, site_host, f, "sitemap") for s in f.strings("sitemap"))

        seen: set[tuple[str, str]] = set()
        for page in pages:
            if (page.host, page.path) in seen:
                raise f.fail("pages", f"{page.host}{page.path} is defined twice")
            seen.add((page.host, page.path))
        for special, given in (("/robots.txt", robots), ("/sitemap.xml", sitemap)):
            if given is not None and (domain, special) in seen:
                raise f.fail(
                    "pages",
                    f"{special} is given both as a page and as {special[1:].split('.')[0]} =",
                )

        mail = tuple(
            self.mail(raw_mail, i, domain) for i, raw_mail in enumerate(f.get("mail", list, []))
        )
        tls = f.get("tls", str, "valid")
        if tls not in TLS_MODES:
            raise f.fail("tls", f"expected one of {', '.join(TLS_MODES)}, got {tls!r}")
        zone = self.zone(f.get("dns", dict, {}), domain, aliases, pages, mail)
        company = WorldCompany(
            name=name,
            domain=domain,
            website=website,
            country=country,
            industry=industry,
            language=language,
            aliases=aliases,
            pages=tuple(pages),
            robots=robots,
            sitemap=sitemap,
            layout=layout,
            zone=zone,
            mail=mail,
            tls=tls,
        )
        truth = self.truth(f.get("truth", dict, {}), company)
        f.done()
        return replace(company, truth=truth)

    def platform(self, raw: dict[str, Any], domain: str) -> WorldCompany:
        """A service the validators load: pages and DNS like a company, nothing else."""
        f = _Fields(raw, f"platform {domain!r}", self.source)
        f.get("domain", str)
        name = f.get("name", str, required=True).strip()
        aliases = tuple(self.host(a, domain, f, "aliases") for a in f.strings("aliases"))
        f.get("notes", str)
        defaults = f.get("page_defaults", dict, {})
        pages: list[Page] = []
        for i, raw_page in enumerate(f.get("pages", list, [])):
            merged = {**defaults, **raw_page} if isinstance(raw_page, dict) else raw_page
            pages.extend(self.pages(merged, i, domain))
        seen: set[tuple[str, str]] = set()
        for page in pages:
            if (page.host, page.path) in seen:
                raise f.fail("pages", f"{page.host}{page.path} is defined twice")
            seen.add((page.host, page.path))
        zone = self.zone(f.get("dns", dict, {}), domain, aliases, pages)
        f.done()
        return WorldCompany(
            name=name,
            domain=domain,
            website=f"http://{domain}/",
            aliases=aliases,
            pages=tuple(pages),
            zone=zone,
        )

    def mail(self, raw: Any, index: int, domain: str) -> MailHost:
        """One ``[[company.mail]]`` host; its address is checked and handed out here."""
        f = _Fields(raw, f"company {domain!r} mail[{index}]", self.source)
        host_raw = f.get("host", str, "mx1")
        f.where += f" ({host_raw})"
        implicit = host_raw.strip() in ("@", "")
        name = self.host(host_raw, domain, f, "host")  # "@" is the domain itself
        behaviour = f.get("behaviour", str, "mailboxes")
        if behaviour not in MAIL_BEHAVIOURS:
            raise f.fail(
                "behaviour", f"expected one of {', '.join(MAIL_BEHAVIOURS)}, got {behaviour!r}"
            )
        preference = f.get("preference", int, 10)
        if not 0 <= preference <= 65535:
            raise f.fail("preference", f"must be 0-65535, got {preference}")
        boxes = []
        for box in f.strings("mailboxes"):
            box = box.strip().lower()
            if not box or box.startswith("@") or box.endswith("@"):
                raise f.fail("mailboxes", f"{box!r} is not a local part or an address")
            boxes.append(box if "@" in box else f"{box}@{domain}")
        ip_raw = f.get("ip", str)
        f.done()
        if implicit:
            # The domain's own address is where its website lives: the only web address.
            if ip_raw is not None and ip_raw != WEB_ADDRESS:
                raise f.fail("ip", f"the domain itself lives on {WEB_ADDRESS}, got {ip_raw!r}")
            ip = WEB_ADDRESS
        elif ip_raw is not None:
            ip = self.address(ip_raw, 4, f, "ip")
            if ip in self._auto_ips:
                raise f.fail("ip", f"{ip} was already handed out to another mail host")
            self._fixed_ips.add(ip)
        else:
            ip = self._next_mail_ip()
        return MailHost(
            name=name,
            ip=ip,
            behaviour=behaviour,
            mailboxes=tuple(boxes),
            preference=preference,
            company=domain,
            implicit=implicit,
        )

    def _next_mail_ip(self) -> str:
        while True:
            candidate = str(ipaddress.IPv4Address(FIRST_MAIL_ADDRESS) + self._ip_cursor)
            self._ip_cursor += 1
            if not ipaddress.IPv4Address(candidate).is_loopback:
                raise WorldError(f"{self.source}: out of loopback addresses for mail hosts")
            if candidate not in self._fixed_ips and candidate != WEB_ADDRESS:
                self._auto_ips.add(candidate)
                return candidate

    def check_mail(self, world: World) -> None:
        """Hosts sharing one address are one server: they must behave alike."""
        by_ip: dict[str, MailHost] = {}
        names: set[str] = set()
        for host in world.mail_hosts:
            where = f"{self.source}: company {host.company!r} mail ({host.name})"
            if host.name in names:
                raise WorldError(f"{where}: the mail host is declared twice")
            names.add(host.name)
            other = by_ip.setdefault(host.ip, host)
            if other.behaviour != host.behaviour:
                raise WorldError(
                    f"{where}: shares {host.ip} with {other.name}, which is {other.behaviour!r}, "
                    f"not {host.behaviour!r}"
                )

    def host(self, value: str, domain: str, f: _Fields, key: str) -> str:
        """'@' -> domain, 'www' -> www.domain, 'x.y.' -> x.y (must be within the domain)."""
        value = value.strip().lower()
        if value in ("@", ""):
            return domain
        host = value[:-1] if value.endswith(".") else f"{value}.{domain}"
        if not _HOST_RE.match(host):
            raise f.fail(key, f"{value!r} is not a valid host name")
        if host != domain and not host.endswith("." + domain):
            raise f.fail(key, f"{value!r} is outside the company's domain {domain}")
        return host

    def website(
        self,
        value: str | None,
        domain: str,
        aliases: tuple[str, ...],
        pages: list[Page],
        f: _Fields,
    ) -> str:
        if value is None:
            return f"http://{domain}/"
        if value.startswith("/"):
            return f"http://{domain}{value}"
        parts = urlsplit(value if "://" in value else f"http://{value}")
        host = (parts.hostname or "").lower()
        own = {domain, *aliases, *(p.host for p in pages)}
        if parts.scheme not in ("http", "https"):
            raise f.fail("website", f"the lab serves http and https only, got {value!r}")
        if host not in own:
            raise f.fail(
                "website",
                f"host {host!r} is not served by this company (hosts: {', '.join(sorted(own))})",
            )
        return urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))

    def ref(self, value: str, host: str, f: _Fields, key: str) -> str:
        """A page reference: '/path' on ``host`` (the website's), or an absolute http URL."""
        value = value.strip()
        if value.startswith("/"):
            return f"http://{host}{value}"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise f.fail(key, f"expected a path ('/kontakt') or an http URL, got {value!r}")
        if parts.port is not None:
            raise f.fail(key, f"leave the port out of {value!r}: the lab adds its own")
        return value

    # -- pages

    def pages(self, raw: Any, index: int, domain: str) -> list[Page]:
        f = _Fields(raw, f"company {domain!r} pages[{index}]", self.source)
        path = f.get("path", str, required=True)
        f.where += f" ({path})"
        if path != CATCH_ALL and not path.startswith("/"):
            raise f.fail("path", f"must start with '/' (or be '*'), got {path!r}")
        host = self.host(f.get("host", str, "@"), domain, f, "host")
        status = f.get("status", int)
        redirect = f.get("redirect", str)
        if redirect is not None:
            status = 301 if status is None else status
            if not 300 <= status <= 399:
                raise f.fail("status", f"a redirect needs a 3xx status, got {status}")
        status = 200 if status is None else status
        if not 100 <= status <= 599:
            raise f.fail("status", f"expected an HTTP status 100-599, got {status}")
        content_type = f.get("content_type", str, "text/html")
        charset = f.get("charset", str, "utf-8")
        try:
            codecs.lookup(charset)  # keep the author's spelling: it is what the page declares
        except LookupError:
            raise f.fail("charset", f"unknown encoding {charset!r}") from None
        header_charset = f.get("header_charset", bool, True)
        headers_raw = f.get("headers", dict, {})
        for k, v in headers_raw.items():
            if not isinstance(v, str):
                raise f.fail("headers", f"{k}: expected a string value, got {v!r}")
        title = f.get("title", str, "")
        delay = float(f.get("delay", (int, float), 0.0))
        if delay < 0:
            raise f.fail("delay", "must not be negative")
        repeat = f.get("repeat", int)
        if repeat is not None and repeat < 1:
            raise f.fail("repeat", "must be at least 1")
        raw_flag = f.get("raw", bool, False)
        fault = f.get("fault", str)
        if fault is not None and fault not in PAGE_FAULTS:
            raise f.fail("fault", f"expected one of {', '.join(PAGE_FAULTS)}, got {fault!r}")
        size = f.get("size", int)
        if size is not None and (fault is None or size < 0):
            raise f.fail("size", "belongs to a fault and must not be negative")
        length = f.get("length", bool, True)
        if fault is not None and redirect is not None:
            raise f.fail("fault", "a redirect cannot also be a fault")
        head_status = f.get("head_status", int)
        if head_status is not None:
            if not 100 <= head_status <= 599:
                raise f.fail("head_status", f"expected an HTTP status 100-599, got {head_status}")
            if fault is not None:
                raise f.fail("head_status", "a fault answers every method alike")
            if 300 <= head_status <= 399 and redirect is None:
                raise f.fail("head_status", "a 3xx answer to HEAD needs the page's redirect")
        sources = {k: f.get(k, str) for k in ("main", "body", "file")}
        given = [k for k, v in sources.items() if v is not None]
        if len(given) > 1:
            raise f.fail(given[1], f"give only one of main, body, file (got {', '.join(given)})")
        if given and redirect is not None:
            raise f.fail(given[0], "a redirect has no body")
        f.done()

        source: str | None = None
        if sources["main"] is not None:
            source = "{% extends layout %}{% block main %}" + sources["main"] + "{% endblock %}"
        elif sources["body"] is not None:
            source = sources["body"]
        elif sources["file"] is not None:
            source = self.read_file(sources["file"], f)
        if raw_flag and sources["main"] is not None:
            raise f.fail("raw", "'main' needs the layout template; use body = ... with raw = true")

        base = dict(
            host=host,
            status=status,
            content_type=content_type,
            charset=charset,
            header_charset=header_charset,
            headers=tuple(headers_raw.items()),
            delay=delay,
            fault=fault,
            size=size,
            length=length,
            head_status=head_status,
        )
        numbers = range(1, repeat + 1) if repeat is not None else [None]
        if repeat is not None and "{{" not in path:
            raise f.fail("path", "a repeated page needs {{ n }} in its path")
        out = []
        template = (
            None if raw_flag or source is None else self.compile(source, f, "body", env=self.env)
        )
        for n in numbers:
            vars_ = {} if n is None else {"n": n}
            page_path = self.render_small(path, vars_, f, "path") if n is not None else path
            page_title = self.render_small(title, vars_, f, "title") if n is not None else title
            page_redirect = (
                self.render_small(redirect, vars_, f, "redirect")
                if n is not None and redirect is not None
                else redirect
            )
            out.append(
                Page(
                    path=page_path,
                    title=page_title,
                    raw_body=source if raw_flag else None,
                    template=template,
                    vars=vars_,
                    redirect=page_redirect,
                    **base,
                )
            )
        return out

    def read_file(self, name: str, f: _Fields) -> str:
        if self.base_dir is None:
            raise f.fail("file", "this world has no page folder")
        path = (self.base_dir / name).resolve()
        if self.base_dir.resolve() not in path.parents:
            raise f.fail("file", f"{name!r} is outside the world's page folder")
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise f.fail("file", f"cannot read {path}: {exc}") from None

    def compile(
        self, source: str, f: _Fields, key: str, env: jinja2.Environment
    ) -> jinja2.Template:
        try:
            return env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise f.fail(key, f"template error line {exc.lineno}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise f.fail(key, f"template {exc.name!r} not found") from None

    def render_small(self, text: str, vars_: Mapping[str, Any], f: _Fields, key: str) -> str:
        try:
            return self.text_env.from_string(text).render(**vars_)
        except jinja2.TemplateError as exc:
            raise f.fail(key, f"template error: {exc}") from None

    # -- DNS

    def zone(
        self,
        raw: dict[str, Any],
        domain: str,
        aliases: tuple[str, ...],
        pages: list[Page],
        mail: tuple[MailHost, ...] = (),
    ) -> Zone:
        f = _Fields(raw, f"company {domain!r} dns", self.source)
        behaviour = f.get("behaviour", str)
        if behaviour is not None and behaviour not in BEHAVIOURS:
            raise f.fail("behaviour", f"expected one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
        ttl = f.get("ttl", int, 300)
        records_raw = f.get("records", dict, {})
        f.done()

        a = NameRecords(a=(DEFAULT_ADDRESS,))
        names: dict[str, NameRecords] = {
            domain: NameRecords(a=(DEFAULT_ADDRESS,), mx=((10, f"mx1.{domain}"),))
        }
        for host in (*aliases, f"mx1.{domain}", f"ns1.{domain}", *(p.host for p in pages)):
            names.setdefault(host, a)
        if mail:
            names[domain] = replace(
                names[domain], mx=tuple((m.preference, m.name) for m in mail if not m.implicit)
            )
            for m in mail:
                if not m.implicit:
                    names[m.name] = replace(names.get(m.name, NameRecords()), a=(m.ip,))
        for key, value in records_raw.items():
            rf = _Fields(value, f"company {domain!r} dns.records.{key}", self.source)
            name = self.host(key, domain, rf, "name")
            names[name] = self.records(rf, domain, name, names.get(name))
        return Zone(origin=domain, names=names, behaviour=behaviour, ttl=ttl)

    def records(
        self, f: _Fields, domain: str, name: str, default: NameRecords | None
    ) -> NameRecords:
        def absolute(target: str, key: str) -> str:
            target = target.strip().lower()
            if target == "@":
                return domain
            out = target[:-1] if target.endswith(".") else f"{target}.{domain}"
            if not _HOST_RE.match(out):
                raise f.fail(key, f"{target!r} is not a valid host name")
            return out

        changes: dict[str, Any] = {}
        if "a" in f.data:
            changes["a"] = tuple(
                self.address(v, 4, f, "a", private_ok=True) for v in f.strings("a")
            )
        if "aaaa" in f.data:
            changes["aaaa"] = tuple(
                self.address(v, 6, f, "aaaa", private_ok=True) for v in f.strings("aaaa")
            )
        if "txt" in f.data:
            changes["txt"] = f.strings("txt")
        if "mx" in f.data:
            mx = f.get("mx", (list, str))
            if mx == "null":
                changes["mx"] = ((0, "."),)
            elif isinstance(mx, str):
                raise f.fail("mx", f'expected a list of [preference, host] or "null", got {mx!r}')
            else:
                items = []
                for item in mx:
                    if not (
                        isinstance(item, list)
                        and len(item) == 2
                        and isinstance(item[0], int)
                        and isinstance(item[1], str)
                    ):
                        raise f.fail("mx", f"expected [preference, host] pairs, got {item!r}")
                    if not 0 <= item[0] <= 65535:
                        raise f.fail("mx", f"preference must be 0-65535, got {item[0]}")
                    items.append((item[0], absolute(item[1], "mx")))
                changes["mx"] = tuple(items)
        cname = f.get("cname", str)
        if cname is not None:
            if name == domain:
                raise f.fail("cname", "the domain itself cannot be a CNAME (it holds SOA and NS)")
            changes["cname"] = absolute(cname, "cname")
            changes.setdefault("a", ())
        behaviour = f.get("behaviour", str)
        if behaviour is not None:
            if behaviour not in NAME_BEHAVIOURS:
                raise f.fail(
                    "behaviour",
                    f"expected one of {', '.join(NAME_BEHAVIOURS)}, got {behaviour!r}",
                )
            changes["behaviour"] = behaviour
        f.done()
        base = (
            default
            if default is not None
            else (NameRecords() if changes else NameRecords(a=(DEFAULT_ADDRESS,)))
        )
        out = replace(base, **changes)
        if out.cname and (out.a or out.aaaa or out.mx or out.txt):
            raise f.fail("cname", "a CNAME name cannot hold other records")
        return out

    def address(
        self, value: str, version: int, f: _Fields, key: str, private_ok: bool = False
    ) -> str:
        """Loopback addresses: nothing in the lab may point at the outside world.

        ``private_ok`` (DNS records only) also lets a name answer a private, link-local
        or reserved address -- the address guard's test cases. A public address never.
        """
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            raise f.fail(key, f"{value!r} is not an IP address") from None
        allowed = ip.is_loopback or (private_ok and not ip.is_global and not ip.is_multicast)
        if ip.version != version or not allowed:
            raise f.fail(key, f"{value!r}: the lab only hands out IPv{version} loopback addresses"
                         + (" (or private ones, never public)" if private_ok else ""))
        return str(ip)

    # -- truth

    def truth(self, raw: dict[str, Any], company: WorldCompany) -> Truth:
        f = _Fields(raw, f"company {company.domain!r} truth", self.source)

        def refs(key: str) -> tuple[str, ...]:
            return tuple(self.ref(v, company.site_host, f, key) for v in f.strings(key))

        def contacts(key: str) -> tuple[TruthContact, ...]:
            return tuple(
                self.contact(c, i, key, company) for i, c in enumerate(f.get(key, list, []))
            )

        truth = Truth(
            contacts=contacts("contacts"),
            must_not_harvest=contacts("must_not_harvest"),
            must_fetch=refs("must_fetch"),
            must_not_fetch=refs("must_not_fetch"),
            external=refs("external"),
            failure=self.failure_tag(f),
            notes=f.get("notes", str, "").strip(),
        )
        f.done()
        return truth

    def failure_tag(self, f: _Fields) -> str | None:
        """A failure must be one of the project's reason tags, or tests compare apples to pears."""
        tag = f.get("failure", str)
        known = _reason_tags()
        if tag is not None and known and tag not in known:
            raise f.fail("failure", f"{tag!r} is not a reason tag of auditor/data/reasons.toml")
        return tag

    def contact(self, raw: Any, index: int, key: str, company: WorldCompany) -> TruthContact:
        f = _Fields(raw, f"company {company.domain!r} truth.{key}[{index}]", self.source)
        kind = f.get("kind", str, required=True)
        if kind not in KINDS:
            raise f.fail("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
        value = f.get("value", str, required=True).strip()
        f.where += f" ({value})"
        label = f.get("label", str)
        page = self.ref(f.get("page", str, required=True), company.site_host, f, "page")
        verdict = f.get("verdict", str)
        if verdict is not None and verdict not in VERDICTS:
            raise f.fail("verdict", f"expected one of {', '.join(VERDICTS)}, got {verdict!r}")
        reason = f.get("reason", str)
        known = _reason_tags()
        if reason is not None and known and reason not in known:
            raise f.fail("reason", f"{reason!r} is not a reason tag of auditor/data/reasons.toml")
        if (verdict is None) != (reason is None):
            raise f.fail("verdict" if verdict is None else "reason", "give verdict and reason together")
        flags = f.strings("flags")
        if flags and verdict is None:
            raise f.fail("flags", "flags belong to a verdict; give verdict and reason too")
        f.done()
        contact = TruthContact(
            kind=kind, value=value, page=page, label=label, verdict=verdict, reason=reason,
            flags=flags,
        )
        normalize = _NORMALIZERS.get(kind)
        if normalize is not None:
            contact = replace(contact, value=normalize(self, contact, company, f))
        return contact

    def _phone(self, contact: TruthContact, company: WorldCompany, f: _Fields) -> str:
        try:
            number = phonenumbers.parse(contact.value, company.country)
        except phonenumbers.NumberParseException as exc:
            raise f.fail("value", f"not a phone number ({exc})") from None
        if not phonenumbers.is_valid_number(number) and contact.verdict != "inactive":
            raise f.fail(
                "value",
                f"not a valid number for region {company.country} "
                '(a deliberately invalid one needs verdict = "inactive")',
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _email(self, contact: TruthContact, company: WorldCompany, f: _Fields) -> str:
        value = contact.value
        value = value.lower()
        local, _, host = value.rpartition("@")
        if not local or registrable_domain(host) not in self.world_domains:
            raise f.fail("value", "an email must be on a domain of the world (nothing real)")
        return value

    def _url(self, contact: TruthContact, company: WorldCompany, f: _Fields) -> str:
        value = contact.value
        if value.startswith("/"):
            return f"http://{company.site_host}{value}"
        if ":" not in value:
            raise f.fail("value", f"expected a URL or a path, got {value!r}")
        return value

    def _slug(self, contact: TruthContact, company: WorldCompany, f: _Fields) -> str:
        value = contact.value
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", value.lower()):
            raise f.fail(
                "value", f"a chat value is a provider slug like 'smartsupp', got {value!r}"
            )
        return value.lower()

    # -- cross checks

    def check_references(self, world: World) -> None:
        """Every truth page and must-fetch URL must be something the world serves."""
        served = {(p.host, p.path) for c in world.companies for p in c.pages}
        for c in world.companies:
            site_host = world.sites[c.site_host][1]
            if c.robots is not None:
                served.add((site_host, "/robots.txt"))
            if c.sitemap is not None:
                served.add((site_host, "/sitemap.xml"))
        hosts = set(world.sites)
        for company in world.companies:
            t = company.truth
            where = f"{self.source}: company {company.domain!r} truth"
            for url in t.external:
                if (urlsplit(url).hostname or "") in company.hosts:
                    raise WorldError(f"{where}: external: {url} is the company's own site")
            for url in t.must_not_fetch:
                # Another company's page may be fetched by its own audit in the same run.
                if (urlsplit(url).hostname or "") not in company.hosts:
                    raise WorldError(
                        f"{where}: must_not_fetch: {url} is not on the company's own hosts (use external)"
                    )
            pages = [("contacts", c.page) for c in t.contacts] + [
                ("must_not_harvest", c.page) for c in t.must_not_harvest
            ]
            pages += [("must_fetch", u) for u in t.must_fetch] + [
                ("must_not_fetch", u) for u in t.must_not_fetch
            ]
            for key, url in pages:
                parts = urlsplit(url)
                host = parts.hostname or ""
                if host not in hosts:
                    raise WorldError(f"{where}: {key}: {url} is on no host of the world")
                site_host = world.sites[host][1]
                if (site_host, parts.path) not in served:
                    raise WorldError(f"{where}: {key}: the world serves no page {url}")


@lru_cache(maxsize=1)
def _reason_tags() -> frozenset[str]:
    path = Path(__file__).resolve().parents[1] / "data" / "reasons.toml"
    try:
        return frozenset(tomllib.loads(path.read_text(encoding="utf-8")).get("reasons", {}))
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()


_NORMALIZERS: dict[str, Callable[[_Loader, TruthContact, WorldCompany, _Fields], str]] = {
    "phone": _Loader._phone,
    "email": _Loader._email,
    "messaging": _Loader._url,
    "form": _Loader._url,
    "chat": _Loader._slug,
}


# A neutral page skeleton; a company's ``layout`` extends it and fills nav/footer.
_BASE_LAYOUT = """<!DOCTYPE html>
<html lang="{{ company.language or 'en' }}">
<head>
<meta charset="{{ charset }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% if title %}{{ title }} | {% endif %}{{ company.name }}{% endblock %}</title>
{% block head %}{% endblock %}
</head>
<body>
<header class="site-header">
<a class="logo" href="/">{{ company.name }}</a>
<nav class="main-nav">{% block nav %}{% endblock %}</nav>
</header>
<main id="content">
{% block main %}{% endblock %}
</main>
<footer class="site-footer">
{% block footer %}<p>&copy; 2024 {{ company.name }}</p>{% endblock %}
</footer>
{% block scripts %}{% endblock %}
</body>
</html>
"""
