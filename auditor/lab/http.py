"""The lab's web server: every site of the world on one loopback port, picked by Host.

Real HTTP/1.1 over TCP (keep-alive, HEAD, Content-Length), so crawler tests exercise
the same code paths as a real crawl. Pages are rendered once at start, when the port
is known (links and redirects to other world hosts carry it), and every request is
written to a thread-safe log so tests can assert what was fetched and with which
User-Agent.

The same server class speaks HTTPS when given a TLS context (the lab CA's certificate
for every world host): it then serves the very same rendered pages, so an https URL
of a platform (t.me, a chat CDN) and its http twin answer alike. The TLS handshake
runs in the connection's own thread, so a client that never finishes it blocks nobody.

A page may answer HEAD differently from GET (``head_status``, e.g. 405 from a server
that refuses HEAD): HEAD then gets that status with the page's headers and no body.

Page faults (``fault = ...`` in the world, see auditor/lab/world.py) are answered here:
huge, dripping, reset and header-flooding answers are streamed from a generator, never
held in memory; bombs are built once per process (a gzip stream of repeated full-flush
blocks, so a 2 GiB bomb costs a fraction of a second); traps are generated per request.
"""

from __future__ import annotations

import datetime
import random
import secrets
import socket
import socketserver
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

import jinja2

from auditor.lab.world import CATCH_ALL, Page, World, WorldCompany, WorldError, lab_url

UNKNOWN_SITE = b"unknown site\n"
# Defaults of the page faults' ``size`` (bytes, links or depth).
FAULT_SIZES = {
    "huge": 50 * 1024 * 1024,
    "drip": 3600,
    "gzip-bomb": 2 * 1024**3,
    "brotli-bomb": 4 * 1024**3,
    "reset": 256 * 1024,
    "many-links": 100_000,
    "nested": 100_000,
    "binary": 1024 * 1024,
}
PREFIX_FAULTS = ("calendar", "session-trap")  # a page at "/x/" answers every path below it
STREAM_CHUNK = 64 * 1024
FILLER = b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.</p>\n"
HEADER_FLOOD_LIMIT = 4 * 1024**3  # the flood ends here even if a client keeps reading
NOT_FOUND = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n"


@dataclass(frozen=True)
class Response:
    """A ready-to-send answer: status, headers and encoded body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay: float = 0.0
    fault: str | None = None  # streamed or per-request faults: the handler produces the body
    size: int = 0
    length: bool = True
    head_status: int | None = None  # HEAD gets this status instead (the page's ``head_status``)

    def for_head(self) -> Response:
        """The answer to HEAD: the page's own, or its ``head_status`` with the headers, no body.

        A Location is kept only when the HEAD status is itself a redirect.
        """
        status = self.head_status
        if status is None:
            return self
        headers = tuple(
            (name, value) for name, value in self.headers
            if name.lower() != "location" or 300 <= status <= 399
        )
        return Response(status, headers, b"", self.delay)


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server answered."""

    time: float
    method: str
    host: str  # the Host header without its port
    path: str  # the request target exactly as sent (percent-encoded, with any query)
    user_agent: str | None
    status: int
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    scheme: str = "http"  # "https" for requests that came over the TLS listener

    @property
    def decoded_path(self) -> str:
        """The path without query, percent-decoded: '/контакты', '/kontakt/'."""
        return _decode_path(self.path)


def _decode_path(target: str) -> str:
    # Not urlsplit: an origin-form target like '//x/y' is a path, not a netloc.
    return unquote(target.split("?", 1)[0].split("#", 1)[0] or "/", errors="replace")


