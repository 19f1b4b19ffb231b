"""The rendered launcher's operator state (Salesforce's online/offline chat button elements).

The render's final DOM is what these read: Salesforce's button code ships an online and
an offline element per button with ``display: none``; its script shows the one that
applies. Here the DOM is written as the script leaves it; the Chromium run against the
lab (tests/integration/test_chat_operator_browser.py) makes the real script do it.
"""

from __future__ import annotations

import pytest

from auditor.harvest.browser import RenderResult
from auditor.models import Check, ContactPoint, Verdict, VerdictValue
from auditor.validate.browser import merge_browser, rendered_operator_check

URL = "https://www.example.co.uk/contact"
BUTTON = "5731t000000sYQh"
CP = ContactPoint(kind="chat", value="salesforce", raw="", label=None, method="widget-script", page_url=URL,
                  details={})


def _dom(online_style: str | None, offline_style: str | None) -> RenderResult:
    def el(tag: str, kind: str, style: str | None) -> str:
        attr = "" if style is None else f' style="{style}"'
        return f'<{tag} id="liveagent_button_{kind}_{BUTTON}"{attr}>x</{tag}>'

    body = el("a", "online", online_style) + el("div", "offline", offline_style)
    return RenderResult(url=URL, final_url=URL, status=200, html=f"<html><body>{body}</body></html>")


@pytest.mark.parametrize(("online", "offline", "reason"), [
    ("display: none;", "", "operator-offline"),  # the script showed the offline element
    ("display: none;", None, "operator-offline"),  # ... or dropped its style altogether
    ("", "display: none;", "operator-online"),
    ("display: inline;", "DISPLAY:NONE", "operator-online"),
    ("display: none;", "display: none;", "operator-unknown"),  # the script never decided
    ("", "", "operator-unknown"),  # both shown: no statement
])
def test_the_shown_element_says_the_state(online: str | None, offline: str | None, reason: str) -> None:
    check = rendered_operator_check(CP, _dom(online, offline))
    assert check is not None and check.reason == reason
    assert check.evidence["rendered"] is True and check.evidence["source"]


def test_no_marker_elements_no_check() -> None:
    result = RenderResult(url=URL, final_url=URL, html="<html><body><div id='other'></div></body></html>")
    assert rendered_operator_check(CP, result) is None


def test_providers_without_sourced_markers_get_no_check() -> None:
    tawk = ContactPoint(kind="chat", value="tawk.to", raw="", label=None, method="widget-script", page_url=URL,
                        details={})
    assert rendered_operator_check(tawk, _dom("display: none;", "")) is None


def _static(flags: tuple[str, ...] = (), verdict: VerdictValue = "active") -> Verdict:
    check = Check("widget-script", verdict, "widget-loads", "loads", {}, 0.0, 1.0)
    return Verdict("chat", "salesforce", verdict, "widget-loads", "loads", (check,), flags)


def _browser(flag: str) -> Verdict:
    check = Check("operator-status", "inactive", flag, "m", {"rendered": True}, 0.0, 1.0)
    return Verdict("chat", "salesforce", "unknown", "launcher-hidden", "hidden", (check,), (flag,))


def test_the_render_fills_in_the_operator_state() -> None:
    merged = merge_browser(_static(), _browser("operator-offline"))
    assert merged.flags == ("operator-offline",)
    assert [c.name for c in merged.checks] == ["widget-script", "operator-status"]


def test_the_status_endpoint_s_answer_counts_first() -> None:
    merged = merge_browser(_static(("operator-online",)), _browser("operator-offline"))
    assert merged.flags == ("operator-online",)


def test_a_dead_widget_has_no_operator() -> None:
    merged = merge_browser(_static(verdict="inactive"), _browser("operator-offline"))
    assert merged.flags == ()


def test_a_decided_render_reads_before_an_undecided_endpoint() -> None:
    """The report shows a chat's first operator-status check: the render's decision, not the endpoint's shrug."""
    shrug = Check("operator-status", "unknown", "operator-unknown", "status endpoint: HTTP 503", {}, 0.0, 1.0)
    static = _static()
    static = Verdict(static.kind, static.value, static.verdict, static.reason, static.message,
                     (*static.checks, shrug), ())
    merged = merge_browser(static, _browser("operator-offline"))
    assert merged.flags == ("operator-offline",)
    assert [c.reason for c in merged.checks if c.name == "operator-status"] == ["operator-offline", "operator-unknown"]
