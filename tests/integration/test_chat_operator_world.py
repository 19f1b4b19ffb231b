"""Is an operator there? LiveChat and Salesforce Chat through the real extractor and validator (lab).

Each company of ``auditor/lab/worlds/operators.toml`` is fetched from the lab's HTTPS
server, its page goes through ``extract_page`` and its chat through ``LinkValidator``
with the packaged data tables: the ids the status request needs come from the page's own
loader, the request goes to the vendor's host as ``chat_operator.toml`` writes it, and the
lab's copy of the vendor answers in the vendor's documented shape. The lab's DNS maps
the vendors' hosts to loopback and the client admits loopback addresses only: nothing
here can reach a real vendor.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.extract import extract_page
from auditor.lab import Lab
from auditor.lab.world import OPERATORS_WORLD, load_world
from auditor.models import ContactPoint, Verdict
from auditor.validate.links import LinkValidator
from tests.support.loopback import lab_client

pytestmark = pytest.mark.integration

WORLD = load_world(OPERATORS_WORLD)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(WORLD) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_log(lab: Lab) -> None:
    lab.reset_logs()


def audit_chat(lab: Lab, domain: str) -> tuple[ContactPoint, Verdict]:
    """The company's home page fetched, its one chat extracted and validated."""

    async def main() -> tuple[ContactPoint, Verdict]:
        async with lab_client(lab) as http:
            page = await http.fetch(f"https://{domain}/", method="GET")
            assert page.status == 200, page.message
            (chat,) = [p for p in extract_page(page.body, page.final_url) if p.kind == "chat"]
            return chat, await LinkValidator(http).validate(chat)

    return asyncio.run(main())


def validate(lab: Lab, cp: ContactPoint) -> Verdict:
    async def main() -> Verdict:
        async with lab_client(lab) as http:
            return await LinkValidator(http).validate(cp)

    return asyncio.run(main())


def operator_check(v: Verdict) -> Any:
    (found,) = [c for c in v.checks if c.name == "operator-status"]
    return found


CASES = [
    pytest.param(company.domain, contact, id=company.domain)
    for company in WORLD.companies
    for contact in company.truth.contacts
    if contact.kind == "chat"
]


@pytest.mark.parametrize(("domain", "truth"), CASES)
def test_each_company_s_chat_gets_the_truth_s_operator_state(lab: Lab, domain: str, truth: Any) -> None:
    _chat, verdict = audit_chat(lab, domain)
    assert (verdict.value, verdict.verdict, verdict.reason) == (truth.value, truth.verdict, truth.reason)
    assert verdict.flags == tuple(truth.flags)
    op = operator_check(verdict)
    assert op.evidence["operator"] == truth.flags[0].removeprefix("operator-")
    assert op.evidence["status"] == 200 and op.evidence["source"]


def test_livechat_asks_for_the_widget_s_group(lab: Lab) -> None:
    chat, verdict = audit_chat(lab, "rheinblick-versicherung.de")
    assert chat.details["widget_params"] == {"group": "2"}
    asked = [r.path for r in lab.requests if r.host == "api.livechatinc.com" and r.path.startswith("/v3.6/")]
    assert asked == ["/v3.6/customer/action/get_dynamic_configuration?license_id=14501234&group_id=2"]
    widget_config = [c for c in verdict.checks if c.name == "widget-config"]
    assert [c.verdict for c in widget_config] == ["active"]  # the license exists (v3.5 per-license config)
    assert "livechat.online_group_ids[] = [0, 2]" in operator_check(verdict).message


def test_livechat_without_a_group_asks_for_the_default_one(lab: Lab) -> None:
    _chat, verdict = audit_chat(lab, "kaskada-meble.pl")
    asked = [r.path for r in lab.requests if r.host == "api.livechatinc.com" and r.path.startswith("/v3.6/")]
    assert asked == ["/v3.6/customer/action/get_dynamic_configuration?license_id=14505678"]
    assert operator_check(verdict).message == "livechat.online_group_ids[]: no operator listed"


