"""Link checks against the lab (issue 3): the validators' HTTP client and LinkValidator
meet the hosts of ``auditor/lab/worlds/links.toml`` on the lab's real HTTP server, names
resolved by the lab's real DNS server.

One scenario per host: 405 to HEAD but 200 to GET (head-refused.de), 200 "not found"
pages for every unknown path (soft-404.de), 429 with Retry-After (retry-after.de), a
redirect loop (redirect-circle.de) and a Cloudflare-style bot challenge (bot-wall.de).
What was sent is read from the lab's own request log, never from the client. Waits for
Retry-After go through an injected ``sleep`` that records them. The client's address
policy admits loopback addresses only, so nothing here can reach beyond 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from auditor.lab import Lab
from auditor.lab.world import LINKS_WORLD, WorldError, load_world, parse_world
from auditor.models import ContactPoint, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.http import HEAD_FALLBACK_STATUSES, HttpClient
from auditor.validate.links import LinkValidator, chat_checks

pytestmark = pytest.mark.integration

T = TypeVar("T")
WORLD = load_world(LINKS_WORLD)
UA = "contact-auditor-test/1.0 (+https://lab.test/about-the-crawler)"
TOKEN = "feedc0ffee123456"  # the soft-404 probe's random part, fixed for the request log
PROBE = chat_checks()["soft404"]["probe_path"].format(token=TOKEN)
BACKOFF_BASE = 0.05
BACKOFF_CAP = 5.0


class LoopbackOnly(AddressPolicy):
    """AddressPolicy(True) narrowed to 127.0.0.0/8: the lab, and nothing else, is reachable."""

    def __init__(self) -> None:
        super().__init__(allow_private=True)

    def permits(self, address: str) -> bool:
        return ipaddress.ip_address(address).is_loopback


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(WORLD) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_log(lab: Lab) -> None:
    lab.reset_logs()


def client(lab: Lab, *, sleep: Callable[[float], Awaitable[None]] | None = None, **kw: Any) -> HttpClient:
    options: dict[str, Any] = {
        "timeout": 3.0, "connect_timeout": 2.0, "backoff_base": BACKOFF_BASE,
        "backoff_cap": BACKOFF_CAP, "head_safe_hosts": (),
    }
    options.update(kw)
    if sleep is not None:
        options["sleep"] = sleep
    return HttpClient(
        DnsResolver(lab.nameserver, timeout=2.0),
        LoopbackOnly(),
        user_agent=UA,
        port_overrides={"http": lab.http_port, "https": lab.https_port},
        ca_file=lab.ca_file,
        **options,
    )


def run(lab: Lab, body: Callable[[HttpClient], Awaitable[T]], **kw: Any) -> T:
    async def main() -> T:
        async with client(lab, **kw) as http:
            return await body(http)

    return asyncio.run(main())


def check_pages(lab: Lab, *urls: str, **kw: Any) -> list[Verdict]:
    """Page checks of ``urls``, concurrently, by one LinkValidator (baselines shared)."""

    async def body(http: HttpClient) -> list[Verdict]:
        validator = LinkValidator(http, token=lambda: TOKEN)
        return list(await asyncio.gather(*(validator.check_page(u) for u in urls)))

    return run(lab, body, **kw)


def sent(lab: Lab, host: str) -> list[tuple[str, str, int]]:
    """(method, path, status) of every request the lab answered for ``host``, in order."""
    return [(r.method, r.decoded_path, r.status) for r in lab.requests.for_host(host)]


class Sleeps:
    """A fake ``sleep`` for the client: records every wait, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def raw(lab: Lab, method: str, host: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", lab.http_port, timeout=5)
    try:
        conn.request(method, path, headers={"Host": f"{host}:{lab.http_port}", "User-Agent": UA})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- the world


def test_the_world_holds_every_scenario() -> None:
    assert [c.domain for c in WORLD.companies] == [
        "head-refused.de", "soft-404.de", "retry-after.de", "redirect-circle.de", "bot-wall.de",
    ]
    head = WORLD.company("head-refused.de")
    assert {p.path: p.head_status for p in head.pages} == {"/": 405, "/kontakt": 405, "/kontakt/senden": 405}
    assert all(dict(p.headers).get("Allow") for p in head.pages)
    assert "*" in {p.path for p in WORLD.company("soft-404.de").pages}
    wall = {p.path: p for p in WORLD.company("bot-wall.de").pages}
    assert wall["*"].status == 403 and dict(wall["*"].headers)["cf-mitigated"] == "challenge"
    assert WORLD.company("retry-after.de").truth.failure == "rate-limited"
    assert not WORLD.mail_hosts and not WORLD.private_targets
    # every other page of every other world answers HEAD as it answers GET
    assert all(p.head_status is None for c in load_world().companies for p in c.pages)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("head_status = 42", "head_status: expected an HTTP status 100-599, got 42"),
        ("head_status = 700", "head_status: expected an HTTP status 100-599, got 700"),
        ('head_status = "405"', "head_status: expected an integer"),
        ("head_status = true", "head_status: expected an integer"),
        ('head_status = 405\nfault = "huge"', "head_status: a fault answers every method alike"),
        ("head_status = 301", "head_status: a 3xx answer to HEAD needs the page's redirect"),
    ],
)
def test_head_status_is_validated(page: str, message: str) -> None:
    text = f'[[company]]\nname = "X"\ndomain = "x-test.de"\n[[company.pages]]\npath = "/"\n{page}\n'
    with pytest.raises(WorldError, match="company 'x-test.de' pages\\[0\\] \\(/\\): " + message):
        parse_world(text, source="t.toml")


