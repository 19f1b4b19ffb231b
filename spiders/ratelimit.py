"""The per-host delay across all workers of a distributed run: Scrapy's HTTP download handler, paced.

Scrapy keeps the delay between requests to one host per process (its download
slots); with several workers a host sees their sum. :class:`SharedPaceDownloadHandler`
is Scrapy's HTTP/1.1 handler that sends each request in the host's turn in the
shared limiter (:class:`~auditor.net.ratelimit.SharedLimits`, in Redis): one
request in flight per host across workers, the next one the interval after it. It is
a download handler, not a downloader middleware, on purpose: a middleware runs
before the request enters its slot's queue, so the turn it reserved would pass
while the request still waits for this worker's own slot; the handler runs when
the request is actually sent. Robots.txt fetches are paced too.

Enabled only for a distributed worker's crawl (``AUDITOR_SHARED_LIMITS`` names
the Redis URL, and the run's DOWNLOAD_HANDLERS point here); ``AUDITOR_SHARED_DELAY``
is the interval (the run's ``--delay`` by default). An embedded crawl never
loads it.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from auditor.net.ratelimit import SharedLimits

HANDLER = "spiders.ratelimit.SharedPaceDownloadHandler"


class SharedPaceDownloadHandler(HTTP11DownloadHandler):
    """HTTP(S) downloads that wait for the host's shared turn first."""

    def __init__(self, crawler: Crawler) -> None:
        url = crawler.settings.get("AUDITOR_SHARED_LIMITS")
        if not url:
            raise NotConfigured("AUDITOR_SHARED_LIMITS is not set")
        super().__init__(crawler)
        self.limits = SharedLimits(url)
        self.interval = crawler.settings.getfloat("AUDITOR_SHARED_DELAY", crawler.settings.getfloat("DOWNLOAD_DELAY"))
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        async with self.limits.turn(urlparse_cached(request).hostname or "", self.interval) as waited:
            if waited and self.stats is not None:
                self.stats.inc_value("auditor/shared_turn/waits")
            return await super().download_request(request)

    async def close(self) -> None:
        await self.limits.close()
        await super().close()


def shared_pace_settings(redis_url: str, delay: float) -> dict[str, object]:
    """The Scrapy settings that pace a worker's crawl with the others' (http and https)."""
    return {
        "AUDITOR_SHARED_LIMITS": redis_url,
        "AUDITOR_SHARED_DELAY": delay,
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
    }
