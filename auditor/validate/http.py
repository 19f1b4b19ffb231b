"""A guarded async HTTP client for checking links: every hop to a permitted address.

Why not plain aiohttp: a link on a company's page may point (or redirect) anywhere,
including 127.0.0.1 or a cloud metadata address. So names resolve through the run's
:class:`DnsResolver` and each address passes :class:`AddressPolicy` before a socket
is opened; IP-literal URLs are checked before the request; redirects are followed by
hand so every hop is checked and recorded. Retries honour Retry-After and back off
exponentially; bodies are capped; failures come back as stable tags, never raised.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from auditor import data, reasons
from auditor.config import default
from auditor.net import resolver as dnsr
from auditor.net.guard import AddressPolicy, BlockedAddressError, is_ip_literal

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HEAD_FALLBACK_STATUSES = frozenset({404, 405, 501})
CHALLENGE_SCAN_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 1024 * 1024

# DnsResolver outcome -> error tag (reasons.toml).
DNS_TAGS: Mapping[str, str] = {
    dnsr.NXDOMAIN: reasons.NXDOMAIN,
    dnsr.TIMEOUT: reasons.DNS_TIMEOUT,
}


def _rules() -> dict[str, Any]:
    return data.load("chat_checks.toml")


class GuardedResolveError(OSError):
    """A name that may not (or cannot) be connected to; ``tag`` says why.

    An OSError so that aiohttp wraps it in ClientConnectorDNSError like any
    resolver failure, and the tag survives as the wrapped ``os_error``.
    """

    def __init__(self, tag: str, message: str, evidence: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message
        self.evidence = dict(evidence or {})


class GuardedResolver(AbstractResolver):
    """aiohttp resolver over the run's DnsResolver that drops non-permitted addresses."""

    def __init__(self, dns: dnsr.DnsResolver, policy: AddressPolicy) -> None:
        self.dns = dns
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses, answer = await asyncio.to_thread(self.dns.addresses, host)
        if not addresses:
            tag = DNS_TAGS.get(answer.status, reasons.DNS_FAILURE)
            raise GuardedResolveError(tag, answer.message or f"{host}: {answer.status}", answer.evidence())
        allowed = [a for a in addresses if self.policy.permits(a)]
        if not allowed:
            blocked = BlockedAddressError(host, addresses[0])
            raise GuardedResolveError(blocked.tag, str(blocked), {"addresses": addresses})
        out: list[ResolveResult] = []
        for address in allowed:
            fam = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, fam):
                continue
            out.append({"hostname": host, "host": address, "port": port, "family": fam, "proto": 0,
                        "flags": socket.AI_NUMERICHOST})
        if not out:
            raise GuardedResolveError(reasons.DNS_FAILURE, f"{host} has no address of the requested family")
        return out

    async def close(self) -> None:
        """Nothing to release: the DnsResolver belongs to the run."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None
    try:
        when: datetime | None = email.utils.parsedate_to_datetime(text)  # typed never None: kept defensive
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float = 1.0, cap: float = 30.0) -> float:
    """Doubling back-off for the ``attempt``-th retry (1-based): base, 2*base, ... <= cap."""
    factor: int = 2 ** max(0, attempt - 1)
    return min(cap, base * factor)


def _marker_hits(value: str, needles: Iterable[str]) -> list[str]:
    low = value.lower()
    return [n for n in needles if n.lower() in low]


def detect_challenge(status: int | None, headers: Mapping[str, str], body: str) -> list[str]:
    """Markers showing a bot-protection challenge answered instead of the page.

    Empty when there is none. Body markers count only with a challenge status (a
    page may mention Cloudflare); ``cf-mitigated: challenge`` counts at any status.
    """
    rules = _rules()["challenge"]
    low_headers = {k.lower(): v for k, v in headers.items()}
    found: list[str] = []
    for name, needles in rules["headers"].items():
        if name in low_headers:
            found += [f"{name}: {low_headers[name]}" for n in needles if n.lower() in low_headers[name].lower()][:1]
    if status in rules["statuses"]:
        for name, needles in rules["status_headers"].items():
            if name in low_headers:
                found += [f"{name}: {low_headers[name]}" for n in needles if n.lower() in low_headers[name].lower()][:1]
        found += _marker_hits(body[:CHALLENGE_SCAN_BYTES], rules["body_markers"])
    return found


@dataclass
class HttpResult:
    """What one fetch (with its redirects and retries) learned.

    ``error`` is a reasons.toml tag when no final answer was obtained; ``status`` is
    then the last status seen (if any). ``chain`` lists every hop as
    ``{url, status, location}``.
    """

    url: str
    final_url: str
    status: int | None = None
    chain: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    body: str = ""
    truncated: bool = False
    tls_ok: bool | None = None
    tls_error: str | None = None
    error: str | None = None
    message: str = ""
    method: str = "GET"
    tries: int = 0
    waits: list[float] = field(default_factory=list)
    challenge: list[str] = field(default_factory=list)
    started_at: float = 0.0
    dns: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def redirected(self) -> bool:
        return len(self.chain) > 1

    def evidence(self) -> dict[str, Any]:
        """JSON-friendly facts for a Check (the body is left out; it can be large)."""
        out: dict[str, Any] = {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "method": self.method,
            "chain": [dict(hop) for hop in self.chain],
            "elapsed_ms": round(self.elapsed_ms, 1),
            "tries": self.tries,
            "headers": dict(self.headers),
            "body_bytes": len(self.body.encode("utf-8", "replace")),
            "truncated": self.truncated,
            "tls_ok": self.tls_ok,
        }
        if self.tls_error:
            out["tls_error"] = self.tls_error
        if self.error:
            out["error"] = self.error
            out["message"] = self.message
        if self.waits:
            out["retry_waits"] = [round(w, 3) for w in self.waits]
        if self.challenge:
            out["challenge_markers"] = list(self.challenge)
        if self.dns:
            out["dns"] = dict(self.dns)
        return out


class _Fail(Exception):
    """A hop failed without an HTTP answer; carries the tag for the result."""

    def __init__(self, tag: str, message: str, *, tls_error: str | None = None,
                 dns: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message
        self.tls_error = tls_error
        self.dns = dict(dns or {})


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    all_headers: Any
    body: str
    truncated: bool
    tries: int
    waits: list[float]
    challenge: list[str]


def _take(result: HttpResult, current: str, target: URL, answer: _Answer) -> str | None:
    """Record one hop's answer as the latest; return where it redirects (None: the chain ends)."""
    result.tries += answer.tries
    result.waits += answer.waits
    location = answer.all_headers.get("Location")
    is_redirect = answer.status in REDIRECT_STATUSES and bool(location)
    next_url = urljoin(current, location.strip()) if is_redirect and location else None
    result.chain.append({"url": current, "status": answer.status, "location": next_url})
    result.status = answer.status
    result.headers = answer.headers
    result.body, result.truncated = answer.body, answer.truncated
    result.challenge = answer.challenge
    if target.scheme == "https":
        result.tls_ok = True
    return next_url


