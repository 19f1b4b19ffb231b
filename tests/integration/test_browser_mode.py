"""Browser mode against real servers on 127.0.0.1: Chromium renders, HttpClient fetches.

One threaded HTTP server (and a TLS twin with a certificate from a CA made here)
answers for every test host by the Host header; a tiny DNS server answers A
records for the test names (127.0.0.1, or private addresses the policy refuses)
and REFUSED for anything else. A TCP listener stands in for the browser's fence
proxy: any connection Chromium makes on its own lands there, and none may.

Skipped when Chromium or playwright are missing, unless CI is set: then it fails.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import shutil
import socket
import ssl
import threading
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

from auditor import data
from auditor.extract.chat import extract_chat
from auditor.extract.page import parse_page
from auditor.harvest.browser import (
    CLOSE_TIMEOUT,
    HARD_GRACE,
    BrowserRenderer,
    BrowserUnavailable,
    RenderResult,
    global_path,
    provider_globals,
)
from auditor.lab.dns import LabDNSServer
from auditor.lab.tls import LabCA
from auditor.models import ContactPoint, Verdict
from auditor.net.guard import AddressPolicy, is_public_address
from auditor.net.resolver import DnsResolver
from auditor.validate.browser import browser_chat_check, launcher_check
from auditor.validate.http import HttpClient
from tests.support.dns import a_records
from tests.support.requirements import need_chromium

pytestmark = pytest.mark.integration

T = TypeVar("T")

UA = "contact-auditor-test/1.0 (+https://example.invalid/bot)"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SITE = "http://site.test"
TAWK_SHOWN = "5f0000000000000000000001"
TAWK_HIDDEN = "5f0000000000000000000002"
TIDIO_KEY = "abcdefghijklmnopqrstuvwx"

NAMES = {
    "site.test": "127.0.0.1",
    "embed.tawk.to": "127.0.0.1",
    "code.tidio.co": "10.0.0.5",  # the widget host resolves to a private address
    "internal.test": "10.0.0.7",
}
TLS_NAMES = ("site.test", "embed.tawk.to", "code.tidio.co")
BUSY_TIMEOUT = 3.0

PAGE = "<!DOCTYPE html><html lang='de'><head><title>{title}</title>{head}</head><body>{body}</body></html>"
CONTACT_TEXT = "<h1>Kontakt</h1><p>Telefon +49 30 123456, E-Mail info@site.test</p>"

# A site bundle (external, so static extraction cannot see it) that injects the loader.
APP_JS = f"""
(function () {{
  setTimeout(function () {{
    var s = document.createElement("script");
    s.async = true;
    s.src = "https://embed.tawk.to/{TAWK_SHOWN}/default";
    document.head.appendChild(s);
  }}, 100);
}})();
"""
# The provider's usual inline snippet: visible to static extraction.
TAWK_SNIPPET = (
    "<script>var Tawk_API=Tawk_API||{}, Tawk_LoadStart=new Date();(function(){"
    "var s1=document.createElement('script'),s0=document.getElementsByTagName('script')[0];"
    f"s1.async=true;s1.src='https://embed.tawk.to/{TAWK_HIDDEN}/default';s1.charset='UTF-8';"
    "s0.parentNode.insertBefore(s1,s0);})();</script>"
)
WIDGET_JS = """
(function () {{
  window.Tawk_API = window.Tawk_API || {{}};
  window.Tawk_LoadStart = window.Tawk_LoadStart || new Date();
  var d = document.createElement("div");
  d.id = "tawkchat-container";
  d.style.cssText = "position:fixed;right:20px;bottom:20px;width:64px;height:64px;"
    + "border-radius:32px;background:#03a84e;z-index:1000;{extra}";
  d.textContent = "Chat";
  document.body.appendChild(d);
}})();
"""
SSRF = """<script>
fetch("http://169.254.169.254/latest/meta-data/").catch(function () {});
fetch("http://10.0.0.1/").catch(function () {});
fetch("http://internal.test/admin").catch(function () {});
var x = new XMLHttpRequest(); x.open("POST", "/api/chat"); x.send("hello");
try { var ws = new WebSocket("ws://site.test/socket"); } catch (e) {}
</script>"""
MANY = "<script>for (var i = 0; i < 30; i++) { var s = document.createElement('script');" \
       " s.src = '/static/n' + i + '.js'; document.head.appendChild(s); }</script>"


@dataclass
class World:
    http_port: int = 0
    https_port: int = 0
    dns_port: int = 0
    fence_port: int = 0
    ca_file: str = ""
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, host, path)
    fence_hits: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, host: str, prefix: str = "") -> list[tuple[str, str, str]]:
        with self.lock:
            return [r for r in self.log if r[1] == host and r[2].startswith(prefix)]


class LoopbackOnly(AddressPolicy):
    """Public addresses and 127.0.0.1 (the test servers); every other private range refused."""

    def permits(self, address: str) -> bool:
        return is_public_address(address) or ipaddress.ip_address(address) == ipaddress.ip_address("127.0.0.1")


def make_handler(world: World) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def send(self, status: int, body: str, ctype: str = "text/html; charset=utf-8",
                 headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _serve(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
            path = self.path.split("?", 1)[0]
            with world.lock:
                world.log.append((self.command, host, path))
            if host == "site.test":
                self.site(path)
            elif host == "embed.tawk.to" and path.endswith("/default"):
                extra = "display:none;" if TAWK_HIDDEN in path else ""
                self.send(200, WIDGET_JS.format(extra=extra), "application/javascript")
            else:
                self.send(404, "not found", "text/plain")

        def site(self, path: str) -> None:
            js = "application/javascript"
            if path == "/kontakt":
                self.send(200, PAGE.format(title="Kontakt", head='<script src="/static/app.js"></script>',
                                           body=CONTACT_TEXT))
            elif path == "/old-kontakt":
                self.send(301, "", headers={"Location": "/kontakt"})
            elif path == "/static/app.js":
                self.send(200, APP_JS, js)
            elif path == "/hidden":
                self.send(200, PAGE.format(title="Hilfe", head="", body=CONTACT_TEXT + TAWK_SNIPPET))
            elif path == "/blocked-widget":
                tag = f'<script async src="https://code.tidio.co/{TIDIO_KEY}.js"></script>'
                self.send(200, PAGE.format(title="Support", head=tag, body=CONTACT_TEXT))
            elif path == "/ssrf":
                self.send(200, PAGE.format(title="Probe", head="", body=CONTACT_TEXT + SSRF))
            elif path == "/many":
                self.send(200, PAGE.format(title="Many", head="", body=CONTACT_TEXT + MANY))
            elif path == "/busy":  # the page hangs its renderer after loading
                hang = "<script>setTimeout(function () { while (true) {} }, 200);</script>"
                self.send(200, PAGE.format(title="Busy", head="", body=CONTACT_TEXT + hang))
            elif path.startswith("/static/n"):
                self.send(200, "window.n = (window.n || 0) + 1;", js)
            else:
                self.send(404, "not found", "text/plain")

    return Handler


def _fence(world: World, stop: threading.Event) -> socket.socket:
    """Stands where the browser's proxy would be: every connection to it is an escape."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                try:
                    first = conn.recv(512).split(b"\r\n", 1)[0].decode("latin-1") or "?"
                except OSError:
                    first = "?"
                with world.lock:
                    world.fence_hits.append(first)

    threading.Thread(target=serve, daemon=True).start()
    return sock