def test_a_redirect_refusing_head_sends_no_location() -> None:
    world = parse_world(
        '[[company]]\nname = "X"\ndomain = "x-test.de"\n'
        '[[company.pages]]\npath = "/"\nredirect = "/neu"\nhead_status = 405\nheaders = { "Allow" = "GET" }\n'
        '[[company.pages]]\npath = "/alt"\nredirect = "/neu"\nhead_status = 302\n'
        '[[company.pages]]\npath = "/neu"\nmain = "<p>neu</p>"\n',
        source="t.toml",
    )
    with Lab(world) as lab:
        status, headers, body = raw(lab, "HEAD", "x-test.de", "/")
        assert (status, headers.get("allow"), "location" in headers, body) == (405, "GET", False, b"")
        status, headers, _ = raw(lab, "GET", "x-test.de", "/")
        assert (status, headers["location"], headers["allow"]) == (301, "/neu", "GET")
        status, headers, _ = raw(lab, "HEAD", "x-test.de", "/alt")
        assert (status, headers["location"]) == (302, "/neu")
        assert [(r.method, r.path, r.status) for r in lab.requests] == [
            ("HEAD", "/", 405), ("GET", "/", 301), ("HEAD", "/alt", 302),
        ]


def test_the_lab_answers_head_with_the_pages_head_status(lab: Lab) -> None:
    status, headers, body = raw(lab, "HEAD", "head-refused.de", "/kontakt")
    assert (status, headers["allow"], headers["content-length"], body) == (405, "GET, POST", "0", b"")
    status, headers, body = raw(lab, "GET", "head-refused.de", "/kontakt")
    assert status == 200 and headers["allow"] == "GET, POST" and b"030 23126 101" in body
    # a page without head_status answers HEAD as it answers GET, headers only
    status, headers, body = raw(lab, "HEAD", "soft-404.de", "/kontakt")
    get_status, get_headers, get_body = raw(lab, "GET", "soft-404.de", "/kontakt")
    assert (status, body) == (200, b"") and get_status == 200
    assert headers["content-length"] == get_headers["content-length"] == str(len(get_body))
    assert sent(lab, "head-refused.de") == [("HEAD", "/kontakt", 405), ("GET", "/kontakt", 200)]


# --------------------------------------------------------------------------- (a) 405 to HEAD


