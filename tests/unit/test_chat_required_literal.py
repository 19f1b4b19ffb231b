"""The literal a chat pattern's every match must contain: escapes, groups, classes, quantifiers.

The literal is the cheap pre-filter in front of each regex: a literal longer than the
pattern guarantees makes the extractor miss a widget; these pin it for each construct.
"""

from __future__ import annotations

import pytest

from auditor.extract.chat import required_literal


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"\x41bc", "Abc"),  # hex escape: one character, four pattern characters
        (r"zz\x2Ebcde", "zz.bcde"),
        (r"ab\.cd", "ab.cd"),  # an escaped sign is a literal
        (r"abc\\", "abc\\"),
        ("abc\\", "abc"),  # a trailing backslash ends the run
        (r"ab\dcde", "cde"),  # \d \s \w \b are not literals
        (r"ab\d+cde", "cde"),
        (r"abc\d{2,3}de", "abc"),
        (r"ab\s*?cdef", "cdef"),
        (r"ab\dcd", "ab"),  # equal runs: the first
        (r"abc(xy)+de", "abc"),
        (r"ab[xyz]*cde", "cde"),
        (r"ab|cdef", ""),  # a top-level alternation has no required literal
        (r"(a|b)cde", "cde"),  # inside a group it does not matter
        (r"abc.de", "abc"),
        (r"^abc$", "abc"),
        (r"ab.*cdef", "cdef"),
        (r"abcd?ef", "abc"),
        (r"abcd*ef", "abc"),
        (r"abcd{2}ef", "abc"),
        (r"abcd{2}efgh", "efgh"),
        (r"abc+de", "abc"),  # one c at least: it stays in the run, which ends there
        (r"ab+cdef", "cdef"),
        (r"ab.*?cdef", "cdef"),  # a lazy quantifier is skipped whole
        (r"ab(x)??cde", "cde"),
        (r"ab(x){1,2}?cde", "cde"),
        (r"(a(b)c)defg", "defg"),  # nested groups skipped whole
        (r"((a)b)cdef", "cdef"),
        (r"(a\)b)cdef", "cdef"),  # an escaped parenthesis does not close the group
        (r"([)]x)abcd", "abcd"),  # nor does one inside a class
        (r"[\]x]abcd", "abcd"),  # an escaped bracket does not close the class
        (r"[(]abc", "abc"),
        (r"[[]abcd", "abcd"),
        (r"ab(cd", "ab"),  # an unclosed group runs to the end
        (r"ab[cd", "ab"),
    ],
)  # fmt: skip
def test_required_literal_by_construct(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal
