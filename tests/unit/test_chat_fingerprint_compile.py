"""Compiling chat provider data into fingerprints: patterns, needles, DOM markers, refusals.

fingerprints() compiles the packaged file once per process and caches it, so the page
tests exercise the compiler only once; these call it directly on small data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from auditor.extract.chat import Needles, Pattern, _compile, _present
from auditor.extract.page import ParsedPage, parse_page

ACME = {
    "slug": "acmechat", "name": "Acme Chat",
    "src": [r"widget\.acmechat\.example/(\w+)"],
    "inline": [r"AcmeChat\.init\("],
    "weak": [r"acme_?chat_settings"],
    "links": [r"acmechat\.example/c/\w+"],
    "dom": ["#acme-root", "#acme-frame-*", ".acme-bubble", "[data-acme-id]", "acme-chat"],
    "account": [r"acmechat\.example/(\w+)"],
    "config": "https://api.acmechat.example/{account}",
    "dead": True, "dead_since": "2024-01",
}
OTHER = {"slug": "other", "name": "Other", "src": [r"other-chat\.example"], "dom": ["#acme-root"]}


def page(html: str) -> ParsedPage:
    return parse_page(html, "https://firma.example/")


def compile_(*entries: dict[str, Any]) -> Any:
    return _compile({"provider": list(entries)})


def test_patterns_by_kind_with_their_literals_and_folding() -> None:
    fp = compile_(ACME, OTHER)
    got = [(p.index, p.kind, p.regex.pattern, p.needle, p.folded, bool(p.regex.flags & 2)) for p in fp.scan]
    assert got == [
        (0, "u", r"widget\.acmechat\.example/(\w+)", "widget.acmechat.example/", True, True),
        (0, "g", r"AcmeChat\.init\(", "AcmeChat.init(", False, False),
        (0, "w", r"acme_?chat_settings", "chat_settings", True, True),
        (1, "u", r"other-chat\.example", "other-chat.example", True, True),
    ]
    assert [(p.index, p.kind, p.needle, p.folded) for p in fp.links] == [
        (0, "l", "acmechat.example/c/", True)
    ]


def test_provider_facts() -> None:
    acme, other = compile_(ACME, OTHER).providers
    assert (acme.slug, acme.name, acme.dom, acme.config, acme.dead, acme.dead_since) == (
        "acmechat", "Acme Chat", tuple(ACME["dom"]), ACME["config"], True, "2024-01"
    )
    assert [p.pattern for p in acme.account] == [r"acmechat\.example/(\w+)"]
    assert (other.dom, other.account, other.config, other.dead, other.dead_since) == (
        ("#acme-root",), (), "", False, None
    )


def test_dom_markers_by_form() -> None:
    fp = compile_(ACME, OTHER)
    assert fp.dom_ids == {"acme-root": (0, 1)}
    assert fp.dom_id_prefixes == (("acme-frame-", 0),)
    assert fp.dom_classes == {"acme-bubble": (0,)}
    assert [(i, marker, literal) for _x, i, marker, literal in fp.dom_xpaths] == [
        (0, "[data-acme-id]", "data-acme-id"), (0, "acme-chat", "<acme-chat"),
    ]
    attr, tag = (x for x, *_ in fp.dom_xpaths)
    assert (attr, tag) == (("attribute", "data-acme-id"), ("element", "acme-chat"))
    # the queries are asked of the page model (main 263a950: extractors never touch lxml)
    assert _present(page("<html><div data-acme-id='7'></div></html>"), *attr) is True
    assert _present(page("<html><div data-other='7'></div></html>"), *attr) is False
    assert _present(page("<html><acme-chat></acme-chat></html>"), *tag) is True
    assert _present(page("<html><chat></chat></html>"), *tag) is False


def test_needles_find_folded_and_exact_literals_in_pattern_order() -> None:
    fp = compile_(ACME, OTHER)
    kinds = [p.kind for p in fp.scan_needles.present("<script src='//WIDGET.AcmeChat.example/x'>")]
    assert kinds == ["u"]
    assert [p.kind for p in fp.scan_needles.present("AcmeChat.init({}); acme_chat_settings")] == ["g", "w"]
    assert fp.scan_needles.present("acmechat.init(") == ()  # inline literals are case-sensitive
    assert fp.scan_needles.present("") == ()


def test_needles_with_only_folded_or_only_exact_patterns() -> None:
    folded = Pattern(0, "u", re.compile("ab", re.I), "ab", True)
    exact = Pattern(0, "g", re.compile("Cd"), "Cd", False)
    only_folded = Needles((folded,))
    assert only_folded.exact is None and only_folded.present("xABx") == (folded,)
    only_exact = Needles((exact,))
    assert only_exact.folded is None and only_exact.present("xCdx") == (exact,)
    assert only_exact.present("xcdx") == ()
    both = Needles((exact, folded))
    assert both.present("Cd ab") == (exact, folded)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([ACME, {**OTHER, "slug": "acmechat"}], "duplicate chat provider slug 'acmechat'"),
        ([{**OTHER, "src": [r"a\w+"]}], r"chat fingerprint for other has no literal of 2+ chars: 'a\\w+'"),
        ([{**OTHER, "dom": ["acme chat"]}], "unsupported DOM marker 'acme chat' for other"),
        ([{**OTHER, "dom": ["~x"]}], "unsupported DOM marker '~x' for other"),
    ],
)
def test_bad_provider_data_is_refused(entries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError) as info:
        compile_(*entries)
    assert str(info.value) == message