def test_405_to_head_on_a_head_safe_host_falls_back_to_get(lab: Lab) -> None:
    assert 405 in HEAD_FALLBACK_STATUSES
    url = "http://head-refused.de/kontakt"
    res = run(lab, lambda h: h.fetch(url), head_safe_hosts=["head-refused.de"])
    assert res.ok and res.status == 200 and res.method == "GET" and "030 23126 101" in res.body
    assert res.chain == [
        {"url": url, "status": 405, "location": None, "method": "HEAD"},
        {"url": url, "status": 200, "location": None},
    ]
    evidence = res.evidence()
    assert evidence["method"] == "GET" and evidence["chain"][0] == {
        "url": url, "status": 405, "location": None, "method": "HEAD"}
    assert sent(lab, "head-refused.de") == [("HEAD", "/kontakt", 405), ("GET", "/kontakt", 200)]
    assert {r.user_agent for r in lab.requests} == {UA}


def test_page_checks_get_the_body_even_on_head_safe_hosts(lab: Lab) -> None:
    """The soft-404 test compares bodies, so page and baseline are fetched with GET."""
    (verdict,) = check_pages(lab, "http://head-refused.de/kontakt", head_safe_hosts=["head-refused.de"])
    assert (verdict.verdict, verdict.reason) == ("active", "http-ok")
    http_check = verdict.checks[0]
    assert http_check.name == "http" and http_check.evidence["method"] == "GET"
    assert sent(lab, "head-refused.de") == [("GET", "/kontakt", 200), ("GET", PROBE, 404)]
    assert verdict.checks[1].evidence["compared"] is False


def test_head_is_only_sent_to_head_safe_hosts(lab: Lab) -> None:
    plain = run(lab, lambda h: h.fetch("http://head-refused.de/kontakt"))
    assert plain.ok and plain.method == "GET" and len(plain.chain) == 1
    assert sent(lab, "head-refused.de") == [("GET", "/kontakt", 200)]
    # a head-safe host whose HEAD is honest: one HEAD, no GET
    honest = run(lab, lambda h: h.fetch("http://soft-404.de/kontakt"), head_safe_hosts=["soft-404.de"])
    assert honest.ok and honest.method == "HEAD" and honest.body == ""
    assert honest.chain == [{"url": "http://soft-404.de/kontakt", "status": 200, "location": None}]
    assert sent(lab, "soft-404.de") == [("HEAD", "/kontakt", 200)]


# --------------------------------------------------------------------------- (b) soft 404


def test_soft_404_pages_are_told_from_real_ones(lab: Lab) -> None:
    urls = {
        "contact": "http://soft-404.de/kontakt",
        "imprint": "http://soft-404.de/impressum",
        "missing": "http://soft-404.de/kontakt-alt",
        "missing2": "http://soft-404.de/service/hilfe.html",
        "home": "http://soft-404.de/",
        "other host": "http://head-refused.de/kontakt",
    }
    verdicts = dict(zip(urls, check_pages(lab, *urls.values()), strict=True))
    got = {name: (v.verdict, v.reason) for name, v in verdicts.items()}
    assert got == {
        "contact": ("active", "http-ok"),
        "imprint": ("active", "http-ok"),
        "missing": ("inactive", "soft-404"),
        "missing2": ("inactive", "soft-404"),
        "home": ("active", "http-ok"),
        "other host": ("active", "http-ok"),
    }
    for name in ("contact", "imprint"):
        soft = verdicts[name].checks[1]
        assert (soft.name, soft.verdict, soft.evidence["compared"]) == ("soft-404", "active", True)
        assert soft.evidence["similarity"] < soft.evidence["threshold"] == 0.9
    for name in ("missing", "missing2"):
        http_check, soft = verdicts[name].checks
        assert http_check.evidence["status"] == 200  # the server said 200; the content says gone
        assert (soft.verdict, soft.reason) == ("inactive", "soft-404")
        assert soft.evidence["similarity"] >= 0.9 and soft.evidence["baseline_status"] == 200
        assert soft.evidence["baseline_url"] == f"http://soft-404.de{PROBE}"
        assert soft.evidence["title"] == soft.evidence["baseline_title"] == "Seite nicht gefunden | Nirgendwo Versand GmbH"
    assert [c.name for c in verdicts["home"].checks] == ["http"]  # never compared: the root
    # one random-path baseline per host, shared by every check on it
    probes = [r for r in lab.requests if r.decoded_path.startswith("/this-page-does-not-exist-")]
    assert sorted((r.host, r.decoded_path, r.status) for r in probes) == [
        ("head-refused.de", PROBE, 404), ("soft-404.de", PROBE, 200),
    ]
    assert sorted(p for _, p, _ in sent(lab, "soft-404.de")) == sorted(
        ["/kontakt", "/impressum", "/kontakt-alt", "/service/hilfe.html", "/", PROBE]
    )


