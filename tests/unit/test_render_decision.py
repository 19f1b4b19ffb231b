"""Which crawled pages are rendered (--render auto), and how rendered points are told apart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from auditor.config import ConfigError, build_settings
from auditor.extract import extract_page, parse_page
from auditor.harvest.render import frontier_url, is_hash_route, render_reason, rendered_points
from auditor.models import ContactPoint

URL = "https://www.shell-firma.de/kontakt"
TEXT = " ".join(["Wir beraten Sie gern zu allen Fragen rund um unsere Produkte und Leistungen."] * 8)


def reason(html: str, *, contact_page: bool = False, mode: str = "auto", url: str = URL) -> str | None:
    return render_reason(parse_page(html, url), extract_page(html, url, "DE"), contact_page=contact_page, mode=mode)


def test_app_shell_with_a_bundle_is_rendered() -> None:
    assert reason('<body><div id="root"></div><script src="/static/js/main.js"></script></body>') == "app-shell"


def test_a_short_page_with_a_third_party_widget_is_not_an_app_shell() -> None:
    html = '<body><h1>Angebote</h1><p>Unsere Tarife.</p><script src="https://code.jivo.ru/widget/x" async></script></body>'
    assert reason(html) is None
    assert reason('<body><div id="root"></div><script src="https://cdn.shell-firma.de/app.js"></script></body>') == "app-shell"


def test_a_page_with_text_is_not_an_app_shell() -> None:
    assert reason(f'<body><p>{TEXT}</p><script src="/static/js/main.js"></script></body>') is None


def test_a_page_without_scripts_is_never_rendered() -> None:
    assert reason("<body><div id='root'></div></body>") is None


def test_json_data_blocks_are_not_bundles() -> None:
    html = '<body><div id="root"></div><script type="application/json">{"a": 1}</script></body>'
    assert reason(html) is None


def test_enable_javascript_notice() -> None:
    html = f"<body><noscript>Bitte JavaScript aktivieren, um diese Seite zu nutzen.</noscript><p>{TEXT}</p><script src=\"https://cdn.example.net/x.js\"></script></body>"
    assert reason(html) == "needs-javascript"


def test_contact_page_without_contact_points_whose_scripts_may_write_them() -> None:
    html = f'<body><h1>Kontakt</h1><p>{TEXT}</p><script src="/assets/contact.js"></script></body>'
    assert reason(html, contact_page=True) == "contact-page-empty"
    assert reason(html, contact_page=False) is None
    inline = f"<body><h1>Kontakt</h1><p>{TEXT}</p><script>fetch('/api/contact.json').then(show)</script></body>"
    assert reason(inline, contact_page=True) == "contact-page-empty"
    with_phone = f'<body><p>{TEXT} Telefon: <a href="tel:+493023125100">030 23125 100</a></p><script src="/a.js"></script></body>'
    assert reason(with_phone, contact_page=True) is None


def test_modes() -> None:
    plain = f"<body><p>{TEXT}</p></body>"
    assert reason(plain, mode="always") == "always"
    assert reason('<body><div id="root"></div><script src="/main.js"></script></body>', mode="never") is None


def test_hash_routes() -> None:
    assert is_hash_route("https://x.de/#/kontakt") and is_hash_route("https://x.de/#!/kontakt")
    assert not is_hash_route("https://x.de/#top") and not is_hash_route("https://x.de/kontakt")
    assert not is_hash_route("https://x.de/#/") and not is_hash_route("https://x.de/#!/")  # the start: the page
    assert frontier_url("https://x.de/#/kontakt", rendering=True) == "https://x.de/#/kontakt"
    assert frontier_url("https://x.de/#/kontakt", rendering=False) == "https://x.de/"
    assert frontier_url("https://x.de/kontakt#top", rendering=True) == "https://x.de/kontakt"
    assert reason("<body><p>x</p></body>", url="https://x.de/#/kontakt") == "hash-route"


def test_rendered_points_are_the_new_ones_with_method_rendered() -> None:
    static = ContactPoint("phone", "+493023125100", "030 23125 100", None, "tel-link", URL)
    new = ContactPoint("email", "info@shell-firma.de", "info@shell-firma.de", None, "mailto", URL + "x")
    out = rendered_points([static, new, new], [static], URL, "app-shell")
    assert [(cp.kind, cp.method, cp.page_url) for cp in out] == [("email", "rendered", URL)]
    assert out[0].details["found_as"] == "mailto" and out[0].details["render_reason"] == "app-shell"


def test_render_setting() -> None:
    assert build_settings().render == "auto"
    assert build_settings(render="never").render == "never"
    with pytest.raises(ConfigError):
        build_settings(render="sometimes")


@pytest.mark.parametrize("argv", [
    ["audit", "companies.csv", "--render", "never"],
    ["wave", "audit-dir", "--render", "never"],
    ["worker", "--queue", "redis://127.0.0.1:1/0", "--store", "sqlite:///x", "--render", "never"],
])
def test_render_flag_on_audit_wave_and_worker(argv: list[str]) -> None:
    from auditor.cli import build_parser
    from auditor.cli.common import settings_from

    args = build_parser().parse_args(argv)
    assert settings_from(args).render == "never"
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv[:-1], "sometimes"])


def test_render_in_the_config_file_and_as_a_scrapy_setting(tmp_path: Path) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text('[crawl]\nrender = "always"\n')
    settings = build_settings(config)
    assert settings.render == "always"
    assert settings.scrapy_settings()["AUDITOR_RENDER"] == "always"


def test_without_chromium_one_warning_and_nothing_is_rendered(caplog: pytest.LogCaptureFixture) -> None:
    from scrapy.crawler import Crawler

    from spiders.contact import ContactSpider
    from spiders.render import PageRenderer

    crawler = Crawler(ContactSpider, {"AUDITOR_RENDER": "auto", "AUDITOR_CHROMIUM": "/nonexistent/chromium"})
    with caplog.at_level(logging.WARNING, logger="spiders.render"):
        renderer = PageRenderer.from_crawler(crawler)
    assert renderer.mode == "never" and not renderer.enabled
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "/nonexistent/chromium" in warnings[0].getMessage()
    crawler = Crawler(ContactSpider, {"AUDITOR_RENDER": "never", "AUDITOR_CHROMIUM": "/nonexistent/chromium"})
    caplog.clear()
    assert PageRenderer.from_crawler(crawler).mode == "never"
    assert not caplog.records  # asked for never: nothing to warn about


def test_a_rendered_pages_requests_meet_the_address_guard_and_method_rules() -> None:
    """IP literals are refused before any fetch; names go to the crawl's guarded resolver."""
    import time

    from scrapy.crawler import Crawler

    from auditor.harvest.browser import _Session
    from auditor.net.guard import AddressPolicy
    from spiders.contact import ContactSpider
    from spiders.render import CrawlFetcher

    fetcher = CrawlFetcher(Crawler(ContactSpider, {}), AddressPolicy(False), "company")
    session = _Session(fetcher, 10, time.monotonic() + 5)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/api", "http://[::1]:8080/"):
        refusal = session.refusal(url, "GET", "fetch")
        assert refusal is not None and refusal[0] == "private-address-refused", url
    assert session.refusal("https://cdn.example.com/app.js", "GET", "script") is None
    assert session.refusal("https://www.example.com/api/send", "POST", "fetch")[0] == "method-blocked"  # type: ignore[index]
    assert session.refusal("file:///etc/passwd", "GET", "fetch")[0] == "scheme-blocked"  # type: ignore[index]
    assert fetcher.fetched == 0  # nothing was fetched to refuse it


