"""Render script-built pages during the crawl, through the crawl's own downloader.

The guarded browser (auditor.harvest.browser) opens no connection of its own: each
request a rendering page makes is handed to :class:`CrawlFetcher`, which sends it
through Scrapy's downloader as any crawl request (``engine.download_async``). So a
bundle, an API call or a widget loader meets the same address guard (middleware and
resolver), robots.txt (RFC 9309 middleware), per-host slot and delay, size limit and
timeout as the pages themselves. The page itself is served from the response the
crawl already has; it is not fetched twice.

:class:`PageRenderer` is built from the settings (``AUDITOR_RENDER``: auto, always,
never). Without playwright or Chromium, ``auto`` and ``always`` say so once and become
``never``. The browser starts with the first page that needs it and stops when the
spider closes. Rendered pages, the seconds they took and the browser's peak memory
go to the crawl's stats (``auditor/render/...``), which the run summary reports.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from auditor.config import Settings
from auditor.harvest.browser import BrowserRenderer, BrowserUnavailable, RenderResult
from auditor.net.guard import AddressPolicy
from auditor.validate.http import HttpResult
from spiders.errors import failure_tag

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

log = logging.getLogger(__name__)

DEFAULTS = Settings()
RENDER_CONCURRENCY = 2  # pages rendered at once (each a browser page; the CPU is the limit)
MAX_RENDER_REQUESTS = 60  # requests one rendered page may make (bundles, API calls, widgets)
# Seconds a rendered page's requests may keep coming after "load": an API call the
# bundle makes waits for the host's crawl slot like any request, so more than the
# browser mode's few seconds for widgets.
RENDER_SETTLE = 6.0
MAX_RESTARTS = 3  # a browser that keeps dying is given up (the crawl goes on without rendering)
KEPT_HEADERS = ("content-type", "x-frame-options", "last-modified")


def _headers(response: Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in KEPT_HEADERS:
        value = response.headers.get(name)
        if value:
            out[name] = value.decode("latin-1")
    return out


def http_result(response: Response, url: str, method: str = "GET") -> HttpResult:
    """A Scrapy response as the renderer's fetch result (the body as text)."""
    if isinstance(response, TextResponse):
        body = response.text
    else:
        body = response.body.decode("utf-8", "replace")
    return HttpResult(url=url, final_url=response.url, status=response.status, headers=_headers(response),
                      body=body, method=method)


class CrawlFetcher:
    """The renderer's :class:`~auditor.harvest.browser.Fetcher` over the crawl's downloader."""

    def __init__(self, crawler: Crawler, policy: AddressPolicy, company: str) -> None:
        self.crawler = crawler
        self._policy = policy
        self.company = company
        self.fetched = 0

    @property
    def policy(self) -> AddressPolicy:
        return self._policy

    @property
    def user_agent(self) -> str:
        return str(self.crawler.settings.get("USER_AGENT"))

    @property
    def max_bytes(self) -> int:
        return self.crawler.settings.getint("DOWNLOAD_MAXSIZE")

    async def fetch(self, url: str, *, method: str | None = None) -> HttpResult:
        """One request through the downloader middlewares (robots, guard) and its slot."""
        method = method or "GET"
        request = scrapy.Request(url, method=method, dont_filter=True, meta={
            "company": self.company, "auditor_render": True, "handle_httpstatus_all": True,
        })
        self.fetched += 1
        assert self.crawler.engine is not None
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a tag for the page's log
            tag, message = failure_tag(exc)
            return HttpResult(url=url, final_url=url, error=tag, message=message, method=method)
        return http_result(response, url, method)


