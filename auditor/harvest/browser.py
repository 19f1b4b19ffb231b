"""Browser mode (``--browser``): render a contact page in headless Chromium.

Why: many chat widgets exist only after JavaScript ran (a tag manager or a site
bundle injects the loader), so static extraction cannot see them, and a widget
whose script loads may still never show its launcher. Rendering answers both:
this module renders and harvests the chat points only rendering shows;
:mod:`auditor.validate.browser` judges from the same render whether the
launcher appears.

Why it is safe to render hostile pages: the browser never opens a connection of
its own. Every request it makes is intercepted with Playwright routing and
either fulfilled from the project's guarded :class:`HttpClient` (DNS through the
run's resolver, each address checked by :class:`AddressPolicy`, size-capped) or
aborted: refused address, non-http(s) scheme, a method other than GET/HEAD (the
page must not post forms or open chat sessions), binary resource types, a spent
per-page request budget. WebSockets are answered by a mock that closes them,
service workers are blocked, WebRTC is removed. As a second fence Chromium is
started with a proxy on an unused loopback port (loopback not bypassed) and a
host-resolver rule that resolves nothing, so a request routing missed fails
instead of escaping. Every request is recorded with its outcome as evidence.

Routing sees page requests only. Chromium's own background calls (seen with
Debian's Chromium 156: the on-device model manifest check at update.googleapis.com
and accounts.google.com) cannot be routed and Playwright's --disable-features list
cannot be extended without replacing it; they die at the fence. By default the
fence is a sink on an ephemeral loopback port that records what reached it
(:attr:`BrowserRenderer.fence_log`), so a routing gap would show, not hide.

Playwright is imported lazily: without it (or without Chromium) the renderer
raises :class:`BrowserUnavailable` on entry and the rest of the tool is unaffected.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urldefrag, urlsplit

from auditor import data
from auditor.config import Settings, default
from auditor.extract.chat import CONFIDENCE, extract_chat, fingerprints
from auditor.extract.page import parse_page
from auditor.models import CompanyResult, ContactPoint
from auditor.net.guard import AddressPolicy, is_ip_literal
from auditor.net.options import NetworkOptions
from auditor.net.resolver import DnsResolver
from auditor.store import Store
from auditor.validate.http import HttpClient, HttpResult

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright, Request, Route, WebSocketRoute

log = logging.getLogger(__name__)

DEFAULT_EXECUTABLE: str = default("chromium")
FENCE_HOST = "127.0.0.1"
MAX_FENCE_LOG = 200
VIEWPORT = {"width": 1366, "height": 900}
SETTLE_MIN = 0.5  # seconds after "load" before the page may count as settled
SETTLE_IDLE = 0.5  # no routed request for this long -> settled
SETTLE_MAX = 3.0  # widgets that wait longer than this are not waited for
MAX_CONSOLE = 50
MAX_RECORDS_FACTOR = 5  # records kept per page: budget x factor (blocked spam is cut)
MAX_ELEMENTS_PER_MARKER = 5
SKIPPED_TYPES = frozenset({"image", "media", "font"})  # bodies are text in HttpClient; not needed
HARD_GRACE = 3.0  # seconds past the time budget before a render is abandoned
CLOSE_TIMEOUT = 5.0
INSPECT_TRIES = 5
SCRIPT_STATE_WAIT = 2.0  # seconds a page's loaded widgets' documented APIs get to become ready, in all
SCRIPT_STATE_POLL_MS = 100
JS_HEAP_MB = 256

# Flags on top of Playwright's own defaults (which already add a fresh temporary
# --user-data-dir, --disable-extensions, --disable-default-apps and friends).
BASE_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--no-pings",
    "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--proxy-bypass-list=<-loopback>",  # Chromium bypasses proxies for loopback unless told
    # A hostile page's memory: V8's heap per renderer is capped (a page past it
    # crashes, which is a browser-error of that page, not of the run).
    f"--js-flags=--max-old-space-size={JS_HEAP_MB}",
)

# Remove WebRTC before any page script runs: it can open UDP flows routing never sees.
NO_WEBRTC = """
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel"]) {
  try { delete window[name]; } catch (e) {}
  try { Object.defineProperty(window, name, {value: undefined, configurable: false}); } catch (e) {}
}
"""

# Which of the given dotted paths name a defined JS value. An element with a
# matching id is also a "global" (named access on window); that is markup, not a
# widget's script, so elements and collections do not count.
JS_GLOBALS = """
(paths) => paths.filter((path) => {
  try {
    let value = window;
    for (const key of path.split(".")) {
      if (value === null || value === undefined) return false;
      value = value[key];
    }
    if (typeof value === "undefined") return false;
    if (value instanceof Element || value instanceof HTMLCollection) return false;
    return true;
  } catch (e) { return false; }
})
"""

JS_OUTER_HTML = """
() => (document.doctype ? "<!DOCTYPE " + document.doctype.name + ">" : "") + document.documentElement.outerHTML
"""

# Opacity and visibility along the ancestors, which Playwright's is_visible() ignores.
JS_SEEN = """
(el) => {
  if (typeof el.checkVisibility === "function") {
    return el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  }
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === "none" || s.visibility === "hidden" || parseFloat(s.opacity) === 0) return false;
  }
  return true;
}
"""

_ABORT_CODES: Mapping[str, str] = {
    "nxdomain": "namenotresolved",
    "dns-failure": "namenotresolved",
    "dns-timeout": "namenotresolved",
    "connect-timeout": "timedout",
    "read-timeout": "timedout",
    "connection-refused": "connectionrefused",
    "connection-lost": "connectionreset",
}
_BLOCK_CODE = "blockedbyclient"
_TEXTUAL = ("text/", "javascript", "ecmascript", "json", "xml", "svg")


class Fetcher(Protocol):
    """What the renderer fetches through: the guarded :class:`HttpClient`, or the
    crawl's own downloader (spiders/render.py), so that a rendering page meets the
    same address guard, robots.txt, per-host rate and size limit as the crawl."""

    @property
    def policy(self) -> AddressPolicy: ...

    @property
    def user_agent(self) -> str: ...

    @property
    def max_bytes(self) -> int: ...

    async def fetch(self, url: str, *, method: str | None = None) -> HttpResult: ...


class BrowserUnavailable(RuntimeError):
    """Chromium or the playwright package is missing or will not start.

    Raised by :meth:`BrowserRenderer.__aenter__` only, so the CLI can say so once
    and carry on with static extraction.
    """


@dataclass(frozen=True)
class RequestRecord:
    """One request the page made and what the renderer did with it."""

    url: str
    method: str
    resource_type: str
    outcome: str  # fulfilled | blocked
    status: int | None = None
    reason: str = ""  # reasons.toml tag for blocked requests
    message: str = ""
    cached: bool = False
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "method": self.method, "type": self.resource_type,
                               "outcome": self.outcome, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.message:
            out["message"] = self.message
        if self.cached:
            out["cached"] = True
        out["elapsed_ms"] = round(self.elapsed_ms, 1)
        return out


@dataclass(frozen=True)
class LauncherSighting:
    """A provider's DOM marker found in the rendered page, and whether a visitor sees it."""

    provider: str
    marker: str
    count: int
    visible: bool
    box: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "marker": self.marker, "count": self.count,
                "visible": self.visible, "box": dict(self.box) if self.box else None}


