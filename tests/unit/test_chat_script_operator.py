"""The operator state a widget's documented JS API gave in the rendered page (chat_operator.toml [script_state]).

Here the render's answer is written as the page function leaves it; the Chromium run against
the lab's fake loaders (tests/integration/test_chat_operator_script.py) makes real scripts give it.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.harvest.browser import RenderResult, RequestRecord, script_state_specs, widget_loaded
from auditor.models import ContactPoint
from auditor.validate.browser import script_operator_check

URL = "https://www.example.ie/contact"


def _cp(slug: str) -> ContactPoint:
    return ContactPoint(kind="chat", value=slug, raw="", label=None, method="widget-script", page_url=URL, details={})


def _render(slug: str, state: dict[str, Any] | None) -> RenderResult:
    result = RenderResult(url=URL, final_url=URL, status=200, html="<html></html>")
    if state is not None:
        result.script_state = {slug: state}
    return result


@pytest.mark.parametrize(("slug", "state", "reason"), [
    ("tawk.to", {"ready": True, "value": "online"}, "operator-online"),
    ("tawk.to", {"ready": True, "value": "offline"}, "operator-offline"),
    ("tawk.to", {"ready": True, "value": "away"}, "operator-unknown"),  # may or may not answer
    ("crisp", {"ready": True, "value": True}, "operator-online"),
    ("crisp", {"ready": True, "value": False}, "operator-offline"),
    ("crisp", {"ready": True, "value": 1}, "operator-unknown"),  # not the documented boolean
    ("crisp", {"ready": True, "value": "false"}, "operator-unknown"),
    ("jivochat", {"ready": True, "value": "offline"}, "operator-offline"),
    ("jivochat", {"ready": False, "value": None, "error": "ReferenceError"}, "operator-unknown"),
])
def test_the_documented_value_says_the_state(slug: str, state: dict[str, Any], reason: str) -> None:
    check = script_operator_check(_cp(slug), _render(slug, state))
    assert check is not None
    assert (check.name, check.reason) == ("operator-status", reason)
    assert check.evidence["source"] == script_state_specs()[slug]["source"]
    assert check.evidence["expression"] == script_state_specs()[slug]["expression"]


def test_no_check_where_the_widget_was_not_asked_or_nothing_is_sourced() -> None:
    assert script_operator_check(_cp("tawk.to"), _render("tawk.to", None)) is None
    assert script_operator_check(_cp("intercom"), _render("intercom", {"ready": True, "value": "online"})) is None


def test_only_a_widget_whose_script_ran_is_asked() -> None:
    result = _render("jivochat", None)
    assert not widget_loaded(result, "jivochat")
    result.requests = [RequestRecord("https://code.jivosite.com/widget/Ab12Cd34", "GET", "script", "fulfilled", 404)]
    assert not widget_loaded(result, "jivochat")  # a dead loader: no operator
    result.requests.append(RequestRecord("https://code.jivosite.com/widget/Ab12Cd34", "GET", "script", "fulfilled", 200))
    assert widget_loaded(result, "jivochat")
    assert widget_loaded(RenderResult(url=URL, final_url=URL, globals={"crisp": ["$crisp"]}), "crisp")