def test_a_real_page_on_a_head_safe_soft_404_host_stays_active(lab: Lab) -> None:
    """Found by the lab: HEAD answers have no body, so comparing them made every page a soft 404."""
    verdicts = check_pages(lab, "http://soft-404.de/kontakt", "http://soft-404.de/kontakt-alt",
                           head_safe_hosts=["soft-404.de"])
    assert [(v.verdict, v.reason) for v in verdicts] == [("active", "http-ok"), ("inactive", "soft-404")]
    assert {method for method, _, _ in sent(lab, "soft-404.de")} == {"GET"}


# --------------------------------------------------------------------------- (c) 429


def test_retry_after_seconds_are_waited_then_given_up(lab: Lab) -> None:
    sleeps = Sleeps()

    async def body(http: HttpClient) -> tuple[Any, Any, list[float]]:
        first = await http.fetch("http://retry-after.de/")
        waited = list(sleeps.waits)
        # the host still answered 429 after every try: a second link gets one try, no wait
        second = await http.fetch("http://retry-after.de/kontakt")
        return first, second, waited

    first, second, waited = run(lab, body, sleep=sleeps)
    assert first.status == 429 and first.tries == 3 and first.error is None
    assert first.waits == waited == [2.0, 2.0]  # Retry-After: 2, not the 0.05 s back-off
    assert first.headers["retry-after"] == "2" and first.evidence()["retry_waits"] == [2.0, 2.0]
    assert second.status == 429 and second.tries == 1 and second.waits == []
    assert sleeps.waits == [2.0, 2.0]
    assert sent(lab, "retry-after.de") == [("GET", "/", 429)] * 3 + [("GET", "/kontakt", 429)]


def test_retry_after_date_is_capped_and_absence_backs_off(lab: Lab) -> None:
    far = Sleeps()
    dated = run(lab, lambda h: h.fetch("http://retry-after.de/spaeter"), sleep=far)
    assert dated.status == 429 and dated.tries == 3
    assert far.waits == dated.waits == [BACKOFF_CAP, BACKOFF_CAP]  # an HTTP-date in 2099, capped
    bare = Sleeps()
    plain = run(lab, lambda h: h.fetch("http://retry-after.de/ohne-angabe"), sleep=bare)
    assert plain.status == 429 and plain.tries == 3
    assert bare.waits == plain.waits == [BACKOFF_BASE, 2 * BACKOFF_BASE]  # no header: doubling back-off
    assert sent(lab, "retry-after.de") == [("GET", "/spaeter", 429)] * 3 + [("GET", "/ohne-angabe", 429)] * 3


def test_retry_after_is_really_waited(lab: Lab) -> None:
    started = time.monotonic()
    res = run(lab, lambda h: h.fetch("http://retry-after.de/"), max_tries=2)
    assert res.status == 429 and res.tries == 2 and res.waits == [2.0]
    assert time.monotonic() - started >= 1.95
    times = [r.time for r in lab.requests.for_host("retry-after.de")]
    assert len(times) == 2 and times[1] - times[0] >= 1.95  # the lab saw the pause