@dataclass
class RenderResult:
    """What rendering one page showed: final DOM, requests, JS globals, launchers.

    ``error`` is a reasons.toml tag when the page itself could not be rendered
    (refused, unreachable, browser failure); what was learned so far is kept.
    """

    url: str
    final_url: str
    status: int | None = None
    html: str = ""
    title: str = ""
    error: str | None = None
    message: str = ""
    console_errors: list[str] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    records_dropped: int = 0
    globals: dict[str, list[str]] = field(default_factory=dict)  # provider slug -> present globals
    launchers: list[LauncherSighting] = field(default_factory=list)
    # provider slug -> {"ready": bool, "value": ..., "error": str}: what the widget's documented
    # JS API said (chat_operator.toml [script_state]); only for widgets whose script ran
    script_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_at: float = 0.0
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def fulfilled(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.outcome == "fulfilled"]

    @property
    def blocked(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.outcome == "blocked"]

    def launcher_visible(self, slug: str) -> bool:
        return any(s.visible for s in self.launchers if s.provider == slug)

    def evidence(self, max_requests: int = 200) -> dict[str, Any]:
        """JSON-friendly facts (the DOM is left out; it can be large)."""
        out: dict[str, Any] = {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "title": self.title,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "requests_fulfilled": len(self.fulfilled),
            "requests_blocked": len(self.blocked),
            "requests": [r.to_dict() for r in self.requests[:max_requests]],
            "console_errors": list(self.console_errors),
            "js_globals": {k: list(v) for k, v in self.globals.items()},
            "launchers": [s.to_dict() for s in self.launchers],
            "script_state": {k: dict(v) for k, v in self.script_state.items()},
        }
        if self.records_dropped or len(self.requests) > max_requests:
            out["requests_not_listed"] = self.records_dropped + max(0, len(self.requests) - max_requests)
        if self.error:
            out["error"] = self.error
            out["message"] = self.message
        return out


# --------------------------------------------------------------------------- fingerprints


_IDENT_PATH = re.compile(r"((?:\\\$)?[A-Za-z_]\w*(?:\\\.(?:\\\$)?[A-Za-z_]\w*)*)(.*)$", re.S)
_PATH_END = (r"\b", r"\s", r"\(", r"\[", "=")


def global_path(pattern: str) -> str | None:
    """The JS global an ``inline`` fingerprint names, or None when it names none.

    chat_providers.toml has no separate list of globals; its inline patterns are
    identifiers (``\\bTawk_API\\b``), dotted paths (``\\bYa\\.ChatWidget\\b``) or calls
    (``\\bzE\\s*\\(``). A pattern that is a string, a URL or a prefix yields None.
    The whole dotted path is kept: ``Ya`` alone is Yandex's shared global.
    """
    p = pattern
    if p.startswith(r"\b"):
        p = p[2:]
    if p.startswith(r"window\."):
        p = p[len(r"window\.") :]
    m = _IDENT_PATH.match(p)
    if not m:
        return None
    path, rest = m.groups()
    if not rest.startswith(_PATH_END):
        return None
    return path.replace("\\$", "$").replace("\\.", ".")


