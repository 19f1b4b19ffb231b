"""The contact spider: best-first crawl of each company's site, harvest only.

Each company has its own frontier (a heap ordered by link score), page budget,
depth limit and time budget. A company is finished when its frontier is empty
(or a budget is spent) and nothing is in flight; its result is then stored in
one transaction, so a crash never leaves half a company behind, and its crawl
state is dropped (the :data:`company_finished` signal tells the components that
keep something per host), so memory does not grow with the number of companies.
The companies are taken from an iterator as slots free up, never held in a list. The
finished company is yielded as an item (a :class:`CompanyResult`); the item
pipeline (spiders/pipelines.py) stores it.

Whatever a hostile site does ends with a tag on the company's record (issue 6's
fault matrix): bodies past DOWNLOAD_MAXSIZE (streamed or decompressed) and header
floods are ``too-large``, redirect chains past the maximum ``too-many-redirects``
(``redirect-loop`` when a URL repeats), 429 answers ``rate-limited``, binary bytes
served as HTML ``not-html``, and a certificate a browser would refuse ``tls-error``
(the site is read anyway; see spiders/tls.py).

Pages built by scripts (an app shell, a "please enable JavaScript" page, a contact
page whose bundle writes the phone) are rendered in the guarded browser when
``AUDITOR_RENDER`` allows (spiders/render.py; auditor.harvest.render decides which).
A rendered page costs one page of the company's budget; every extractor reads the
rendered DOM, the points only rendering showed get method ``rendered``, and links
that exist only after rendering (client-side routes, hash routes) join the frontier.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import default_settings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.sitemap import Sitemap
from twisted.internet.base import DelayedCall
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure as TwistedFailure

from auditor.config import Settings
from auditor.extract import ParsedPage, extract_contacts, parse_page
from auditor.extract.chat import Fingerprints
from auditor.extract.chat_external import merged_fingerprints
from auditor.harvest.browser import RenderResult, rendered_chat_points
from auditor.harvest.links import link_score
from auditor.harvest.render import frontier_url, is_hash_route, render_reason, rendered_points
from auditor.models import Company, CompanyResult, ContactPoint, Failure, PageRecord
from auditor.net.domains import registrable_domain
from spiders.dns import GuardedResolver
from spiders.errors import failure_tag
from spiders.render import PageRenderer
from spiders.signals import company_finished
from spiders.tls import certificate_problem

log = logging.getLogger(__name__)

CONTACT_PAGE_SCORE = 0.6  # a page scoring this high is treated as a contact page
MAX_EXTERNAL = 200
MAX_SITEMAPS = 3
MAX_SITEMAP_URLS = 50_000
IN_FLIGHT_PER_COMPANY = 2
# Companies crawled at once, per CONCURRENT_REQUESTS. Scrapy pulls start requests as
# fast as it can and its scheduler prefers idle hosts, so without a cap every home
# page came first and most companies finished only at the very end of the run: a
# crash lost all that work, and memory grew with the whole list. With it, companies
# start as others finish (and are stored, and leave memory).
OPEN_COMPANIES_PER_REQUEST_SLOT = 4
SLOT_WAIT = 1.0  # seconds between checks for companies whose last request vanished
# Among the requests that are scheduled, follow-ups of started companies go first.
START_PRIORITY = -100_000
ERROR_STATUSES = list(range(400, 600))  # redirects stay with RedirectMiddleware
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")
DEFAULTS = Settings()  # the run's defaults (page budget, depth, time budget) are written there
FLUSH_URL = "data:,"  # a request that only carries companies finished outside a callback
FLUSH_PRIORITY = 1_000_000


@dataclass(order=True)
class Candidate:
    sort_key: tuple[float, int, int]
    url: str = field(compare=False)
    depth: int = field(compare=False)
    score: float = field(compare=False)
    source: str = field(compare=False)


@dataclass(frozen=True)
class RenderJob:
    """A crawled page that is to be rendered, and what static extraction found on it."""

    url: str
    depth: int
    reason: str
    record: int  # index of the page's PageRecord in CompanyState.pages


@dataclass
class CompanyState:
    """What the spider knows about one company while it is being crawled."""

    company: Company
    scope: str  # registrable domain (or host for IP literals)
    started: float = field(default_factory=time.monotonic)
    frontier: list[Candidate] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    scheduled: int = 0
    in_flight: int = 0
    pages: list[PageRecord] = field(default_factory=list)
    contacts: list[ContactPoint] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    external: dict[str, None] = field(default_factory=dict)
    sitemaps_requested: int = 0
    counter: int = 0
    finished: bool = False
    home_ok: bool = False
    out_of_time: bool = False
    tls_reported: set[str] = field(default_factory=set)  # hosts whose certificate is recorded
    last_activity: float = field(default_factory=time.monotonic)  # last response or error


def _scope_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return registrable_domain(host) or host


def _canonical(url: str) -> str:
    return urldefrag(url)[0]


_TEXT_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")
# C0 controls that never occur in text (tab, LF, FF, CR and ESC do).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def _looks_binary(body: bytes) -> bool:
    """An image, archive or random bytes, whatever the Content-Type says.

    No HTML in an 8-bit or UTF-8 encoding has more than a stray control byte; UTF-16
    pages start with a BOM. Binary formats are full of NULs and other C0 controls.
    """
    head = body[:4096]
    if not head or head.startswith(_TEXT_BOMS):
        return False
    controls = len(head) - len(head.translate(None, _BINARY_BYTES))
    return head.count(b"\x00") >= 4 or controls > len(head) // 20


def _looks_like_html(body: bytes) -> bool:
    """Servers often mislabel pages (octet-stream, no type): sniff like a browser."""
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<\xef\xbb\xbf")) or b"<html" in head


class ContactSpider(scrapy.Spider):
    """Audits every company handed to it; yields each finished company as an item."""

    name = "contact"
    custom_settings: dict[str, Any] = {}

    def __init__(self, companies: Iterable[Company] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.companies: Iterator[Company] = iter(companies)  # pulled as slots free up
        self.states: dict[str, CompanyState] = {}  # companies being crawled, by key
        self.finished: deque[CompanyResult] = deque()  # finished, not yet yielded
        self.max_pages = DEFAULTS.max_pages
        self.max_depth = DEFAULTS.max_depth
        self.company_timeout = DEFAULTS.company_timeout
        self.max_bytes = 0  # DOWNLOAD_MAXSIZE: a download cancelled past it is too-large
        self.max_open = 0  # companies being crawled at once (set from the settings)
        self.open_count = 0
        self._slot_waiter: Deferred[None] | None = None
        # URLLENGTH_LIMIT: longer links would vanish in a middleware
        self.max_url_length = int(default_settings.URLLENGTH_LIMIT)
        self.stall_after = 0.0  # seconds without an answer before in-flight requests count as lost
        self.chat_fingerprints: Fingerprints | None = None  # None: the packaged fingerprints
        self.renderer: PageRenderer | None = None  # script-built pages (None: never rendered)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ContactSpider:
        """Budgets from the AUDITOR_* settings (defaults: auditor.config), limits from Scrapy's."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.max_pages = s.getint("AUDITOR_MAX_PAGES", DEFAULTS.max_pages)
        spider.max_depth = s.getint("AUDITOR_MAX_DEPTH", DEFAULTS.max_depth)
        spider.company_timeout = s.getfloat("AUDITOR_COMPANY_TIMEOUT", DEFAULTS.company_timeout)
        spider.max_bytes = s.getint("DOWNLOAD_MAXSIZE")
        spider.max_url_length = s.getint("URLLENGTH_LIMIT") or 1 << 30
        spider.stall_after = spider.company_timeout + 4 * s.getfloat("DOWNLOAD_TIMEOUT") + 30
        spider.max_open = s.getint(
            "AUDITOR_MAX_OPEN_COMPANIES",
            max(8, OPEN_COMPANIES_PER_REQUEST_SLOT * s.getint("CONCURRENT_REQUESTS")),
        )
        # The user's --fingerprints merged with the packaged ones (cached, immutable; None: packaged).
        spider.chat_fingerprints = merged_fingerprints(s.get("AUDITOR_FINGERPRINTS"))
        spider.renderer = PageRenderer.from_crawler(crawler)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_bytes, signal=signals.bytes_received)
        crawler.signals.connect(spider._on_robots, signal=signals.robots_parsed)
        return spider

    # -- scheduling ---------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        for company in self.companies:
            while self.open_count >= self.max_open:
                await self._wait_for_slot()
                self._sweep()
                while self.finished:
                    yield self.finished.popleft()
            state = CompanyState(company=company, scope=_scope_of(company.website))
            self.states[company.key] = state
            self.open_count += 1
            self._push(state, company.website, depth=0, score=10.0, source="start")
            for request in self._drain(state):
                yield request

    async def _wait_for_slot(self) -> None:
        """Until a company finishes, or SLOT_WAIT seconds (then :meth:`_sweep` looks)."""
        # Imported here, not at the top: importing it installs a reactor, and Scrapy
        # must have installed its own (asyncio) reactor first.
        from twisted.internet import reactor

        waiter: Deferred[None] = Deferred()
        self._slot_waiter = waiter

        def wake() -> None:
            if not waiter.called:
                waiter.callback(None)

        clock: Any = reactor  # Twisted's zope interfaces do not type-check as methods
        call: DelayedCall = clock.callLater(SLOT_WAIT, wake)
        try:
            await maybe_deferred_to_future(waiter)
        finally:
            self._slot_waiter = None
            if call.active():
                call.cancel()

    def _sweep(self) -> None:
        """While start() waits the spider is never idle: do :meth:`_on_idle`'s rescue here.

        A company whose requests were dropped without a callback (no known path left:
        long URLs are never pushed) would hold its slot for ever; after
        ``stall_after`` seconds without an answer it is finished with what it has.
        """
        now = time.monotonic()
        for state in list(self.states.values()):  # finishing removes the state
            requests = self._drain(state)
            for req in requests:
                self.crawler.engine.crawl(req)
            stalled = state.in_flight > 0 and now - state.last_activity > self.stall_after
            if stalled:
                state.failures.append(Failure(
                    "company-time-budget", f"{state.in_flight} request(s) never came back; stopped waiting"
                ))
            if stalled or (not requests and state.in_flight <= 0 and not state.frontier):
                self._finish(state)

    @property
    def rendering(self) -> bool:
        return self.renderer is not None and self.renderer.enabled

    async def _on_closed(self, spider: Any = None) -> None:
        if self.renderer is not None:
            await self.renderer.close()

    def _push(self, state: CompanyState, url: str, depth: int, score: float, source: str) -> None:
        url = frontier_url(url, self.rendering)
        if url in state.seen or len(url) > self.max_url_length:
            return  # Scrapy's UrlLengthMiddleware would drop it without a callback
        state.seen.add(url)
        state.counter += 1
        heapq.heappush(state.frontier, Candidate((-score, depth, state.counter), url, depth, score, source))

    def _drain(self, state: CompanyState) -> list[scrapy.Request]:
        """Move the best candidates into flight, within the budgets."""
        requests: list[scrapy.Request] = []
        if state.finished:
            return requests
        if not state.out_of_time and time.monotonic() - state.started > self.company_timeout:
            state.out_of_time = True
            state.failures.append(
                Failure("company-time-budget", f"stopped after the {self.company_timeout:g} s budget per company")
            )
            state.frontier.clear()
        while state.frontier and state.in_flight < IN_FLIGHT_PER_COMPANY and state.scheduled < self.max_pages:
            cand = heapq.heappop(state.frontier)
            state.scheduled += 1
            state.in_flight += 1
            requests.append(self._request(state, cand))
        if state.scheduled >= self.max_pages and state.frontier:
            self.crawler.stats.inc_value("auditor/harvest/page-budget-reached")
            state.failures.append(
                Failure("page-budget-reached", f"{len(state.frontier)} candidate links left after {self.max_pages} pages")
            )
            state.frontier.clear()
        return requests

    def _request(self, state: CompanyState, cand: Candidate) -> scrapy.Request:
        return scrapy.Request(
            cand.url,
            callback=self.parse_page,
            errback=self.on_error,
            priority=START_PRIORITY if cand.source == "start" else int(cand.score * 100) - cand.depth,
            dont_filter=True,
            meta={
                "company": state.company.key,
                "depth": cand.depth,
                "score": cand.score,
                "source": cand.source,
                "handle_httpstatus_list": ERROR_STATUSES,
                "started": time.monotonic(),
            },
        )

    # -- responses ------------------------------------------------------------
    async def parse_page(self, response: Response) -> list[scrapy.Request | CompanyResult]:
        state = self.states.get(response.meta["company"])
        if state is None:  # an answer for a company finished without it (stalled)
            return [*self._pop_finished()]
        try:
            job = self._handle_response(state, response)
            if job is not None:
                # Still in flight while it renders: the company is not finished under it.
                await self._render_page(state, job, response)
        except Exception as exc:  # noqa: BLE001 - one bad page never stops the audit
            log.exception("failed to process %s", response.url)
            state.failures.append(Failure("processing-error", f"{type(exc).__name__}: {exc}", response.url))
        if state.finished:  # stalled and finished while this page rendered
            return [*self._pop_finished()]
        state.in_flight -= 1
        state.last_activity = time.monotonic()
        return self._continue(state)

    async def _render_page(self, state: CompanyState, job: RenderJob, response: Response) -> None:
        """Render one crawled page; harvest every kind from its DOM and follow its new links."""
        assert self.renderer is not None
        result = await self.renderer.render(job.url, response, state.company.key, job.reason)
        if result is None or state.finished:
            return
        record = state.pages[job.record]
        note = f"rendered ({job.reason})"
        if result.error:
            note += f": {result.error}: {result.message}"
        state.pages[job.record] = replace(record, message=f"{record.message}; {note}" if record.message else note)
        if not result.html:
            return
        page = parse_page(result.html, result.final_url or job.url)
        found = self._rendered_contacts(state, page, result, job)
        state.contacts.extend(found)
        for cp in found:
            self.crawler.stats.inc_value(f"auditor/harvest/{cp.kind}")
            self.crawler.stats.inc_value("auditor/render/contact-points")
        if job.depth < self.max_depth:
            self._follow_links(state, page, job.depth)

    def _rendered_contacts(self, state: CompanyState, page: ParsedPage, result: RenderResult,
                           job: RenderJob) -> list[ContactPoint]:
        found = extract_contacts(page, state.company.country, self.chat_fingerprints)
        chats = {cp.value for cp in found if cp.kind == "chat"}
        # Providers seen only as a JS global or a launcher (in a shadow root, say).
        found += [cp for cp in rendered_chat_points(result, job.url) if cp.value not in chats]
        return rendered_points(found, state.contacts, job.url, job.reason)

    def _handle_response(self, state: CompanyState, response: Response) -> RenderJob | None:
        meta = response.meta
        depth = int(meta.get("depth", 0))
        elapsed = (time.monotonic() - meta.get("started", time.monotonic())) * 1000
        status = response.status
        url = response.url
        asked = response.request.url if response.request is not None else url
        if is_hash_route(asked) and urldefrag(asked)[0] == urldefrag(url)[0]:
            url = asked  # the router's page: the fragment names it (the server never sees it)
        if _scope_of(url) != state.scope:
            if meta.get("source") == "start" and 200 <= status < 400:
                # The home page moved to another domain (rebrand): that is the site now.
                state.failures.append(Failure("home-redirected-offsite", f"home page redirected to {url}", url))
                state.scope = _scope_of(url)
            else:
                state.external[url] = None
                state.pages.append(PageRecord(url, status, "redirected-offsite", "redirect left the site", depth, meta["score"], elapsed, len(response.body)))
                return None
        self._check_certificate(state, response)
        if status >= 400:
            tag = "rate-limited" if status == 429 else f"http-{status // 100}xx"
            message = f"HTTP {status}"
            if status == 429:
                retry_after = (response.headers.get(b"Retry-After") or b"").decode("latin-1")[:40]
                message += f" (Retry-After: {retry_after})" if retry_after else ""
            state.pages.append(PageRecord(url, status, tag, message, depth, meta["score"], elapsed, len(response.body)))
            self.crawler.stats.inc_value(f"auditor/harvest/{tag}")
            if meta.get("source") == "start":
                state.failures.append(Failure(tag, f"the home page answered {message}", url))
            return None
        if meta.get("source") == "start":
            state.home_ok = True
        if meta.get("source") == "sitemap":
            self._parse_sitemap(state, response)
            state.pages.append(PageRecord(url, status, None, "sitemap", depth, meta["score"], elapsed, len(response.body)))
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        binary = _looks_binary(response.body)
        if binary or (content_type and not content_type.startswith(HTML_TYPES) and not _looks_like_html(response.body)):
            why = f"binary content served as {content_type or 'no type'}" if binary else f"skipped {content_type}"
            state.pages.append(PageRecord(url, status, "not-html", why, depth, meta["score"], elapsed, len(response.body)))
            if meta.get("source") == "start":
                state.failures.append(Failure("not-html", f"the home page is not a web page: {why}", url))
            return None
        page = parse_page(response.body, url, content_type or None)
        found = extract_contacts(page, state.company.country, self.chat_fingerprints)
        state.contacts.extend(found)
        for cp in found:
            self.crawler.stats.inc_value(f"auditor/harvest/{cp.kind}")
        state.pages.append(PageRecord(url, status, None, "", depth, meta["score"], elapsed, len(response.body)))
        job = self._render_job(state, page, found, depth, float(meta["score"]))
        if depth < self.max_depth:
            self._follow_links(state, page, depth)
        return job

    def _render_job(self, state: CompanyState, page: ParsedPage, found: list[ContactPoint], depth: int,
                    score: float) -> RenderJob | None:
        """Whether to render this page (it costs one page of the budget), and why."""
        if not self.rendering or self.renderer is None:
            return None
        reason = render_reason(page, found, contact_page=score >= CONTACT_PAGE_SCORE, mode=self.renderer.mode)
        if reason is None:
            return None
        if state.scheduled >= self.max_pages:
            self.crawler.stats.inc_value("auditor/render/skipped-page-budget")
            return None
        state.scheduled += 1
        return RenderJob(page.url, depth, reason, len(state.pages) - 1)

    def _follow_links(self, state: CompanyState, page: ParsedPage, depth: int) -> None:
        for link in page.links:
            href = link.href
            if not href.startswith(("http://", "https://")):
                continue
            if _scope_of(href) != state.scope:
                if len(state.external) < MAX_EXTERNAL:
                    state.external[_canonical(href)] = None
                continue
            score = link_score(href, f"{link.text} {link.title}", link.region)
            if score < 0:
                continue
            self._push(state, href, depth + 1, score, "link")

    def _check_certificate(self, state: CompanyState, response: Response) -> None:
        """Record (once per host) a certificate a browser would refuse; the page is still read."""
        parts = urlsplit(response.url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or host in state.tls_reported:
            return
        state.tls_reported.add(host)
        problem = certificate_problem(getattr(response, "certificate", None), host)
        if problem is not None:
            self.crawler.stats.inc_value("auditor/harvest/tls-error")
            state.failures.append(
                Failure("tls-error", f"{host}: {problem}; browsers show a warning (the site was read anyway)", response.url)
            )

    def _on_bytes(self, data: bytes, request: scrapy.Request, spider: Any = None) -> None:
        """Count body bytes per attempt: a download cancelled past the maximum is too-large.

        Retries and redirects copy the meta, so the count restarts with each of them.
        """
        meta = request.meta
        attempt = (meta.get("retry_times", 0), meta.get("redirect_times", 0))
        if meta.get("auditor_attempt") != attempt:
            meta["auditor_attempt"] = attempt
            meta["auditor_bytes"] = 0
        meta["auditor_bytes"] = meta.get("auditor_bytes", 0) + len(data)

    @staticmethod
    def _received(request: scrapy.Request) -> int:
        """Body bytes of the request's last attempt (0 when none arrived)."""
        meta = request.meta
        attempt = (meta.get("retry_times", 0), meta.get("redirect_times", 0))
        return int(meta.get("auditor_bytes", 0)) if meta.get("auditor_attempt") == attempt else 0

    def _parse_sitemap(self, state: CompanyState, response: Response) -> None:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            return  # compressed sitemaps are not needed to find a contact page
        try:
            sitemap = Sitemap(body)
        except Exception:  # noqa: BLE001 - broken XML is common
            state.failures.append(Failure("sitemap-invalid", "the sitemap is not valid XML", response.url))
            return
        count = 0
        for entry in sitemap:
            count += 1
            if count > MAX_SITEMAP_URLS:
                break
            loc = entry.get("loc", "")
            if not loc.startswith(("http://", "https://")) or _scope_of(loc) != state.scope:
                continue
            if sitemap.type == "sitemapindex":
                if state.sitemaps_requested < MAX_SITEMAPS:
                    state.sitemaps_requested += 1
                    self._push(state, loc, 1, 5.0, "sitemap")
                continue
            score = link_score(loc, "", "main", from_sitemap=True)
            if score > 0:
                self._push(state, loc, 1, score, "link")

    def _on_robots(self, robotparser: Any, request: scrapy.Request) -> None:
        """Sitemaps named in robots.txt join the frontier of the company asking."""
        key = request.meta.get("company") if request is not None else None
        state = self.states.get(key) if key else None
        if state is None or state.finished:
            return
        rp = getattr(robotparser, "rp", None)
        sitemaps = list(getattr(rp, "sitemaps", []) or [])
        if not sitemaps:
            home = urlsplit(state.company.website)
            sitemaps = [f"{home.scheme}://{home.netloc}/sitemap.xml"]
        for url in sitemaps:
            if state.sitemaps_requested >= MAX_SITEMAPS:
                break
            if _scope_of(url) == state.scope:
                state.sitemaps_requested += 1
                self._push(state, url, 1, 5.0, "sitemap")
        for req in self._drain(state):
            self.crawler.engine.crawl(req)

    # -- errors ---------------------------------------------------------------
    def on_error(self, failure: TwistedFailure) -> list[scrapy.Request | CompanyResult]:
        request = failure.request  # type: ignore[attr-defined]
        state = self.states.get(request.meta["company"])
        if state is None:  # a failure for a company finished without it (stalled)
            return [*self._pop_finished()]
        state.in_flight -= 1
        state.last_activity = time.monotonic()
        tag, message = failure_tag(failure.value or RuntimeError(failure.getErrorMessage()))
        netloc = urlsplit(request.url).netloc
        if isinstance(failure.value, IgnoreRequest) and tag == "robots-disallowed":
            cause = self._robots_cause(netloc)
            if cause is not None:
                tag, message = cause
        if tag == "dns-failure":
            tag, message = self._dns_cause(request.url) or (tag, message)
        received = self._received(request)
        if self.max_bytes and received > self.max_bytes:
            tag, message = "too-large", f"more than {self.max_bytes} bytes (the maximum page size); download stopped"
        elif tag == "connect-timeout" and received:
            tag, message = "read-timeout", f"the server stopped sending: {received} bytes of the body before the timeout"
        if tag == "too-many-redirects":
            hops = [*request.meta.get("redirect_urls", []), request.url]
            if len(set(hops)) < len(hops):
                tag, message = "redirect-loop", f"redirect loop: {' -> '.join(dict.fromkeys(hops))} -> ..."[:300]
        self.crawler.stats.inc_value(f"auditor/harvest/{tag}")
        state.pages.append(PageRecord(request.url, None, tag, message, request.meta.get("depth", 0), request.meta.get("score", 0.0), None, None))
        if request.meta.get("source") == "start":
            state.failures.append(Failure(tag, message, request.url))
        elif request.meta.get("source") != "sitemap" and tag == "robots-disallowed":
            state.failures.append(Failure(tag, message, request.url))
        return self._continue(state)

    def _dns_cause(self, url: str) -> tuple[str, str] | None:
        """The resolver's own reason (NXDOMAIN, timeout, private address refused)."""
        resolver = GuardedResolver.installed
        host = urlsplit(url).hostname or ""
        return resolver.failure_for(host) if resolver is not None and host else None

    def _robots_cause(self, netloc: str) -> tuple[str, str] | None:
        """When robots.txt itself failed, the page's real reason is that failure."""
        for mw in self.crawler.engine.downloader.middleware.middlewares:
            errors = getattr(mw, "errors", None)
            if isinstance(errors, dict) and netloc in errors:
                tag, message = failure_tag(errors[netloc])
                if tag == "dns-failure":
                    tag, message = self._dns_cause(f"http://{netloc}/") or (tag, message)
                    return tag, message
                return tag, f"robots.txt unreachable ({message}); RFC 9309 says assume complete disallow"
            outcomes = getattr(mw, "outcomes", None)
            if isinstance(outcomes, dict) and str(outcomes.get(netloc, "")).startswith("robots-5"):
                return "robots-disallowed", f"robots.txt answered {outcomes[netloc][7:]}; RFC 9309 says assume complete disallow"
        return None

    # -- completion -----------------------------------------------------------
    def _continue(self, state: CompanyState) -> list[scrapy.Request | CompanyResult]:
        """The company's next requests, and whatever companies finished (as items)."""
        requests = self._drain(state)
        if not requests and state.in_flight == 0 and not state.frontier:
            self._finish(state)
        return [*requests, *self._pop_finished()]

    def _pop_finished(self) -> list[CompanyResult]:
        items = list(self.finished)
        self.finished.clear()
        return items

    def flush(self, response: Response) -> list[CompanyResult]:
        """Callback of :data:`FLUSH_URL`: yields companies finished in a signal handler."""
        return self._pop_finished()

    def flush_failed(self, failure: TwistedFailure) -> list[CompanyResult]:
        return self._pop_finished()

    def _finish(self, state: CompanyState) -> None:
        if state.finished:
            return
        state.finished = True
        contact_pages = [p for p in state.pages if p.error_tag is None and p.score >= CONTACT_PAGE_SCORE]
        if state.home_ok and not contact_pages and not state.contacts:
            state.failures.append(Failure("no-contact-page-found", "no contact page and no contact point was found"))
        elif state.home_ok and not state.contacts:
            state.failures.append(Failure("no-contact-points", "contact pages were found but held no contact point"))
        status = "done" if state.home_ok else "failed"
        result = CompanyResult(
            company=state.company,
            pages=tuple(state.pages),
            contacts=tuple(state.contacts),
            failures=tuple(state.failures),
            external_links=tuple(list(state.external)[:MAX_EXTERNAL]),
            status=status,
        )
        self.crawler.stats.inc_value(f"auditor/harvest/companies-{status}")
        self.open_count -= 1
        waiter = self._slot_waiter
        if waiter is not None and not waiter.called:
            waiter.callback(None)
        self.finished.append(result)
        # The result holds what is stored; the crawl state goes, and with it
        # everything that grows with the site or the list.
        del self.states[state.company.key]
        self.crawler.signals.send_catch_log(signal=company_finished, key=state.company.key)

    def _on_idle(self) -> None:
        """Companies whose last request vanished are finished here, never lost."""
        pending = False
        for state in list(self.states.values()):  # finishing removes the state
            requests = self._drain(state)
            if requests:
                pending = True
                for req in requests:
                    self.crawler.engine.crawl(req)
            else:
                self._finish(state)
        if self.finished:
            # A signal handler cannot yield items: a data: request carries them to a callback.
            self.crawler.engine.crawl(
                scrapy.Request(FLUSH_URL, callback=self.flush, errback=self.flush_failed, dont_filter=True, priority=FLUSH_PRIORITY)
            )
            pending = True
        if pending:
            raise DontCloseSpider


__all__ = ["ContactSpider", "TextResponse"]
