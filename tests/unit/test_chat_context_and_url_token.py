"""What an inline chat hit quotes: the context around the match and the URL literal it sits in."""

from __future__ import annotations

from auditor.extract.chat import CONTEXT_RADIUS, _snippet, _url_token


def test_context_collapses_whitespace_and_keeps_the_start_of_the_text() -> None:
    text = "aaaaa\n\n  KEY  \tbbbbb"
    start = text.index("KEY")
    assert _snippet(text, start, start + 3) == "aaaaa KEY bbbbb"


def test_context_reaches_its_radius_on_both_sides() -> None:
    text = "x" * 100 + "KEY" + "y" * 100
    assert _snippet(text, 100, 103) == "x" * CONTEXT_RADIUS + "KEY" + "y" * CONTEXT_RADIUS


def test_url_token_is_the_literal_around_the_match() -> None:
    text = "s.src='https://cdn.acme.example/w.js?id=1';"
    start = text.index("acme")
    assert _url_token(text, start, start + 4) == "https://cdn.acme.example/w.js?id=1"


def test_url_token_runs_to_the_start_and_end_of_the_text() -> None:
    text = "ab/acme.example/x"
    start = text.index("acme")
    assert _url_token(text, start, start + 4) == text


def test_url_token_is_bounded_200_back_and_300_on() -> None:
    text = "a" * 250 + "acme" + "b" * 400
    assert _url_token(text, 250, 254) == "a" * 200 + "acme" + "b" * 300