def _make_ca() -> tuple[str, str, str]:
    """(CA file, certificate chain, key) from the lab's throw-away CA."""
    ca = LabCA("auditor test CA")
    cert, key = ca.issue(TLS_NAMES)
    return str(ca.ca_file), str(cert), str(key)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ca_file, cert_file, key_file = _make_ca()
    stop = threading.Event()
    w = World(ca_file=ca_file)
    dns_server = LabDNSServer(a_records(NAMES)).start()
    fence_sock = _fence(w, stop)
    handler = make_handler(w)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    secure = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    for server in (plain, secure):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    w.http_port, w.https_port = plain.server_address[1], secure.server_address[1]
    w.dns_port, w.fence_port = dns_server.port, fence_sock.getsockname()[1]
    yield w
    stop.set()
    for server in (plain, secure):
        server.shutdown()
        server.server_close()
    dns_server.stop()
    fence_sock.close()


def client(world: World, policy: AddressPolicy | None = None) -> HttpClient:
    return HttpClient(
        DnsResolver(f"127.0.0.1:{world.dns_port}", timeout=1.0),
        policy or LoopbackOnly(),
        user_agent=UA,
        timeout=4.0,
        connect_timeout=2.0,
        max_tries=1,
        port_overrides={"http": world.http_port, "https": world.https_port},
        ca_file=world.ca_file,
    )