@cache
def provider_globals() -> dict[str, tuple[str, ...]]:
    """JS globals per provider slug, derived from the inline fingerprints."""
    fp = fingerprints()
    out: dict[str, list[str]] = {}
    for pat in fp.scan:
        if pat.kind != "g":
            continue
        path = global_path(pat.regex.pattern)
        if path:
            names = out.setdefault(fp.providers[pat.index].slug, [])
            if path not in names:
                names.append(path)
    return {k: tuple(v) for k, v in out.items()}


def marker_selector(marker: str) -> str | None:
    """A CSS selector for a fingerprint DOM marker (attribute forms need no escaping)."""
    if marker.startswith("#") and marker.endswith("*"):
        return f'[id^="{marker[1:-1]}"]'
    if marker.startswith("#"):
        return f'[id="{marker[1:]}"]'
    if marker.startswith("."):
        return f'[class~="{marker[1:]}"]'
    if marker.startswith("[") and marker.endswith("]") and re.fullmatch(r"\[[\w-]+\]", marker):
        return marker
    if re.fullmatch(r"[a-z][a-z0-9-]*", marker):
        return marker
    return None


@cache
def provider_markers() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """(slug, ((marker, selector), ...)) for every provider with DOM markers."""
    out: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for provider in fingerprints().providers:
        pairs = tuple((m, s) for m in provider.dom if (s := marker_selector(m)))
        if pairs:
            out.append((provider.slug, pairs))
    return tuple(out)


@cache
def script_state_specs() -> dict[str, dict[str, Any]]:
    """Per provider, the documented JS API that tells its operator state (chat_operator.toml)."""
    table: dict[str, dict[str, Any]] = data.load("chat_operator.toml").get("script_state", {})
    return table


@cache
def provider_script_hosts() -> dict[str, tuple[re.Pattern[str], ...]]:
    """Per provider, the URL patterns of its own scripts (the fingerprints' ``src``)."""
    fp = fingerprints()
    out: dict[str, list[re.Pattern[str]]] = {}
    for pat in fp.scan:
        if pat.kind == "u":
            out.setdefault(fp.providers[pat.index].slug, []).append(pat.regex)
    return {k: tuple(v) for k, v in out.items()}


def widget_loaded(result: RenderResult, slug: str) -> bool:
    """The provider's script ran here: its globals are present or one of its scripts answered 2xx."""
    if result.globals.get(slug):
        return True
    patterns = provider_script_hosts().get(slug, ())
    return any(r.outcome == "fulfilled" and r.status is not None and 200 <= r.status < 300
               and any(p.search(r.url) for p in patterns) for r in result.requests)


def script_state_js(ready: str, expression: str, wait_ms: int) -> str:
    """A page function that waits (bounded) for ``ready`` and then reads ``expression``.

    The expressions are the project's own data (vendor-documented calls), evaluated
    through CDP, so the page's CSP does not apply; the page function issues no
    request of its own. An expression may be a promise (a callback-style API); it
    too gets only what is left of the wait. Only JSON scalars come back: anything
    else is "unreadable".
    """
    return f"""async () => {{
  const deadline = Date.now() + {wait_ms};
  let error = "";
  for (;;) {{
    try {{
      if ({ready}) {{
        const late = {{}};  // a callback-style API that never calls back answers nothing
        const left = Math.max(0, deadline - Date.now());
        const value = await Promise.race([Promise.resolve({expression}),
                                          new Promise((resolve) => setTimeout(() => resolve(late), left))]);
        if (value === late) return {{ready: true, value: null, error: "no answer within the wait"}};
        const kind = value === null ? "null" : typeof value;
        if (["string", "boolean", "number"].includes(kind)) return {{ready: true, value: value}};
        return {{ready: true, value: null, error: "unreadable " + kind}};
      }}
    }} catch (e) {{ error = String(e).slice(0, 200); }}
    if (Date.now() >= deadline) return {{ready: false, value: null, error: error}};
    await new Promise((resolve) => setTimeout(resolve, {SCRIPT_STATE_POLL_MS}));
  }}
}}"""


# --------------------------------------------------------------------------- rendering


def _textual(ctype: str) -> bool:
    low = ctype.lower()
    return any(t in low for t in _TEXTUAL)


def _utf8_type(ctype: str) -> str:
    """The body is re-encoded as UTF-8, so a declared charset must say so."""
    if not ctype:
        return "text/html; charset=utf-8"
    base = ctype.split(";", 1)[0].strip()
    return f"{base}; charset=utf-8" if _textual(base) else ctype


def _host_refused(http: Fetcher, url: str) -> str | None:
    """The IP literal in ``url`` when the policy refuses it (no fetch, no budget spent)."""
    try:
        host = (urlsplit(url).hostname or "").strip("[]")
    except ValueError:
        return None
    if host and is_ip_literal(host) and not http.policy.permits(host):
        return host
    return None