def chromium_missing(executable: str) -> str | None:
    """Why rendering cannot run here (no playwright package, no Chromium), or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the 'playwright' Python package is not installed"
    path = executable if os.sep in executable else shutil.which(executable)
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        return f"Chromium is not at {executable} (apt install chromium)"
    return None


class PageRenderer:
    """The spider's renderer of script-built pages (one browser for the crawl).

    ``mode`` is the effective one: ``never`` when rendering cannot run here.
    """

    def __init__(self, crawler: Crawler, mode: str, timeout: float, executable: str,
                 policy: AddressPolicy) -> None:
        self.crawler = crawler
        self.mode = mode
        self.timeout = timeout
        self.executable = executable
        self.policy = policy
        self._browser: BrowserRenderer | None = None
        self._starting = asyncio.Lock()
        self._slots = asyncio.Semaphore(RENDER_CONCURRENCY)
        self.peak_mb = 0.0
        self.restarts = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageRenderer:
        s = crawler.settings
        mode = str(s.get("AUDITOR_RENDER", DEFAULTS.render))
        executable = str(s.get("AUDITOR_CHROMIUM") or DEFAULTS.chromium)
        if mode != "never":
            missing = chromium_missing(executable)
            if missing:
                log.warning("pages built by scripts are not rendered (--render %s): %s; their contact "
                            "points may be missed. Install Chromium, or pass --render never to silence this.",
                            mode, missing)
                mode = "never"
        renderer = cls(crawler, mode, s.getfloat("AUDITOR_RENDER_TIMEOUT", DEFAULTS.render_timeout), executable,
                       AddressPolicy(s.getbool("AUDITOR_ALLOW_PRIVATE_TARGETS")))
        crawler.signals.connect(renderer._opened, signal=signals.spider_opened)
        return renderer

    def _opened(self, spider: Any = None) -> None:
        self.stats.set_value("auditor/render/mode", self.mode)

    @property
    def enabled(self) -> bool:
        return self.mode != "never"

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    async def _browser_for(self, fetcher: CrawlFetcher) -> BrowserRenderer | None:
        async with self._starting:
            if self._browser is None and self.enabled:
                browser = BrowserRenderer(fetcher, executable=self.executable, timeout=self.timeout,
                                          max_requests=MAX_RENDER_REQUESTS, settle=RENDER_SETTLE)
                try:
                    await browser.__aenter__()
                except BrowserUnavailable as exc:
                    log.warning("pages built by scripts are not rendered: %s", exc)
                    self.mode = "never"
                    self.stats.set_value("auditor/render/mode", "never")
                    return None
                self._browser = browser
            return self._browser

    async def render(self, url: str, response: Response, company: str, reason: str) -> RenderResult | None:
        """Render the crawled page ``url`` (served from ``response``); None when rendering is off."""
        fetcher = CrawlFetcher(self.crawler, self.policy, company)
        browser = await self._browser_for(fetcher)
        if browser is None:
            return None
        async with self._slots:
            t0 = time.perf_counter()
            result = await browser.render(url, document=http_result(response, url), via=fetcher)
            seconds = time.perf_counter() - t0
        self.stats.inc_value("auditor/render/pages")
        self.stats.inc_value(f"auditor/render/reason/{reason}")
        self.stats.inc_value("auditor/render/milliseconds", round(seconds * 1000))
        self.stats.inc_value("auditor/render/requests", fetcher.fetched)
        if result.error:
            self.stats.inc_value(f"auditor/render/error/{result.error}")
        memory = browser.memory_mb()
        if memory is not None and memory > self.peak_mb:
            self.peak_mb = memory
            self.stats.set_value("auditor/render/peak_mb", round(memory, 1))
        if not browser.connected:
            await self._restart(browser)
        return result

    async def _restart(self, browser: BrowserRenderer) -> None:
        """The whole browser died: the next page starts a new one, a few times at most."""
        async with self._starting:
            if self._browser is not browser:
                return  # another page already replaced it
            self._browser = None
            self.restarts += 1
            self.stats.inc_value("auditor/render/browser-died")
            if self.restarts > MAX_RESTARTS:
                log.warning("the browser died %d times: pages built by scripts are not rendered any more",
                            self.restarts)
                self.mode = "never"
                self.stats.set_value("auditor/render/mode", "never")
        await browser.__aexit__(None, None, None)

    async def close(self) -> None:
        if self._browser is not None:
            browser, self._browser = self._browser, None
            await browser.__aexit__(None, None, None)

    def summary(self) -> dict[str, Any]:
        return {"mode": self.mode, "peak_mb": self.peak_mb}
