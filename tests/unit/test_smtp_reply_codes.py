"""SMTP reply classes at their boundaries, and the codes that decide without any wording."""

import pytest

from auditor.validate.smtp_reply import (
    classify_reply,
    classify_sender_reply,
    is_too_many_recipients,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (399, ("unknown", "smtp-error")),
        (400, ("unknown", "greylisted")),
        (499, ("unknown", "greylisted")),
        (500, ("unknown", "recipient-refused")),
        (599, ("unknown", "recipient-refused")),
        (600, ("unknown", "smtp-error")),
    ],
)
def test_rcpt_reply_class_edges(code: int, expected: tuple[str, str]) -> None:
    assert classify_reply(code, "") == expected
    assert classify_reply(code, None) == expected  # type: ignore[arg-type]  # aiosmtplib may give None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (250, ("unknown", "smtp-error")),
        (399, ("unknown", "smtp-error")),
        (400, ("unknown", "greylisted")),
        (499, ("unknown", "greylisted")),
        (500, ("unknown", "blocked-by-policy")),
        (599, ("unknown", "blocked-by-policy")),
        (600, ("unknown", "smtp-error")),
    ],
)
def test_sender_reply_class_edges(code: int, expected: tuple[str, str]) -> None:
    assert classify_sender_reply(code, "") == expected


def test_sender_greylisting_wins_over_policy_wording() -> None:
    text = "4.7.1 Greylisted by sender policy, try again later"
    assert classify_sender_reply(451, text) == ("unknown", "greylisted")
    assert classify_sender_reply(451, "4.7.1 sender policy says no") == ("unknown", "blocked-by-policy")
    assert classify_sender_reply(400, "blocked by policy") == ("unknown", "blocked-by-policy")


def test_enhanced_5_2_2_alone_means_mailbox_disabled() -> None:
    assert classify_reply(552, "5.2.2 Requested mail action aborted") == ("unknown", "mailbox-disabled")


def test_microsoft_edge_blocking_needs_both_code_and_wording() -> None:
    dbeb = "Recipient address rejected: Access denied"
    assert classify_reply(550, f"5.4.1 {dbeb}") == ("inactive", "no-such-mailbox")
    assert classify_reply(550, dbeb) == ("unknown", "recipient-refused")
    assert classify_reply(550, "5.4.1 Routing loop detected") == ("unknown", "recipient-refused")


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (452, "", True),
        (452, None, True),
        (451, "4.5.3 Too many recipients", True),
        (453, "", False),
        (451, "4.5.2 Syntax", False),
        (550, None, False),
    ],
)
def test_too_many_recipients(code: int, text: str | None, expected: bool) -> None:
    assert is_too_many_recipients(code, text) is expected  # type: ignore[arg-type]
