"""Parse HTML as a browser does (WHATWG, Lexbor) into the element tree the page model reads.

libxml2's HTML parser is not a browser's: it nests everything after an ``<embed>``
inside it, keeps text that browsers foster-parent out of tables, and stops at bytes
invalid in the declared charset. Lexbor (through selectolax) implements the WHATWG
tree construction, so the tree here is the one Chromium builds from the same text.
The page model reads most pages from Lexbor's nodes directly; :func:`parse_html` copies
the Lexbor tree node for node into lxml elements (nothing is re-parsed by libxml2) for the
pages and queries that need lxml (microdata, third parties' sections, the rare pages the
direct reading cannot model exactly: see ``auditor.extract.page``).
"""

from __future__ import annotations

import re
from typing import Any

from cssselect import GenericTranslator, SelectorError
from lxml import etree
from selectolax.lexbor import LexborHTMLParser, LexborNode

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # refused by lxml, never visible
# An attribute or tag name lxml accepts (XML names minus the colon: no namespaces here).
_XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


# Characters a visitor never sees that cut a number or an address short when matched:
# zero-width space, non-joiner, joiner, word joiner, soft hyphen, BOM, bidi marks,
# embeddings, overrides and isolates. NBSP variants become plain spaces.
_INVISIBLE = "\u200b\u200c\u200d\u2060\u00ad\ufeff\u200e\u200f" + "".join(
    map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
)
_NBSPS = "\u00a0\u202f\u2007"
_DROP = str.maketrans({**dict.fromkeys(_INVISIBLE), **dict.fromkeys(_NBSPS, " ")})
# A reference that may spell one (checked apart: a regex starting with a literal "&" skips
# ahead in C, one with a leading character class tests every position).
_REFERENCE_MAY_HOLD_INVISIBLE = re.compile("&(?:#|shy|zwn?j|lrm|rlm|nbsp|NonBreakingSpace|ZeroWidthSpace|NoBreak|Narrow)")
# Inline elements whose boundary a label and an address may share with no space between.
_INLINE = frozenset("a abbr b bdi bdo cite code em font i kbd label mark q s samp small span strong sub sup u var".split())
_ALNUM_END = re.compile(r"\w$")
_ADDRESS_START = re.compile(r"^\s*\w[\w.+-]*@")


# Deeper elements are added as siblings: browsers cap the tree depth the same way
# (Chromium at 512), and libxslt's text pass recurses once per level. libxml2 stopped
# at 256; the same cap keeps the cost of hostile, deeply nested pages where it was.
MAX_DEPTH = 256


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


# (character, replacement) of ``_DROP``: str.translate looks every character up in Python
# (50 us for a page's text), a replace per character present costs a C-level search each.
_DROP_PAIRS = tuple((chr(code), replacement or "") for code, replacement in _DROP.items())


def visible_chars(text: str) -> str:
    """``text`` without invisible format characters, NBSP variants as spaces (``text.translate(_DROP)``).

    No replacement holds a character replaced, so one replace after another is one translate.
    ASCII text holds none of them (``isascii`` reads a flag: no scan at all).
    """
    if text.isascii():
        return text
    for ch, replacement in _DROP_PAIRS:
        if ch in text:
            text = text.replace(ch, replacement)
    return text


def _set_attrs(el: Any, attrs: dict[str, str | None]) -> None:
    for name, value in attrs.items():
        try:
            el.set(name, value or "")
        except ValueError:  # a name XML cannot spell (@click, :href) or a control character
            if _XML_NAME.match(name):
                el.set(name, _clean(value or ""))


def _append_text(parent: Any, last: Any, text: str) -> None:
    if not text:
        return
    target, attr = (parent, "text") if last is None else (last, "tail")
    old = getattr(target, attr) or ""
    try:
        setattr(target, attr, old + text)
    except ValueError:
        setattr(target, attr, old + _clean(text))


def _new_element(parent: Any, tag: str) -> Any:
    try:
        return etree.SubElement(parent, tag)
    except ValueError:  # a tag name XML cannot spell: keep its content under a neutral name
        return etree.SubElement(parent, "span" if _XML_NAME.match(tag) is None else tag)