class _Session:
    """Per-page state: the request log, a small cache, the budget and activity."""

    def __init__(self, http: Fetcher, max_requests: int, deadline: float) -> None:
        self.http = http
        self.max_requests = max_requests
        self.deadline = deadline
        self.records: list[RequestRecord] = []
        self.dropped = 0
        self.cache: dict[str, HttpResult] = {}
        self.fresh: set[str] = set()  # fetched ahead (the document), not served yet
        self.fetches = 0
        self.inflight = 0
        self.last_activity = time.monotonic()

    def record(self, rec: RequestRecord) -> None:
        if len(self.records) < self.max_requests * MAX_RECORDS_FACTOR:
            self.records.append(rec)
        else:
            self.dropped += 1

    def refusal(self, url: str, method: str, resource_type: str) -> tuple[str, str] | None:
        """(tag, message) when the request must not be fetched at all."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            return "scheme-blocked", f"{scheme or 'no'} scheme: only http(s) is fetched"
        if method not in ("GET", "HEAD"):
            return "method-blocked", f"{method} is not sent: the page must not change anything"
        if resource_type in SKIPPED_TYPES:
            return "resource-skipped", f"{resource_type} requests are not fetched in browser mode"
        address = _host_refused(self.http, url)
        if address:
            return "private-address-refused", f"{address} is a non-public address; refused"
        return None

    async def fetch(self, url: str, method: str) -> tuple[HttpResult | None, bool, tuple[str, str] | None]:
        """(result, from cache, refusal) for a permitted request, within budget and deadline."""
        cached = self.cache.get(url) if method == "GET" else None
        if cached is not None:
            first = url in self.fresh
            self.fresh.discard(url)
            return cached, not first, None
        if self.fetches >= self.max_requests:
            return None, False, ("request-budget-spent",
                                 f"the page already made {self.max_requests} requests")
        self.fetches += 1
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None, False, ("render-timeout", "the page's time budget is spent")
        try:
            res = await asyncio.wait_for(self.http.fetch(url, method=method), remaining)
        except TimeoutError:
            return None, False, ("render-timeout", "the page's time budget ran out during the request")
        if method == "GET" and res.error is None and not res.truncated:
            self.cache[url] = res
        return res, False, None

    async def handle(self, route: Route) -> None:
        """Routing handler: fulfil from HttpClient or abort; never let Chromium connect."""
        self.inflight += 1
        self.last_activity = time.monotonic()
        t0 = time.perf_counter()
        request: Request = route.request
        url, method, rtype = request.url, request.method.upper(), request.resource_type
        try:
            if method == "OPTIONS":  # CORS preflight: answered here, never sent
                await route.fulfill(status=204, headers=self._cors(request, preflight=True), body=b"")
                self.record(RequestRecord(url, method, rtype, "fulfilled", 204, message="preflight answered locally"))
                return
            refusal = self.refusal(url, method, rtype)
            res: HttpResult | None = None
            cached = False
            if refusal is None:
                res, cached, refusal = await self.fetch(url, method)
            if refusal is None and res is not None:
                if res.error:
                    refusal = (res.error, res.message)
                elif res.truncated:
                    refusal = ("too-large", f"larger than {self.http.max_bytes} bytes")
            ms = (time.perf_counter() - t0) * 1000
            if refusal is not None or res is None:
                tag, message = refusal or ("download-error", "no answer")
                self.record(RequestRecord(url, method, rtype, "blocked", res.status if res else None,
                                          tag, message, cached, ms))
                await route.abort(_ABORT_CODES.get(tag, _BLOCK_CODE))
                return
            # A 3xx is passed on without its Location (HttpClient already followed it):
            # Chromium follows a fulfilled redirect itself, outside routing.
            status = res.status or 200
            headers = self._headers(res, request)
            body = b"" if method == "HEAD" else res.body.encode("utf-8")
            self.record(RequestRecord(url, method, rtype, "fulfilled", status, "", "", cached, ms))
            await route.fulfill(status=status, headers=headers, body=body)
        except Exception:  # noqa: BLE001 - the page may be gone; a handler must never raise into Playwright
            pass
        finally:
            self.inflight -= 1
            self.last_activity = time.monotonic()

    @staticmethod
    def _cors(request: Request, preflight: bool = False) -> dict[str, str]:
        """Permissive CORS for the page's own cross-origin reads.

        HttpClient keeps only a few response headers, so the provider's real
        Access-Control-* answer is not available; without these, every widget
        that reads its config cross-origin would break. Safe here: nothing is
        sent with credentials (fresh profile, no cookies are forwarded).
        """
        origin = request.headers.get("origin")
        if not origin:
            return {}
        out = {"access-control-allow-origin": origin, "access-control-allow-credentials": "true",
               "vary": "Origin"}
        if preflight:
            out["access-control-allow-methods"] = "GET, HEAD"
            out["access-control-allow-headers"] = request.headers.get(
                "access-control-request-headers", "*")
            out["access-control-max-age"] = "600"
        return out

    def _headers(self, res: HttpResult, request: Request) -> dict[str, str]:
        headers: dict[str, str] = {"content-type": _utf8_type(res.headers.get("content-type", ""))}
        for name in ("x-frame-options", "last-modified"):
            if name in res.headers:
                headers[name] = res.headers[name]
        headers.update(self._cors(request))
        return headers

    async def handle_ws(self, ws: WebSocketRoute) -> None:
        """WebSockets are mocked and closed: a chat's live socket must not reach the provider."""
        self.record(RequestRecord(ws.url, "GET", "websocket", "blocked", None, "websocket-blocked",
                                  "WebSockets are not opened in browser mode"))
        try:
            await ws.close(code=1008, reason="blocked by contact-auditor")
        except Exception:  # noqa: BLE001 - the page may be gone
            pass

    async def settle(self, min_wait: float, max_wait: float, idle: float) -> None:
        """Wait until no routed request ran for ``idle`` s (at least min, at most max)."""
        start = time.monotonic()
        while True:
            now = time.monotonic()
            spent = now - start
            if spent >= max_wait or now >= self.deadline:
                return
            if spent >= min_wait and self.inflight == 0 and now - self.last_activity >= idle:
                return
            await asyncio.sleep(0.05)


