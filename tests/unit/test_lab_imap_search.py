"""The lab IMAP server's SEARCH keys (RFC 3501 §6.4.4), each against a small mailbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.lab.imap.mailbox import StoredMessage, crlf
from auditor.lab.imap.search import search_test
from auditor.lab.imap.syntax import BadCommand, tokenize

MESSAGES = [
    StoredMessage(1, crlf(b"From: Anna <anna@a.test>\nSubject: Angebot\nDate: Mon, 6 Jul 2026 10:00:00 +0000\n\nHallo Welt\n"),
                  datetime(2026, 7, 6, 12, tzinfo=UTC), {"\\Seen", "$Done"}, recent=False),
    StoredMessage(5, crlf(b"From: Bert <bert@b.test>\nSubject: Frage\nX-Ticket: 42\n\n" + b"x" * 500 + b"\n"),
                  datetime(2026, 7, 8, 9, tzinfo=UTC), {"\\Flagged"}),
    StoredMessage(9, crlf(b"From: carl@c.test\nSubject: Re: Angebot\n\nDanke\n"),
                  datetime(2026, 7, 9, 9, tzinfo=UTC), set()),
]


def found(criteria: str) -> list[int]:
    test = search_test(tokenize(criteria, []), MESSAGES)
    return [i + 1 for i, m in enumerate(MESSAGES) if test(i, m)]


@pytest.mark.parametrize(("criteria", "expected"), [
    ("ALL", [1, 2, 3]),
    ("SEEN", [1]),
    ("UNSEEN", [2, 3]),
    ("FLAGGED UNSEEN", [2]),
    ("RECENT", [2, 3]),
    ("OLD", [1]),
    ("NEW", [2, 3]),
    ("KEYWORD $done", [1]),
    ("UNKEYWORD $Done", [2, 3]),
    ("BEFORE 8-Jul-2026", [1]),
    ("ON 8-Jul-2026", [2]),
    ("SINCE 8-Jul-2026", [2, 3]),
    ("SENTON 6-Jul-2026", [1]),
    ("SENTSINCE 7-Jul-2026", []),
    ("LARGER 300", [2]),
    ("SMALLER 300", [1, 3]),
    ("FROM bert", [2]),
    ("SUBJECT angebot", [1, 3]),
    ('HEADER X-Ticket "42"', [2]),
    ("HEADER X-Ticket 7", []),
    ("BODY welt", [1]),
    ("TEXT anna", [1]),
    ("BODY anna", []),
    ("NOT SEEN", [2, 3]),
    ("OR SEEN FLAGGED", [1, 2]),
    ("(OR SEEN FLAGGED) SUBJECT frage", [2]),
    ("UID 5:*", [2, 3]),
    ("2:3", [2, 3]),
    ("1,3", [1, 3]),
])
def test_search_keys(criteria: str, expected: list[int]) -> None:
    assert found(criteria) == expected


@pytest.mark.parametrize("criteria", [
    "FROBNICATE", "SINCE", "SINCE yesterday", "LARGER big", "()", "NOT", "OR SEEN", '"ALL"', "4",
])
def test_bad_search_keys(criteria: str) -> None:
    with pytest.raises(BadCommand):
        found(criteria)
