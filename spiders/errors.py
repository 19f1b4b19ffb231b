"""Map download failures to stable kebab-case tags with a human message."""

from __future__ import annotations

from scrapy import exceptions as sx
from scrapy.exceptions import IgnoreRequest
from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

try:
    from OpenSSL.SSL import Error as OpenSSLError
except ImportError:  # pragma: no cover
    OpenSSLError = None  # type: ignore[assignment,misc]

# Exceptions Scrapy >= 2.13 wraps Twisted's in (absent names are skipped).
_SCRAPY = {
    name: getattr(sx, name)
    for name in ("CannotResolveHostError", "DownloadTimeoutError", "DownloadCancelledError",
                 "DownloadConnectionRefusedError", "DownloadFailedError", "ResponseDataLossError")
    if hasattr(sx, name)
}


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes, and the reasons inside Twisted's wrappers."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        cur = todo.pop(0)
        if cur in seen:
            continue
        seen.append(cur)
        if cur.__cause__ is not None:
            todo.append(cur.__cause__)
        for reason in getattr(cur, "reasons", None) or []:
            value = getattr(reason, "value", reason)
            if isinstance(value, BaseException):
                todo.append(value)
    return seen


def _is_tls(exc: BaseException) -> bool:
    if OpenSSLError is not None and isinstance(exc, OpenSSLError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return "ssl" in text or "tls" in text or "certificate" in text


def _isinstance(exc: BaseException, *names: str) -> bool:
    classes = tuple(_SCRAPY[n] for n in names if n in _SCRAPY)
    return bool(classes) and isinstance(exc, classes)


def failure_tag(exc: BaseException) -> tuple[str, str]:
    """(tag, message) for a failed request."""
    chain = _chain(exc)
    for e in chain:
        tag = getattr(e, "tag", None)
        if isinstance(tag, str):
            return tag, str(getattr(e, "message", None) or e)
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots" in text.lower():
            return "robots-disallowed", "robots.txt disallows this URL"
        if "max redirections" in text:
            return "too-many-redirects", "more redirects than the configured maximum"
        if "DOWNLOAD_MAXSIZE" in text:  # HttpCompressionMiddleware: a decompression bomb
            return "too-large", text[:300]
        return "request-ignored", text or "request ignored"
    text = str(exc)
    if any(_is_tls(e) for e in chain):
        tls = next(e for e in chain if _is_tls(e))
        return "tls-error", f"TLS handshake failed: {tls}"[:300]
    if _isinstance(exc, "DownloadCancelledError") and ("size" in text or "larger" in text):
        return "too-large", text[:300] or "the response exceeded the maximum page size"
    if _isinstance(exc, "CannotResolveHostError") or any(isinstance(e, net_error.DNSLookupError) for e in chain):
        return "dns-failure", text[:300]
    if _isinstance(exc, "DownloadTimeoutError") or any(
        isinstance(e, (net_error.TimeoutError, net_error.TCPTimedOutError)) for e in chain
    ):
        return "connect-timeout", "the server did not answer in time"
    if _isinstance(exc, "DownloadConnectionRefusedError") or any(
        isinstance(e, net_error.ConnectionRefusedError) for e in chain
    ):
        return "connection-refused", "the server refused the connection"
    if _isinstance(exc, "ResponseDataLossError"):
        return "connection-lost", "the connection closed before the whole body arrived"
    if _isinstance(exc, "DownloadFailedError") or any(
        isinstance(e, (ResponseNeverReceived, ResponseFailed, net_error.ConnectionLost, net_error.ConnectionDone))
        for e in chain
    ):
        return "connection-lost", text[:300] or "the connection was lost"
    if _isinstance(exc, "DownloadCancelledError") or isinstance(exc, CancelledError):
        return "read-timeout", text[:300] or "the download was cancelled"
    return "download-error", f"{type(exc).__name__}: {exc}"[:300]
