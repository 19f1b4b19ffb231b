"""Chat provider entries at their edges: keys left out, needles folded, literal length, marker names.

A provider file may leave out any list (src, dom, ...) and the dead flag; a pattern without
a literal of two characters, or a DOM marker that is not a plain attribute name, is refused
naming the provider.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.extract.chat import _compile


def compile_(*entries: dict[str, Any]) -> Any:
    return _compile({"provider": list(entries)})


def test_an_entry_may_leave_out_every_list_and_the_dead_flag() -> None:
    fp = compile_({"slug": "bare", "name": "Bare", "inline": [r"Bare\.init\("]})
    (bare,) = fp.providers
    assert (bare.dom, bare.account, bare.dead) == ((), (), False)
    assert [p.needle for p in fp.scan] == ["Bare.init("] and fp.links == ()


def test_folded_needles_are_lower_case_exact_ones_are_not() -> None:
    fp = compile_({"slug": "acme", "name": "Acme", "src": [r"Widget\.AcmeChat\.example"],
                   "inline": [r"AcmeChat\.Boot\("]})
    assert [(p.kind, p.needle) for p in fp.scan] == [("u", "widget.acmechat.example"),
                                                     ("g", "AcmeChat.Boot(")]


def test_a_two_character_literal_is_enough() -> None:
    fp = compile_({"slug": "ab", "name": "Ab", "src": [r"ab\d+"]})
    assert [p.needle for p in fp.scan] == ["ab"]


@pytest.mark.parametrize("kind", ["src", "inline", "weak", "links"])
def test_a_pattern_without_a_literal_is_refused_naming_the_provider(kind: str) -> None:
    with pytest.raises(ValueError, match=r"^chat fingerprint for shorty has no literal of 2\+ chars"):
        compile_({"slug": "shorty", "name": "Shorty", kind: [r"a\d+"]})


@pytest.mark.parametrize("marker", ["[data-x", "[1abc]", "[ab!]"])
def test_a_dom_marker_that_is_no_attribute_name_is_refused(marker: str) -> None:
    with pytest.raises(ValueError, match=r"^unsupported DOM marker .* for acme$"):
        compile_({"slug": "acme", "name": "Acme", "src": [r"acme\.example"], "dom": [marker]})
