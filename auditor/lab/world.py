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

The file's shape (keys, types, choices, ranges) is written once, as dataclasses in
:mod:`auditor.lab.worldfile`, and checked by :mod:`auditor.lab.schema`; the rules that
join fields are in :mod:`auditor.lab.worldbuild`; the loaded objects are
:mod:`auditor.lab.worldmodel`'s.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from auditor.lab.worldbuild import Builder
from auditor.lab.worldmodel import (
    BEHAVIOURS,
    CATCH_ALL,
    DEFAULT_ADDRESS,
    DEFAULT_WORLD,
    FAULTS_WORLD,
    FIRST_MAIL_ADDRESS,
    LINKS_WORLD,
    MAIL_BEHAVIOURS,
    NAME_BEHAVIOURS,
    OPERATORS_WORLD,
    PAGE_FAULTS,
    SCRIPTS_WORLD,
    TLS_MODES,
    WEB_ADDRESS,
    WORLDS_DIR,
    MailHost,
    NameRecords,
    Page,
    Truth,
    TruthContact,
    World,
    WorldCompany,
    WorldError,
    Zone,
    lab_url,
)

__all__ = [
    "BEHAVIOURS", "CATCH_ALL", "DEFAULT_ADDRESS", "DEFAULT_WORLD", "FAULTS_WORLD", "FIRST_MAIL_ADDRESS",
    "LINKS_WORLD", "MAIL_BEHAVIOURS", "NAME_BEHAVIOURS", "OPERATORS_WORLD", "PAGE_FAULTS", "SCRIPTS_WORLD", "TLS_MODES",
    "WEB_ADDRESS",
    "WORLDS_DIR", "MailHost", "NameRecords", "Page", "Truth", "TruthContact", "World", "WorldCompany",
    "WorldError", "Zone", "lab_url", "load_world", "parse_world",
]


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
    world = Builder(source, base_dir).world(data)
    # A trial render finds what compiling cannot: a missing layout, an undefined name.
    from auditor.lab.http import Sites  # the renderer lives with the server that uses it

    try:
        Sites(world, port=1)
    except WorldError as exc:
        raise WorldError(f"{source}: {exc}") from None
    return world
