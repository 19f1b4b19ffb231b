"""Contact pages, forms, chat widgets and messaging links, checked over guarded HTTP.

Each check turns what the web answered into a Verdict with evidence. The rules err
towards ``unknown``: a bot challenge, a rate limit or a 5xx says nothing about the
link, and some platforms (WhatsApp, Messenger, Skype) cannot confirm an account
without logging in. ``inactive`` needs positive proof: a 404/410, NXDOMAIN, a page
that is the host's "not found" page in disguise, a provider that shut down, or a
platform page that says the account does not exist.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from functools import cache
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from auditor import data
from auditor.models import Check, ContactPoint, Subject, Verdict, VerdictValue
from auditor.reasons import LINK_WITHOUT_SCHEME, OPERATOR_OFFLINE, OPERATOR_ONLINE, OPERATOR_UNKNOWN
from auditor.validate.http import HttpClient, HttpResult, random_token
from auditor.validate.phone import validate_phone

_DROP_BLOCKS = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_COMMENTS = re.compile(r"<!--.*?-->", re.S)
_TAGS = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_URL_IN_TEXT = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?(?:/[^\s'"`<>()\\]*)?""", re.I)
_WA_NUMBER = re.compile(r"^https?://(?:www\.)?wa\.me/(\d{1,20})/?$")
_VIBER_NUMBER = re.compile(r"number=(?:%2B|\+)?(\d{1,20})", re.I)


@cache
def chat_checks() -> dict[str, Any]:
    return data.load("chat_checks.toml")


@cache
def messaging_rules() -> dict[str, Any]:
    return data.load("messaging_rules.toml")


def chat_operator() -> dict[str, Any]:
    """Public operator-status endpoints by provider slug (chat_operator.toml)."""
    table: dict[str, Any] = data.load("chat_operator.toml").get("provider", {})
    return table


_NO_DEFAULT = object()


def _field_values(doc: Any, path: str, missing: Any = _NO_DEFAULT) -> list[Any] | None:
    """Values at ``path`` ("a.b", "a[].b"); None when a key is missing or a type is wrong.

    ``missing`` stands in for an absent last key (a provider that leaves a field out
    to say "no"), never for a missing key higher up.
    """
    values = [doc]
    parts = path.split(".")
    for depth, part in enumerate(parts):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        last = depth == len(parts) - 1
        nxt: list[Any] = []
        for value in values:
            if not isinstance(value, dict):
                return None
            if key not in value:
                if not (last and missing is not _NO_DEFAULT):
                    return None
                item = missing
            else:
                item = value[key]
            if many:
                if not isinstance(item, list):
                    return None
                nxt.extend(item)
            else:
                nxt.append(item)
        values = nxt
    return values