def test_a_browser_that_died_is_replaced_and_given_up_after_a_few_deaths() -> None:
    import asyncio

    from scrapy.crawler import Crawler
    from scrapy.http import HtmlResponse
    from scrapy.statscollectors import MemoryStatsCollector

    from auditor.harvest.browser import RenderResult
    from auditor.net.guard import AddressPolicy
    from spiders.contact import ContactSpider
    from spiders.render import MAX_RESTARTS, PageRenderer

    started: list[DeadBrowser] = []

    class DeadBrowser:
        """A browser whose process is gone after each page (as when Chromium crashes)."""

        connected = False
        closed = False

        async def render(self, url: str, document: object = None, via: object = None) -> RenderResult:
            return RenderResult(url=url, final_url=url, error="browser-error", message="Target closed")

        def memory_mb(self) -> None:
            return None

        async def __aexit__(self, *exc: object) -> None:
            self.closed = True

    crawler = Crawler(ContactSpider, {"AUDITOR_RENDER": "never"})
    crawler.stats = MemoryStatsCollector(crawler)
    renderer = PageRenderer(crawler, "auto", 5.0, "/usr/bin/chromium", AddressPolicy(False))

    async def start(fetcher: object) -> DeadBrowser | None:
        if renderer._browser is None and renderer.enabled:
            started.append(DeadBrowser())
            renderer._browser = started[-1]  # type: ignore[assignment]
        return renderer._browser  # type: ignore[return-value]

    renderer._browser_for = start  # type: ignore[method-assign]
    response = HtmlResponse("http://x.test/", body=b"<html></html>")

    async def crawl() -> list[RenderResult | None]:
        return [await renderer.render("http://x.test/", response, "x", "app-shell") for _ in range(MAX_RESTARTS + 3)]

    results = asyncio.run(crawl())
    assert len(started) == MAX_RESTARTS + 1 and all(b.closed for b in started)
    assert renderer.mode == "never" and results[-1] is None
    assert crawler.stats.get_value("auditor/render/browser-died") == MAX_RESTARTS + 1
