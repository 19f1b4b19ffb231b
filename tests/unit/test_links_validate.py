"""Pure parts of the link validators: soft-404 similarity, bot challenges, Retry-After,
messaging page rules and HTTP outcome mapping. Bodies below are trimmed copies of the
structure real pages have (Cloudflare, DDoS-Guard, Sucuri, t.me, Facebook)."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from auditor import data
from auditor.models import ContactPoint
from auditor.validate.http import HttpResult, backoff_delay, detect_challenge, parse_retry_after
from auditor.validate.links import (
    LinkValidator,
    classify_http,
    find_markers,
    is_home,
    is_soft_404,
    judge_messenger,
    judge_telegram,
    page_title,
    page_words,
    similarity,
)

# ------------------------------------------------------------------ recorded bodies

CF_JS_CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><style>*{box-sizing:border-box}</style></head>
<body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.example.com</h1><h2 class="h2" id="challenge-running">
Checking if the site connection is secure</h2><noscript><div id="challenge-error-title">
Enable JavaScript and cookies to continue</div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '2',cZone: "www.example.com",cType: 'managed',
cRay: '7d1f0c1b2a3e4f56'};var cpo=document.createElement('script');
cpo.src='/cdn-cgi/challenge-platform/h/g/orchestrate/managed/v1?ray=7d1f0c1b2a3e4f56';
document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"""

CF_BLOCK = """<!DOCTYPE html><!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<head><title>Attention Required! | Cloudflare</title></head><body><div id="cf-wrapper">
<div id="cf-error-details" class="cf-error-details-wrapper"><h1 data-translate="block_headline">
Sorry, you have been blocked</h1><h2 class="cf-subheadline">You are unable to access example.com</h2>
</div><span class="cf-footer-item">Cloudflare Ray ID: <strong>7d1f0c1b2a3e4f56</strong></span></div>
</body></html>"""

DDOS_GUARD = """<!DOCTYPE html><html><head><title>DDoS-Guard</title>
<script src="/.well-known/ddos-guard/check?context=free_splash"></script></head>
<body><div class="ddg-container">Checking your browser before accessing example.ru.
<p>DDoS protection by DDoS-Guard</p><img src="https://ddos-guard.net/images/logo.svg"></div></body></html>"""

SUCURI = """<html><head><title>Sucuri WebSite Firewall - Access Denied</title></head>
<body><div id="main-container"><h1>Access Denied - Sucuri Website Firewall</h1>
<p>If you are the site owner, <a href="https://sucuri.net/privacy-policy">learn more</a></p>
</div></body></html>"""

MAINTENANCE_503 = """<html><head><title>Wartungsarbeiten</title></head><body>
<h1>Wir sind gleich zurück</h1><p>Diese Seite wird gerade gewartet.</p></body></html>"""

ORDINARY_PAGE = """<html><head><title>Kontakt</title></head><body>
<p>Our site is protected by Cloudflare. Just a moment... we will answer your mail.</p></body></html>"""

TG_USER = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @acme_support</title>
<meta property="og:title" content="Acme Support"><meta property="og:site_name" content="Telegram">
</head><body class="tgme_body"><div class="tgme_page_wrap"><div class="tgme_head_wrap">
<a class="tgme_head_brand" href="//telegram.org/"></a></div><div class="tgme_body_wrap"><div class="tgme_page">
<div class="tgme_page_photo"><a href="tg://resolve?domain=acme_support"><img class="tgme_page_photo_image"
src="https://cdn4.telesco.pe/file/x.jpg"></a></div>
<div class="tgme_page_title" dir="auto"><span dir="auto">Acme Support</span></div>
<div class="tgme_page_extra">@acme_support</div>
<div class="tgme_page_description" dir="auto">Mon–Fri 9–17</div>
<div class="tgme_page_action"><a class="tgme_action_button_new shine" href="tg://resolve?domain=acme_support">
Send Message</a></div></div></div></div></body></html>"""

TG_CHANNEL = """<html><head><title>Telegram: Contact @acme_news</title></head><body class="tgme_body">
<div class="tgme_page"><div class="tgme_page_title" dir="auto"><span dir="auto">Acme News</span></div>
<div class="tgme_page_extra">1 234 subscribers</div><div class="tgme_page_action">
<a class="tgme_action_button_new shine" href="tg://resolve?domain=acme_news">View in Telegram</a></div>
<div class="tgme_page_context_link_wrap"><a class="tgme_page_context_link" href="/s/acme_news">
Preview channel</a></div></div></body></html>"""

TG_MISSING = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @acme_gone</title>
<meta property="og:title" content="Telegram: Contact @acme_gone"></head><body class="tgme_body">
<div class="tgme_page_wrap"><div class="tgme_head_wrap"><a class="tgme_head_brand" href="//telegram.org/"></a>
</div><div class="tgme_body_wrap"><div class="tgme_page"><div class="tgme_page_icon"><i></i></div>
<div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact
<a class="tgme_username_link" href="tg://resolve?domain=acme_gone">@acme_gone</a> right away.</div>
<div class="tgme_page_action"><a class="tgme_action_button_new shine" href="tg://resolve?domain=acme_gone">
Send Message</a></div></div></div></div></body></html>"""