def test_salesforce_sends_the_ids_from_the_button_code_and_the_api_version(lab: Lab) -> None:
    chat, _verdict = audit_chat(lab, "northwind-freight.co.uk")
    assert chat.details["account_id"] == "00D1t000000xCYw"
    (req,) = [r for r in lab.requests if r.host == "d.la1-c1-fra.salesforceliveagent.com"]
    assert req.path == ("/chat/rest/Visitor/Availability?org_id=00D1t000000xCYw&deployment_id=5721t000000sYQD"
                        "&Availability.ids=5731t000000sYQh")
    assert {k.lower(): v for k, v in req.headers.items()}["x-liveagent-api-version"] == "65"


def test_embedded_service_settings_lead_to_the_pod_s_chat_host(lab: Lab) -> None:
    chat, verdict = audit_chat(lab, "lagune-voyages.fr")
    assert chat.details["widget_params"]["live_agent_url"] == "https://d.la1-c2-ia2.salesforceliveagent.com/chat"
    assert any(r.host == "d.la1-c2-ia2.salesforceliveagent.com" for r in lab.requests)
    assert "no operator is online" in operator_check(verdict).message


def test_an_unknown_license_leaves_the_operator_unknown(lab: Lab) -> None:
    cp = ContactPoint(kind="chat", value="livechat", raw="https://cdn.livechatinc.com/tracking.js", label=None,
                      method="widget-script", page_url="https://kaskada-meble.pl/",
                      details={"account_id": "19990000"})
    v = validate(lab, cp)
    assert (v.verdict, v.reason, v.flags) == ("active", "widget-loads", ())
    op = operator_check(v)
    assert (op.verdict, op.reason, op.evidence["status"]) == ("unknown", "operator-unknown", 404)


def test_a_salesforce_chat_without_its_ids_is_not_asked(lab: Lab) -> None:
    """Only the org id, no chat host or button: nothing to ask, no request, no operator flag."""
    cp = ContactPoint(kind="chat", value="salesforce",
                      raw="https://c.la1-c1-fra.salesforceliveagent.com/content/g/js/48.0/deployment.js",
                      label=None, method="widget-script", page_url="https://northwind-freight.co.uk/",
                      details={"account_id": "00D1t000000xCYw"})
    v = validate(lab, cp)
    assert (v.verdict, v.flags) == ("active", ())
    assert not [c for c in v.checks if c.name == "operator-status"]
    assert not [r for r in lab.requests if r.host.startswith("d.la1")]


def test_every_request_stayed_in_the_lab(lab: Lab) -> None:
    audit_chat(lab, "rheinblick-versicherung.de")
    hosts = {r.host for r in lab.requests}
    assert hosts == {"rheinblick-versicherung.de", "cdn.livechatinc.com", "api.livechatinc.com"}


def test_a_whole_audit_of_the_world_records_each_operator_state(lab: Lab, tmp_path: Path) -> None:
    """``auditor audit`` as a user runs it: crawl, store, validate; results.json carries the flags."""
    companies = lab.write_companies_csv(tmp_path / "companies.csv")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "auditor.cli", "audit", str(companies), "--out", str(out),
           "--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0", "--no-progress",
           "--helo", "lab-auditor.test", "--mail-from", "probe@lab-auditor.test"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT,
                          env={**os.environ, **lab.env()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_website = {c["website"]: c for c in results["companies"]}
    for company in WORLD.companies:
        chats = {c["value"]: c for c in by_website[lab.website(company)]["contacts"] if c["kind"] == "chat"}
        for truth in (t for t in company.truth.contacts if t.kind == "chat"):
            found = chats[truth.value]["validation"]
            assert (found["verdict"], found["reason"]) == (truth.verdict, truth.reason), company.domain
            assert tuple(found["flags"]) == tuple(truth.flags), company.domain
