"""Reading a provider's public status answer: online, offline or unknown (chat_operator.toml)."""

from __future__ import annotations

import json

import pytest

from auditor import data
from auditor.validate.links import chat_operator, operator_state, operator_url

RULES = chat_operator()


@pytest.mark.parametrize(("slug", "answer", "reason"), [
    ("rocketchat", {"config": {"enabled": True, "online": True}}, "operator-online"),
    ("rocketchat", {"config": {"enabled": True, "online": False}}, "operator-offline"),
    ("rocketchat", {"config": {"enabled": False}}, "operator-unknown"),  # disabled: no online field
    ("chatwoot", {"payload": [{"availability_status": "busy"}, {"availability_status": "online"}]},
     "operator-online"),
    ("chatwoot", {"payload": [{"availability_status": "offline"}]}, "operator-offline"),
    ("chatwoot", {"payload": []}, "operator-offline"),  # no agent in the inbox at all
    ("chatwoot", {"payload": [{"availability_status": "away-ish"}]}, "operator-unknown"),
    ("chatwoot", {"error": "not found"}, "operator-unknown"),
    ("chatwoot", {"payload": {"availability_status": "online"}}, "operator-unknown"),  # not a list
])
def test_states(slug: str, answer: object, reason: str) -> None:
    assert operator_state(RULES[slug], json.dumps(answer))[0] == reason


def test_not_json_is_unknown() -> None:
    assert operator_state(RULES["chatwoot"], "<html>Just a moment...</html>") == (
        "operator-unknown", "the status endpoint did not answer JSON")


def test_every_rule_names_its_source() -> None:
    assert RULES and all(rule["source"].strip() for rule in RULES.values())


def _livechat(online_groups: list[int] | None, group: int = 0) -> dict[str, object]:
    """A Get Dynamic Configuration answer (v3.6 shape); online_group_ids is left out when empty."""
    livechat: dict[str, object] = {"group_id": group, "client_limit_exceeded": False, "domain_allowed": True,
                                   "config_version": "84cc87c", "localization_version": "79cc87c", "language": "en"}
    if online_groups is not None:
        livechat["online_group_ids"] = online_groups
    return {"organization_id": "142cf3ad", "default_widget": "livechat", "livechat_active": True,
            "livechat": livechat}


def _availability(*results: dict[str, object]) -> dict[str, object]:
    return {"messages": [{"type": "Availability", "message": {"results": list(results)}}]}


@pytest.mark.parametrize(("slug", "answer", "reason"), [
    ("livechat", _livechat([0, 3]), "operator-online"),  # the widget's group takes chats
    ("livechat", _livechat([3], group=2), "operator-offline"),  # another group does, not this one
    ("livechat", _livechat(None), "operator-offline"),  # no group takes chats: the list is left out
    ("livechat", {"error": {"type": "license_not_found"}}, "operator-unknown"),  # no configuration
    ("livechat", {"livechat_active": False, "organization_id": "x"}, "operator-unknown"),
    ("salesforce", _availability({"id": "5731t000000sYQh", "isAvailable": True}), "operator-online"),
    ("salesforce", _availability({"id": "5731t000000sYQh"}), "operator-offline"),  # left out: nobody
    ("salesforce", _availability({"id": "5731t000000sYQh"}, {"id": "5731t000000sYQi", "isAvailable": True}),
     "operator-online"),  # one of the page's buttons is staffed
    ("salesforce", {"messages": []}, "operator-unknown"),
    ("salesforce", [{"errorCode": "NOT_FOUND"}], "operator-unknown"),
])
def test_sourced_protocols(slug: str, answer: object, reason: str) -> None:
    assert operator_state(RULES[slug], json.dumps(answer))[0] == reason


def test_urls_are_built_from_the_page_s_ids_in_the_documented_order() -> None:
    values = {"account_id": "12345678", "group": "2", "origin": "https://cdn.livechatinc.com"}
    assert operator_url(RULES["livechat"], values) == (
        "https://api.livechatinc.com/v3.6/customer/action/get_dynamic_configuration?license_id=12345678&group_id=2")
    values.pop("group")  # no group on the page: the license's default group is asked for
    assert operator_url(RULES["livechat"], values) == (
        "https://api.livechatinc.com/v3.6/customer/action/get_dynamic_configuration?license_id=12345678")
    sf = {"account_id": "00D1t000000xCYw", "deployment_id": "5721t000000sYQD",
          "button_ids": "5731t000000sYQh,5731t000000sYQi",
          "live_agent_url": "https://d.la1-c1-fra.salesforceliveagent.com/chat"}
    assert operator_url(RULES["salesforce"], sf) == (
        "https://d.la1-c1-fra.salesforceliveagent.com/chat/rest/Visitor/Availability"
        "?org_id=00D1t000000xCYw&deployment_id=5721t000000sYQD&Availability.ids=5731t000000sYQh,5731t000000sYQi")


@pytest.mark.parametrize("missing", ["account_id", "deployment_id", "button_ids", "live_agent_url"])
def test_without_every_required_id_nothing_is_asked(missing: str) -> None:
    sf = {"account_id": "00D1t000000xCYw", "deployment_id": "5721t000000sYQD", "button_ids": "5731t000000sYQh",
          "live_agent_url": "https://d.la1-c1-fra.salesforceliveagent.com/chat"}
    sf.pop(missing)
    assert operator_url(RULES["salesforce"], sf) is None


def test_ids_are_percent_encoded_but_urls_are_not() -> None:
    rule = {"url": "{origin}/status/{account_id}", "query": {"q": "{token}"}}
    url = operator_url(rule, {"origin": "https://chat.example.hu", "account_id": "a/b?c", "token": "x&y=z"})
    assert url == "https://chat.example.hu/status/a%2Fb%3Fc?q=x%26y%3Dz"


def test_providers_without_a_public_status_say_why() -> None:
    unknown = data.load("chat_operator.toml")["unknown"]
    assert {"tawk.to", "crisp", "zendesk", "freshchat", "intercom", "tidio", "jivochat"} <= set(unknown)
    assert not set(unknown) & set(RULES)
