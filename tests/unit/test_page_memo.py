"""PageMemo: a costly pure function computed once per argument within one page's extraction."""

from __future__ import annotations

from auditor.extract.context import PageMemo
from auditor.extract.emails import extract_emails, gate
from auditor.extract.page import parse_page


def _counting() -> tuple[PageMemo[str, str], list[str]]:
    calls: list[str] = []

    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    return PageMemo(upper), calls


def test_within_a_scope_each_argument_is_computed_once() -> None:
    memo, calls = _counting()
    with memo.scope():
        assert [memo("a"), memo("b"), memo("a")] == ["A", "B", "A"]
    assert calls == ["a", "b"]


def test_nothing_is_remembered_outside_or_across_scopes() -> None:
    memo, calls = _counting()
    assert memo("a") == memo("a") == "A"
    with memo.scope():
        memo("a")
    with memo.scope():
        memo("a")
    assert calls == ["a"] * 4


def test_an_address_shown_in_link_and_text_is_validated_once(monkeypatch) -> None:
    calls: list[str] = []
    real = gate.validate.func
    monkeypatch.setattr(gate.validate, "func", lambda address: calls.append(address) or real(address))
    page = parse_page(
        '<html><body><p>Write to <a href="mailto:info@firma.hu">info@firma.hu</a></p>'
        "<p>or info@firma.hu</p></body></html>",
        "https://firma.hu/kapcsolat",
    )
    assert [p.value for p in extract_emails(page)] == ["info@firma.hu"]
    assert calls.count("info@firma.hu") == 1