def _copy(src: LexborNode, root: Any, drop: bool, pairs: list[tuple[Any, Any]] | None) -> None:
    """Copy the children of ``src`` under ``root``, iteratively (hostile pages nest deep).

    ``drop``: remove invisible characters from text. ``pairs`` collects adjacent inline
    siblings with nothing between them (a label and an address may touch there).
    """
    frames: list[list[Any]] = [[src.first_child, root, None]]
    sub = etree.SubElement
    while frames:
        frame = frames[-1]
        node = frame[0]
        if node is None:
            frames.pop()
            if frames and frames[-1][1] is frame[1]:  # a flattened level: siblings continue
                frames[-1][2] = frame[2]
            continue
        frame[0] = node.next
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if drop:
                text = visible_chars(text)
            last = frame[2]
            try:  # inline: the most frequent node
                if last is None:
                    parent = frame[1]
                    parent.text = parent.text + text if parent.text else text
                else:
                    last.tail = last.tail + text if last.tail else text
            except ValueError:
                _append_text(frame[1], last, text)
        elif tag == "-comment":
            comment = node.comment_content
            if comment is not None and "--" not in comment and not comment.endswith("-"):
                try:
                    el = etree.Comment(_clean(comment))
                except ValueError:
                    continue
                frame[1].append(el)
                frame[2] = el
        elif tag and tag[0] not in "-_#!":
            attrs = node.attributes
            try:
                el = sub(frame[1], tag, {k: v or "" for k, v in attrs.items()}) if attrs else sub(frame[1], tag)
            except ValueError:  # an odd tag or attribute name: one by one
                el = _new_element(frame[1], tag)
                if attrs:
                    _set_attrs(el, attrs)
            prev = frame[2]
            if pairs is not None and prev is not None and tag in _INLINE and prev.tail is None:
                if isinstance(prev.tag, str) and prev.tag in _INLINE:
                    pairs.append((prev, el))
            frame[2] = el
            child = node.first_child
            if child is not None:
                if len(frames) < MAX_DEPTH:
                    frames.append([child, el, None])
                else:  # deeper: children become siblings, as browsers cap DOM depth
                    frames.append([child, frame[1], el])


# Lexbor's tree building slows down with the square of the nesting depth (100,000 nested
# <div>s: 17 s). A page needs at least this many tags to be deep enough to matter, so only
# such pages are scanned, and their tags past MAX_SOURCE_DEPTH become line breaks.
DEEP_SCAN_TAGS = 20_000
MAX_SOURCE_DEPTH = 2 * MAX_DEPTH
_SOURCE_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr keygen".split())


def _flatten_deep(html: str) -> str:
    """``html`` with start tags nested past MAX_SOURCE_DEPTH turned into ``<br>`` and their end
    tags dropped: their text stays, as siblings with a break between, in linear time."""
    if len(html) < DEEP_SCAN_TAGS or html.count("<") < DEEP_SCAN_TAGS:  # a shorter text has fewer tags
        return html
    depth, out, last, changed = 0, [], 0, False
    for m in _SOURCE_TAG.finditer(html):
        closing, name = m.group(1), m.group(2).lower()
        if name in _VOID or m.group(0).endswith("/>"):
            continue
        if closing:
            depth = max(0, depth - 1)
            if depth >= MAX_SOURCE_DEPTH:
                out.append(html[last:m.start()])
                last, changed = m.end(), True
            continue
        depth += 1
        if depth > MAX_SOURCE_DEPTH:
            out.append(html[last:m.start()] + "<br>")
            last, changed = m.end(), True
    if not changed:
        return html
    out.append(html[last:])
    return "".join(out)


def parse_document(html: str) -> tuple[LexborHTMLParser, str]:
    """Lexbor's WHATWG document of ``html`` and the text it parsed (deep nesting flattened)."""
    # scripting=True: a visitor's browser runs scripts, so <noscript> holds raw text
    html = _flatten_deep(html)
    return LexborHTMLParser(html or "<html></html>", scripting=True), html


def drops_invisible(html: str) -> bool:
    """Whether text parsed from ``html`` may hold characters :func:`visible_chars` drops."""
    if not html.isascii() and any(ch in html for ch in _INVISIBLE + _NBSPS):
        return True
    return _REFERENCE_MAY_HOLD_INVISIBLE.search(html) is not None


def parse_html(html: str) -> Any:
    """The WHATWG tree of ``html`` as plain lxml.etree elements, rooted at ``<html>``."""
    return copy_document(*parse_document(html))


def copy_document(document: LexborHTMLParser, html: str) -> Any:
    """The lxml copy of ``document``, which :func:`parse_document` parsed from ``html``.

    A page model that read the document first copies it without parsing it again.
    """
    src = document.root
    root = etree.Element("html")
    if src is None:
        return root
    _set_attrs(root, src.attributes)
    drop = drops_invisible(html)
    pairs: list[tuple[Any, Any]] | None = [] if "@" in html else None
    _copy(src, root, drop, pairs)
    if pairs:
        _separate_labels(pairs)
    if "bidi-override" in html:
        _read_reversed(root)
    return root


