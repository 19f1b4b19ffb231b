"""Limits on what a remote web server controls that Scrapy and Twisted leave open.

Scrapy caps the body (DOWNLOAD_MAXSIZE, also while decompressing) and the time
(DOWNLOAD_TIMEOUT), but Twisted's HTTP client keeps every response header line it
is sent: a server streaming ``X-Junk: ...`` lines forever fills memory at network
speed until the timeout fires (hundreds of MB in a few seconds on a fast link).
:func:`install_header_limit` caps the status line plus headers at
:data:`MAX_HEADER_BYTES`, as browsers do (Chromium refuses more than 256 KiB).
The response then fails with :class:`HeadersTooLarge`, tagged ``too-large``.
Nothing is patched on import: the :class:`HeaderLimit` extension (enabled in
spiders/settings.py) installs the limit when a crawler is built.

robots.txt is parsed up to :data:`MAX_ROBOTS_BYTES` (RFC 9309 section 2.5: at
least 500 KiB must be parsed, more need not be).
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.web import _newclient

MAX_HEADER_BYTES = 256 * 1024
MAX_ROBOTS_BYTES = 500 * 1024


class HeadersTooLarge(Exception):
    """The response's header section grew past :data:`MAX_HEADER_BYTES`."""

    tag = "too-large"

    def __init__(self, size: int) -> None:
        self.message = (
            f"the response headers exceeded {MAX_HEADER_BYTES // 1024} KiB ({size} bytes so far)"
        )
        super().__init__(self.message)


_original_data_received = _newclient.HTTPClientParser.dataReceived
_HEADER_STATES = (_newclient.STATUS, _newclient.HEADER)


def _data_received(self: Any, data: bytes) -> None:
    """Count what arrives while the header section is still open; give up past the limit.

    Patched on ``dataReceived``, not ``lineReceived``: Scrapy replaces the parser's
    class with its own lenient one, which has its own ``lineReceived``.
    """
    in_headers = self.state in _HEADER_STATES
    _original_data_received(self, data)
    if in_headers and self.state in _HEADER_STATES:
        size = getattr(self, "_auditor_header_bytes", 0) + len(data)
        self._auditor_header_bytes = size
        if size > MAX_HEADER_BYTES:
            # HTTP11ClientProtocol.dataReceived turns this into a failed response
            # and drops the connection.
            raise HeadersTooLarge(size)


def install_header_limit() -> None:
    """Patch Twisted's HTTP client parser once per process (idempotent)."""
    if _newclient.HTTPClientParser.dataReceived is not _data_received:
        _newclient.HTTPClientParser.dataReceived = _data_received  # type: ignore[method-assign]


class HeaderLimit:
    """Scrapy extension: caps response headers for the crawl (``AUDITOR_HEADER_LIMIT``, default on).

    Built with the crawler, before any download starts; installing twice is harmless.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HeaderLimit:
        if not crawler.settings.getbool("AUDITOR_HEADER_LIMIT", True):
            raise NotConfigured("AUDITOR_HEADER_LIMIT is off")
        install_header_limit()
        return cls()