def operator_state(rule: Mapping[str, Any], body: str) -> tuple[str, str]:
    """(reason, message) from a provider's public status answer: online, offline or unknown.

    ``require`` names a field every genuine answer has (an error object has not);
    ``online_from`` reads the values that mean online from the answer itself (LiveChat
    lists the groups that take chats and names the widget's own group); with
    ``offline_otherwise`` every other value means offline.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        return OPERATOR_UNKNOWN, "the status endpoint did not answer JSON"
    required = rule.get("require")
    if required and _field_values(doc, str(required)) is None:
        return OPERATOR_UNKNOWN, f"no {required} in the status answer: not a status answer"
    path = str(rule["field"])
    values = _field_values(doc, path, rule.get("missing", _NO_DEFAULT))
    if values is None:
        return OPERATOR_UNKNOWN, f"no {path} in the status answer"
    online = list(rule.get("online", []))
    if rule.get("online_from"):
        online += _field_values(doc, str(rule["online_from"])) or []
    if not values:
        if rule.get("empty_is_offline"):
            return OPERATOR_OFFLINE, f"{path}: no operator listed"
        return OPERATOR_UNKNOWN, f"{path}: empty"
    if any(v in online for v in values):
        return OPERATOR_ONLINE, f"{path} = {_shown(values)}: an operator is online"
    if rule.get("offline_otherwise") or all(v in list(rule.get("offline", [])) for v in values):
        return OPERATOR_OFFLINE, f"{path} = {_shown(values)}: no operator is online"
    return OPERATOR_UNKNOWN, f"{path} = {_shown(values)}: not a known state"


_PLACEHOLDER = re.compile(r"\{(\w+)(\??)\}")


def operator_url(rule: Mapping[str, Any], values: Mapping[str, str]) -> str | None:
    """The status URL of ``rule`` filled from the sighting; None when a required id is missing.

    ``{origin}`` and names ending in ``_url`` are URLs and go in as they are; every
    other value is percent-encoded. A ``query`` table adds parameters in its order;
    a value written ``{name?}`` is left out when the page gave no such id.
    """
    def fill(template: str) -> str | None:
        missing = False

        def one(m: re.Match[str]) -> str:
            nonlocal missing
            value = values.get(m.group(1))
            if not value:
                missing = missing or not m.group(2)
                return ""
            raw = m.group(1) == "origin" or m.group(1).endswith("_url")
            return value if raw else quote(value, safe=",")

        out = _PLACEHOLDER.sub(one, template)
        return None if missing else out

    url = fill(str(rule["url"]))
    if url is None:
        return None
    pairs: list[str] = []
    for name, template in dict(rule.get("query", {})).items():
        value = fill(str(template))
        if value is None:
            return None
        if value:
            pairs.append(f"{quote(name, safe='.')}={value}")
    if pairs:
        url += ("&" if "?" in url else "?") + "&".join(pairs)
    return url


def _shown(values: list[Any]) -> str:
    return json.dumps(values[0] if len(values) == 1 else values)[:120]


def chat_providers() -> dict[str, dict[str, Any]]:
    """Provider facts by slug from chat_providers.toml; empty if that file is absent."""
    try:
        table = data.load("chat_providers.toml")
    except (FileNotFoundError, OSError):
        return {}
    return {p["slug"]: p for p in table.get("provider", []) if "slug" in p}


# --------------------------------------------------------------------------- text


def page_title(markup: str) -> str:
    """The document title, whitespace-collapsed."""
    m = _TITLE.search(markup)
    return " ".join(html.unescape(m.group(1)).split()) if m else ""


def page_words(markup: str, strip: Iterable[str] = ()) -> list[str]:
    """Visible words, lower-cased, with ``strip`` strings (paths, tokens) removed.

    Removing the requested path matters: a "not found" page often echoes it, and
    two echoes of different paths must still compare as the same page.
    """
    text = _COMMENTS.sub(" ", markup)
    text = _DROP_BLOCKS.sub(" ", text)
    text = html.unescape(_TAGS.sub(" ", text)).lower()
    for token in sorted({s.lower() for s in strip if s and len(s) > 1}, key=len, reverse=True):
        text = text.replace(token, " ")
    return text.split()


def similarity(a: str, b: str, strip: Iterable[str] = (), max_words: int = 3000) -> float:
    """How alike two pages read (0..1), by word sequence; the title counts as words too."""
    tokens = list(strip)
    wa = page_words(a, tokens)[:max_words]
    wb = page_words(b, tokens)[:max_words]
    if not wa and not wb:
        return 1.0
    matcher = SequenceMatcher(None, wa, wb, autojunk=False)
    if matcher.real_quick_ratio() == 0.0:
        return 0.0
    return matcher.ratio()


def _path_tokens(url: str) -> list[str]:
    path = urlsplit(url).path
    return [path, unquote(path)] if path not in ("", "/") else []


def is_home(url: str) -> bool:
    """The site's root: a soft-404 comparison against a random path makes no sense there."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _normalized_body(body: str) -> str:
    """Body for marker search: entities decoded, apostrophes straightened, lower-cased."""
    return html.unescape(body).replace("\u2019", "'").replace("\u2018", "'").lower()