@dataclass
class Outcome:
    renders: dict[str, RenderResult]
    static: dict[str, list[ContactPoint]]
    checks: dict[str, tuple[list[ContactPoint], list[Verdict]]]
    refused: RenderResult
    refused_check: tuple[list[ContactPoint], list[Verdict]]
    busy: RenderResult
    after_busy: RenderResult


@pytest.fixture(scope="module")
def outcome(world: World) -> Outcome:
    """Every render, done once in one event loop (two browsers: guarded, and default policy)."""
    need_chromium(CHROMIUM)

    async def main() -> Outcome:
        async with client(world) as http, client(world, AddressPolicy()) as strict:
            static: dict[str, list[ContactPoint]] = {}
            for path in ("/kontakt", "/hidden", "/blocked-widget"):
                res = await http.fetch(SITE + path)
                static[path] = extract_chat(parse_page(res.body, SITE + path))
            paths = ("/kontakt", "/old-kontakt", "/ssrf", "/many")
            checked = ("/kontakt", "/hidden", "/blocked-widget")
            gate = asyncio.Semaphore(3)  # a 2-core CI runner: not every page at once

            async def gated(job: Awaitable[T]) -> T:
                async with gate:
                    return await job

            async with BrowserRenderer(http, executable=CHROMIUM, timeout=10.0, max_requests=12,
                                       settle=2.0, fence_port=world.fence_port) as renderer, \
                    BrowserRenderer(strict, executable=CHROMIUM, timeout=10.0,
                                    fence_port=world.fence_port) as refusing:
                jobs: list[Awaitable[Any]] = [renderer.render(SITE + p) for p in paths]
                jobs += [browser_chat_check(renderer, SITE + p, static[p]) for p in checked]
                jobs += [refusing.render(SITE + "/kontakt"),
                         browser_chat_check(refusing, SITE + "/hidden", static["/hidden"])]
                got = await asyncio.gather(*(gated(job) for job in jobs))
            # Alone: a page that hangs its renderer takes a core until it is abandoned.
            async with BrowserRenderer(http, executable=CHROMIUM, timeout=BUSY_TIMEOUT,
                                       fence_port=world.fence_port) as short:
                busy = await short.render(SITE + "/busy")
                after_busy = await short.render(SITE + "/kontakt")
        n = len(paths)
        return Outcome(
            renders=dict(zip(paths, got[:n], strict=True)),
            static=static,
            checks=dict(zip(checked, got[n : n + len(checked)], strict=True)),
            refused=got[-2],
            refused_check=got[-1],
            busy=busy,
            after_busy=after_busy,
        )

    return asyncio.run(main())


def _records(result: RenderResult, needle: str) -> list[Any]:
    return [r for r in result.requests if needle in r.url]


# --------------------------------------------------------------------------- tests


