"""Downloader middlewares: robots.txt as RFC 9309 says, and the address guard."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from auditor.net.guard import AddressPolicy, BlockedAddressError, is_ip_literal
from spiders.limits import MAX_ROBOTS_BYTES
from spiders.signals import company_finished

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class PrivateAddressRefused(IgnoreRequest):
    """The URL names a non-public IP literal and private targets are not allowed."""

    tag = "private-address-refused"


class AddressGuardMiddleware:
    """Refuse IP-literal URLs that point at non-public addresses.

    Names are checked by the resolver after resolution; literals never reach
    it, so they are checked here, for every request including redirects.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(AddressPolicy(crawler.settings.getbool("AUDITOR_ALLOW_PRIVATE_TARGETS")))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlparse_cached(request).hostname or ""
        if is_ip_literal(host) and not self.policy.permits(host):
            raise PrivateAddressRefused(str(BlockedAddressError(host, host)))


class Rfc9309RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's failure rules.

    4xx means no rules (allow all); 5xx or an unreachable robots.txt means
    complete disallow. Only the first :data:`MAX_ROBOTS_BYTES` (500 KiB) are
    parsed, the minimum RFC 9309 asks for: a huge file costs no more than that.
    The outcome per host is kept for the spider's error records while a company
    asking for that host is being crawled; when the last of them finishes
    (:data:`~spiders.signals.company_finished`), the host's parser, outcome and
    error are forgotten, so a long list does not fill memory with every host's
    robots.txt.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.outcomes: dict[str, str] = {}
        self.errors: dict[str, Exception] = {}
        self._hosts: dict[str, set[str]] = {}  # company key -> netlocs it asked about
        self._askers: dict[str, set[str]] = {}  # netloc -> keys of companies still crawled
        crawler.signals.connect(self._company_finished, signal=company_finished)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        key = request.meta.get("company")
        if key is not None:
            netloc = urlparse_cached(request).netloc
            self._hosts.setdefault(key, set()).add(netloc)
            self._askers.setdefault(netloc, set()).add(key)
        return await super().robot_parser(request)

    def _company_finished(self, key: str) -> None:
        for netloc in self._hosts.pop(key, ()):
            askers = self._askers.get(netloc)
            if askers is None:
                continue
            askers.discard(key)
            if askers:
                continue  # another company on the same host is still being crawled
            del self._askers[netloc]
            self.outcomes.pop(netloc, None)
            self.errors.pop(netloc, None)
            if not isinstance(self._parsers.get(netloc), Deferred):  # a download still pending keeps it
                self._parsers.pop(netloc, None)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self.outcomes[netloc] = f"robots-{response.status}"
            response = response.replace(body=DISALLOW_ALL)
        elif response.status >= 400:
            self.outcomes[netloc] = "robots-absent"
            response = response.replace(body=b"")
        else:
            self.outcomes[netloc] = "robots-ok"
            if len(response.body) > MAX_ROBOTS_BYTES:
                self.outcomes[netloc] = "robots-truncated"
                body = response.body[:MAX_ROBOTS_BYTES]
                response = response.replace(body=body[: body.rfind(b"\n") + 1] or body)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            # e.g. the guard refused the host: the page request meets the same refusal.
            super()._robots_error(exc, netloc)
            return
        self.outcomes[netloc] = "robots-unreachable"
        self.errors[netloc] = exc
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        waiting = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)