def find_markers(body: str, markers: Iterable[str]) -> list[str]:
    """Which ``markers`` (case-insensitive substrings) the body contains."""
    low = _normalized_body(body)
    return [m for m in markers if m.lower() in low]


# --------------------------------------------------------------------------- judging

Judged = tuple[VerdictValue, str, str]  # (verdict, reason, message)


def classify_http(res: HttpResult) -> Judged:
    """(verdict, reason, message) for a plain "does this link answer" question."""
    if res.error:
        if res.error == "nxdomain":
            return "inactive", "nxdomain", res.message
        if res.error == "redirect-loop":
            return "inactive", "redirect-loop", res.message
        return "unknown", res.error, res.message
    status = res.status or 0
    if res.challenge:
        return "unknown", "bot-challenge", f"HTTP {status}: bot-protection challenge ({res.challenge[0]})"
    if 200 <= status < 300:
        return "active", "http-ok", f"HTTP {status} in {res.elapsed_ms:.0f} ms"
    if status in (404, 410):
        return "inactive", "http-404", f"HTTP {status}"
    if status == 429:
        return "unknown", "rate-limited", f"HTTP 429 after {res.tries} tries"
    if status >= 500:
        return "unknown", "http-5xx", f"HTTP {status} after {res.tries} tries"
    if 300 <= status < 400:
        return "unknown", "bad-redirect", f"HTTP {status} to {res.final_url!r}"
    if 400 <= status < 500:
        return "unknown", "http-4xx", f"HTTP {status}"
    return "unknown", "download-error", f"unexpected HTTP {status}"


@dataclass(frozen=True)
class PageJudgement:
    """What a messaging platform's page says about an account."""

    verdict: VerdictValue
    reason: str
    message: str
    markers: dict[str, list[str]] = field(default_factory=dict)


def judge_telegram(status: int | None, body: str, rules: Mapping[str, Any] | None = None) -> PageJudgement:
    """t.me answers 200 for unknown names: only the page's title block proves an account."""
    rules = rules or messaging_rules()["telegram"]
    markers = {
        "live": find_markers(body, rules["live_markers"]),
        "support": find_markers(body, rules["support_markers"]),
        "missing": find_markers(body, rules["missing_markers"]),
        "platform": find_markers(body, rules["platform_markers"]),
    }
    if status in rules["missing_statuses"]:
        return PageJudgement("inactive", rules["missing"], f"HTTP {status}", markers)
    if status is None or not 200 <= status < 300:
        return PageJudgement("unknown", "unverifiable", f"HTTP {status}", markers)
    if markers["live"]:
        return PageJudgement("active", rules["found"], "the page shows the account's title", markers)
    if markers["platform"]:
        return PageJudgement(
            "inactive", rules["missing"], "Telegram's page has no account title (unknown name)", markers
        )
    return PageJudgement("unknown", "unverifiable", "not a recognisable Telegram page", markers)


def judge_messenger(
    status: int | None, final_url: str, body: str, account: str, rules: Mapping[str, Any] | None = None
) -> PageJudgement:
    """m.me needs login: a 404, an "isn't available" page or a name-less login redirect is missing."""
    rules = rules or messaging_rules()["messenger"]
    markers = {"missing": find_markers(body, rules["missing_markers"])}
    if status in rules["missing_statuses"]:
        return PageJudgement("inactive", rules["missing"], f"HTTP {status}", markers)
    if markers["missing"]:
        return PageJudgement("inactive", rules["missing"], "Facebook says the content isn't available", markers)
    generic = any(re.search(p, final_url, re.I) for p in rules["generic_url_patterns"])
    if generic and account and account.lower() not in unquote(final_url).lower():
        markers["generic_url"] = [final_url]
        return PageJudgement(
            "inactive", rules["missing"], f"redirected to a generic page ({final_url}) without the page name", markers
        )
    return PageJudgement("unknown", rules["otherwise"], "Messenger pages cannot be confirmed without login", markers)