FB_UNAVAILABLE = """<html><head><title>Facebook</title></head><body><div id="content">
<h2>This content isn&#039;t available right now</h2><p>When this happens, it&#039;s usually because the
owner only shared it with a small group of people or it&#039;s been deleted.</p></div></body></html>"""

FB_UNAVAILABLE_CURLY = "<html><body><span>This content isn\u2019t available at the moment</span></body></html>"

FB_LOGIN = """<html><head><title>Log in to Facebook</title></head><body><form id="login_form"
action="/login/device-based/regular/login/"><input name="email"></form></body></html>"""


# ------------------------------------------------------------------ Retry-After, back-off


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("1", 1.0), ("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("", None), (None, None),
     ("-3", None), ("soon", None), ("nan", None)],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(90.0)
    past = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past, now=now.timestamp()) == 0.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after("Wednesday, 32-Foo-24 99:00:00 GMT") is None


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(3, base=0.5, cap=1.5) == 1.5


# ------------------------------------------------------------------ bot challenges


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (403, {"Server": "cloudflare", "cf-mitigated": "challenge"}, CF_JS_CHALLENGE),
        (503, {"Server": "cloudflare"}, CF_JS_CHALLENGE),
        (403, {"Server": "cloudflare"}, CF_BLOCK),
        (403, {"Server": "ddos-guard"}, DDOS_GUARD),
        (503, {}, DDOS_GUARD),
        (403, {"X-Sucuri-ID": "18015"}, SUCURI),
        (200, {"cf-mitigated": "challenge"}, ""),  # Cloudflare says so explicitly
        (429, {}, '<script src="/cdn-cgi/challenge-platform/h/b/scripts/jsd/main.js"></script>'),
    ],
)
def test_challenge_detected(status: int, headers: dict[str, str], body: str) -> None:
    assert detect_challenge(status, headers, body)


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (503, {"Server": "nginx"}, MAINTENANCE_503),
        (503, {"Server": "cloudflare"}, MAINTENANCE_503),  # an origin error proxied by Cloudflare
        (200, {"Server": "cloudflare"}, CF_JS_CHALLENGE),  # markers count only with a challenge status
        (200, {}, ORDINARY_PAGE),
        (404, {}, CF_BLOCK),
    ],
)
def test_no_challenge(status: int, headers: dict[str, str], body: str) -> None:
    assert detect_challenge(status, headers, body) == []


# ------------------------------------------------------------------ soft 404

NOT_FOUND_TEMPLATE = """<html><head><title>Seite nicht gefunden – Muster GmbH</title>
<script>var x = "{noise}";</script></head><body><nav>Start Produkte Über uns Kontakt</nav>
<h1>Hoppla! Diese Seite gibt es nicht.</h1><p>Die Adresse {path} wurde nicht gefunden.</p>
<footer>© Muster GmbH · Impressum · Datenschutz</footer></body></html>"""

CONTACT_PAGE = """<html><head><title>Kontakt – Muster GmbH</title></head><body>
<nav>Start Produkte Über uns Kontakt</nav><h1>Kontakt</h1><p>Telefon +49 30 123456</p>
<p>E-Mail info@muster.example, Montag bis Freitag 9–17 Uhr.</p><form action="/send.php"></form>
<footer>© Muster GmbH · Impressum · Datenschutz</footer></body></html>"""


def test_page_words_strip_markup_scripts_and_paths() -> None:
    words = page_words(NOT_FOUND_TEMPLATE.format(path="/kontakt", noise="zzz"), ["/kontakt"])
    assert "zzz" not in " ".join(words) and "/kontakt" not in words and "<h1>" not in words
    assert words[:4] == ["seite", "nicht", "gefunden", "–"]
    assert page_title(CONTACT_PAGE) == "Kontakt – Muster GmbH"


