"""The guarded HTTP client and link validators against real servers on 127.0.0.1.

One threaded HTTP server answers for every test host (routed by the Host header), a
second one speaks TLS with a certificate from a CA made here, and a tiny DNS server
answers A 127.0.0.1 for the test names, NXDOMAIN for ``nx.test`` and REFUSED for
anything else, so nothing can leave the machine.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

from auditor.lab.dns import LabDNSServer
from auditor.lab.tls import LabCA
from auditor.models import ContactPoint
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.http import HttpClient
from auditor.validate.links import LinkValidator, chat_checks, messaging_rules
from tests.support.dns import a_records

pytestmark = pytest.mark.integration

T = TypeVar("T")
UA = "contact-auditor-test/1.0 (+https://example.invalid/bot)"

NAMES = {
    "site.test": "127.0.0.1",
    "soft.test": "127.0.0.1",
    "tme.test": "127.0.0.1",
    "mme.test": "127.0.0.1",
    "fb.test": "127.0.0.1",
    "widgets.test": "127.0.0.1",
    "secure.test": "127.0.0.1",
    "internal.test": "127.0.0.2",  # refused by the test's narrower policy
}

PAGE = "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
CONTACT = PAGE.format(title="Kontakt | Site GmbH", text="Telefon +49 30 123456, Mail info@site.test. " * 5)
NOT_FOUND = PAGE.format(title="404", text="Not found")
CHALLENGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    '<div id="challenge-stage"></div><script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1">'
    "</script></body></html>"
)
SOFT_TEMPLATE = (
    "<html><head><title>Page not found - Soft Shop</title></head><body><nav>Home Shop About</nav>"
    "<h1>Oops! Page not found</h1><p>The page {path} could not be found. Try the search.</p>"
    "<footer>(c) Soft Shop</footer></body></html>"
)
TG_LIVE = (
    '<html><head><meta property="og:title" content="Acme Support"></head><body class="tgme_body">'
    '<div class="tgme_page"><div class="tgme_page_photo"><img src="x.jpg"></div>'
    '<div class="tgme_page_title" dir="auto"><span dir="auto">Acme Support</span></div>'
    '<div class="tgme_page_extra">@livechannel</div>'
    '<div class="tgme_page_action"><a class="tgme_action_button_new" href="tg://resolve?domain=livechannel">'
    "Send Message</a></div></div></body></html>"
)
TG_MISSING = (
    '<html><head><meta property="og:title" content="Telegram: Contact @{name}"></head><body class="tgme_body">'
    '<div class="tgme_page"><div class="tgme_page_icon"></div><div class="tgme_page_description">'
    'If you have <strong>Telegram</strong>, you can contact <a class="tgme_username_link" '
    'href="tg://resolve?domain={name}">@{name}</a> right away.</div>'
    '<div class="tgme_page_action"><a class="tgme_action_button_new" href="tg://resolve?domain={name}">'
    "Send Message</a></div></div></body></html>"
)


@dataclass
class Logged:
    method: str
    host: str
    path: str
    user_agent: str | None


@dataclass
class Lab:
    http_port: int
    https_port: int
    dns_port: int
    ca_file: str
    log: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counters: dict[str, int] = field(default_factory=dict)
    inflight: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def requests(self, host: str | None = None, path_prefix: str = "") -> list[Logged]:
        with self.lock:
            return [r for r in self.log if (host is None or r.host == host) and r.path.startswith(path_prefix)]

    def bump(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]


def make_handler(lab: Lab) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def send(self, status: int, body: str = "", headers: dict[str, str] | None = None,
                 ctype: str = "text/html; charset=utf-8") -> None:
            data = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout and size-cap tests)

        def redirect(self, status: int, location: str) -> None:
            self.send(status, "", {"Location": location})

        def _serve(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0] if "]" not in (self.headers.get("Host") or "") else ""
            path = self.path.split("?", 1)[0]
            with lab.lock:
                lab.log.append(Logged(self.command, host, self.path, self.headers.get("User-Agent")))
            route = getattr(self, "host_" + host.replace(".", "_").replace("-", "_"), None)
            if route is None:
                self.send(421, "unknown host")
                return
            route(path)

        def host_site_test(self, path: str) -> None:
            if path == "/":
                self.send(200, PAGE.format(title="Site GmbH", text="Welcome"))
            elif path == "/kontakt":
                self.send(200, CONTACT)
            elif path == "/gone-404":
                self.send(404, NOT_FOUND)
            elif path == "/gone-410":
                self.send(410, NOT_FOUND)
            elif path == "/head-405":
                if self.command == "HEAD":
                    self.send(405, "", {"Allow": "GET"})
                else:
                    self.send(200, CONTACT)
            elif path == "/retry-once":
                if lab.bump(path) == 1:
                    self.send(429, "slow down", {"Retry-After": "1"})
                else:
                    self.send(200, CONTACT)
            elif path == "/always-429":
                self.send(429, "slow down")
            elif path == "/always-503":
                self.send(503, "<h1>Service Unavailable</h1>")
            elif path == "/challenge":
                self.send(503, CHALLENGE, {"Server": "cloudflare"})
            elif path == "/r1":
                self.redirect(302, "/r2")
            elif path == "/r2":
                self.redirect(301, "http://site.test/r3")
            elif path == "/r3":
                self.send(200, CONTACT)
            elif path == "/loop-a":
                self.redirect(302, "/loop-b")
            elif path == "/loop-b":
                self.redirect(302, "/loop-a")
            elif path == "/cookie-gate":
                if "passed=1" in (self.headers.get("Cookie") or ""):
                    self.send(200, CONTACT)
                else:
                    self.send(302, "", {"Location": "/cookie-gate", "Set-Cookie": "passed=1; Path=/"})
            elif path == "/to-internal":
                self.redirect(302, "http://internal.test/")
            elif path == "/to-literal":
                self.redirect(302, "http://10.0.0.1/")
            elif path == "/slow":
                time.sleep(2.0)
                self.send(200, "late")
            elif path == "/busy":
                with lab.lock:
                    lab.inflight[path] = lab.inflight.get(path, 0) + 1
                    lab.peak[path] = max(lab.peak.get(path, 0), lab.inflight[path])
                time.sleep(0.15)
                with lab.lock:
                    lab.inflight[path] -= 1
                self.send(200, "ok")
            elif path == "/big":
                self.send(200, "x" * 300_000, ctype="text/plain")
            elif path == "/api/contact":
                self.send(405, "", {"Allow": "POST"}) if self.command == "GET" else self.send(405)
            else:
                self.send(404, NOT_FOUND)

        def host_soft_test(self, path: str) -> None:
            self.send(200, SOFT_TEMPLATE.format(path=path))

        def host_tme_test(self, path: str) -> None:
            name = path.strip("/")
            if name == "livechannel":
                self.send(200, TG_LIVE)
            else:
                self.send(200, TG_MISSING.format(name=name))

        def host_mme_test(self, path: str) -> None:
            if path == "/deletedpage":
                self.send(404, NOT_FOUND)
            elif path == "/gonepage":
                self.redirect(302, "http://fb.test/login/")
            elif path == "/blockedpage":
                self.send(200, "<html><body><h2>This content isn&#039;t available right now</h2></body></html>")
            else:
                self.redirect(302, f"http://fb.test/login/?next=http%3A%2F%2Fmme.test{path}")

        def host_fb_test(self, path: str) -> None:
            self.send(200, PAGE.format(title="Log in", text="Log in to continue"))

        def host_widgets_test(self, path: str) -> None:
            if path in ("/widget/abc123.js", "/loader.js"):
                self.send(200, "window.Widget={};", ctype="application/javascript")
            elif path == "/config/abc123":
                self.send(200, '{"online": true}', ctype="application/json")
            else:
                self.send(404, "not found", ctype="text/plain")

        def host_secure_test(self, path: str) -> None:
            self.send(200, CONTACT)

    return Handler


def _make_ca() -> tuple[str, str, str]:
    """(CA file, certificate chain, key) from the lab's throw-away CA."""
    ca = LabCA("auditor test CA")
    cert, key = ca.issue(["secure.test"])
    return str(ca.ca_file), str(cert), str(key)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    ca_file, cert_file, key_file = _make_ca()
    dns_server = LabDNSServer(a_records(NAMES, nxdomain=["nx.test"])).start()
    lab = Lab(0, 0, dns_server.port, ca_file)
    handler = make_handler(lab)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    secure = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    for server in (plain, secure):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    lab.http_port, lab.https_port = plain.server_address[1], secure.server_address[1]
    yield lab
    for server in (plain, secure):
        server.shutdown()
        server.server_close()
    dns_server.stop()