def is_soft_404(page: HttpResult, baseline: HttpResult, token: str, threshold: float) -> tuple[bool, dict[str, Any]]:
    """Does ``page`` look like what the host serves for a random path? Evidence either way."""
    evidence: dict[str, Any] = {
        "baseline_url": baseline.url,
        "baseline_status": baseline.status,
        "baseline_final_url": baseline.final_url,
        "baseline_error": baseline.error,
    }
    if not baseline.ok:
        evidence["compared"] = False
        return False, evidence
    evidence["compared"] = True
    if page.redirected and baseline.redirected and page.final_url == baseline.final_url:
        evidence["same_redirect_target"] = True
        return True, evidence
    strip = [token, *_path_tokens(baseline.url), *_path_tokens(baseline.final_url),
             *_path_tokens(page.url), *_path_tokens(page.final_url)]
    score = similarity(page.body, baseline.body, strip, chat_checks()["soft404"]["max_words"])
    evidence.update(similarity=round(score, 4), threshold=threshold,
                    title=page_title(page.body), baseline_title=page_title(baseline.body))
    return score >= threshold, evidence


# --------------------------------------------------------------------------- validator


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _verdict(kind: Subject, value: str, verdict: VerdictValue, reason: str, message: str,
             checks: Iterable[Check], flags: Iterable[str] = ()) -> Verdict:
    return Verdict(kind=kind, value=value, verdict=verdict, reason=reason, message=message,
                   checks=tuple(checks), flags=tuple(flags))


def _http_check(name: str, res: HttpResult, verdict: VerdictValue, reason: str, message: str,
                **extra: Any) -> Check:
    evidence = res.evidence()
    evidence.update(extra)
    return Check(name=name, verdict=verdict, reason=reason, message=message, evidence=evidence,
                 started_at=res.started_at, duration_ms=round(res.elapsed_ms, 1))


def _plain_check(name: str, verdict: VerdictValue, reason: str, message: str, evidence: Mapping[str, Any],
                 started_at: float, t0: float) -> Check:
    return Check(name=name, verdict=verdict, reason=reason, message=message, evidence=dict(evidence),
                 started_at=started_at, duration_ms=round((time.perf_counter() - t0) * 1000, 3))


