"""The report in a real browser: headless Chromium opens it from disk.

Sorting, filtering and navigation must work from ``file://`` with no request to
any other URL, no console error and no dialog (an XSS payload that ran would
open one). Screenshots go to ``test-artifacts/`` for a person to look at.

Needs the ``playwright`` Python package and Debian's ``chromium`` (never a
browser downloaded by ``playwright install``). Without them the test skips,
naming how to install them, except under CI, where it fails
(tests/support/requirements.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports import render_report
from tests.support.requirements import need_chromium
from tests.unit.test_report import build_store

CHROMIUM = os.environ.get("AUDITOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_chromium(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watch:
    """Everything a page did that the report must never do."""

    def __init__(self, page: Any) -> None:
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def assert_clean(self) -> None:
        assert self.dialogs == [], "a dialog opened: harvested data ran as script"
        assert self.errors == [], self.errors
        assert self.console == [], self.console
        assert [u for u in self.requests if not u.startswith("file://")] == []


@pytest.fixture()
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # belt and braces: anything but file:// is refused before it leaves the browser
    context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    page = context.new_page()
    watch = Watch(page)
    yield page, watch
    context.close()


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    store = build_store(tmp_path)
    path = render_report(store, tmp_path)
    store.close()
    return path


def _names(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#ranking tbody tr:not([hidden]) th[scope=row]").all_inner_texts()]


def test_sort_filter_and_navigate(page: tuple[Any, Watch], index: Path) -> None:
    p, watch = page
    ARTIFACTS.mkdir(exist_ok=True)
    p.goto(index.as_uri())
    p.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)
    initial = _names(p)
    assert len(initial) == 3 and initial[-1] == "Gone S.L."

    # keyboard: a header button is reachable and works with Enter
    country = p.locator("#ranking thead th", has_text="Country")
    country.locator("button").focus()
    p.keyboard.press("Enter")
    assert country.get_attribute("aria-sort") == "ascending"
    by_country = _names(p)
    assert by_country == ["Beta GmbH", "Gone S.L.", initial[0]] != initial  # DE < ES < HU

    company_header = p.locator("#ranking thead th", has_text="Company")
    company_header.locator("button").click()
    assert company_header.get_attribute("aria-sort") == "ascending"
    assert country.get_attribute("aria-sort") is None
    by_name = _names(p)
    assert by_name == sorted(initial, key=str.casefold) != by_country
    company_header.locator("button").click()
    assert company_header.get_attribute("aria-sort") == "descending"
    assert _names(p) == list(reversed(by_name))

    total = p.locator("#ranking thead th", has_text="Total")
    total.locator("button").click()
    assert total.get_attribute("aria-sort") == "descending"  # best first
    assert _names(p) == initial  # the unscored company stays last

    p.select_option("#filter-industry", "software")
    assert sorted(_names(p)) == ["Beta GmbH", "Gone S.L."]
    assert "2 of 3" in p.locator("#filter-status").inner_text()
    p.select_option("#filter-country", "DE")
    assert _names(p) == ["Beta GmbH"]
    p.select_option("#filter-industry", "")
    p.select_option("#filter-country", "")
    p.fill("#filter-name", "acme")
    assert len(_names(p)) == 1 and _names(p)[0].startswith("Acme <script>")
    p.screenshot(path=str(ARTIFACTS / "index-filtered.png"))

    p.locator("#ranking tbody th a", has_text="Acme").click()
    p.wait_for_load_state("load")
    assert p.url.endswith("companies/2-acme-example.html")
    assert p.locator("h1").inner_text() == "Acme <script>alert(1)</script> Kft."
    for summary in p.locator("details.evidence > summary").all():
        summary.click()
    p.screenshot(path=str(ARTIFACTS / "company.png"), full_page=True)
    assert p.locator("text=SMTP transcript").count() >= 1

    p.locator("header.site nav a", has_text="Methodology").click()
    p.wait_for_load_state("load")
    assert p.locator("h1").inner_text() == "Methodology"
    watch.assert_clean()


def test_readable_on_a_phone_and_in_print(browser: Any, index: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    p = context.new_page()
    watch = Watch(p)
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in (("index", index), ("company", index.parent / "companies" / "2-acme-example.html")):
        p.goto(path.as_uri())
        # wide tables scroll inside their own region; the page itself must not
        overflow = p.evaluate("document.documentElement.scrollWidth") - 375
        assert overflow <= 1, f"{name} is {overflow}px wider than a phone screen"
        p.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    p.goto(index.as_uri())
    p.emulate_media(media="print")
    assert p.locator("header.site").is_hidden() and p.locator("#filters").is_hidden()
    watch.assert_clean()
    context.close()


def test_availability_and_timeline_pages_run_nothing_and_read_as_text(page: tuple[Any, Watch], tmp_path: Path) -> None:
    """Two waves with hostile names, values and hours: the grid, the panel figures and the overview in Chromium."""
    from tests.unit.test_report_availability import two_waves

    store = two_waves(tmp_path)
    index = render_report(store, tmp_path)
    store.close()
    p, watch = page
    ARTIFACTS.mkdir(exist_ok=True)
    p.goto(index.as_uri())
    assert p.locator("#panel-h").inner_text() == "Panel figures, wave 2"
    p.locator("header.site nav a", has_text="Availability").click()
    p.wait_for_load_state("load")
    assert p.locator("h2 a").first.inner_text() == "Acme <script>alert(1)</script> Kft."
    up = p.locator("table.avail-grid td.c-up").first
    assert up.get_attribute("title") == "Mo 10:00-11:00: 1 rang; published hours: open"
    assert up.bounding_box()["width"] < 40  # a grid of small cells, not a stretched table
    # inside the published hours, the outcome's colour still shows (the hours keep a bar)
    assert up.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(26, 127, 55)"
    unchecked = p.locator("table.avail-grid td.pub").first
    assert unchecked.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(227, 238, 249)"
    p.screenshot(path=str(ARTIFACTS / "availability.png"), full_page=True)
    p.locator("header.site nav a", has_text="Timeline").click()
    p.wait_for_load_state("load")
    assert p.locator("details.panel-wave[open] h3").inner_text() == "Wave 2"
    assert "retail <svg onload=alert(1)>" in p.locator("details.panel-wave[open] table").inner_text()
    watch.assert_clean()