def client(lab: Lab, *, allow_private: bool = True, policy: AddressPolicy | None = None,
           ca: bool = True, **kw: Any) -> HttpClient:
    options: dict[str, Any] = {"timeout": 3.0, "connect_timeout": 2.0, "backoff_base": 0.05}
    options.update(kw)
    return HttpClient(
        DnsResolver(f"127.0.0.1:{lab.dns_port}", timeout=1.0),
        policy or AddressPolicy(allow_private=allow_private),
        user_agent=UA,
        port_overrides={"http": lab.http_port, "https": lab.https_port},
        ca_file=lab.ca_file if ca else None,
        **options,
    )


def run(lab: Lab, body: Callable[[HttpClient], Awaitable[T]], **kw: Any) -> T:
    async def main() -> T:
        async with client(lab, **kw) as http:
            return await body(http)

    return asyncio.run(main())


def validate(lab: Lab, cp: ContactPoint | str, **kw: Any) -> Any:
    validator_kw = kw.pop("validator", {})

    async def body(http: HttpClient) -> Any:
        v = LinkValidator(http, **validator_kw)
        return await (v.check_page(cp) if isinstance(cp, str) else v.validate(cp))

    return run(lab, body, **kw)


def cp(kind: str, value: str, raw: str = "", **details: Any) -> ContactPoint:
    return ContactPoint(kind=kind, value=value, raw=raw or value, label=details.pop("label", None),
                        method="deep-link", page_url=details.pop("page_url", "http://site.test/kontakt"),
                        details=details)