class LinkValidator:
    """Checks web-reachable contact points through one guarded :class:`HttpClient`.

    Soft-404 baselines are fetched once per origin and shared by every check of
    that origin. Data tables can be passed in (tests point provider templates at
    lab hosts); by default they come from the packaged TOML files.
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        chat_rules: Mapping[str, Any] | None = None,
        messaging: Mapping[str, Any] | None = None,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        operator: Mapping[str, Mapping[str, Any]] | None = None,
        token: Callable[[], str] = random_token,
    ) -> None:
        self.http = http
        self.rules = chat_rules if chat_rules is not None else chat_checks()
        self.messaging = messaging if messaging is not None else messaging_rules()
        self.providers = providers if providers is not None else chat_providers()
        self.operator = operator if operator is not None else chat_operator()
        self._token = token
        self._baselines: dict[str, tuple[str, asyncio.Task[HttpResult]]] = {}

    # ---- dispatch

    async def validate(self, cp: ContactPoint) -> Verdict:
        """The right check for the contact point's kind (chat, messaging, form, page)."""
        if cp.kind == "chat":
            return await self.check_chat(cp)
        if cp.kind == "messaging":
            verdict = await self.check_messaging(cp)
            if cp.details.get("written_without_scheme"):
                verdict = replace(verdict, flags=(*verdict.flags, LINK_WITHOUT_SCHEME))
            return verdict
        if cp.kind == "form":
            return await self.check_form(cp)
        if cp.kind in ("phone", "email", "hours"):
            raise ValueError(f"LinkValidator does not check {cp.kind} contact points")
        return await self.check_page(cp)

    # ---- pages

    async def baseline(self, url: str) -> tuple[str, HttpResult]:
        """(token, answer) for a random path on ``url``'s origin, fetched once per origin."""
        origin = _origin(url)
        entry = self._baselines.get(origin)
        if entry is None:
            token = self._token()
            probe = origin + self.rules["soft404"]["probe_path"].format(token=token)
            # GET even on head-safe hosts: the comparison reads the body
            entry = (token, asyncio.ensure_future(self.http.fetch(probe, method="GET")))
            self._baselines[origin] = entry
        return entry[0], await entry[1]

    async def _soft_404(self, res: HttpResult) -> Check | None:
        """A soft-404 Check when ``res`` is a 200 that matches the host's random-path page."""
        if not res.ok or is_home(res.url):
            return None
        token, base = await self.baseline(res.url)
        hit, evidence = is_soft_404(res, base, token, float(self.rules["soft404"]["threshold"]))
        if not evidence.get("compared"):
            return Check("soft-404", "unknown", "http-ok", "no 200 baseline on this host to compare with",
                         evidence, started_at=base.started_at, duration_ms=round(base.elapsed_ms, 1))
        if hit:
            msg = "the page reads like the host's answer to a random URL"
            return Check("soft-404", "inactive", "soft-404", msg, evidence,
                         started_at=base.started_at, duration_ms=round(base.elapsed_ms, 1))
        return Check("soft-404", "active", "http-ok", "the page differs from the host's random-URL page",
                     evidence, started_at=base.started_at, duration_ms=round(base.elapsed_ms, 1))

    async def check_page(self, target: ContactPoint | str, *, kind: Subject = "page") -> Verdict:
        """Does the page answer (status, TLS, time), and is it not a soft 404?"""
        url = target.value if isinstance(target, ContactPoint) else target
        kind = target.kind if isinstance(target, ContactPoint) else kind
        # GET even on head-safe hosts: the soft-404 test compares bodies, and a HEAD
        # answer has none (every page would equal the empty random-path answer)
        res = await self.http.fetch(url, method="GET")
        verdict, reason, message = classify_http(res)
        checks = [_http_check("http", res, verdict, reason, message)]
        if verdict == "active":
            soft = await self._soft_404(res)
            if soft is not None:
                checks.append(soft)
                if soft.verdict == "inactive":
                    verdict, reason, message = soft.verdict, soft.reason, soft.message
        return _verdict(kind, url, verdict, reason, message, checks)

    # ---- forms

    async def check_form(self, cp: ContactPoint) -> Verdict:
        """The page holding the form answers, and so does the form's action URL.

        Only GET is ever sent (a POST would submit the form): 405 to GET proves a
        POST handler exists; a 404 to GET only proves it missing for a file-style
        handler, since routed frameworks often 404 a GET on a POST-only route.
        """
        action = cp.value or cp.page_url
        method = str(cp.details.get("method") or "get").lower()
        page_url = cp.page_url or action
        same = page_url.split("#")[0] == action.split("#")[0]
        if same:
            page = await self.check_page(page_url, kind=cp.kind)
            checks = list(page.checks)
            if page.verdict == "active":
                return _verdict(cp.kind, cp.value, "active", "form-action-ok",
                                "the form posts to its own page, which answers", checks)
            return _verdict(cp.kind, cp.value, page.verdict, page.reason, page.message, checks)

        page, res = await asyncio.gather(self.check_page(page_url, kind=cp.kind), self.http.fetch(action))
        page_checks = [
            Check(f"form-page-{c.name}", c.verdict, c.reason, c.message, c.evidence, c.started_at, c.duration_ms)
            for c in page.checks
        ]
        verdict, reason, message = self._judge_action(res, method)
        checks = [*page_checks, _http_check("form-action", res, verdict, reason, message, form_method=method)]
        if verdict == "active" and res.ok:
            soft = await self._soft_404(res)
            if soft is not None:
                checks.append(soft)
                if soft.verdict == "inactive":
                    verdict, reason = "inactive", "form-action-broken"
                    message = "the action URL answers with the host's 'not found' page"
        if page.verdict == "inactive":
            # The form lives on that page: if the page is gone, so is the form.
            return _verdict(cp.kind, cp.value, "inactive", page.reason,
                            f"the page holding the form is gone: {page.message}", checks)
        return _verdict(cp.kind, cp.value, verdict, reason, message, checks)

    def _judge_action(self, res: HttpResult, method: str) -> Judged:
        rules = self.rules["form"]
        status = res.status or 0
        if res.error or res.challenge:
            verdict, reason, message = classify_http(res)
            return verdict, reason, message
        if 200 <= status < 300:
            return "active", "form-action-ok", f"the action URL answers HTTP {status}"
        if status in rules["exists_statuses"]:
            return "active", "form-action-ok", f"HTTP {status} to GET: the POST handler exists"
        if method == "post" and status in rules["handler_ran_statuses"]:
            return "active", "form-action-ok", f"HTTP {status} to a bare GET: the handler ran"
        if status in (404, 410):
            ext = urlsplit(res.url).path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
            if method != "post" or ext in rules["file_handler_extensions"]:
                return "inactive", "form-action-broken", f"the action URL answers HTTP {status}"
            return ("unknown", "form-action-unverified",
                    f"HTTP {status} to GET on a routed POST handler; not submitted, so not confirmed")
        return classify_http(res)

    # ---- chat widgets

    def _script_url(self, cp: ContactPoint, provider: Mapping[str, Any], account: str | None) -> str | None:
        """The widget's script URL: from the details, the sighting, or the provider's template."""
        for key in ("script_url", "src"):
            value = cp.details.get(key)
            if isinstance(value, str) and value.strip():
                return self._absolute(value.strip(), cp.page_url)
        raw = (cp.raw or "").strip()
        if re.match(r"^(?:https?:)?//", raw, re.I) or (raw.startswith("/") and " " not in raw):
            return self._absolute(raw, cp.page_url)
        src_patterns = [re.compile(p, re.I) for p in provider.get("src", ())]
        for m in _URL_IN_TEXT.finditer(raw):
            candidate = m.group(0)
            if not src_patterns or any(p.search(candidate) for p in src_patterns):
                return self._absolute(candidate, cp.page_url)
        template: str = self.rules.get("providers", {}).get(cp.value, {}).get("script", "")
        if template and ("{account_id}" not in template or account):
            return template.format(account_id=account or "")
        return None

    @staticmethod
    def _absolute(url: str, base: str) -> str:
        if url.startswith("//"):
            return "https:" + url
        return urljoin(base, url) if base else url

    def _config_url(self, cp: ContactPoint, account: str | None) -> tuple[str | None, str | None]:
        """(config URL, how sure we are of its template) for the widget's account."""
        if not account:
            return None, None
        own = self.rules.get("providers", {}).get(cp.value, {})
        if own.get("config"):
            return own["config"].format(account_id=account), own.get("status", "plausible")
        given = cp.details.get("config_url")
        if isinstance(given, str) and given:
            return given, "harvest"
        return None, None

    async def check_chat(self, cp: ContactPoint) -> Verdict:
        """Dead provider -> inactive, no request; else the widget script (and config) must load."""
        started_at, t0 = time.time(), time.perf_counter()
        provider = self.providers.get(cp.value, {})
        account = cp.details.get("account_id")
        account = str(account) if account else None
        dead = bool(cp.details.get("dead-provider") or cp.details.get("dead") or provider.get("dead"))
        base_ev: dict[str, Any] = {"provider": cp.value, "account_id": account}
        if dead:
            since = cp.details.get("dead_since") or provider.get("dead_since")
            ev = {**base_ev, "dead": True, "dead_since": since}
            msg = f"{provider.get('name', cp.value)} chat was shut down" + (f" on {since}" if since else "")
            check = _plain_check("provider-status", "inactive", "dead-provider", msg, ev, started_at, t0)
            return _verdict(cp.kind, cp.value, "inactive", "dead-provider", msg, [check], ["dead-provider"])

        script_url = self._script_url(cp, provider, account)
        config_url, config_status = self._config_url(cp, account)
        if config_url == script_url:
            config_url = None
        if not script_url and not config_url:
            msg = "no script URL or account id to check the widget with"
            check = _plain_check("widget-script", "unknown", "no-widget-url", msg, base_ev, started_at, t0)
            return _verdict(cp.kind, cp.value, "unknown", "no-widget-url", msg, [check])

        jobs = [self.http.fetch(u) for u in (script_url, config_url) if u]
        results = await asyncio.gather(*jobs)
        script_res = results[0] if script_url else None
        config_res = results[-1] if config_url else None
        checks: list[Check] = []
        outcomes: list[Judged] = []
        for name, res in (("widget-script", script_res), ("widget-config", config_res)):
            if res is None:
                continue
            outcome = self._judge_widget(res)
            extra: dict[str, Any] = dict(base_ev)
            if name == "widget-config":
                extra["template_status"] = config_status
                if outcome[0] == "inactive" and config_status != "verified":
                    # An unconfirmed template may simply be wrong: its 404 is a hint, not proof.
                    outcome = ("unknown", outcome[1], outcome[2] + f" (template {config_status}, not decisive)")
            outcomes.append(outcome)
            checks.append(_http_check(name, res, *outcome, **extra))
        verdicts = [o[0] for o in outcomes]
        if "inactive" in verdicts:  # script or per-account config gone: the widget cannot open
            chosen = outcomes[verdicts.index("inactive")]
        elif "active" in verdicts:
            chosen = outcomes[verdicts.index("active")]
        else:
            chosen = outcomes[0]
        flags: list[str] = []
        if chosen[0] == "active":  # only a widget that loads can have someone behind it
            operator = await self._check_operator(cp, script_url, account, base_ev)
            if operator is not None:
                checks.append(operator)
                if operator.reason != OPERATOR_UNKNOWN:
                    flags.append(operator.reason)
        return _verdict(cp.kind, cp.value, *chosen, checks, flags)

    async def _check_operator(self, cp: ContactPoint, script_url: str | None, account: str | None,
                              base_ev: Mapping[str, Any]) -> Check | None:
        """The provider's public online/offline answer as a check, where the provider has one."""
        rule = self.operator.get(cp.value)
        if rule is None:
            return None
        given = cp.details.get("widget_params")
        params = {str(k): str(v) for k, v in given.items()} if isinstance(given, Mapping) else {}
        values = {**params, "origin": _origin(script_url) if script_url else "", "account_id": account or ""}
        url = operator_url(rule, values)
        if url is None:
            return None
        headers = {str(k): str(v) for k, v in dict(rule.get("headers", {})).items()}
        res = await self.http.fetch(url, method="GET", headers=headers or None)
        if res.error or res.challenge or res.status != 200:
            reason, message = OPERATOR_UNKNOWN, f"status endpoint: {classify_http(res)[2]}"
        else:
            reason, message = operator_state(rule, res.body)
        verdict: VerdictValue = "unknown"
        if reason == OPERATOR_ONLINE:
            verdict = "active"
        elif reason == OPERATOR_OFFLINE:
            verdict = "inactive"  # of the operator, not the channel: the widget still takes messages
        state = reason.removeprefix("operator-")
        extra = {"widget_params": params} if params else {}
        return _http_check("operator-status", res, verdict, reason, message, **base_ev, **extra,
                           operator=state, field=rule["field"], source=rule.get("source"))

    @staticmethod
    def _judge_widget(res: HttpResult) -> Judged:
        verdict, reason, message = classify_http(res)
        if verdict == "active":
            return "active", "widget-loads", f"{res.final_url} answers HTTP {res.status}"
        if reason == "http-404":
            return "inactive", "widget-missing", f"{res.url} answers HTTP {res.status}"
        return verdict, reason, message

    # ---- messaging links

    def _platform(self, cp: ContactPoint) -> str:
        platform = cp.details.get("platform") or cp.label or ""
        if platform:
            return str(platform).lower()
        value = cp.value.lower()
        for name, prefix in (("whatsapp", "https://wa.me/"), ("telegram", "https://t.me/"),
                             ("viber", "viber:"), ("messenger", "https://m.me/"), ("skype", "skype:")):
            if value.startswith(prefix):
                return name
        return ""

    @staticmethod
    def _number(platform: str, cp: ContactPoint) -> str | None:
        """The phone number a WhatsApp/Viber link carries, with its plus, or None (code links)."""
        pattern = _WA_NUMBER if platform == "whatsapp" else _VIBER_NUMBER
        m = pattern.search(cp.value)
        if m:
            return "+" + m.group(1)
        account = str(cp.details.get("account") or "")
        digits = account.lstrip("+")
        if digits.isdigit() and len(digits) <= 20:
            return "+" + digits
        return None

    async def check_messaging(self, cp: ContactPoint) -> Verdict:
        """Per-platform rule from messaging_rules.toml: number format, page markers, or nothing."""
        started_at, t0 = time.time(), time.perf_counter()
        platform = self._platform(cp)
        rule = self.messaging.get(platform)
        base_ev: dict[str, Any] = {"platform": platform or None, "account": cp.details.get("account")}
        if rule is None or rule["decide"] == "none":
            msg = (rule or {}).get("message", "this platform cannot be checked")
            check = _plain_check("messaging", "unknown", "unverifiable", msg, base_ev, started_at, t0)
            return _verdict(cp.kind, cp.value, "unknown", "unverifiable", msg, [check])

        if rule["decide"] == "number":
            number = self._number(platform, cp)
            if number is None:
                msg = "the link carries a code, not a number; it cannot be checked without the app"
                check = _plain_check("messaging-number", "unknown", "unverifiable", msg, base_ev, started_at, t0)
                return _verdict(cp.kind, cp.value, "unknown", "unverifiable", msg, [check])
            phone = validate_phone(number)
            evidence = {**base_ev, "number": number, **dict(phone.checks[0].evidence)}
            if phone.verdict == "inactive":
                check = _plain_check("messaging-number", "inactive", "invalid-number", phone.message,
                                     evidence, started_at, t0)
                return _verdict(cp.kind, cp.value, "inactive", "invalid-number", phone.message, [check])
            msg = f"{number} is a valid number; {rule['message']}"
            check = _plain_check("messaging-number", "unknown", "unverifiable", msg, evidence, started_at, t0)
            return _verdict(cp.kind, cp.value, "unknown", "unverifiable", msg, [check])

        # decide == "page"
        res = await self.http.fetch(cp.value)
        if res.error or res.challenge or (res.status or 0) >= 500 or res.status == 429:
            verdict, reason, message = classify_http(res)
            if verdict == "inactive" and reason == "redirect-loop":
                verdict = "unknown"  # a platform's login loop says nothing about the account
            check = _http_check("messaging-page", res, verdict, reason, message, **base_ev)
            return _verdict(cp.kind, cp.value, verdict, reason, message, [check])
        if platform == "telegram":
            judged = judge_telegram(res.status, res.body, rule)
        elif platform == "messenger":
            account = str(cp.details.get("account") or urlsplit(cp.value).path.strip("/"))
            judged = judge_messenger(res.status, res.final_url, res.body, account, rule)
        else:
            v, r, m = classify_http(res)
            judged = PageJudgement(v, r, m)
        check = _http_check("messaging-page", res, judged.verdict, judged.reason, judged.message,
                            markers=judged.markers, title=page_title(res.body), **base_ev)
        return _verdict(cp.kind, cp.value, judged.verdict, judged.reason, judged.message, [check])
