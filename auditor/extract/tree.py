"""Parse HTML as a browser does (WHATWG, Lexbor) into the element tree the page model reads.

libxml2's HTML parser is not a browser's: it nests everything after an ``<embed>``
inside it, keeps text that browsers foster-parent out of tables, and stops at bytes
invalid in the declared charset. Lexbor (through selectolax) implements the WHATWG
tree construction, so the tree here is the one Chromium builds from the same text.
The page model keeps lxml elements (XPath and a libxslt text pass stay in C), so the
Lexbor tree is copied node for node; nothing is re-parsed by libxml2.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from selectolax.lexbor import LexborHTMLParser, LexborNode

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # refused by lxml, never visible
# An attribute or tag name lxml accepts (XML names minus the colon: no namespaces here).
_XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


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


def _copy(src: LexborNode, root: Any) -> None:
    """Copy the children of ``src`` under ``root``, iteratively (hostile pages nest deep)."""
    frames: list[list[Any]] = [[src.first_child, root, None]]
    sub = etree.SubElement
    while frames:
        frame = frames[-1]
        node = frame[0]
        if node is None:
            frames.pop()
            continue
        frame[0] = node.next
        tag = node.tag
        if tag == "-text":
            _append_text(frame[1], frame[2], node.text_content or "")
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
            try:
                el = sub(frame[1], tag)
            except ValueError:
                el = _new_element(frame[1], tag)
            attrs = node.attributes
            if attrs:
                _set_attrs(el, attrs)
            frame[2] = el
            child = node.first_child
            if child is not None:
                frames.append([child, el, None])


def parse_html(html: str) -> Any:
    """The WHATWG tree of ``html`` as plain lxml.etree elements, rooted at ``<html>``."""
    # scripting=True: a visitor's browser runs scripts, so <noscript> holds raw text
    document = LexborHTMLParser(html or "<html></html>", scripting=True)
    src = document.root
    root = etree.Element("html")
    if src is None:
        return root
    _set_attrs(root, src.attributes)
    _copy(src, root)
    return root