def copy_element(src: LexborNode, drop: bool, separate: bool = False) -> Any:
    """``src`` and its subtree as lxml elements, as :func:`parse_html` copies them.

    The copy's tail is the text the whole-tree copy would give it (the text nodes up to
    the next copied sibling): lxml's serializer writes an element's tail with it.
    ``separate``: label and address elements inside get the whole-tree copy's space between
    them (its test reads their own text alone, the same in this copy).
    """
    tag = src.tag or "span"
    try:
        root = etree.Element(tag)
    except ValueError:
        root = etree.Element("span")
    _set_attrs(root, src.attributes)
    pairs: list[tuple[Any, Any]] | None = [] if separate else None
    _copy(src, root, drop, pairs)
    if pairs:
        _separate_labels(pairs)
    tail: list[str] = []
    sibling = src.next
    while sibling is not None:
        kind = sibling.tag or ""
        if kind == "-text":
            tail.append(sibling.text_content or "")
        elif kind == "-comment":
            comment = sibling.comment_content
            if comment is not None and "--" not in comment and not comment.endswith("-"):
                break
        elif kind and kind[0] not in "-_#!":
            break
        sibling = sibling.next
    if tail:
        text = "".join(tail)
        _append_text(root, root, visible_chars(text) if drop else text)
    return root


_NAME_OK: dict[str, bool] = {}


def lxml_accepts(name: str) -> bool:
    """Whether lxml takes ``name`` as an attribute name (the copy drops the others)."""
    ok = _NAME_OK.get(name)
    if ok is None:
        try:
            etree.Element("x").set(name, "")
            ok = True
        except ValueError:
            ok = _XML_NAME.match(name) is not None
        if len(_NAME_OK) < 10_000:
            _NAME_OK[name] = ok
    return ok


def clean(text: str) -> str:
    """``text`` without the control characters lxml refuses (the copy drops them)."""
    return _CONTROL.sub("", text)


_STRING = etree.XPath("string()")


def _separate_labels(pairs: list[tuple[Any, Any]]) -> None:
    """A label element then an address element: a token boundary, never one address.

    ``<span>E-posta</span><span>name@firma.com.tr</span>`` reads ``E-posta name@...``.
    Pieces of one address (``<b>info</b><b>@firma.hu</b>``) stay joined: the space goes in
    only when the right element starts an address itself and the left ends a word.
    """
    for left, right in pairs:
        if left.tail is None and _ADDRESS_START.match(str(_STRING(right))):
            if _ALNUM_END.search(str(_STRING(left))):
                left.tail = " "


_REVERSED = etree.XPath("//*[contains(@style, 'bidi-override')]")
_CSS = GenericTranslator()
_RTL = re.compile(r"direction\s*:\s*rtl", re.I)


_CSS_RULE = re.compile(r"([^{}@;]+)\{([^{}]*)\}")  # a selector list and its declarations (not @-rules' own)


def _reversing_rules(root: Any) -> list[Any]:
    """XPath tests of the page's own ``<style>`` rules that show text reversed (both declarations in one rule).

    A cloaked address often gets its reversal from a class (``.rev{unicode-bidi:
    bidi-override;direction:rtl}``), not from an inline style. Selectors are read
    by cssselect (as Scrapy's own selectors are); one it cannot read is skipped.
    """
    tests: list[Any] = []
    for style in root.iter("style"):
        for selectors, body in _CSS_RULE.findall(style.text or ""):
            if "bidi-override" not in body or not _RTL.search(body):
                continue
            for selector in selectors.split(","):
                try:
                    tests.append(etree.XPath(_CSS.css_to_xpath(selector.strip())))
                except (SelectorError, etree.XPathError):
                    continue
    return tests


def _read_reversed(root: Any) -> None:
    """Text shown reversed by CSS (``direction: rtl; unicode-bidi: bidi-override``) is read as shown.

    Inline styles and the page's own style rules both count; an element inside
    another reversed one is read once, with its ancestor.
    """
    found = [el for el in _REVERSED(root) if _RTL.search(el.get("style") or "")]
    for test in _reversing_rules(root):
        found += [el for el in test(root) if isinstance(el.tag, str)]
    chosen = set(found)
    for el in dict.fromkeys(found):
        if any(a in chosen for a in el.iterancestors()):
            continue
        shown = str(_STRING(el))[::-1]
        for child in list(el):
            el.remove(child)
        el.text = shown