def test_similarity_same_template_with_echoed_paths() -> None:
    token = "3f9a1c2b7d6e5f40"
    probe_path = f"/this-page-does-not-exist-{token}"
    a = NOT_FOUND_TEMPLATE.format(path="/kontakt", noise="1")
    b = NOT_FOUND_TEMPLATE.format(path=probe_path, noise="2")
    assert similarity(a, b, [token, probe_path, "/kontakt"]) == 1.0
    # without stripping the paths the pages still read nearly alike
    assert similarity(a, b) > 0.9


def test_similarity_real_page_differs() -> None:
    base = NOT_FOUND_TEMPLATE.format(path="/this-page-does-not-exist-x", noise="")
    assert similarity(CONTACT_PAGE, base, ["/kontakt"]) < 0.6
    assert similarity("", "") == 1.0
    assert similarity("<p>a b c</p>", "") == 0.0


def _result(url: str, body: str, status: int = 200, final: str | None = None, hops: int = 1) -> HttpResult:
    chain = [{"url": url, "status": 302, "location": final} for _ in range(hops - 1)]
    chain.append({"url": final or url, "status": status, "location": None})
    return HttpResult(url=url, final_url=final or url, status=status, body=body, chain=chain)


def test_is_soft_404_decisions() -> None:
    token = "abc"
    probe = "http://h.example/this-page-does-not-exist-abc"
    baseline = _result(probe, NOT_FOUND_TEMPLATE.format(path="/this-page-does-not-exist-abc", noise=""))
    soft = _result("http://h.example/kontakt", NOT_FOUND_TEMPLATE.format(path="/kontakt", noise=""))
    real = _result("http://h.example/kontakt", CONTACT_PAGE)
    hit, ev = is_soft_404(soft, baseline, token, 0.9)
    assert hit and ev["similarity"] == 1.0 and ev["compared"]
    assert not is_soft_404(real, baseline, token, 0.9)[0]
    # a host that answers random paths with a real 404 gives nothing to compare with
    honest = _result(probe, "gone", status=404)
    hit, ev = is_soft_404(soft, honest, token, 0.9)
    assert not hit and ev["compared"] is False
    # both redirected to the same place (typically the home page): the page is gone
    home = "http://h.example/"
    moved = _result("http://h.example/kontakt", CONTACT_PAGE, final=home, hops=2)
    base_moved = _result(probe, CONTACT_PAGE, final=home, hops=2)
    hit, ev = is_soft_404(moved, base_moved, token, 0.9)
    assert hit and ev["same_redirect_target"]


@pytest.mark.parametrize(
    ("url", "home"),
    [("https://a.example", True), ("https://a.example/", True), ("https://a.example/?lang=de", False),
     ("https://a.example/kontakt", False)],
)
def test_is_home(url: str, home: bool) -> None:
    assert is_home(url) is home


# ------------------------------------------------------------------ HTTP outcome mapping


@pytest.mark.parametrize(
    ("status", "error", "challenge", "expected"),
    [
        (200, None, [], ("active", "http-ok")),
        (204, None, [], ("active", "http-ok")),
        (404, None, [], ("inactive", "http-404")),
        (410, None, [], ("inactive", "http-404")),
        (403, None, ["cf-chl"], ("unknown", "bot-challenge")),
        (503, None, ["cf-chl"], ("unknown", "bot-challenge")),
        (403, None, [], ("unknown", "http-4xx")),
        (429, None, [], ("unknown", "rate-limited")),
        (500, None, [], ("unknown", "http-5xx")),
        (302, None, [], ("unknown", "bad-redirect")),
        (None, "nxdomain", [], ("inactive", "nxdomain")),
        (None, "redirect-loop", [], ("inactive", "redirect-loop")),
        (None, "dns-failure", [], ("unknown", "dns-failure")),
        (None, "connect-timeout", [], ("unknown", "connect-timeout")),
        (None, "tls-error", [], ("unknown", "tls-error")),
        (None, "private-address-refused", [], ("unknown", "private-address-refused")),
    ],
)
def test_classify_http(status: int | None, error: str | None, challenge: list[str],
                       expected: tuple[str, str]) -> None:
    res = HttpResult(url="http://x.example/", final_url="http://x.example/", status=status, error=error,
                     challenge=challenge, tries=3)
    assert classify_http(res)[:2] == expected