class RequestLog:
    """Thread-safe, append-only record of requests; iterate for a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[LoggedRequest] = []

    def append(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def for_host(self, host: str) -> list[LoggedRequest]:
        """Requests whose Host (without port) is ``host``."""
        host = host.lower()
        return [r for r in self.snapshot() if r.host == host]

    def paths(self, host: str) -> list[str]:
        """Decoded paths requested on ``host``, in order (repeats kept)."""
        return [r.decoded_path for r in self.for_host(host)]


# --------------------------------------------------------------------------- rendering


class Sites:
    """The rendered world for one port: host -> path -> Response."""

    def __init__(self, world: World, port: int) -> None:
        self.world = world
        self.port = port
        self.hosts = world.port_hosts  # platform URLs keep no port: reached by scheme overrides
        self._pages: dict[str, dict[str, Response]] = {}
        self._prefixes: dict[str, list[tuple[str, Response]]] = {}
        for company in (*world.companies, *world.platforms):
            self._render_company(company)

    def lookup(self, host: str, path: str, query: str = "") -> Response | None:
        """The response for ``host`` and decoded ``path``; None when the host is unknown.

        A page whose path carries a query ("/status?token=a") answers that query only:
        per-account endpoints (a chat widget's status by its token) differ by query.
        """
        site = self.world.sites.get(host)
        if site is None:
            return None
        pages = self._pages.get(site[1], {})
        found = pages.get(f"{path}?{query}") if query else None
        found = found or pages.get(path)
        if found is None:
            for prefix, trap in self._prefixes.get(site[1], ()):
                if path.startswith(prefix):
                    return trap
        found = found or pages.get(CATCH_ALL)
        if found is not None:
            return found
        return Response(404, (("Content-Type", "text/html; charset=utf-8"),), NOT_FOUND)

    def prefixes(self, host: str) -> list[tuple[str, Response]]:
        """(path prefix, trap) of the prefix faults served on ``host``."""
        site = self.world.sites.get(host)
        return self._prefixes.get(site[1], []) if site is not None else []

    def url(self, target: str, host: str) -> str:
        """Absolute lab URL for a path on ``host`` or a port-less world URL."""
        return lab_url(urljoin(f"http://{host}/", target), self.port, self.hosts)

    def _render_company(self, company: WorldCompany) -> None:
        for page in company.pages:
            response = self._render_page(company, page)
            self._pages.setdefault(page.host, {})[page.path] = response
            if page.fault in PREFIX_FAULTS and page.path.endswith("/"):
                self._prefixes.setdefault(page.host, []).append((page.path, response))
        # robots.txt and sitemap.xml belong to the website's host (aliases share the domain's pages)
        site_host = self.world.sites[company.site_host][1]
        own = self._pages.setdefault(site_host, {})
        context = self._context(company, site_host)
        if company.robots is not None:
            text = self._render(company.robots, context, company, "/robots.txt")
            own["/robots.txt"] = Response(
                200, (("Content-Type", "text/plain; charset=utf-8"),), text.encode()
            )
        if isinstance(company.sitemap, tuple):
            locs = "".join(
                f"  <url><loc>{escape(self.url(u, site_host))}</loc></url>\n"
                for u in company.sitemap
            )
            xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{locs}</urlset>\n'
            own["/sitemap.xml"] = Response(
                200, (("Content-Type", "application/xml"),), xml.encode()
            )
        elif company.sitemap is not None:
            xml = self._render(company.sitemap, context, company, "/sitemap.xml")
            own["/sitemap.xml"] = Response(
                200, (("Content-Type", "application/xml"),), xml.encode()
            )

    def _context(self, company: WorldCompany, host: str) -> dict[str, Any]:
        def url(target: str) -> str:
            return self.url(target, host)

        return {
            "company": company,
            "host": host,
            "port": self.port,
            "site": f"http://{company.site_host}:{self.port}",
            "url": url,
            "layout": company.layout,
        }

    def _render(
        self, template: jinja2.Template, context: dict[str, Any], company: WorldCompany, path: str
    ) -> str:
        try:
            return template.render(**context)
        except jinja2.TemplateError as exc:
            raise WorldError(f"company {company.domain!r}: rendering {path}: {exc}") from exc

    def _render_page(self, company: WorldCompany, page: Page) -> Response:
        headers: list[tuple[str, str]] = []
        if page.redirect is not None:
            location = (
                self.url(page.redirect, page.host) if "://" in page.redirect else page.redirect
            )
            headers.append(("Location", location))
        if page.template is not None:
            context = self._context(company, page.host)
            context.update(page=page.path, title=page.title, charset=page.charset, **page.vars)
            body = self._render(page.template, context, company, page.path).encode(
                page.charset, "xmlcharrefreplace"
            )
        else:
            body = (page.raw_body or "").encode(page.charset, "xmlcharrefreplace")
        size = FAULT_SIZES.get(page.fault or "", 0) if page.size is None else page.size
        if page.fault is not None:
            body, extra = _fault_body(page.fault, size, body, page.title or page.path)
            headers.extend(extra)
        if body or page.redirect is None or page.fault is not None:
            ctype = page.content_type
            if page.header_charset and "charset=" not in ctype and _is_text(ctype):
                ctype = f"{ctype}; charset={page.charset}"
            headers.append(("Content-Type", ctype))
        headers.extend(page.headers)
        return Response(
            page.status, tuple(headers), body, page.delay, page.fault, size, page.length,
            page.head_status,
        )


# --------------------------------------------------------------------------- faults


def _document(title: str, inner: bytes) -> tuple[bytes, bytes]:
    """(head, tail) of a minimal HTML document around generated content."""
    head = f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title></head><body>"
    return head.encode() + inner, b"</body></html>\n"


def _fault_body(fault: str, size: int, page_body: bytes, title: str) -> tuple[bytes, list[tuple[str, str]]]:
    """The stored body (and extra headers) of a fault built once, at render time.

    Streamed and per-request faults store only the page's own body (used as a filler
    seed or ignored); the handler produces what goes on the wire.
    """
    if fault == "gzip-bomb":
        return gzip_bomb(size), [("Content-Encoding", "gzip")]
    if fault == "brotli-bomb":
        return brotli_bomb(size), [("Content-Encoding", "br")]
    if fault == "binary":
        return random.Random(size).randbytes(size), []
    if fault == "many-links":
        head, tail = _document(title, page_body)
        links = b"".join(b'<a href="/item/%d">Item %d</a>\n' % (i, i) for i in range(size))
        return head + links + tail, []
    if fault == "nested":
        head, tail = _document(title, b"<div>" * size)
        return head + page_body + b"</div>" * size + tail, []
    return page_body, []


@lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A valid gzip stream inflating to ``size`` zero bytes, about size/1000 on the wire.

    Full-flush blocks are independent, so one compressed MiB is repeated instead of
    compressing gigabytes; only the CRC32 walks the whole (zero) data.
    """
    chunk = bytes(1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(size, len(chunk))
    crc = 0
    for _ in range(whole):
        crc = zlib.crc32(chunk, crc)
    tail = comp.compress(bytes(rest)) + comp.flush()
    crc = zlib.crc32(bytes(rest), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * whole + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


@lru_cache(maxsize=4)
def brotli_bomb(size: int) -> bytes:
    """A brotli stream inflating to ``size`` zero bytes (a few hundred KB per GiB)."""
    import brotli  # Scrapy's own dependency for Content-Encoding: br

    comp = brotli.Compressor(quality=1)
    chunk = bytes(1 << 20)
    whole, rest = divmod(size, len(chunk))
    out = [comp.process(chunk) for _ in range(whole)]
    out.append(comp.process(bytes(rest)))
    out.append(comp.finish())
    return b"".join(out)


def _calendar_page(path: str, prefix: str) -> bytes:
    """A day of an endless calendar: links to the neighbouring days, months and years."""
    try:
        day = datetime.date.fromisoformat(path[len(prefix):].strip("/")[:10])
    except ValueError:
        day = datetime.date(2024, 1, 1)

    def link(d: datetime.date, text: str) -> str:
        return f'<a href="{prefix}{d.isoformat()}">{text}</a>'

    month = datetime.timedelta(days=31)
    links = [
        link(day - datetime.timedelta(days=1), "previous day"),
        link(day + datetime.timedelta(days=1), "next day"),
        link(day - month, "previous month"),
        link(day + month, "next month"),
        link(day + datetime.timedelta(days=365), "next year"),
    ]
    head, tail = _document(f"Events on {day.isoformat()}", f"<h1>Events on {day}</h1><p>No events.</p>".encode())
    return head + " | ".join(links).encode() + tail


def _session_page(path: str, prefix: str) -> bytes:
    """Every answer links the same few pages again, each with a fresh session id."""
    sid = secrets.token_hex(8)
    items = "".join(
        f'<li><a href="{prefix}item-{k}?sid={sid}">Item {k}</a></li>' for k in range(1, 6)
    )
    body = f'<h1>Shop</h1><ul>{items}</ul><p><a href="{prefix}?sid={sid}">Shop home</a></p>'
    head, tail = _document("Shop", body.encode())
    return head + tail


def _is_text(content_type: str) -> bool:
    return content_type.startswith("text/") or content_type.endswith(
        ("+xml", "/xml", "/json", "javascript")
    )


# --------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    """Answers from the rendered Sites; the server object carries sites and log."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections must not pin threads forever

    def version_string(self) -> str:
        return "LabHTTP/1.0"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        self._serve(send_body=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the request log is the record, stderr noise helps nobody."""

    def _serve(self, send_body: bool) -> None:
        target = self.path
        host = self.headers.get("Host", "")
        if target.lower().startswith(("http://", "https://")):  # absolute-form (as to proxies)
            parts = urlsplit(target)
            host = parts.netloc
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        host = _strip_port(host)
        query = target.split("#", 1)[0].partition("?")[2]
        response = self.server.sites.lookup(host, _decode_path(target), query)
        if response is None:
            response = Response(404, (("Content-Type", "text/plain; charset=utf-8"),), UNKNOWN_SITE)
        if self.command == "HEAD":
            response = response.for_head()
        self.server.log.append(
            LoggedRequest(
                time=time.time(),
                method=self.command,
                host=host,
                path=target,
                user_agent=self.headers.get("User-Agent"),
                status=response.status,
                headers=dict(self.headers.items()),
                scheme=self.server.scheme,
            )
        )
        if response.delay:
            self.server.stopping.wait(response.delay)
        if response.fault in STREAMED_FAULTS:
            self._stream_fault(response, send_body)
            return
        body = response.body
        if response.fault in PREFIX_FAULTS:
            prefix = self._prefix_of(host, target)
            page = _calendar_page if response.fault == "calendar" else _session_page
            body = page(_decode_path(target), prefix)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _prefix_of(self, host: str, target: str) -> str:
        path = _decode_path(target)
        for prefix, _ in self.server.sites.prefixes(host):
            if path.startswith(prefix):
                return prefix
        return "/"

    def _stream_fault(self, response: Response, send_body: bool) -> None:
        """Huge, dripping, reset and header-flood answers, written as they are made."""
        fault, size = response.fault, response.size
        stopping = self.server.stopping
        if fault == "header-flood":
            self.send_response_only(response.status)
            sent = 0
            line = b"X-Flood-%d: " + b"a" * 1000 + b"\r\n"
            n = 0
            while sent < HEADER_FLOOD_LIMIT and not stopping.is_set():
                batch = b"".join(line % (n + i) for i in range(64))
                n += 64
                buffered: list[bytes] = getattr(self, "_headers_buffer", [])  # BaseHTTPRequestHandler's
                self.wfile.write(b"".join(buffered) + batch)
                buffered.clear()
                sent += len(batch)
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if fault == "huge" and not response.length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if not send_body:
            return
        if fault == "drip":
            for _ in range(size):
                self.wfile.write(b" ")
                if stopping.wait(1.0):
                    break
            return
        if fault == "reset":
            half = (response.body * (size // max(1, len(response.body)) + 1))[: size // 2]
            self.wfile.write(half)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            raise _ResetConnection
        first = response.body[:size]
        self.wfile.write(first)
        sent = len(first)
        chunk = (FILLER * (STREAM_CHUNK // len(FILLER) + 1))[:STREAM_CHUNK]
        while sent < size and not stopping.is_set():
            piece = chunk[: size - sent]
            self.wfile.write(piece)
            sent += len(piece)


STREAMED_FAULTS = ("huge", "drip", "reset", "header-flood")


class _ResetConnection(Exception):
    """Raised by the reset fault after arming SO_LINGER 0: the close becomes a RST."""


def _strip_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sites: Sites
    log: RequestLog
    tls: ssl.SSLContext | None = None
    scheme = "http"
    handshake_failures = 0
    stopping: threading.Event

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Over TLS: handshake here, in the connection's thread, then serve as usual."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_Handler.timeout)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            # A client that does not trust the lab CA hangs up here; that is its right.
            self.handshake_failures += 1
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's socket.getfqdn(): no reverse lookup leaves the machine."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response are normal for crawlers; stay quiet."""

    def shutdown_request(self, request: Any) -> None:
        """After a reset fault the socket closes without a FIN: SO_LINGER 0 sends a RST."""
        try:
            linger = request.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)
        except OSError:
            linger = b""
        if linger[:4] != b"\x00\x00\x00\x00" and linger:
            self.close_request(request)
            return
        super().shutdown_request(request)


class LabHTTPServer:
    """One HTTP (or, with ``tls``, HTTPS) server for all of the world's sites."""

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: ssl.SSLContext | None = None,
        log: RequestLog | None = None,
    ) -> None:
        self.world = world
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.log = log if log is not None else RequestLog()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # ends delays and streamed faults at stop()

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def handshake_failures(self) -> int:
        """TLS handshakes that failed (clients that do not trust the lab CA, among others)."""
        return self._server.handshake_failures if self._server is not None else 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP server is not running")
        return self._server.server_address[1]

    @property
    def sites(self) -> Sites:
        if self._server is None:
            raise RuntimeError("the HTTP server is not running")
        return self._server.sites

    def start(self, sites: Sites | None = None) -> LabHTTPServer:
        """Bind and serve; ``sites`` shares pages already rendered (for the HTTP port)."""
        server = _Server((self.host, self.requested_port), _Handler, bind_and_activate=True)
        try:
            server.sites = sites if sites is not None else Sites(self.world, server.server_address[1])
        except Exception:
            server.server_close()
            raise
        server.log = self.log
        server.tls = self.tls
        server.scheme = self.scheme
        server.stopping = self._stopping
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"lab-{self.scheme}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None
        self._thread = None