def _failed(result: HttpResult, current: str, fail: _Fail) -> None:
    """Record why the fetch ended without a final answer from ``current``."""
    result.error, result.message = fail.tag, fail.message
    if fail.tls_error:
        result.tls_ok, result.tls_error = False, fail.tls_error
    result.dns = fail.dns
    if fail.tag == reasons.REDIRECT_LOOP:
        result.chain.append({"url": current, "status": None, "location": None})


class HttpClient:
    """Guarded GET/HEAD with manual redirects, retries, per-host limits and caps.

    Use as ``async with HttpClient(...) as client: await client.fetch(url)``; the
    aiohttp session is created inside the running loop on entry.
    """

    def __init__(
        self,
        dns: dnsr.DnsResolver,
        policy: AddressPolicy | None = None,
        *,
        user_agent: str,
        timeout: float = default("timeout"),
        connect_timeout: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = default("max_redirects"),
        per_host: int = 2,
        max_tries: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        port_overrides: Mapping[str, int] | None = None,
        ca_file: str | None = None,
        head_safe_hosts: Iterable[str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        turn: Callable[[str], AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        self.dns = dns
        self.policy = policy or AddressPolicy()
        self.user_agent = user_agent
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.per_host = max(1, per_host)
        self.max_tries = max(1, max_tries)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.port_overrides = {k.lower(): int(v) for k, v in (port_overrides or {}).items()}
        self.ca_file = ca_file
        rules = _rules()["http"]
        hosts = rules["head_safe_hosts"] if head_safe_hosts is None else head_safe_hosts
        self.head_safe_hosts = frozenset(h.lower() for h in hosts)
        self.retry_statuses = frozenset(rules["retry_statuses"])
        self.keep_headers = tuple(rules["keep_headers"])
        self._sleep = sleep
        # Every request is sent in the host's turn across all workers (a distributed run's shared
        # limiter); None: the per-host concurrency above is the only limit.
        self._turn = turn
        self._session: aiohttp.ClientSession | None = None
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        # Hosts that were still answering 429/503 after every retry: later fetches get
        # one try, no waits, so a storm costs the run one back-off per host, not per link.
        self._storming: set[str] = set()
        self.requests_sent = 0

    async def __aenter__(self) -> HttpClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is not None:
            return
        ssl_ctx: ssl.SSLContext | bool = True
        if self.ca_file:
            ssl_ctx = ssl.create_default_context(cafile=self.ca_file)
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.dns, self.policy),
            use_dns_cache=False,  # DnsResolver caches; a second cache would hide its answers
            ssl=ssl_ctx,
            limit=100,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are kept per fetch, by hand
            timeout=aiohttp.ClientTimeout(total=self.timeout, connect=self.connect_timeout),
            auto_decompress=True,
            trust_env=False,  # never route through a proxy from the environment
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _limit(self, host: str) -> asyncio.Semaphore:
        sem = self._host_limits.get(host)
        if sem is None:
            sem = self._host_limits[host] = asyncio.Semaphore(self.per_host)
        return sem

    def head_allowed(self, url: str) -> bool:
        host = (URL(url).host or "").lower()
        return host in self.head_safe_hosts

    async def fetch(self, url: str, *, method: str | None = None,
                    headers: Mapping[str, str] | None = None) -> HttpResult:
        """GET (or HEAD where safe) ``url``, following redirects hop by hop.

        ``headers`` are added to every hop's request (an API that wants its version
        named, such as a chat provider's public status endpoint). Never raises for
        network trouble: the result's ``error`` carries the tag.
        """
        if self._session is None:
            await self.open()
        verb = (method or ("HEAD" if self.head_allowed(url) else "GET")).upper()
        result = HttpResult(url=url, final_url=url, method=verb, started_at=time.time())
        t0 = time.perf_counter()
        cookies: dict[str, dict[str, str]] = {}
        seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
        current = url
        try:
            for _hop in range(self.max_redirects + 1):
                target = self._check_url(current)
                host = (target.host or "").lower()
                key = (str(target), frozenset(cookies.get(host, {}).items()))
                if key in seen:
                    raise _Fail(reasons.REDIRECT_LOOP, f"redirect loop: {current} was already visited")
                seen.add(key)
                result.final_url = current
                answer = await self._hop(verb, target, cookies, headers)
                if verb == "HEAD" and answer.status in HEAD_FALLBACK_STATUSES:
                    result.chain.append({"url": current, "status": answer.status, "location": None, "method": "HEAD"})
                    verb = result.method = "GET"
                    answer = await self._hop(verb, target, cookies, headers)
                next_url = _take(result, current, target, answer)
                if next_url is None:
                    break
                if URL(next_url).scheme not in ("http", "https"):
                    # An app link (tg://, fb-messenger://): the chain ends here, unfollowed.
                    result.final_url = next_url
                    break
                if answer.status == 303 or (answer.status in (301, 302) and verb not in ("GET", "HEAD")):
                    verb = "GET"
                current = next_url
            else:
                raise _Fail(reasons.TOO_MANY_REDIRECTS, f"more than {self.max_redirects} redirects")
        except _Fail as fail:
            _failed(result, current, fail)
        result.elapsed_ms = (time.perf_counter() - t0) * 1000
        return result

    def _check_url(self, url: str) -> URL:
        """Parse, refuse non-http(s) and non-permitted IP literals (aiohttp skips the resolver for those)."""
        try:
            target = URL(url)
        except (ValueError, TypeError) as exc:
            raise _Fail(reasons.INVALID_URL, f"not a URL: {url!r} ({exc})") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise _Fail(reasons.INVALID_URL, f"not an http(s) URL: {url!r}")
        host = target.host.strip("[]")
        if is_ip_literal(host) and not self.policy.permits(host):
            raise _Fail(reasons.PRIVATE_ADDRESS_REFUSED, str(BlockedAddressError(host, host)))
        return target

    def _connect_target(self, target: URL) -> tuple[URL, dict[str, str]]:
        """Where to connect: the scheme's port override, keeping the Host header unchanged."""
        port = self.port_overrides.get(target.scheme)
        if port is None or target.explicit_port is not None:
            return target, {}
        host_header = target.raw_host or ""
        if ":" in host_header:
            host_header = f"[{host_header}]"
        return target.with_port(port), {"Host": host_header}

    async def _hop(self, verb: str, target: URL, cookies: dict[str, dict[str, str]],
                   extra_headers: Mapping[str, str] | None = None) -> _Answer:
        """One request with retries on 408/429/5xx, under the host's concurrency limit."""
        host = (target.host or "").lower()
        waits: list[float] = []
        async with self._limit(host):
            attempt = 0
            tries = 1 if host in self._storming else self.max_tries
            while True:
                attempt += 1
                if self._turn is not None:
                    async with self._turn(host):
                        answer = await self._request(verb, target, cookies, extra_headers)
                else:
                    answer = await self._request(verb, target, cookies, extra_headers)
                answer.tries, answer.waits = attempt, waits
                if answer.status in (429, 503) and attempt >= tries:
                    self._storming.add(host)
                if (
                    answer.status not in self.retry_statuses
                    or answer.challenge  # a challenge page does not go away by asking again
                    or attempt >= tries
                ):
                    return answer
                wait = parse_retry_after(answer.all_headers.get("Retry-After"))
                if wait is None:
                    wait = backoff_delay(attempt, self.backoff_base, self.backoff_cap)
                wait = min(wait, self.backoff_cap)
                waits.append(wait)
                await self._sleep(wait)

    async def _request(self, verb: str, target: URL, cookies: dict[str, dict[str, str]],
                       extra_headers: Mapping[str, str] | None = None) -> _Answer:
        assert self._session is not None
        connect_to, extra = self._connect_target(target)
        host = (target.host or "").lower()
        headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                   "Accept-Language": "en;q=0.8, *;q=0.5", **(extra_headers or {}), **extra}
        if cookies.get(host):
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies[host].items())
        got_headers = False
        try:
            self.requests_sent += 1
            async with self._session.request(
                verb, connect_to, headers=headers, allow_redirects=False
            ) as resp:
                got_headers = True
                for morsel in resp.cookies.values():
                    cookies.setdefault(host, {})[morsel.key] = morsel.value
                body, truncated = (b"", False) if verb == "HEAD" else await self._read(resp)
                text = _decode(body, resp.charset)
                kept = {k: resp.headers[k] for k in self.keep_headers if k in resp.headers}
                return _Answer(resp.status, kept, resp.headers, text, truncated, 1, [],
                               detect_challenge(resp.status, resp.headers, text))
        except GuardedResolveError as exc:  # raised directly by some aiohttp paths
            raise _Fail(exc.tag, exc.message, dns=exc.evidence) from None
        except aiohttp.ClientConnectorDNSError as exc:
            inner = exc.os_error
            if isinstance(inner, GuardedResolveError):
                raise _Fail(inner.tag, inner.message, dns=inner.evidence) from None
            raise _Fail(reasons.DNS_FAILURE, str(exc)) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise _Fail(reasons.TLS_ERROR, str(exc), tls_error=str(exc.certificate_error)) from None
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise _Fail(reasons.TLS_ERROR, str(exc), tls_error=str(exc)) from None
        except aiohttp.ConnectionTimeoutError as exc:
            raise _Fail(reasons.CONNECT_TIMEOUT, f"no connection to {target.host} within {self.connect_timeout:g} s ({exc})") from None
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            if got_headers:
                raise _Fail(reasons.READ_TIMEOUT, f"{target} stopped sending before the body was complete") from exc
            raise _Fail(reasons.CONNECT_TIMEOUT, f"{target} did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            inner = exc.os_error
            if isinstance(inner, ConnectionRefusedError):
                raise _Fail(reasons.CONNECTION_REFUSED, str(exc)) from None
            raise _Fail(reasons.CONNECTION_LOST, str(exc)) from None
        except aiohttp.InvalidURL as exc:
            raise _Fail(reasons.INVALID_URL, f"invalid URL {target}: {exc}") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError,
                aiohttp.ClientResponseError, ConnectionError) as exc:
            raise _Fail(reasons.CONNECTION_LOST, f"{type(exc).__name__}: {exc}") from None
        except aiohttp.ClientError as exc:
            raise _Fail(reasons.DOWNLOAD_ERROR, f"{type(exc).__name__}: {exc}") from None

    async def _read(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """At most ``max_bytes`` of the body; the rest is left unread (and the connection dropped)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            room = self.max_bytes - size
            if len(chunk) > room:
                chunks.append(chunk[:room])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False


def _decode(body: bytes, charset: str | None) -> str:
    """Body text in the declared charset, UTF-8 when none or unknown; never raises."""
    if not body:
        return ""
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def random_token() -> str:
    """An unguessable path token for soft-404 probes."""
    return secrets.token_hex(8)