def test_every_reason_tag_is_declared() -> None:
    reasons = data.load("reasons.toml")["reasons"]
    used = {
        "http-ok", "http-404", "soft-404", "bot-challenge", "rate-limited", "http-5xx", "http-4xx",
        "redirect-loop", "too-many-redirects", "invalid-url", "bad-redirect", "nxdomain", "dns-failure",
        "dns-timeout", "connect-timeout", "read-timeout", "connection-refused", "connection-lost",
        "tls-error", "download-error", "private-address-refused", "widget-loads", "widget-missing",
        "dead-provider", "no-widget-url", "form-action-ok", "form-action-broken", "form-action-unverified",
        "unverifiable", "account-missing", "account-exists", "invalid-number", "not-dialled",
        "premium-rate", "shared-cost",
    }
    assert used - set(reasons) == set()


# ------------------------------------------------------------------ messaging rules


@pytest.mark.parametrize(
    ("status", "body", "verdict", "reason"),
    [
        (200, TG_USER, "active", "account-exists"),
        (200, TG_CHANNEL, "active", "account-exists"),
        (200, TG_MISSING, "inactive", "account-missing"),
        (404, "", "inactive", "account-missing"),
        (200, "<html><body>proxy error</body></html>", "unknown", "unverifiable"),
        (302, "", "unknown", "unverifiable"),
    ],
)
def test_telegram_rule(status: int, body: str, verdict: str, reason: str) -> None:
    judged = judge_telegram(status, body)
    assert (judged.verdict, judged.reason) == (verdict, reason)


def test_telegram_markers_are_evidence() -> None:
    live = judge_telegram(200, TG_USER).markers
    assert live["live"] == ["tgme_page_title"] and "tgme_page_extra" in live["support"]
    missing = judge_telegram(200, TG_MISSING).markers
    assert missing["live"] == [] and "tgme_username_link" in missing["missing"]
    assert "Send Message" in missing["support"]  # also on a missing page: never decisive


@pytest.mark.parametrize(
    ("status", "final_url", "body", "verdict"),
    [
        (404, "https://m.me/acmepage", "", "inactive"),
        (200, "https://www.facebook.com/acmepage", FB_UNAVAILABLE, "inactive"),
        (200, "https://www.facebook.com/acmepage", FB_UNAVAILABLE_CURLY, "inactive"),
        (200, "https://www.facebook.com/login/", FB_LOGIN, "inactive"),
        (200, "https://www.facebook.com/", FB_LOGIN, "inactive"),
        (200, "https://www.facebook.com/login/?next=https%3A%2F%2Fm.me%2Facmepage", FB_LOGIN, "unknown"),
        (200, "https://www.messenger.com/t/acmepage", FB_LOGIN, "unknown"),
        (200, "https://www.facebook.com/acmepage", "<html>Acme</html>", "unknown"),
    ],
)
def test_messenger_rule(status: int, final_url: str, body: str, verdict: str) -> None:
    judged = judge_messenger(status, final_url, body, "acmepage")
    assert judged.verdict == verdict
    assert judged.reason == ("account-missing" if verdict == "inactive" else "unverifiable")


def test_find_markers_normalizes_entities_and_apostrophes() -> None:
    assert find_markers("isn&#x27;t THERE", ["isn't there"]) == ["isn't there"]
    assert find_markers("isn\u2019t", ["isn't"]) == ["isn't"]


class _NoHttp:
    """A stand-in client that fails the test if a request is attempted."""

    async def fetch(self, url: str, **_: object) -> HttpResult:
        raise AssertionError(f"no request expected, got {url}")


def _cp(kind: str, value: str, raw: str = "", **details: object) -> ContactPoint:
    return ContactPoint(kind=kind, value=value, raw=raw or value, label=None, method="deep-link",
                        page_url="https://shop.example/kontakt", details=details)


@pytest.mark.parametrize(
    ("cp", "verdict", "reason"),
    [
        (_cp("messaging", "https://wa.me/36201234567", platform="whatsapp", account="36201234567"),
         "unknown", "unverifiable"),
        (_cp("messaging", "https://wa.me/36991234", platform="whatsapp", account="36991234"),
         "inactive", "invalid-number"),
        (_cp("messaging", "https://wa.me/message/ABCDEF", platform="whatsapp", account="ABCDEF"),
         "unknown", "unverifiable"),
        (_cp("messaging", "viber://chat?number=%2B905321234567", platform="viber", account="+905321234567"),
         "unknown", "unverifiable"),
        (_cp("messaging", "viber://chat?number=%2B9053", platform="viber", account="+9053"),
         "inactive", "invalid-number"),
        (_cp("messaging", "viber://pa?chatURI=acme", platform="viber", account="acme"), "unknown", "unverifiable"),
        (_cp("messaging", "skype:acme?chat", platform="skype", account="acme"), "unknown", "unverifiable"),
        (_cp("messaging", "https://example.example/x"), "unknown", "unverifiable"),
        (_cp("chat", "facebook-customer-chat", "https://connect.facebook.net/en_US/sdk/xfbml.customerchat.js",
             **{"dead-provider": True, "dead_since": "2024-05-09"}), "inactive", "dead-provider"),
    ],
)
def test_rules_that_need_no_request(cp: ContactPoint, verdict: str, reason: str) -> None:
    v = asyncio.run(LinkValidator(_NoHttp()).validate(cp))  # type: ignore[arg-type]
    assert (v.kind, v.value, v.verdict, v.reason) == (cp.kind, cp.value, verdict, reason)
    assert v.checks and v.checks[0].started_at > 0 and v.checks[0].duration_ms >= 0