def test_js_only_widget_is_found_only_by_rendering(outcome: Outcome) -> None:
    assert outcome.static["/kontakt"] == []  # static extraction sees no chat
    result = outcome.renders["/kontakt"]
    assert result.ok and result.status == 200, result.message
    assert 'id="tawkchat-container"' in result.html
    assert result.globals.get("tawk.to") == ["Tawk_API", "Tawk_LoadStart"]
    assert result.launcher_visible("tawk.to")
    widget = _records(result, f"embed.tawk.to/{TAWK_SHOWN}")
    assert widget and all((r.outcome, r.status) == ("fulfilled", 200) for r in widget), widget
    assert [r.cached for r in widget][0] is False

    new, verdicts = outcome.checks["/kontakt"]
    assert [cp.value for cp in new] == ["tawk.to"]
    cp = new[0]
    assert cp.method == "widget-script" and cp.page_url == SITE + "/kontakt"
    assert cp.details["evidence"] == "browser" and cp.details["js_global"] == "Tawk_API"
    assert cp.details["launcher_visible"] is True and cp.details["account_id"] == f"{TAWK_SHOWN}/default"
    assert [(v.value, v.verdict, v.reason) for v in verdicts] == [("tawk.to", "active", "launcher-visible")]
    check = verdicts[0].checks[0]
    assert check.name == "browser-launcher" and check.evidence["launchers"][0]["visible"] is True


def test_hidden_launcher_is_unknown(outcome: Outcome) -> None:
    assert [cp.value for cp in outcome.static["/hidden"]] == ["tawk.to"]
    new, verdicts = outcome.checks["/hidden"]
    assert new == []  # already harvested statically
    assert [(v.value, v.verdict, v.reason) for v in verdicts] == [("tawk.to", "unknown", "launcher-hidden")]
    evidence = verdicts[0].checks[0].evidence
    assert evidence["js_globals"] == ["Tawk_API", "Tawk_LoadStart"]
    assert evidence["launchers"] == [{"provider": "tawk.to", "marker": "#tawkchat-container", "count": 1,
                                      "visible": False, "box": None}]
    assert evidence["script_requests"][0]["outcome"] == "fulfilled"


def test_blocked_widget_script_gives_the_reason(outcome: Outcome) -> None:
    assert [cp.value for cp in outcome.static["/blocked-widget"]] == ["tidio"]
    new, verdicts = outcome.checks["/blocked-widget"]
    assert new == []
    assert [(v.value, v.verdict, v.reason) for v in verdicts] == [
        ("tidio", "unknown", "private-address-refused")], verdicts[0].checks[0].evidence
    script = verdicts[0].checks[0].evidence["script_requests"]
    assert script and all((r["outcome"], r["reason"]) == ("blocked", "private-address-refused")
                          for r in script), script  # Chromium may ask twice (preload scanner, parser)
    assert "10.0.0.5" in script[0]["message"]


def test_requests_to_private_addresses_are_blocked(outcome: Outcome, world: World) -> None:
    result = outcome.renders["/ssrf"]
    assert result.ok, result.message
    by_url = {r.url: r for r in result.requests}
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://internal.test/admin"):
        assert by_url[url].outcome == "blocked" and by_url[url].reason == "private-address-refused", by_url[url]
    post = _records(result, "/api/chat")
    assert [(r.method, r.outcome, r.reason) for r in post] == [("POST", "blocked", "method-blocked")]
    assert world.requests("site.test", "/api/chat") == []  # never sent
    sockets = [r for r in result.requests if r.resource_type == "websocket"]
    assert [(r.url, r.reason) for r in sockets] == [("ws://site.test/socket", "websocket-blocked")]
    assert world.requests("internal.test") == []


def test_no_page_request_reaches_the_fence(outcome: Outcome, world: World) -> None:
    """Every page request is routed. What arrives at the fence proxy (and dies there)
    is what Chromium sends outside routing: its own Google services and favicons."""
    assert outcome.renders  # every render has run
    with world.lock:
        hits = list(world.fence_hits)
    outside_routing = re.compile(r"\b(?:google|googleapis|gvt1)\.com\b|^GET http://site\.test/favicon\.ico ")
    assert [h for h in hits if h != "?" and not outside_routing.search(h)] == []
    assert world.requests("site.test", "/favicon.ico") == []  # it never reached the server


