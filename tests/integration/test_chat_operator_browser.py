"""The rendered launcher's operator state: Chromium renders the operators world's Salesforce pages.

The lab's copy of Salesforce's deployment.js does what the button code relies on: it asks
Visitor/Availability (on the lab's loopback copy of the chat host) for the page's buttons and
shows each button's online element when it is staffed, its offline element when it is not.
Chromium's every request goes through the guarded HttpClient (lab DNS, loopback only); the
browser check reads the final DOM and says online or offline, and merging it with the static
check keeps the status endpoint's answer first.

Skipped when Chromium or playwright are missing, unless CI is set: then it fails.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.extract import extract_page
from auditor.harvest.browser import BrowserRenderer
from auditor.lab import Lab
from auditor.lab.world import OPERATORS_WORLD, load_world
from auditor.models import Verdict
from auditor.validate.browser import browser_chat_check, merge_browser
from auditor.validate.links import LinkValidator
from tests.support.loopback import lab_client
from tests.support.requirements import need_chromium

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(load_world(OPERATORS_WORLD)) as running:
        yield running


@pytest.fixture(scope="module")
def rendered(lab: Lab) -> dict[str, tuple[Verdict, Verdict]]:
    """(browser verdict, static verdict) of the chat on each Salesforce button-code page."""
    need_chromium(CHROMIUM)

    async def main() -> dict[str, tuple[Verdict, Verdict]]:
        out: dict[str, tuple[Verdict, Verdict]] = {}
        async with lab_client(lab) as http:
            async with BrowserRenderer(http, executable=CHROMIUM, timeout=15.0, settle=3.0) as renderer:
                for domain in ("northwind-freight.co.uk", "fjordlys-reiser.no"):
                    url = f"https://{domain}/"
                    page = await http.fetch(url, method="GET")
                    harvested = [p for p in extract_page(page.body, page.final_url) if p.kind == "chat"]
                    _new, verdicts = await browser_chat_check(renderer, url, harvested)
                    (browser,) = [v for v in verdicts if v.value == "salesforce"]
                    out[domain] = (browser, await LinkValidator(http, operator={}).validate(harvested[0]))
        return out

    return asyncio.run(main())


def _rendered_operator(v: Verdict) -> Any:
    (found,) = [c for c in v.checks if c.name == "operator-status"]
    return found


@pytest.mark.parametrize(("domain", "state"), [("northwind-freight.co.uk", "online"),
                                               ("fjordlys-reiser.no", "offline")])
def test_the_launcher_the_script_shows_says_the_state(rendered: dict[str, tuple[Verdict, Verdict]],
                                                      domain: str, state: str) -> None:
    browser, _static = rendered[domain]
    op = _rendered_operator(browser)
    assert (op.reason, op.evidence["operator"], op.evidence["rendered"]) == (f"operator-{state}", state, True)
    assert f"operator-{state}" in browser.flags


def test_without_a_status_endpoint_the_render_gives_the_state(rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    """The static check here was told of no status endpoint (operator={}): the render fills in."""
    browser, static = rendered["fjordlys-reiser.no"]
    assert "operator-offline" not in static.flags
    merged = merge_browser(static, browser)
    assert "operator-offline" in merged.flags
    assert [c.name for c in merged.checks][-1] == "operator-status"


def test_the_availability_request_stayed_in_the_lab(lab: Lab, rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    assert rendered
    hosts = {r.host for r in lab.requests}
    assert "d.la1-c1-fra.salesforceliveagent.com" in hosts
    assert all(h.endswith((".co.uk", ".no", "salesforceliveagent.com", "force.com")) for h in hosts)
