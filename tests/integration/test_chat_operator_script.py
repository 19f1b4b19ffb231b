"""The widget's documented JS API says the operator state: Chromium renders the script-operators world.

Each company's page carries a vendor's install snippet; the lab's copy of the vendor's loader
asks the lab for the account's state and then defines exactly the page API the vendor
documents (tawk.to's Tawk_API.getStatus(), Crisp's $crisp.is("website:available"), JivoChat's
jivo_api.chatMode()). The guarded browser evaluates chat_operator.toml's [script_state]
expression after a bounded wait; the browser check says online, offline or unknown, and
merging keeps a status endpoint's answer first.

Skipped when Chromium or playwright are missing, unless CI is set: then it fails.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from auditor import reasons
from auditor.extract import extract_page
from auditor.harvest.browser import BrowserRenderer
from auditor.lab import Lab
from auditor.lab.world import WORLDS_DIR, World, load_world
from auditor.models import Verdict
from auditor.validate.browser import browser_chat_check, merge_browser
from auditor.validate.links import LinkValidator
from tests.support.loopback import lab_client
from tests.support.requirements import need_chromium

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WORLD: World = load_world(WORLDS_DIR / "script_operators.toml")
CASES = [(c.domain, t) for c in WORLD.companies for t in c.truth.contacts if t.kind == "chat"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(WORLD) as running:
        yield running


@pytest.fixture(scope="module")
def rendered(lab: Lab) -> dict[str, tuple[Verdict, Verdict]]:
    """(browser verdict, static verdict) of the chat on each company's page."""
    need_chromium(CHROMIUM)

    async def main() -> dict[str, tuple[Verdict, Verdict]]:
        out: dict[str, tuple[Verdict, Verdict]] = {}
        async with lab_client(lab) as http:
            async with BrowserRenderer(http, executable=CHROMIUM, timeout=15.0, settle=3.0) as renderer:
                for domain, truth in CASES:
                    url = f"https://{domain}/"
                    page = await http.fetch(url, method="GET")
                    harvested = [p for p in extract_page(page.body, page.final_url) if p.kind == "chat"]
                    _new, verdicts = await browser_chat_check(renderer, url, harvested)
                    (browser,) = [v for v in verdicts if v.value == truth.value]
                    static = await LinkValidator(http, operator={}).validate(harvested[0])
                    out[domain] = (browser, static)
        return out

    return asyncio.run(main())


def _operator(v: Verdict) -> Any:
    (found,) = [c for c in v.checks if c.name == "operator-status"]
    return found


@pytest.mark.parametrize(("domain", "truth"), CASES, ids=[d for d, _ in CASES])
def test_the_widget_s_api_says_the_truth_s_state(rendered: dict[str, tuple[Verdict, Verdict]],
                                                 domain: str, truth: Any) -> None:
    browser, _static = rendered[domain]
    op = _operator(browser)
    expected = truth.flags[0] if truth.flags else reasons.OPERATOR_UNKNOWN
    assert op.reason == expected, op.message
    assert op.evidence["script"] is True
    assert op.evidence["operator"] == expected.removeprefix("operator-")
    assert [f for f in browser.flags if f.startswith("operator-")] == list(truth.flags)


def test_the_values_read_are_the_documented_ones(rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    got = {d: (_operator(rendered[d][0]).evidence["expression"], _operator(rendered[d][0]).evidence["value"])
           for d in ("brightwater-dental.ie", "hafenkante-reisen.de", "tuulikki-design.fi", "dunarea-turism.ro")}
    assert got == {
        "brightwater-dental.ie": ("Tawk_API.getStatus()", "online"),
        "hafenkante-reisen.de": ("Tawk_API.getStatus()", "away"),
        "tuulikki-design.fi": ('$crisp.is("website:available")', False),
        "dunarea-turism.ro": ("jivo_api.chatMode()", "offline"),
    }


def test_a_dead_loader_has_no_operator(rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    """The snippet defines Tawk_API, but its loader is gone: the API never became ready."""
    op = _operator(rendered["ribeira-azulejos.pt"][0])
    assert (op.reason, op.evidence["ready"]) == (reasons.OPERATOR_UNKNOWN, False)


def test_without_a_status_endpoint_the_script_gives_the_state(
        rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    browser, static = rendered["kowalczyk-rowery.pl"]
    assert not [f for f in static.flags if f.startswith("operator-")]
    merged = merge_browser(static, browser)
    assert "operator-offline" in merged.flags
    assert [c.name for c in merged.checks][-1] == "operator-status"


def test_a_status_endpoint_s_answer_counts_first(rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    """Had the provider's endpoint said online, the script's offline does not override it."""
    browser, static = rendered["tuulikki-design.fi"]
    endpoint_said = replace(static, flags=(*static.flags, reasons.OPERATOR_ONLINE))
    merged = merge_browser(endpoint_said, browser)
    assert reasons.OPERATOR_ONLINE in merged.flags
    assert reasons.OPERATOR_OFFLINE not in merged.flags


def test_every_request_stayed_in_the_lab(lab: Lab, rendered: dict[str, tuple[Verdict, Verdict]]) -> None:
    assert rendered
    hosts = {r.host for r in lab.requests}
    assert {"embed.tawk.to", "client.crisp.chat", "code.jivosite.com", "cdn.livechatinc.com", "v2.zopim.com"} <= hosts
    vendors = ("tawk.to", "crisp.chat", "jivosite.com", "livechatinc.com", "zopim.com", "zdassets.com")
    companies = tuple(c.domain for c in WORLD.companies)
    assert all(h.endswith(vendors + companies) for h in hosts)