class BrowserRenderer:
    """Headless Chromium whose every request goes through the guarded HttpClient.

    ``async with BrowserRenderer(http) as renderer: result = await renderer.render(url)``.
    One browser per renderer; each render gets a fresh context (no cookies or
    storage carried from page to page).
    """

    def __init__(
        self,
        http: Fetcher,
        *,
        executable: str = DEFAULT_EXECUTABLE,
        timeout: float = 15.0,
        max_requests: int = 200,
        settle: float = SETTLE_MAX,
        fence_port: int | None = None,
    ) -> None:
        self.http = http
        self.executable = executable
        self.timeout = timeout
        self.max_requests = max(1, max_requests)
        self.settle_max = settle
        self.fence_port = fence_port  # None: run our own recording sink
        self.fence_log: list[str] = []  # first line of every connection that reached the fence
        self._fence: asyncio.Server | None = None
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._pw_error: type[BaseException] = Exception

    async def _fence_sink(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Record the request line of a connection that reached the fence, then drop it."""
        try:
            line = await asyncio.wait_for(reader.readline(), 1.0)
            text = line.decode("latin-1").strip()[:300] or "(nothing sent)"
        except (TimeoutError, OSError, ValueError):
            text = "(nothing sent)"
        if len(self.fence_log) < MAX_FENCE_LOG:
            self.fence_log.append(text)
        writer.close()

    def launch_args(self) -> list[str]:
        """Chromium flags: the fixed hardening set plus the proxy/resolver fence."""
        return [
            *BASE_FLAGS,
            f"--proxy-server=http://{FENCE_HOST}:{self.fence_port}",
            f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {FENCE_HOST}",
        ]

    async def __aenter__(self) -> BrowserRenderer:
        try:
            from playwright.async_api import Error as PlaywrightError
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise BrowserUnavailable(
                "browser mode needs the 'playwright' Python package (pip install playwright); "
                "Chromium itself comes from the system (apt install chromium)") from exc
        path = self.executable if os.sep in self.executable else shutil.which(self.executable)
        if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise BrowserUnavailable(
                f"browser mode needs Chromium at {self.executable} (apt install chromium)")
        self._pw_error = PlaywrightError
        try:
            if self.fence_port is None:
                self._fence = await asyncio.start_server(self._fence_sink, FENCE_HOST, 0)
                self.fence_port = self._fence.sockets[0].getsockname()[1]
            self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(
                executable_path=path,
                headless=True,
                args=self.launch_args(),
                chromium_sandbox=False,
                timeout=30_000,
                # Nothing from the environment steers the browser: no proxy variables,
                # no CHROMIUM_FLAGS for Debian's wrapper, no key-log file.
                env={"HOME": os.environ.get("HOME", "/tmp"), "PATH": os.environ.get("PATH", ""),
                     "TMPDIR": os.environ.get("TMPDIR", "/tmp")},
            )
        except Exception as exc:
            await self.__aexit__(None, None, None)
            raise BrowserUnavailable(f"Chromium at {path} did not start: {exc}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._browser is not None:
            try:
                await self._browser.close()
            except Exception:  # noqa: BLE001 - it may have crashed already
                pass
            self._browser = None
        if self._pw is not None:
            try:
                await self._pw.stop()
            except Exception:  # noqa: BLE001
                pass
            self._pw = None
        if self._fence is not None:
            self._fence.close()
            await self._fence.wait_closed()
            self._fence = None
            self.fence_port = None  # ours: a new one is started on the next entry

    @property
    def connected(self) -> bool:
        """The browser process is running (a crash of the whole browser ends it)."""
        return self._browser is not None and self._browser.is_connected()

    def memory_mb(self) -> float | None:
        """Memory of this renderer's Chromium processes (Linux /proc), or None.

        The browser process is the one started with this renderer's fence proxy;
        its renderers, GPU and utility processes are its descendants. Pages the
        processes share are divided among them (PSS), so nothing is counted twice.
        """
        if self._browser is None or self.fence_port is None:
            return None
        return process_tree_mb(f"--proxy-server=http://{FENCE_HOST}:{self.fence_port}")

    async def render(self, url: str, document: HttpResult | None = None, via: Fetcher | None = None) -> RenderResult:
        """Render ``url`` and report the DOM, requests, globals and launchers; never raises.

        ``document`` is the page as already downloaded (the crawl's response): it is
        served to the browser instead of being fetched again. A fragment of ``url``
        (a hash route, ``#/contact``) is kept for the browser's navigation. ``via``
        fetches this page's requests instead of the renderer's fetcher (the crawl's
        downloader, with the company the requests are made for).
        """
        if self._browser is None:
            raise RuntimeError("use BrowserRenderer as an async context manager")
        result = RenderResult(url=url, final_url=url, started_at=time.time())
        t0 = time.perf_counter()
        session = _Session(via or self.http, self.max_requests, time.monotonic() + self.timeout)
        if document is not None and document.error is None and not document.truncated:
            session.cache[urldefrag(url)[0]] = document
        try:
            await self._render(url, result, session)
        finally:
            result.requests = list(session.records)
            result.records_dropped = session.dropped
            result.elapsed_ms = (time.perf_counter() - t0) * 1000
        return result

    async def _render(self, url: str, result: RenderResult, session: _Session) -> None:
        # The document is fetched first, so a refused or dead page costs no browser
        # page, and a redirect is followed to the final URL (relative links resolve
        # there; Chromium must never see a fulfilled 3xx, which it would follow itself).
        url, fragment = urldefrag(url)
        refusal = session.refusal(url, "GET", "document")
        res, _cached, refusal = (None, False, refusal) if refusal else await session.fetch(url, "GET")
        if refusal is None and res is not None and res.error is None and res.truncated:
            refusal = ("too-large", f"the page is larger than {self.http.max_bytes} bytes")
        if refusal is not None or res is None or res.error:
            tag, message = refusal or ((res.error or "download-error", res.message) if res else
                                       ("download-error", "no answer"))
            session.record(RequestRecord(url, "GET", "document", "blocked",
                                         res.status if res else None, tag, message))
            result.error, result.message = tag, message
            result.status = res.status if res else None
            return
        result.status = res.status
        final = res.final_url
        if urlsplit(final).scheme not in ("http", "https"):
            result.error, result.message = "bad-redirect", f"the page redirects to {final!r}"
            return
        final = urldefrag(final)[0]
        session.cache[final] = res
        session.fresh.add(final)
        if fragment:
            final = f"{final}#{fragment}"
        result.final_url = final
        assert self._browser is not None
        context = await self._browser.new_context(
            service_workers="block",
            user_agent=self.http.user_agent,
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            accept_downloads=False,
            java_script_enabled=True,
        )
        try:
            await context.add_init_script(NO_WEBRTC)
            await context.route("**/*", session.handle)
            await context.route_web_socket(lambda _url: True, session.handle_ws)
            page = await context.new_page()
            self._listen(page, result)
            # A hard limit on top of Playwright's: a busy-looping page never answers
            # evaluate() or content(), and those have no timeout of their own.
            limit = max(1.0, session.deadline - time.monotonic() + HARD_GRACE)
            # A page whose renderer crashed (a memory bomb past JS_HEAP_MB) answers
            # nothing any more: stop at once instead of waiting out the time budget.
            crashed = asyncio.Event()
            page.on("crash", lambda _page: crashed.set())
            drive = asyncio.ensure_future(self._drive(page, final, result, session))
            crash = asyncio.ensure_future(crashed.wait())
            try:
                done, _ = await asyncio.wait({drive, crash}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            finally:
                crash.cancel()
            if drive in done:
                drive.result()  # its own errors are handled below
            else:
                drive.cancel()
                await asyncio.wait({drive}, timeout=CLOSE_TIMEOUT)
                if crash in done:
                    result.error = "browser-error"
                    result.message = (f"the page crashed (its scripts' memory passes {JS_HEAP_MB} MB, "
                                      "or the renderer failed)")
                else:
                    result.error = "render-timeout"
                    result.message = f"the page did not finish rendering within {self.timeout:g} s"
        except self._pw_error as exc:
            if result.error is None:
                result.error = "browser-error"
                result.message = _first_line(exc)
        finally:
            # Not unroute_all(): it waits on a stuck page. Handlers swallow errors of a closed page.
            await _quietly(context.close(), CLOSE_TIMEOUT)

    async def _drive(self, page: Page, url: str, result: RenderResult, session: _Session) -> None:
        await self._load(page, url, result, session)
        result.requests = list(session.records)  # so far: the script-state read asks widgets that loaded
        await self._inspect(page, result)

    @staticmethod
    def _listen(page: Page, result: RenderResult) -> None:
        def console(msg: Any) -> None:
            if msg.type == "error" and len(result.console_errors) < MAX_CONSOLE:
                result.console_errors.append(str(msg.text)[:300])

        def page_error(exc: Any) -> None:
            if len(result.console_errors) < MAX_CONSOLE:
                result.console_errors.append(f"uncaught: {exc}"[:300])

        page.on("console", console)
        page.on("pageerror", page_error)

    async def _load(self, page: Page, url: str, result: RenderResult, session: _Session) -> None:
        """Navigate, wait for "load" within the budget, then let widgets settle."""
        reserve = min(3.0, self.timeout / 3)  # kept for reading the DOM afterwards
        budget_ms = max(1000.0, (session.deadline - time.monotonic() - reserve) * 1000)
        try:
            await page.goto(url, wait_until="domcontentloaded", timeout=budget_ms)
        except self._pw_error as exc:
            text = str(exc)
            if "Timeout" not in text:
                raise
            result.message = "the page did not finish loading in time"
        remaining_ms = (session.deadline - time.monotonic() - reserve) * 1000
        if remaining_ms > 100:
            try:
                await page.wait_for_load_state("load", timeout=remaining_ms)
            except self._pw_error:
                result.message = "the page's load event did not fire in time"
        settle_max = max(0.0, min(self.settle_max, session.deadline - time.monotonic() - reserve))
        await session.settle(min(SETTLE_MIN, settle_max), settle_max, SETTLE_IDLE)

    async def _inspect(self, page: Page, result: RenderResult) -> None:
        """Final DOM, provider globals and launcher visibility, each best effort.

        A page that navigates on its own destroys the JS context mid-read; each
        part is tried a few times, and a part that still fails leaves the others.
        """
        failures: list[str] = []

        async def html() -> None:
            try:
                result.html = await page.content()
            except self._pw_error:  # "page is navigating": one atomic read instead
                result.html = await page.evaluate(JS_OUTER_HTML)
            result.final_url = page.url or result.final_url
            result.title = await page.title()

        async def globals_() -> None:
            table = provider_globals()
            paths = sorted({p for names in table.values() for p in names})
            present = set(await page.evaluate(JS_GLOBALS, paths))
            result.globals = {slug: [p for p in names if p in present]
                              for slug, names in table.items() if any(p in present for p in names)}

        async def launchers() -> None:
            result.launchers = await self._launchers(page)

        async def script_state() -> None:
            result.script_state = await self._script_state(page, result)

        for part in (html, globals_, launchers, script_state):
            for attempt in range(INSPECT_TRIES):
                try:
                    await part()
                    break
                except self._pw_error as exc:
                    if attempt == INSPECT_TRIES - 1:
                        failures.append(f"{part.__name__.rstrip('_')}: {_first_line(exc)}")
                    else:
                        await asyncio.sleep(0.15)
        if failures and not result.html:
            raise self._pw_error("; ".join(failures))
        if failures:
            result.message = "the page kept changing while it was read (" + "; ".join(failures) + ")"

    async def _script_state(self, page: Page, result: RenderResult) -> dict[str, dict[str, Any]]:
        """Ask each loaded widget's documented API for its operator state, each bounded in time.

        A provider whose script never ran (no global, no script of its answered) is not asked.
        """
        out: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + SCRIPT_STATE_WAIT  # one wait per page, however many widgets
        for slug, spec in script_state_specs().items():
            if not widget_loaded(result, slug):
                continue
            wait = max(0.0, deadline - time.monotonic())
            js = script_state_js(spec["ready"], spec["expression"], int(wait * 1000))
            try:
                answer = await asyncio.wait_for(page.evaluate(js), wait + 1.0)
            except TimeoutError:
                answer = {"ready": False, "value": None, "error": "the page did not answer in time"}
            out[slug] = dict(answer) if isinstance(answer, dict) else {"ready": False, "value": None}
        return out

    async def _launchers(self, page: Page) -> list[LauncherSighting]:
        """Markers present in the page (open shadow roots included) and their visibility."""
        sightings: list[LauncherSighting] = []
        for slug, pairs in provider_markers():
            combined = ", ".join(sel for _m, sel in pairs)
            if await page.locator(combined).count() == 0:
                continue
            for marker, selector in pairs:
                loc = page.locator(selector)
                count = await loc.count()
                if not count:
                    continue
                visible, box = False, None
                for i in range(min(count, MAX_ELEMENTS_PER_MARKER)):
                    el = loc.nth(i)
                    seen, b = await self._visible(el)
                    box = box or b
                    if seen:
                        visible, box = True, b
                        break
                sightings.append(LauncherSighting(slug, marker, count, visible, box))
        return sightings

    async def _visible(self, el: Any) -> tuple[bool, dict[str, float] | None]:
        """Visible to a visitor: rendered, not transparent, with an area, not parked off-canvas."""
        try:
            if not await el.is_visible():
                return False, None
            box = await el.bounding_box()
            if not box or box["width"] < 2 or box["height"] < 2:
                return False, box
            if box["x"] + box["width"] <= 0 or box["y"] + box["height"] <= 0 or box["x"] >= VIEWPORT["width"]:
                return False, box
            return bool(await el.evaluate(JS_SEEN)), box
        except self._pw_error:
            return False, None


def process_tree_mb(marker: str, proc: str = "/proc") -> float | None:
    """Summed memory (MB, PSS where the kernel gives it) of the processes whose command
    line holds ``marker`` and their descendants: the browser, its renderers and helpers."""
    parents: dict[int, int] = {}
    roots: list[int] = []
    try:
        entries = [e for e in os.listdir(proc) if e.isdigit()]
    except OSError:
        return None
    needle = marker.encode()
    for entry in entries:
        try:
            with open(f"{proc}/{entry}/stat", "rb") as fh:
                stat = fh.read()
            parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
            with open(f"{proc}/{entry}/cmdline", "rb") as fh:
                if needle in fh.read():
                    roots.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    if not roots:
        return None
    tree = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    kib = 0
    for pid in tree:
        kib += _pss_kib(f"{proc}/{pid}")
    return kib / 1024


def _pss_kib(path: str) -> int:
    """A process's proportional set size (shared pages divided among their users), else its RSS."""
    for name, field_name in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"{path}/{name}", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith(field_name):
                        return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


async def _quietly(job: Awaitable[Any], timeout: float) -> None:
    """Await a cleanup step that may fail or hang (the page may be gone or stuck)."""
    try:
        await asyncio.wait_for(job, timeout)
    except Exception:  # noqa: BLE001 - cleanup must not mask the render's outcome
        pass


# --------------------------------------------------------------------------- chat points


def _same_page(a: str, b: str) -> bool:
    return urldefrag(a)[0] == urldefrag(b)[0]


def _browser_details(cp: ContactPoint, result: RenderResult, global_name: str | None) -> dict[str, Any]:
    details = dict(cp.details)
    if "evidence" in details:
        details["dom_evidence"] = details["evidence"]
    details.update(evidence="browser", js_global=global_name,
                   launcher_visible=result.launcher_visible(cp.value))
    return details


def rendered_chat_points(result: RenderResult, page_url: str) -> list[ContactPoint]:
    """Chat points in the rendered page: the static extractor on the final DOM, plus
    providers seen only through a JS global or a launcher (e.g. in a shadow root)."""
    points: dict[str, ContactPoint] = {}
    if result.html:
        parsed = parse_page(result.html, result.final_url or page_url)
        for cp in extract_chat(parsed):
            points.setdefault(cp.value, replace(cp, page_url=page_url))
    names = {p.slug: p.name for p in fingerprints().providers}
    extra = [(slug, f"window.{g[0]}", 0.85) for slug, g in result.globals.items() if g]
    extra += [(s.provider, s.marker, CONFIDENCE["dom"]) for s in result.launchers]
    for slug, raw, confidence in extra:
        if slug not in points:
            points[slug] = ContactPoint(
                kind="chat", value=slug, raw=raw, label=None, method="widget-script",
                page_url=page_url, context="", confidence=confidence,
                details={"provider": names.get(slug, slug)},
            )
    return [
        replace(cp, details=_browser_details(cp, result, next(iter(result.globals.get(cp.value) or ()), None)))
        for cp in points.values()
    ]


@dataclass(frozen=True)
class RenderedPage:
    """One rendered page: the chat points harvested on it before, and those only rendering shows."""

    page_url: str
    result: RenderResult
    harvested: tuple[ContactPoint, ...]
    new: tuple[ContactPoint, ...]


async def render_chat_page(
    renderer: BrowserRenderer, page_url: str, harvested: Iterable[ContactPoint]
) -> RenderedPage:
    """Render ``page_url``; keep the harvested chat points of that page and find new ones.

    Harvested points of other pages are ignored: the render says nothing about them.
    """
    result = await renderer.render(page_url)
    on_page = [cp for cp in harvested if cp.kind == "chat" and
               (_same_page(cp.page_url, page_url) or _same_page(cp.page_url, result.final_url))]
    known = {cp.value for cp in on_page}
    new = [cp for cp in rendered_chat_points(result, page_url) if cp.value not in known]
    return RenderedPage(page_url, result, tuple(on_page), tuple(new))


BROWSER_PAGES_PER_COMPANY = 3
BROWSER_CONCURRENCY = 2


async def render_companies(
    results: list[CompanyResult], store: Store, settings: Settings, network: NetworkOptions,
) -> dict[str, list[RenderedPage]]:
    """Render each company's chat and contact pages; store the chat points only rendering shows.

    Returns the rendered pages per company key (the validators judge the
    launchers from them). Without Chromium it warns once and returns nothing.
    """
    resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
    policy = AddressPolicy(settings.allow_private_targets)
    found: dict[str, list[RenderedPage]] = {}
    limit = asyncio.Semaphore(BROWSER_CONCURRENCY)
    async with HttpClient(resolver, policy, user_agent=settings.effective_user_agent(), timeout=settings.timeout,
                          port_overrides=network.http_port_overrides, ca_file=network.ca_file) as http:
        try:
            renderer = BrowserRenderer(http)
            await renderer.__aenter__()
        except BrowserUnavailable as exc:
            log.warning("browser mode is off: %s", exc)
            return found
        try:
            async def company(result: CompanyResult) -> None:
                pages = [p for p in result.pages if p.error_tag is None and p.status == 200]
                chat_pages = [cp.page_url for cp in result.contacts if cp.kind == "chat"]
                best = [p.url for p in sorted(pages, key=lambda p: -p.score) if p.score < 5]
                urls = list(dict.fromkeys(chat_pages + best))[:BROWSER_PAGES_PER_COMPANY]
                mine: list[RenderedPage] = []
                for url in urls:
                    async with limit:
                        try:
                            rendered = await render_chat_page(renderer, url, result.contacts)
                        except Exception:  # noqa: BLE001 - one page never stops the run
                            log.exception("browser check of %s failed", url)
                            continue
                    if rendered.new:
                        store.add_contacts(result.company.key, rendered.new)
                    mine.append(rendered)
                found[result.company.key] = mine

            await asyncio.gather(*(company(r) for r in results))
        finally:
            await renderer.__aexit__(None, None, None)
    return found
