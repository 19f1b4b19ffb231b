"""From the world file's tables to a :class:`~auditor.lab.worldmodel.World`: the rules across fields.

:func:`auditor.lab.schema.read` has already checked every key, type and single-field
rule against :mod:`auditor.lab.worldfile`; what is left here is what a type cannot
say: names relative to the company's domain, loopback addresses handed out to mail
hosts, templates compiled, repeated pages expanded, default DNS records, truth
values normalized the way the extractors normalize them, and the checks across
companies (truth pages the world serves, mail hosts sharing an address).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import jinja2
import phonenumbers

from auditor.lab.schema import SchemaError, read
from auditor.lab.worldfile import (
    CompanySpec,
    ContactSpec,
    DnsSpec,
    DomainOnly,
    MailSpec,
    PageSpec,
    PlatformSpec,
    RecordSpec,
    TruthSpec,
    WorldSpec,
)
from auditor.lab.worldmodel import (
    CATCH_ALL,
    DEFAULT_ADDRESS,
    FIRST_MAIL_ADDRESS,
    HOST_RE,
    WEB_ADDRESS,
    MailHost,
    NameRecords,
    Page,
    Truth,
    TruthContact,
    World,
    WorldCompany,
    WorldError,
    Zone,
)
from auditor.net.domains import registrable_domain

S = TypeVar("S")


class Builder:
    """Builds a World from parsed TOML; every message starts with the file's name."""

    def __init__(self, source: str, base_dir: Path | None) -> None:
        self.source = source
        self.base_dir = base_dir
        self.templates: dict[str, str] = {}
        loaders: list[jinja2.BaseLoader] = [jinja2.DictLoader(self.templates)]
        if base_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(base_dir)))
        loaders.append(jinja2.DictLoader({"base.html": BASE_LAYOUT}))
        # Keep trailing newlines and never silently print undefined names.
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self.text_env = self.env.overlay(autoescape=False)
        self.world_domains: frozenset[str] = frozenset()
        self._ip_cursor = 0
        self._auto_ips: set[str] = set()
        self._fixed_ips: set[str] = set()

    def fail(self, where: str, key: str | None, message: str) -> WorldError:
        return WorldError(f"{self.source}: {where}: {key}: {message}" if key else f"{self.source}: {where}: {message}")

    def read(self, cls: type[S], data: Any, where: str) -> S:
        try:
            return read(cls, data, where)
        except SchemaError as exc:
            raise WorldError(f"{self.source}: {exc}") from None

    # -- top level

    def world(self, data: dict[str, Any]) -> World:
        spec = self.read(WorldSpec, data, "")
        self.templates.update(spec.templates)
        if not spec.company:
            raise WorldError(f"{self.source}: the world has no [[company]]")
        domains = [self._peek_domain(c, i) for i, c in enumerate(spec.company)]
        platform_domains = [self._peek_domain(p, i, "platform") for i, p in enumerate(spec.platform)]
        every = domains + platform_domains
        dupes = sorted({d for d in every if every.count(d) > 1})
        if dupes:
            raise WorldError(
                f"{self.source}: domain(s) used by more than one company: {', '.join(dupes)}"
                " (companies and platforms share one set of domains)"
            )
        self.world_domains = frozenset(domains)
        companies = [self.company(raw, d) for raw, d in zip(spec.company, domains, strict=True)]
        platforms = [self.platform(raw, d) for raw, d in zip(spec.platform, platform_domains, strict=True)]
        world = World(
            name=spec.world.name if spec.world.name is not None else Path(self.source).stem,
            companies=tuple(companies),
            source=self.source,
            description=spec.world.description,
            platforms=tuple(platforms),
        )
        self.check_references(world)
        self.check_mail(world)
        return world

    def _peek_domain(self, raw: Any, index: int, what: str = "company") -> str:
        where = f"{what} #{index + 1}"
        if not isinstance(raw, dict):
            raise self.fail(where, None, f"expected a table, got {raw!r}")
        domain = self.read(DomainOnly, {k: v for k, v in raw.items() if k == "domain"}, where).domain
        domain = domain.strip().lower().rstrip(".")
        if not HOST_RE.match(domain) or registrable_domain(domain) != domain:
            raise self.fail(where, "domain", f"{domain!r} is not a registrable domain (like firma.com.tr)")
        return domain

    # -- one company

    def company(self, raw: dict[str, Any], domain: str) -> WorldCompany:
        where = f"company {domain!r}"
        spec = self.read(CompanySpec, raw, where)
        country = spec.country.strip().upper() if spec.country is not None else None
        alias_names = spec.aliases if spec.aliases is not None else ["www"]
        aliases = tuple(self.host(a, domain, where, "aliases") for a in alias_names)
        layout = "base.html"
        if spec.layout is not None:
            layout = f"layout:{domain}"
            self.templates[layout] = spec.layout
            self.compile(spec.layout, where, "layout", self.env)
        pages = self.site_pages(spec.pages, spec.page_defaults, domain, where)
        website = self.website(spec.website, domain, aliases, pages, where)
        site_host = urlsplit(website).hostname or domain
        robots = self.compile(spec.robots, where, "robots", self.text_env) if spec.robots is not None else None
        sitemap: tuple[str, ...] | jinja2.Template | None = None
        if isinstance(spec.sitemap, str):
            sitemap = self.compile(spec.sitemap, where, "sitemap", self.env)
        elif spec.sitemap is not None:
            sitemap = tuple(self.ref(s, site_host, where, "sitemap") for s in spec.sitemap)
        for special, given in (("/robots.txt", robots), ("/sitemap.xml", sitemap)):
            if given is not None and any((p.host, p.path) == (domain, special) for p in pages):
                raise self.fail(
                    where, "pages", f"{special} is given both as a page and as {special[1:].split('.')[0]} ="
                )
        mail = tuple(self.mail(m, i, domain) for i, m in enumerate(spec.mail))
        company = WorldCompany(
            name=spec.name.strip(),
            domain=domain,
            website=website,
            country=country,
            industry=spec.industry,
            language=spec.language,
            aliases=aliases,
            pages=tuple(pages),
            robots=robots,
            sitemap=sitemap,
            layout=layout,
            zone=self.zone(spec.dns, domain, aliases, pages, mail),
            mail=mail,
            tls=spec.tls,
        )
        return replace(company, truth=self.truth(spec.truth, company))

    def platform(self, raw: dict[str, Any], domain: str) -> WorldCompany:
        """A service the validators load: pages and DNS like a company, nothing else."""
        where = f"platform {domain!r}"
        spec = self.read(PlatformSpec, raw, where)
        aliases = tuple(self.host(a, domain, where, "aliases") for a in spec.aliases)
        pages = self.site_pages(spec.pages, spec.page_defaults, domain, where)
        return WorldCompany(
            name=spec.name.strip(),
            domain=domain,
            website=f"http://{domain}/",
            aliases=aliases,
            pages=tuple(pages),
            zone=self.zone(spec.dns, domain, aliases, pages),
        )

    def site_pages(self, raw_pages: list[Any], defaults: dict[str, Any], domain: str, where: str) -> list[Page]:
        """Every page of a site, ``page_defaults`` merged under each; a (host, path) once only."""
        pages: list[Page] = []
        for i, raw_page in enumerate(raw_pages):
            merged = {**defaults, **raw_page} if isinstance(raw_page, dict) else raw_page
            pages.extend(self.pages(merged, f"{where} pages[{i}]", domain))
        seen: set[tuple[str, str]] = set()
        for page in pages:
            if (page.host, page.path) in seen:
                raise self.fail(where, "pages", f"{page.host}{page.path} is defined twice")
            seen.add((page.host, page.path))
        return pages

    # -- mail

    def mail(self, spec: MailSpec, index: int, domain: str) -> MailHost:
        """One ``[[company.mail]]`` host; its address is checked and handed out here."""
        where = f"company {domain!r} mail[{index}] ({spec.host.strip()})"
        implicit = spec.host.strip() in ("@", "")
        name = self.host(spec.host, domain, where, "host")  # "@" is the domain itself
        boxes = []
        for box in spec.mailboxes:
            box = box.strip().lower()
            if not box or box.startswith("@") or box.endswith("@"):
                raise self.fail(where, "mailboxes", f"{box!r} is not a local part or an address")
            boxes.append(box if "@" in box else f"{box}@{domain}")
        return MailHost(
            name=name,
            ip=self.mail_ip(spec.ip, implicit, where),
            behaviour=spec.behaviour,
            mailboxes=tuple(boxes),
            preference=spec.preference,
            company=domain,
            implicit=implicit,
        )

    def mail_ip(self, given: str | None, implicit: bool, where: str) -> str:
        if implicit:
            # The domain's own address is where its website lives: the only web address.
            if given is not None and given != WEB_ADDRESS:
                raise self.fail(where, "ip", f"the domain itself lives on {WEB_ADDRESS}, got {given!r}")
            return WEB_ADDRESS
        if given is None:
            return self._next_mail_ip()
        ip = self.address(given, 4, where, "ip")
        if ip in self._auto_ips:
            raise self.fail(where, "ip", f"{ip} was already handed out to another mail host")
        self._fixed_ips.add(ip)
        return ip

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
            where = f"company {host.company!r} mail ({host.name})"
            if host.name in names:
                raise self.fail(where, None, "the mail host is declared twice")
            names.add(host.name)
            other = by_ip.setdefault(host.ip, host)
            if other.behaviour != host.behaviour:
                raise self.fail(
                    where, None, f"shares {host.ip} with {other.name}, which is {other.behaviour!r}, "
                    f"not {host.behaviour!r}",
                )

    # -- names, addresses, URLs

    def host(self, value: str, domain: str, where: str, key: str) -> str:
        """'@' -> domain, 'www' -> www.domain, 'x.y.' -> x.y (must be within the domain)."""
        value = value.strip().lower()
        if value in ("@", ""):
            return domain
        host = value[:-1] if value.endswith(".") else f"{value}.{domain}"
        if not HOST_RE.match(host):
            raise self.fail(where, key, f"{value!r} is not a valid host name")
        if host != domain and not host.endswith("." + domain):
            raise self.fail(where, key, f"{value!r} is outside the company's domain {domain}")
        return host

    def website(self, value: str | None, domain: str, aliases: tuple[str, ...], pages: list[Page],
                where: str) -> str:
        if value is None:
            return f"http://{domain}/"
        if value.startswith("/"):
            return f"http://{domain}{value}"
        parts = urlsplit(value if "://" in value else f"http://{value}")
        host = (parts.hostname or "").lower()
        own = {domain, *aliases, *(p.host for p in pages)}
        if parts.scheme not in ("http", "https"):
            raise self.fail(where, "website", f"the lab serves http and https only, got {value!r}")
        if host not in own:
            raise self.fail(
                where, "website", f"host {host!r} is not served by this company (hosts: {', '.join(sorted(own))})"
            )
        return urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))

    def ref(self, value: str, host: str, where: str, key: str) -> str:
        """A page reference: '/path' on ``host`` (the website's), or an absolute http URL."""
        value = value.strip()
        if value.startswith("/"):
            return f"http://{host}{value}"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(where, key, f"expected a path ('/kontakt') or an http URL, got {value!r}")
        if parts.port is not None:
            raise self.fail(where, key, f"leave the port out of {value!r}: the lab adds its own")
        return value

    def address(self, value: str, version: int, where: str, key: str, private_ok: bool = False) -> str:
        """Loopback addresses: nothing in the lab may point at the outside world.

        ``private_ok`` (DNS records only) also lets a name answer a private, link-local
        or reserved address -- the address guard's test cases. A public address never.
        """
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            raise self.fail(where, key, f"{value!r} is not an IP address") from None
        allowed = ip.is_loopback or (private_ok and not ip.is_global and not ip.is_multicast)
        if ip.version != version or not allowed:
            raise self.fail(where, key, f"{value!r}: the lab only hands out IPv{version} loopback addresses"
                            + (" (or private ones, never public)" if private_ok else ""))
        return str(ip)

    # -- pages

    def pages(self, raw: Any, where: str, domain: str) -> list[Page]:
        """One ``[[company.pages]]`` entry: one page, or ``repeat`` of them."""
        spec = self.read(PageSpec, raw, where)
        where = f"{where} ({spec.path.strip()})"
        for key, broken, message in PAGE_RULES:
            if broken(spec):
                raise self.fail(where, key(spec) if callable(key) else key, message(spec))
        host = self.host(spec.host, domain, where, "host")
        source = self.page_source(spec, where)
        template = None if spec.raw or source is None else self.compile(source, where, "body", self.env)
        status = spec.status if spec.status is not None else (301 if spec.redirect is not None else 200)
        page = Page(
            host=host, path=spec.path, status=status, content_type=spec.content_type, charset=spec.charset,
            header_charset=spec.header_charset, headers=tuple(spec.headers.items()), title=spec.title,
            redirect=spec.redirect, delay=spec.delay, raw_body=source if spec.raw else None, template=template,
            vars={}, fault=spec.fault, size=spec.size, length=spec.length, head_status=spec.head_status,
        )
        if spec.repeat is None:
            return [page]
        return [
            replace(
                page,
                path=self.render_small(spec.path, {"n": n}, where, "path"),
                title=self.render_small(spec.title, {"n": n}, where, "title"),
                vars={"n": n},
                redirect=self.render_small(spec.redirect, {"n": n}, where, "redirect") if spec.redirect else spec.redirect,
            )
            for n in range(1, spec.repeat + 1)
        ]

    def page_source(self, spec: PageSpec, where: str) -> str | None:
        """The page's template text: main (in the layout), body, or a file; None for none."""
        if spec.main is not None:
            return "{% extends layout %}{% block main %}" + spec.main + "{% endblock %}"
        if spec.body is not None:
            return spec.body
        if spec.file is not None:
            return self.read_file(spec.file, where)
        return None

    def read_file(self, name: str, where: str) -> str:
        if self.base_dir is None:
            raise self.fail(where, "file", "this world has no page folder")
        path = (self.base_dir / name).resolve()
        if self.base_dir.resolve() not in path.parents:
            raise self.fail(where, "file", f"{name!r} is outside the world's page folder")
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self.fail(where, "file", f"cannot read {path}: {exc}") from None

    def compile(self, source: str, where: str, key: str, env: jinja2.Environment) -> jinja2.Template:
        try:
            return env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise self.fail(where, key, f"template error line {exc.lineno}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise self.fail(where, key, f"template {exc.name!r} not found") from None

    def render_small(self, text: str, vars_: Mapping[str, Any], where: str, key: str) -> str:
        try:
            return self.text_env.from_string(text).render(**vars_)
        except jinja2.TemplateError as exc:
            raise self.fail(where, key, f"template error: {exc}") from None

    # -- DNS

    def zone(self, spec: DnsSpec, domain: str, aliases: tuple[str, ...], pages: list[Page],
             mail: tuple[MailHost, ...] = ()) -> Zone:
        """The defaults (A 127.0.0.1, MX mx1), the mail hosts, then the records as given."""
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
        for key, record in spec.records.items():
            where = f"company {domain!r} dns.records.{key}"
            name = self.host(key, domain, where, "name")
            names[name] = self.records(record, where, domain, name, names.get(name))
        return Zone(origin=domain, names=names, behaviour=spec.behaviour, ttl=spec.ttl)

    def records(self, spec: RecordSpec, where: str, domain: str, name: str,
                default: NameRecords | None) -> NameRecords:
        """The name's records: the fields given replace its defaults (a new name: A 127.0.0.1)."""
        changes: dict[str, Any] = {}
        if spec.a is not None:
            changes["a"] = tuple(self.address(v, 4, where, "a", private_ok=True) for v in spec.a)
        if spec.aaaa is not None:
            changes["aaaa"] = tuple(self.address(v, 6, where, "aaaa", private_ok=True) for v in spec.aaaa)
        if spec.txt is not None:
            changes["txt"] = tuple(spec.txt)
        if spec.mx == "null":
            changes["mx"] = ((0, "."),)
        elif spec.mx is not None:
            changes["mx"] = tuple((pref, self.target(host, domain, where, "mx")) for pref, host in spec.mx)
        if spec.cname is not None:
            if name == domain:
                raise self.fail(where, "cname", "the domain itself cannot be a CNAME (it holds SOA and NS)")
            changes["cname"] = self.target(spec.cname, domain, where, "cname")
            changes.setdefault("a", ())
        if spec.behaviour is not None:
            changes["behaviour"] = spec.behaviour
        base = default if default is not None else (NameRecords() if changes else NameRecords(a=(DEFAULT_ADDRESS,)))
        out = replace(base, **changes)
        if out.cname and (out.a or out.aaaa or out.mx or out.txt):
            raise self.fail(where, "cname", "a CNAME name cannot hold other records")
        return out

    def target(self, value: str, domain: str, where: str, key: str) -> str:
        """An MX or CNAME target: '@', a name relative to the domain, or 'fqdn.' (anywhere)."""
        value = value.strip().lower()
        if value == "@":
            return domain
        out = value[:-1] if value.endswith(".") else f"{value}.{domain}"
        if not HOST_RE.match(out):
            raise self.fail(where, key, f"{value!r} is not a valid host name")
        return out

    # -- truth

    def truth(self, spec: TruthSpec, company: WorldCompany) -> Truth:
        where = f"company {company.domain!r} truth"

        def refs(key: str, values: list[str]) -> tuple[str, ...]:
            return tuple(self.ref(v, company.site_host, where, key) for v in values)

        def contacts(key: str, specs: list[ContactSpec]) -> tuple[TruthContact, ...]:
            return tuple(
                self.contact(c, f"{where}.{key}[{i}] ({c.value.strip()})", company) for i, c in enumerate(specs)
            )

        return Truth(
            contacts=contacts("contacts", spec.contacts),
            must_not_harvest=contacts("must_not_harvest", spec.must_not_harvest),
            must_fetch=refs("must_fetch", spec.must_fetch),
            must_not_fetch=refs("must_not_fetch", spec.must_not_fetch),
            external=refs("external", spec.external),
            failure=spec.failure,
            notes=spec.notes.strip(),
        )

    def contact(self, spec: ContactSpec, where: str, company: WorldCompany) -> TruthContact:
        if (spec.verdict is None) != (spec.reason is None):
            raise self.fail(where, "verdict" if spec.verdict is None else "reason", "give verdict and reason together")
        if spec.flags and spec.verdict is None:
            raise self.fail(where, "flags", "flags belong to a verdict; give verdict and reason too")
        contact = TruthContact(
            kind=spec.kind, value=spec.value.strip(), page=self.ref(spec.page, company.site_host, where, "page"),
            label=spec.label, verdict=spec.verdict, reason=spec.reason, flags=tuple(spec.flags),
        )
        normalize = NORMALIZERS.get(spec.kind)
        if normalize is not None:
            contact = replace(contact, value=normalize(self, contact, company, where))
        return contact

    def _phone(self, contact: TruthContact, company: WorldCompany, where: str) -> str:
        try:
            number = phonenumbers.parse(contact.value, company.country)
        except phonenumbers.NumberParseException as exc:
            raise self.fail(where, "value", f"not a phone number ({exc})") from None
        if not phonenumbers.is_valid_number(number) and contact.verdict != "inactive":
            raise self.fail(
                where, "value",
                f"not a valid number for region {company.country} "
                '(a deliberately invalid one needs verdict = "inactive")',
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _email(self, contact: TruthContact, company: WorldCompany, where: str) -> str:
        value = contact.value.lower()
        local, _, host = value.rpartition("@")
        if not local or registrable_domain(host) not in self.world_domains:
            raise self.fail(where, "value", "an email must be on a domain of the world (nothing real)")
        return value

    def _url(self, contact: TruthContact, company: WorldCompany, where: str) -> str:
        value = contact.value
        if value.startswith("/"):
            return f"http://{company.site_host}{value}"
        if ":" not in value:
            raise self.fail(where, "value", f"expected a URL or a path, got {value!r}")
        return value

    def _slug(self, contact: TruthContact, company: WorldCompany, where: str) -> str:
        value = contact.value
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", value.lower()):
            raise self.fail(where, "value", f"a chat value is a provider slug like 'smartsupp', got {value!r}")
        return value.lower()

    # -- across companies

    def check_references(self, world: World) -> None:
        """Every truth page and must-fetch URL must be something the world serves."""
        served = self.served(world)
        for company in world.companies:
            where = f"company {company.domain!r} truth"
            t = company.truth
            for url in t.external:
                if (urlsplit(url).hostname or "") in company.hosts:
                    raise self.fail(where, "external", f"{url} is the company's own site")
            for url in t.must_not_fetch:
                # Another company's page may be fetched by its own audit in the same run.
                if (urlsplit(url).hostname or "") not in company.hosts:
                    raise self.fail(
                        where, "must_not_fetch", f"{url} is not on the company's own hosts (use external)"
                    )
            pages = [("contacts", c.page) for c in t.contacts]
            pages += [("must_not_harvest", c.page) for c in t.must_not_harvest]
            pages += [("must_fetch", u) for u in t.must_fetch] + [("must_not_fetch", u) for u in t.must_not_fetch]
            for key, url in pages:
                parts = urlsplit(url)
                host = parts.hostname or ""
                if host not in world.sites:
                    raise self.fail(where, key, f"{url} is on no host of the world")
                if (world.sites[host][1], parts.path) not in served:
                    raise self.fail(where, key, f"the world serves no page {url}")

    @staticmethod
    def served(world: World) -> set[tuple[str, str]]:
        """(host, path) of every page the companies serve, robots.txt and sitemap.xml included."""
        served = {(p.host, p.path) for c in world.companies for p in c.pages}
        for c in world.companies:
            site_host = world.sites[c.site_host][1]
            if c.robots is not None:
                served.add((site_host, "/robots.txt"))
            if c.sitemap is not None:
                served.add((site_host, "/sitemap.xml"))
        return served


def _status_is(low: int, high: int) -> Callable[[int | None], bool]:
    return lambda status: status is not None and low <= status <= high


_3XX = _status_is(300, 399)


def _sources(p: PageSpec) -> list[str]:
    return [k for k, v in (("main", p.main), ("body", p.body), ("file", p.file)) if v is not None]


# The rules of a page that join fields, in the order they are checked:
# (the key a broken rule is reported under, the test that it is broken, the message).
PAGE_RULES: list[tuple[str | Callable[[PageSpec], str], Callable[[PageSpec], bool], Callable[[PageSpec], str]]] = [
    ("path", lambda p: p.path != CATCH_ALL and not p.path.startswith("/"),
     lambda p: f"must start with '/' (or be '*'), got {p.path!r}"),
    ("status", lambda p: p.redirect is not None and p.status is not None and not _3XX(p.status),
     lambda p: f"a redirect needs a 3xx status, got {p.status}"),
    ("size", lambda p: p.size is not None and p.fault is None,
     lambda p: "belongs to a fault (give fault = ... too)"),
    ("fault", lambda p: p.fault is not None and p.redirect is not None,
     lambda p: "a redirect cannot also be a fault"),
    ("head_status", lambda p: p.head_status is not None and p.fault is not None,
     lambda p: "a fault answers every method alike"),
    ("head_status", lambda p: _3XX(p.head_status) and p.redirect is None,
     lambda p: "a 3xx answer to HEAD needs the page's redirect"),
    (lambda p: _sources(p)[1], lambda p: len(_sources(p)) > 1,
     lambda p: f"give only one of main, body, file (got {', '.join(_sources(p))})"),
    (lambda p: _sources(p)[0], lambda p: bool(_sources(p)) and p.redirect is not None,
     lambda p: "a redirect has no body"),
    ("raw", lambda p: p.raw and p.main is not None,
     lambda p: "'main' needs the layout template; use body = ... with raw = true"),
    ("path", lambda p: p.repeat is not None and "{{" not in p.path,
     lambda p: "a repeated page needs {{ n }} in its path"),
]

NORMALIZERS: dict[str, Callable[[Builder, TruthContact, WorldCompany, str], str]] = {
    "phone": Builder._phone,
    "email": Builder._email,
    "messaging": Builder._url,
    "form": Builder._url,
    "chat": Builder._slug,
}


# A neutral page skeleton; a company's ``layout`` extends it and fills nav/footer.
BASE_LAYOUT = """<!DOCTYPE html>
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