# ---------------------------------------------------------------- the HTTP client


def test_page_answers_with_evidence(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/kontakt"))
    assert res.ok and res.status == 200 and res.error is None
    assert res.chain == [{"url": "http://site.test/kontakt", "status": 200, "location": None}]
    assert "Kontakt" in res.body and res.headers["content-type"].startswith("text/html")
    assert res.elapsed_ms > 0 and res.tls_ok is None
    seen = lab.requests("site.test", "/kontakt")[-1]
    assert seen.user_agent == UA and seen.method == "GET"


def test_redirect_chain_is_recorded(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/r1"))
    assert res.status == 200 and res.final_url == "http://site.test/r3"
    assert [(h["url"], h["status"], h["location"]) for h in res.chain] == [
        ("http://site.test/r1", 302, "http://site.test/r2"),
        ("http://site.test/r2", 301, "http://site.test/r3"),
        ("http://site.test/r3", 200, None),
    ]


def test_redirect_loop_detected(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/loop-a"))
    assert res.error == "redirect-loop"
    assert len(lab.requests("site.test", "/loop-a")) >= 1 and len(res.chain) == 3


def test_cookie_gate_is_not_a_loop(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/cookie-gate"))
    assert res.ok and len(res.chain) == 2


def test_too_many_redirects(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/r1"), max_redirects=1)
    assert res.error == "too-many-redirects"


def test_head_falls_back_to_get(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/head-405"), head_safe_hosts=["site.test"])
    assert res.ok and res.method == "GET"
    assert res.chain[0]["method"] == "HEAD" and res.chain[0]["status"] == 405
    assert [r.method for r in lab.requests("site.test", "/head-405")][-2:] == ["HEAD", "GET"]


def test_get_is_the_default(lab: Lab) -> None:
    run(lab, lambda h: h.fetch("http://site.test/"))
    assert lab.requests("site.test", "/")[-1].method == "GET"


def test_retry_after_is_honoured(lab: Lab) -> None:
    t0 = time.perf_counter()
    res = run(lab, lambda h: h.fetch("http://site.test/retry-once"))
    assert res.ok and res.tries == 2 and res.waits == [1.0]
    assert time.perf_counter() - t0 >= 0.95


def test_persistent_429_gives_up_after_three_tries(lab: Lab) -> None:
    before = len(lab.requests("site.test", "/always-429"))
    res = run(lab, lambda h: h.fetch("http://site.test/always-429"))
    assert res.status == 429 and res.tries == 3 and res.waits == [0.05, 0.1]
    assert len(lab.requests("site.test", "/always-429")) - before == 3


def test_challenge_is_not_retried(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/challenge"))
    assert res.status == 503 and res.tries == 1 and res.challenge


def test_body_is_capped(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("http://site.test/big"), max_bytes=10_000)
    assert res.ok and res.truncated and len(res.body) == 10_000


def test_slow_endpoint_times_out(lab: Lab) -> None:
    # /slow answers 200 after 2 s: a client that waited for it would have a status, not an error
    res = run(lab, lambda h: h.fetch("http://site.test/slow"), timeout=0.4)
    assert res.error == "connect-timeout" and res.status is None and "within 0.4 s" in res.message


def test_per_host_concurrency_limit(lab: Lab) -> None:
    async def body(http: HttpClient) -> list[Any]:
        return list(await asyncio.gather(*(http.fetch("http://site.test/busy") for _ in range(6))))

    results = run(lab, body, per_host=2)
    assert all(r.ok for r in results)
    assert lab.peak["/busy"] == 2


def test_tls_with_lab_ca(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("https://secure.test/kontakt"))
    assert res.ok and res.tls_ok is True


def test_tls_without_trusted_ca_is_tls_error(lab: Lab) -> None:
    res = run(lab, lambda h: h.fetch("https://secure.test/kontakt"), ca=False)
    assert res.error == "tls-error" and res.tls_ok is False and res.tls_error


def test_dns_outcomes(lab: Lab) -> None:
    nx = run(lab, lambda h: h.fetch("http://nx.test/"))
    assert nx.error == "nxdomain" and nx.dns["status"] == "nxdomain"
    refused = run(lab, lambda h: h.fetch("http://elsewhere.example/"))
    assert refused.error == "dns-failure"


def test_every_hop_is_checked(lab: Lab) -> None:
    narrow = type("Narrow", (AddressPolicy,), {"permits": lambda self, a: a == "127.0.0.1"})()
    res = run(lab, lambda h: h.fetch("http://site.test/to-internal"), policy=narrow)
    assert res.error == "private-address-refused"
    assert res.chain[0]["location"] == "http://internal.test/"
    literal = run(lab, lambda h: h.fetch("http://site.test/to-literal"), policy=narrow)
    assert literal.error == "private-address-refused"


def test_without_allow_private_nothing_is_contacted(lab: Lab) -> None:
    before = len(lab.requests())
    urls = ["http://site.test/kontakt", "https://secure.test/", "http://tme.test/livechannel",
            f"http://127.0.0.1:{lab.http_port}/kontakt", "http://[::1]/", "http://localhost/"]

    async def body(http: HttpClient) -> list[Any]:
        return list(await asyncio.gather(*(http.fetch(u) for u in urls)))

    results = run(lab, body, allow_private=False)
    assert [r.error for r in results[:5]] == ["private-address-refused"] * 5
    assert results[5].error in ("private-address-refused", "dns-failure")  # the lab DNS refuses it
    checked = validate(lab, cp("messaging", "http://tme.test/livechannel", platform="telegram"),
                       allow_private=False)
    assert (checked.verdict, checked.reason) == ("unknown", "private-address-refused")
    assert len(lab.requests()) == before


# ---------------------------------------------------------------- pages and forms


@pytest.mark.parametrize(
    ("url", "verdict", "reason"),
    [
        ("http://site.test/kontakt", "active", "http-ok"),
        ("http://site.test/gone-404", "inactive", "http-404"),
        ("http://site.test/gone-410", "inactive", "http-404"),
        ("http://site.test/challenge", "unknown", "bot-challenge"),
        ("http://site.test/always-429", "unknown", "rate-limited"),
        ("http://site.test/always-503", "unknown", "http-5xx"),
        ("http://site.test/loop-a", "inactive", "redirect-loop"),
        ("http://nx.test/kontakt", "inactive", "nxdomain"),
        ("http://elsewhere.example/", "unknown", "dns-failure"),
        ("http://soft.test/kontakt", "inactive", "soft-404"),
        ("http://soft.test/", "active", "http-ok"),  # never for the home page
    ],
)
def test_page_verdicts(lab: Lab, url: str, verdict: str, reason: str) -> None:
    v = validate(lab, url)
    assert (v.kind, v.value, v.verdict, v.reason) == ("page", url, verdict, reason)
    http = v.checks[0]
    assert http.name == "http" and http.started_at > 0 and http.duration_ms > 0
    assert "chain" in http.evidence and "elapsed_ms" in http.evidence


def test_soft_404_baseline_once_per_host(lab: Lab) -> None:
    before = len(lab.requests("soft.test", "/this-page-does-not-exist-"))

    async def body(http: HttpClient) -> list[Any]:
        v = LinkValidator(http)
        return list(await asyncio.gather(v.check_page("http://soft.test/kontakt"),
                                         v.check_page("http://soft.test/impressum")))

    results = run(lab, body)
    assert [r.reason for r in results] == ["soft-404", "soft-404"]
    assert len(lab.requests("soft.test", "/this-page-does-not-exist-")) - before == 1
    ev = results[0].checks[1].evidence
    assert ev["similarity"] >= 0.9 and ev["baseline_status"] == 200


def test_real_page_beside_a_404_baseline(lab: Lab) -> None:
    v = validate(lab, "http://site.test/kontakt")
    soft = v.checks[1]
    assert soft.name == "soft-404" and soft.evidence["compared"] is False
    assert soft.evidence["baseline_status"] == 404


def test_form_checks(lab: Lab) -> None:
    post_405 = validate(lab, cp("form", "http://site.test/api/contact", method="post"))
    assert (post_405.verdict, post_405.reason) == ("active", "form-action-ok")
    assert [c.name for c in post_405.checks][-1] == "form-action"
    php_gone = validate(lab, cp("form", "http://site.test/send.php", method="post"))
    assert (php_gone.verdict, php_gone.reason) == ("inactive", "form-action-broken")
    route_404 = validate(lab, cp("form", "http://site.test/api/gone", method="post"))
    assert (route_404.verdict, route_404.reason) == ("unknown", "form-action-unverified")
    self_post = validate(lab, cp("form", "http://site.test/kontakt", method="post"))
    assert (self_post.verdict, self_post.reason) == ("active", "form-action-ok")
    page_gone = validate(lab, cp("form", "http://site.test/api/contact", method="post",
                                 page_url="http://site.test/gone-404"))
    assert (page_gone.verdict, page_gone.reason) == ("inactive", "http-404")
    soft_action = validate(lab, cp("form", "http://soft.test/send", method="post", page_url="http://soft.test/"))
    assert (soft_action.verdict, soft_action.reason) == ("inactive", "form-action-broken")


# ---------------------------------------------------------------- chat widgets


def _chat_rules(config: str, status: str = "verified") -> dict[str, Any]:
    rules = dict(chat_checks())
    rules["providers"] = {"tawk.to": {"script": "", "config": config, "status": status}}
    return rules


def test_widget_script_loads_or_is_missing(lab: Lab) -> None:
    live = validate(lab, cp("chat", "tawk.to", "http://widgets.test/widget/abc123.js", account_id="abc123"),
                    validator={"chat_rules": _chat_rules("")})
    assert (live.verdict, live.reason) == ("active", "widget-loads")
    assert live.checks[0].evidence["account_id"] == "abc123"
    missing = validate(lab, cp("chat", "tawk.to", "http://widgets.test/widget/zzz.js"),
                       validator={"chat_rules": _chat_rules("")})
    assert (missing.verdict, missing.reason) == ("inactive", "widget-missing")


def test_widget_config_endpoint_decides(lab: Lab) -> None:
    rules = _chat_rules("http://widgets.test/config/{account_id}")
    ok = validate(lab, cp("chat", "tawk.to", "http://widgets.test/loader.js", account_id="abc123"),
                  validator={"chat_rules": rules})
    assert (ok.verdict, ok.reason) == ("active", "widget-loads")
    assert [c.name for c in ok.checks] == ["widget-script", "widget-config"]
    assert ok.checks[1].evidence["template_status"] == "verified"
    gone = validate(lab, cp("chat", "tawk.to", "http://widgets.test/loader.js", account_id="gone"),
                    validator={"chat_rules": rules})
    assert (gone.verdict, gone.reason) == ("inactive", "widget-missing")
    # a merely plausible template's 404 is evidence, not proof: the loading script decides
    unsure = _chat_rules("http://widgets.test/config/{account_id}", status="plausible")
    hinted = validate(lab, cp("chat", "tawk.to", "http://widgets.test/loader.js", account_id="gone"),
                      validator={"chat_rules": unsure})
    assert (hinted.verdict, hinted.reason) == ("active", "widget-loads")
    assert (hinted.checks[1].verdict, hinted.checks[1].reason) == ("unknown", "widget-missing")
    only_config = validate(lab, cp("chat", "tawk.to", "tawk_API", account_id="gone"),
                           validator={"chat_rules": unsure})
    assert (only_config.verdict, only_config.reason) == ("unknown", "widget-missing")


def test_dead_provider_needs_no_request(lab: Lab) -> None:
    before = len(lab.requests())
    v = validate(lab, cp("chat", "facebook-customer-chat", "http://widgets.test/widget/abc123.js"),
                 validator={"providers": {"facebook-customer-chat": {"dead": True, "dead_since": "2024-05-09"}}})
    assert (v.verdict, v.reason, v.flags) == ("inactive", "dead-provider", ("dead-provider",))
    assert v.checks[0].evidence["dead_since"] == "2024-05-09"
    flagged = validate(lab, cp("chat", "someone", "http://widgets.test/widget/abc123.js", **{"dead-provider": True}))
    assert flagged.reason == "dead-provider"
    assert len(lab.requests()) == before


def test_widget_without_url(lab: Lab) -> None:
    v = validate(lab, cp("chat", "tidio", "tidioChatApi"), validator={"chat_rules": _chat_rules("")})
    assert (v.verdict, v.reason) == ("unknown", "no-widget-url")


# ---------------------------------------------------------------- messaging


def _messaging() -> dict[str, Any]:
    rules = {k: dict(v) for k, v in messaging_rules().items()}
    rules["messenger"]["generic_url_patterns"] = [r"^https?://fb\.test/login/?(?:[?#]|$)"]
    return rules


@pytest.mark.parametrize(
    ("value", "platform", "verdict", "reason"),
    [
        ("http://tme.test/livechannel", "telegram", "active", "account-exists"),
        ("http://tme.test/nobody_here", "telegram", "inactive", "account-missing"),
        ("http://mme.test/deletedpage", "messenger", "inactive", "account-missing"),
        ("http://mme.test/gonepage", "messenger", "inactive", "account-missing"),
        ("http://mme.test/blockedpage", "messenger", "inactive", "account-missing"),
        ("http://mme.test/acmepage", "messenger", "unknown", "unverifiable"),
    ],
)
def test_messaging_pages(lab: Lab, value: str, platform: str, verdict: str, reason: str) -> None:
    account = value.rsplit("/", 1)[1]
    v = validate(lab, cp("messaging", value, platform=platform, account=account),
                 validator={"messaging": _messaging()})
    assert (v.kind, v.verdict, v.reason) == ("messaging", verdict, reason)
    check = v.checks[0]
    assert check.name == "messaging-page" and "markers" in check.evidence and check.evidence["chain"]


@pytest.mark.parametrize(
    ("value", "platform", "account", "verdict", "reason"),
    [
        ("https://wa.me/36201234567", "whatsapp", "36201234567", "unknown", "unverifiable"),
        ("https://wa.me/3612", "whatsapp", "3612", "inactive", "invalid-number"),
        ("https://wa.me/4915123", "whatsapp", "4915123", "inactive", "invalid-number"),
        ("https://wa.link/abc12", "whatsapp", "abc12", "unknown", "unverifiable"),
        ("viber://chat?number=%2B48512345678", "viber", "+48512345678", "unknown", "unverifiable"),
        ("viber://chat?number=%2B4800000", "viber", "+4800000", "inactive", "invalid-number"),
        ("skype:acme.support?chat", "skype", "acme.support", "unknown", "unverifiable"),
    ],
)
def test_messaging_without_requests(lab: Lab, value: str, platform: str, account: str,
                                    verdict: str, reason: str) -> None:
    before = len(lab.requests())
    v = validate(lab, cp("messaging", value, platform=platform, account=account))
    assert (v.verdict, v.reason) == (verdict, reason)
    assert len(lab.requests()) == before
    assert v.flags == ()


def test_messaging_link_written_without_scheme_is_flagged(lab: Lab) -> None:
    """The account is checked as usual; the verdict says the site's link itself is dead."""
    point = cp("messaging", "https://wa.me/36201234567", raw="wa.me/36201234567", platform="whatsapp",
               account="36201234567", written_without_scheme=True)
    v = validate(lab, point)
    assert (v.verdict, v.reason, v.flags) == ("unknown", "unverifiable", ("link-without-scheme",))
