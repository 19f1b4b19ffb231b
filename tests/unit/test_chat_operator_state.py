"""Reading a provider's public status answer: online, offline or unknown (chat_operator.toml)."""

from __future__ import annotations

import json

import pytest

from auditor.validate.links import chat_operator, operator_state

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