def test_rate_limited_page_is_unknown_never_inactive(lab: Lab) -> None:
    sleeps = Sleeps()
    (verdict,) = check_pages(lab, "http://retry-after.de/kontakt", sleep=sleeps)
    assert (verdict.verdict, verdict.reason) == ("unknown", "rate-limited")
    assert verdict.message == "HTTP 429 after 3 tries"
    assert [c.name for c in verdict.checks] == ["http"]  # no soft-404 baseline for a 429
    assert verdict.checks[0].evidence["retry_waits"] == [2.0, 2.0] and sleeps.waits == [2.0, 2.0]
    assert sent(lab, "retry-after.de") == [("GET", "/kontakt", 429)] * 3


# --------------------------------------------------------------------------- (d) redirect loop


def test_redirect_loop_is_named_after_one_round(lab: Lab) -> None:
    url = "http://redirect-circle.de/kontakt"
    res = run(lab, lambda h: h.fetch(url))
    assert res.error == "redirect-loop" and res.status == 301
    assert [(hop["url"], hop["status"], hop["location"]) for hop in res.chain] == [
        (url, 301, url + "/"),
        (url + "/", 301, url),
        (url, None, None),
    ]
    assert sent(lab, "redirect-circle.de") == [("GET", "/kontakt", 301), ("GET", "/kontakt/", 301)]
    (verdict,) = check_pages(lab, url)
    assert (verdict.verdict, verdict.reason) == ("inactive", "redirect-loop")
    assert verdict.checks[0].evidence["error"] == "redirect-loop"
    home = check_pages(lab, "http://redirect-circle.de/")[0]
    assert (home.verdict, home.reason) == ("active", "http-ok")


# --------------------------------------------------------------------------- (e) bot challenge


def test_bot_challenge_is_unknown_not_retried(lab: Lab) -> None:
    url = "http://bot-wall.de/kontakt"
    (verdict,) = check_pages(lab, url)
    assert (verdict.verdict, verdict.reason) == ("unknown", "bot-challenge")
    assert verdict.message.startswith("HTTP 403: bot-protection challenge")
    evidence = verdict.checks[0].evidence
    assert evidence["status"] == 403 and evidence["tries"] == 1
    assert evidence["headers"]["cf-mitigated"] == "challenge"
    markers = evidence["challenge_markers"]
    assert "cf-mitigated: challenge" in markers and "challenge-platform" in markers
    assert [c.name for c in verdict.checks] == ["http"]  # no baseline: nothing was learned
    assert sent(lab, "bot-wall.de") == [("GET", "/kontakt", 403)]
    (home,) = check_pages(lab, "http://bot-wall.de/")
    assert (home.verdict, home.reason) == ("active", "http-ok")


# --------------------------------------------------------------------------- the world's truth

FORMS = [
    (company.domain, contact)
    for company in WORLD.companies
    for contact in company.truth.contacts
    if contact.kind == "form"
]


@pytest.mark.parametrize(("domain", "contact"), FORMS, ids=[c.value for _, c in FORMS])
def test_form_verdicts_match_the_truth(lab: Lab, domain: str, contact: Any) -> None:
    truth = {c.value: c for c in lab.truth_for(domain).contacts}
    action = lab.url(contact.value)
    expected = truth[action]
    cp = ContactPoint(kind="form", value=action, raw=action, label=None, method="form",
                      page_url=expected.page, details={"method": "post"})

    async def body(http: HttpClient) -> Verdict:
        return await LinkValidator(http, token=lambda: TOKEN).validate(cp)

    verdict = run(lab, body, sleep=Sleeps())
    assert (verdict.verdict, verdict.reason) == (expected.verdict, expected.reason)
    assert all(r.host == domain for r in lab.requests)


def test_every_truth_contact_states_its_verdict() -> None:
    assert len(FORMS) == len(WORLD.companies) - 1  # all but the rate-limited site, which fails
    for company in WORLD.companies:
        for contact in company.truth.contacts:
            assert contact.verdict is not None and contact.reason is not None, contact
