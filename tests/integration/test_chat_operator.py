"""Is an operator there? The chat check reads a provider's public status endpoint (lab).

The default world's Chatwoot copy answers the widget's inbox_members call per website
token: Northgate's inbox has an agent online, Cestovka Vltava's has nobody online, an
unknown token gets a 404. Everything runs on the lab's real HTTP(S) and DNS servers;
the client admits loopback addresses only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.lab.world import load_world
from auditor.models import ContactPoint, Verdict
from auditor.validate.links import LinkValidator
from tests.support.loopback import lab_client

pytestmark = pytest.mark.integration

WORLD = load_world()
SDK = "https://app.chatwoot.com/packs/js/sdk.js"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(WORLD) as running:
        yield running


def check(lab: Lab, token: str, **kw: Any) -> Verdict:
    cp = ContactPoint(kind="chat", value="chatwoot", raw=SDK, label=None, method="widget-script",
                      page_url="https://northgate-bs.co.uk/", details={"account_id": token})

    async def main() -> Verdict:
        async with lab_client(lab) as http:
            return await LinkValidator(http, **kw).validate(cp)

    return asyncio.run(main())


def operator_check(v: Verdict) -> Any:
    (found,) = [c for c in v.checks if c.name == "operator-status"]
    return found


def test_an_online_agent_is_recorded_as_evidence_and_flag(lab: Lab) -> None:
    v = check(lab, "Hs3pL8dF2zN5cQ1v")
    assert (v.verdict, v.reason) == ("active", "widget-loads")
    assert v.flags == ("operator-online",)
    op = operator_check(v)
    assert (op.verdict, op.reason) == ("active", "operator-online")
    assert op.evidence["operator"] == "online" and op.evidence["status"] == 200
    assert "website_token=Hs3pL8dF2zN5cQ1v" in op.evidence["url"]
    assert any(r.host == "app.chatwoot.com" and "inbox_members" in r.path for r in lab.requests)


def test_nobody_online_is_offline_but_the_chat_still_loads(lab: Lab) -> None:
    v = check(lab, "qV7nR2kX9mT4wB6y")
    assert (v.verdict, v.reason, v.flags) == ("active", "widget-loads", ("operator-offline",))
    op = operator_check(v)
    assert (op.reason, op.evidence["operator"]) == ("operator-offline", "offline")
    assert '"busy"' in op.message  # the values read are shown


def test_an_unanswered_status_leaves_the_operator_unknown(lab: Lab) -> None:
    v = check(lab, "Zz9Zz9Zz9Zz9Zz9Zz")
    assert v.flags == ()
    op = operator_check(v)
    assert (op.verdict, op.reason, op.evidence["status"]) == ("unknown", "operator-unknown", 404)


def test_a_provider_without_a_public_status_is_not_asked(lab: Lab) -> None:
    v = check(lab, "Hs3pL8dF2zN5cQ1v", operator={})
    assert v.flags == () and not [c for c in v.checks if c.name == "operator-status"]


def test_the_world_truth_names_the_operator_state(lab: Lab) -> None:
    online = lab.truth_for("northgate-bs.co.uk").verdicts()[("chat", "chatwoot")]
    offline = lab.truth_for("cestovka-vltava.cz").verdicts()[("chat", "chatwoot")]
    assert online.flags == ("operator-online",) and offline.flags == ("operator-offline",)