def test_whatsapp_number_evidence() -> None:
    cp = _cp("messaging", "https://wa.me/4915123456789", platform="whatsapp", account="4915123456789")
    v = asyncio.run(LinkValidator(_NoHttp()).validate(cp))  # type: ignore[arg-type]
    ev = v.checks[0].evidence
    assert ev["number"] == "+4915123456789" and ev["type"] == "mobile" and ev["region"] == "DE"


def test_dead_provider_from_provider_table() -> None:
    v = asyncio.run(LinkValidator(_NoHttp(), providers={"x-chat": {"dead": True}})  # type: ignore[arg-type]
                    .validate(_cp("chat", "x-chat", "https://x.example/chat.js")))
    assert (v.verdict, v.flags) == ("inactive", ("dead-provider",))


def test_packaged_dead_providers_are_honoured() -> None:
    from auditor.validate.links import chat_providers

    dead = [slug for slug, p in chat_providers().items() if p.get("dead")]
    assert dead, "chat_providers.toml lists no dead provider: this test would check nothing"
    for slug in dead:
        v = asyncio.run(LinkValidator(_NoHttp()).validate(_cp("chat", slug, "x")))  # type: ignore[arg-type]
        assert (v.verdict, v.reason) == ("inactive", "dead-provider"), slug


@pytest.mark.parametrize(
    ("raw", "details", "expected"),
    [
        ("https://embed.tawk.to/0123456789abcdef01234567/default", {}, "https://embed.tawk.to/0123456789abcdef01234567/default"),
        ("//embed.tawk.to/0123456789abcdef01234567/x", {}, "https://embed.tawk.to/0123456789abcdef01234567/x"),
        ("/assets/chat-loader.js", {}, "https://shop.example/assets/chat-loader.js"),
        ("s1.src='https://embed.tawk.to/0123456789abcdef01234567/1abc';", {}, "https://embed.tawk.to/0123456789abcdef01234567/1abc"),
        ("Tawk_API", {"account_id": "0123456789abcdef01234567/1abc"}, "https://embed.tawk.to/0123456789abcdef01234567/1abc"),
        ("Tawk_API", {}, None),
        ("x", {"script_url": "https://cdn.example/w.js"}, "https://cdn.example/w.js"),
    ],
)
def test_widget_script_url(raw: str, details: dict[str, str], expected: str | None) -> None:
    validator = LinkValidator(_NoHttp())  # type: ignore[arg-type]
    cp = _cp("chat", "tawk.to", raw, **details)
    provider = {"src": [r"embed\.tawk\.to/"]}
    assert validator._script_url(cp, provider, details.get("account_id")) == expected


def test_config_templates_are_marked() -> None:
    providers = data.load("chat_checks.toml")["providers"]
    assert {"tawk.to", "smartsupp", "crisp", "jivochat", "tidio"} <= set(providers)
    for slug, entry in providers.items():
        assert entry["status"] in ("verified", "plausible"), slug
        for key in ("script", "config"):
            assert entry[key] == "" or entry[key].startswith("https://"), (slug, key)


def test_script_url_ignores_comments_and_foreign_urls() -> None:
    validator = LinkValidator(_NoHttp())  # type: ignore[arg-type]
    snippet = "<!--Start of Chat Script-->//Start var s=document.createElement('script');"
    assert validator._script_url(_cp("chat", "someprovider", snippet), {}, None) is None
    other = "s.src='https://cdn.unrelated.example/lib.js'; t.src='https://embed.tawk.to/abc/def';"
    got = validator._script_url(_cp("chat", "tawk.to", other), {"src": [r"embed\.tawk\.to/"]}, None)
    assert got == "https://embed.tawk.to/abc/def"