def test_request_budget_per_page(outcome: Outcome, world: World) -> None:
    result = outcome.renders["/many"]
    fetched = [r for r in _records(result, "/static/n") if r.outcome == "fulfilled"]
    spent = [r for r in _records(result, "/static/n") if r.reason == "request-budget-spent"]
    assert len(fetched) == 11 and len(spent) == 19  # 12 = the page + 11 scripts
    assert len(world.requests("site.test", "/static/n")) == 11


def test_redirect_renders_the_final_page(outcome: Outcome) -> None:
    result = outcome.renders["/old-kontakt"]
    assert result.final_url == SITE + "/kontakt" and result.status == 200
    assert result.launcher_visible("tawk.to")  # the relative /static/app.js resolved against the target


def test_without_allow_private_the_page_is_refused(outcome: Outcome, world: World) -> None:
    result = outcome.refused
    assert result.error == "private-address-refused" and result.html == ""
    assert [(r.url, r.outcome, r.reason) for r in result.requests] == [
        (SITE + "/kontakt", "blocked", "private-address-refused")]
    new, verdicts = outcome.refused_check
    assert new == []
    assert [(v.value, v.verdict, v.reason) for v in verdicts] == [("tawk.to", "unknown", "private-address-refused")]


def test_evidence_is_json_friendly(outcome: Outcome) -> None:
    import json

    ev = outcome.renders["/kontakt"].evidence()
    text = json.dumps(ev)
    assert "requests_fulfilled" in ev and "<html" not in text
    assert {r["outcome"] for r in ev["requests"]} <= {"fulfilled", "blocked"}


def test_a_hung_page_times_out_and_the_browser_carries_on(outcome: Outcome) -> None:
    busy = outcome.busy
    assert busy.error == "render-timeout", busy.message
    assert busy.elapsed_ms < (BUSY_TIMEOUT + HARD_GRACE + CLOSE_TIMEOUT + 1) * 1000
    after = outcome.after_busy
    assert after.ok and after.launcher_visible("tawk.to")


def test_no_sign_of_a_harvested_widget() -> None:
    """Statically seen, but the browser saw no request, global or launcher (e.g. consent-gated)."""
    cp = ContactPoint(kind="chat", value="crisp", raw="client.crisp.chat/l.js", label=None,
                      method="widget-script", page_url=SITE + "/x")
    result = RenderResult(url=SITE + "/x", final_url=SITE + "/x", status=200, html="<html></html>")
    check = launcher_check(cp, result)
    assert (check.name, check.verdict, check.reason) == ("browser-launcher", "unknown", "widget-not-loaded")


def test_new_reason_tags_are_documented() -> None:
    reasons = data.load("reasons.toml")["reasons"]
    for tag in ("launcher-visible", "launcher-hidden", "widget-not-loaded", "request-budget-spent",
                "scheme-blocked", "method-blocked", "resource-skipped", "websocket-blocked",
                "render-timeout", "browser-error", "browser-unavailable"):
        assert tag in reasons


def test_globals_come_from_the_inline_fingerprints() -> None:
    table = provider_globals()
    assert table["tawk.to"] == ("Tawk_API", "Tawk_LoadStart")
    assert "Ya.ChatWidget" in table["yandex-messenger"] and "Ya" not in table["yandex-messenger"]
    assert global_path(r"\bwindow\.FrontChat\b") == "FrontChat"
    assert global_path(r"\$crisp\b") == "$crisp"
    assert global_path(r"czater-jssdk") is None and global_path(r"xfbml\.customerchat\.js") is None


def test_missing_chromium_is_reported_clearly() -> None:
    async def main() -> None:
        http = HttpClient(DnsResolver("127.0.0.1:9", timeout=0.1), user_agent=UA)
        async with BrowserRenderer(http, executable="/nonexistent/chromium"):
            raise AssertionError("entered without a browser")

    with pytest.raises(BrowserUnavailable, match="Chromium|playwright"):
        asyncio.run(main())
