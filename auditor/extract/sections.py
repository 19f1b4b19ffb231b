"""Third parties' entries on a company's page (web agency, host, authority, arbitration body).

Imprints must name the hosting provider, the supervisory authority or the consumer
arbitration body, often with their phone numbers and e-mail addresses, and footers credit
the web agency: published contact points that are not the company's. A marker word at the
start of a block (``auditor/data/third_party.toml``) opens such an entry; this module finds
the elements it spans, so the page model can give their text and links the region
``third-party`` and the phone, e-mail and hours extractors can pass over them.

Pure functions on a tree; the page model (``auditor.extract.page``) calls
:func:`find_lexbor_sections` (Lexbor's document, read as its lxml copy) or :func:`find_sections`
(the lxml copy) after its first text pass, only when a block starts with a marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from auditor.data import load
from auditor.extract.tree import clean, visible_chars
from auditor.net.domains import registrable_domain
from auditor.text import fold

_SECTION_TAGS = frozenset(
    """address article aside blockquote dd details div dl dt fieldset figure footer form h1 h2 h3
    h4 h5 h6 header li main nav ol p section table tbody td tfoot th thead tr ul""".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6 dt".split())
_SKIP = frozenset("script style noscript template svg head title object".split())
MAX_PREFIXES = 32  # distinct markers (as written) looked up in the tree per page
MAX_BLOCKS_PER_PREFIX = 64  # and text nodes per marker: each climbs to its block element
_TEXT_STARTING = etree.XPath("//body//text()[starts-with(normalize-space(.), $prefix)]")
_STRING = etree.XPath("string()")


@dataclass(frozen=True)
class Markers:
    """The compiled marker data."""

    starts: re.Pattern[str]  # on folded text: a marker right after a line start
    label_chars: int
    siblings: int
    max_section_chars: int


@cache
def _data() -> dict[str, Any]:
    return load("third_party.toml")


def third_party_words() -> list[str]:
    """Every marker in every language, as written in the data file."""
    return [w for words in _data()["markers"].values() for w in words]


@cache
def markers() -> Markers:
    """Load the marker file once per process."""
    data = _data()
    words = sorted({fold(w, keep_accents=True) for w in third_party_words()}, key=len, reverse=True)
    # grouped by first letter: at each line start the engine tests a few dozen letters,
    # not every marker in turn
    by_first: dict[str, list[str]] = {}
    for w in words:
        by_first.setdefault(w[0], []).append(re.escape(w[1:]).replace(r"\ ", r"\s+"))
    body = "|".join(f"{re.escape(c)}(?:{'|'.join(rest)})" for c, rest in by_first.items())
    limits = data["limits"]
    return Markers(
        starts=re.compile(rf"\n(?P<m>{body})(?![^\W_])(?P<after>\s*(?:[:/,&+|]|$)|\s[\-–—]\s)?", re.M),
        label_chars=int(limits["label_chars"]),
        siblings=int(limits["siblings"]),
        max_section_chars=int(limits["max_section_chars"]),
    )


def marked_blocks(texts: Iterable[str]) -> list[tuple[str, str]]:
    """(block text, marker as written) for every block that opens a third party's entry."""
    m = markers()
    texts = list(texts)
    joined = "\n" + "\n".join(texts)
    folded = fold(joined, keep_accents=True)  # same length: offsets carry over to ``joined``
    if not m.starts.search(folded):
        return []
    starts, pos = [], 1
    for text in texts:
        starts.append(pos)
        pos += len(text) + 1
    found: list[tuple[str, str]] = []
    index = 0
    for hit in m.starts.finditer(folded):
        begin = hit.start("m")
        while index + 1 < len(starts) and starts[index + 1] <= begin:
            index += 1
        text = texts[index]
        word = hit.group("m")
        single = " " not in word.strip()
        if single and hit.group("after") is None and len(text) > len(word) + 1:
            continue  # "Hosting packages", "Réalisation du mois": a word, not an entry's title
        found.append((text, joined[begin : hit.end("m")]))
    return found


def _container(node: Any) -> Any | None:
    """The block element a text node sits in, or None inside scripts and the like."""
    el = node.getparent()
    if el is None:
        return None
    if node.is_tail:
        el = el.getparent()
    current = el
    while current is not None:
        if isinstance(current.tag, str) and current.tag in _SKIP:
            return None
        current = current.getparent()
    while el is not None and (not isinstance(el.tag, str) or el.tag not in _SECTION_TAGS):
        el = el.getparent()
    return el


def _text_len(el: Any) -> int:
    return len(" ".join(str(_STRING(el)).split()))


def _section(el: Any, m: Markers) -> list[Any]:
    """The elements one entry spans, starting at its marker's block element ``el``."""
    if el.tag in ("body", "html") or _text_len(el) > m.max_section_chars:
        return []
    if el.tag not in _HEADINGS and _text_len(el) > m.label_chars:
        return [el]  # "Webdesign: Agentur X, Tel. ...": the entry is this block
    out = [el]
    for sibling in el.itersiblings():
        if len(out) > m.siblings or not isinstance(sibling.tag, str):
            break
        if sibling.tag in _HEADINGS or (el.tag == "dt" and sibling.tag != "dd"):
            break
        if _text_len(sibling) > m.max_section_chars:
            break
        out.append(sibling)
    if len(out) == 1:  # a label alone in its box: the entry is the box around it
        parent = el.getparent()
        if parent is not None and parent.tag not in ("body", "html") and _text_len(parent) <= m.max_section_chars:
            return [parent]
    return out


_NOT_ALNUM = re.compile(r"[\W_]+")


def own_names(url: str) -> tuple[str, ...]:
    """How the site's own name may be written in an entry: its registrable domain's label
    ("pixelwerk-agentur" as "pixelwerkagentur") and that label's longest part ("pixelwerk").

    A web agency's or host's own contact page ("Hosting: Rheinhost GmbH, Tel. ...") names
    itself; such an entry is the company's, not a third party's.
    """
    host = urlsplit(url).hostname or ""
    domain = registrable_domain(host) or host
    label = domain.split(".")[0] if domain else ""
    parts = sorted((p for p in label.split("-") if len(p) >= 6), key=len, reverse=True)
    names = [_NOT_ALNUM.sub("", fold(label, keep_accents=True)), *(fold(p, keep_accents=True) for p in parts[:1])]
    return tuple(n for n in dict.fromkeys(names) if len(n) >= 4)


_ADDRESSES = re.compile(r"\S*(?:@|://|www\.)\S*")


def _names_itself(el_text: str, names: tuple[str, ...]) -> bool:
    """The entry's words (not its addresses: a DPO firm may list the company's mailbox)
    hold the site's own name."""
    squashed = _NOT_ALNUM.sub("", fold(_ADDRESSES.sub(" ", el_text), keep_accents=True))
    return any(name in squashed for name in names)


def _opens(node_text: str, block: str) -> bool:
    """Whether a text node starting with a marker is the start of the marked ``block``.

    The node may be the block's first inline piece ("Webdesign" of "Webdesign: Agentur X")
    or hold the block and more after a break; a node that runs on in the same word
    ("Hosting-Support" for the block "Hosting") is another block.
    """
    if block.startswith(node_text):
        return True
    return node_text.startswith(block) and node_text[len(block)].isspace()


def _by_prefix(marked: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The marked blocks' texts by the marker as written at their start (its first word)."""
    by_prefix: dict[str, list[str]] = {}
    for text, written in marked:
        prefix = text[: max(len(written), 1)].split()[0] if text.split() else written
        by_prefix.setdefault(prefix, []).append(text)
    return by_prefix


def find_sections(tree: Any, texts: Iterable[str], url: str = "") -> list[Any]:
    """Elements holding third parties' entries, found from the blocks that open them."""
    m = markers()
    names = own_names(url) if url else ()
    elements: list[Any] = []
    seen: set[Any] = set()
    by_prefix = _by_prefix(marked_blocks(texts))
    # one tree walk per marker as written; a hostile page's thousand spellings get a few
    for prefix, block_texts in list(by_prefix.items())[:MAX_PREFIXES]:
        for node in _TEXT_STARTING(tree, prefix=prefix)[:MAX_BLOCKS_PER_PREFIX]:
            node_text = " ".join(str(node).split())
            if not any(_opens(node_text, text) for text in block_texts[:MAX_BLOCKS_PER_PREFIX]):
                continue  # the same word opening some other block ("Hosting-Support: ...")
            el = _container(node)
            if el is None or el in seen:
                continue
            seen.add(el)
            section = _section(el, m)
            if names and _names_itself(" ".join(str(_STRING(part)) for part in section), names):
                continue  # the site's own name: its own entry ("Hosting: Rheinhost GmbH")
            for part in section:
                if part not in seen or part is el:
                    seen.add(part)
                    elements.append(part)
    return elements


# --- The same search over Lexbor's document ---------------------------------------------------
#
# The page model reads most pages from Lexbor's tree, never copied into lxml (see
# ``auditor.extract.page``). ``view`` answers as the copy would: ``tag`` is the copy's tag of a
# node, ``text`` the copy's ``string()`` of it, ``drop`` and ``control`` say which characters
# the copy leaves out of text. Nodes stand for the copy's elements, told apart by ``mem_id``.

_XML_SPACE = re.compile("[ \t\r\n]+")  # what XPath's normalize-space() collapses and strips


def normalize_space(text: str) -> str:
    """XPath's normalize-space(): XML whitespace collapsed, and stripped."""
    return _XML_SPACE.sub(" ", text).strip(" ")


def _copied_comment(node: Any) -> bool:
    """Whether the copy keeps this comment node (lxml refuses the others)."""
    comment = node.comment_content
    return comment is not None and "--" not in comment and not comment.endswith("-")


def _text_runs(view: Any) -> list[tuple[Any, str]]:
    """(parent, text) of the copy's text nodes under ``<body>``, in document order.

    The copy's text node (an element's text or tail) is a run of Lexbor's text nodes with
    nothing the copy keeps between them (a comment it refuses merges two).
    """
    body = view.document.body
    if body is None:
        return []
    runs: list[tuple[Any, list[str]]] = []
    for node in body.traverse(include_text=True):
        if not node.is_text_node:
            continue
        text = node.text_content or ""
        prev = node.prev
        while prev is not None and not prev.is_text_node:
            if prev.is_element_node or (prev.is_comment_node and _copied_comment(prev)):
                break
            prev = prev.prev
        if prev is not None and prev.is_text_node and runs:
            runs[-1][1].append(text)
        else:
            runs.append((node.parent, [text]))
    out = []
    for parent, parts in runs:
        text = "".join(parts)
        if view.drop:
            text = visible_chars(text)
        if view.control:
            text = clean(text)
        out.append((parent, text))
    return out


def _element(node: Any) -> Any | None:
    """``node`` if it is an element (lxml's ``getparent`` of the root is None, Lexbor's a document)."""
    return node if node is not None and node.is_element_node else None


def _lexbor_container(view: Any, parent: Any) -> Any | None:
    """:func:`_container` of a text run whose Lexbor parent is ``parent``."""
    current = _element(parent)
    while current is not None:
        if view.tag(current) in _SKIP:
            return None
        current = _element(current.parent)
    el = _element(parent)
    while el is not None and view.tag(el) not in _SECTION_TAGS:
        el = _element(el.parent)
    return el


def _lexbor_text_len(view: Any, node: Any) -> int:
    return len(" ".join(view.text(node).split()))


def _lexbor_section(view: Any, el: Any, m: Markers) -> list[Any]:
    """:func:`_section` of the copy of ``el``."""
    tag = view.tag(el)
    if tag in ("body", "html") or _lexbor_text_len(view, el) > m.max_section_chars:
        return []
    if tag not in _HEADINGS and _lexbor_text_len(view, el) > m.label_chars:
        return [el]
    out = [el]
    sibling = el.next
    while sibling is not None:
        if sibling.is_element_node:
            if len(out) > m.siblings:
                break
            sibling_tag = view.tag(sibling)
            if sibling_tag in _HEADINGS or (tag == "dt" and sibling_tag != "dd"):
                break
            if _lexbor_text_len(view, sibling) > m.max_section_chars:
                break
            out.append(sibling)
        elif sibling.is_comment_node and _copied_comment(sibling):
            break  # the copy's comment: a sibling that is not an element
        sibling = sibling.next
    if len(out) == 1:
        parent = _element(el.parent)
        if parent is not None and view.tag(parent) not in ("body", "html"):
            if _lexbor_text_len(view, parent) <= m.max_section_chars:
                return [parent]
    return out


def _starting(runs: list[tuple[Any, str, str]], prefix: str) -> list[tuple[Any, str]]:
    """``_TEXT_STARTING`` over the text runs: (parent, text) of the first runs starting with ``prefix``."""
    found = [(parent, text) for parent, text, normalized in runs if normalized.startswith(prefix)]
    return found[:MAX_BLOCKS_PER_PREFIX]


def find_lexbor_sections(view: Any, marked: list[tuple[str, str]], url: str = "") -> list[Any]:
    """:func:`find_sections` of the page's lxml copy, read from Lexbor's document through ``view``:
    the same elements, as Lexbor nodes. ``marked``: :func:`marked_blocks` of the page's blocks."""
    m = markers()
    names = own_names(url) if url else ()
    elements: list[Any] = []
    seen: set[int] = set()
    runs: list[tuple[Any, str, str]] | None = None
    for prefix, block_texts in list(_by_prefix(marked).items())[:MAX_PREFIXES]:
        if runs is None:  # read once, for every marker
            runs = [(parent, text, normalize_space(text)) for parent, text in _text_runs(view)]
        for parent, text in _starting(runs, prefix):
            node_text = " ".join(text.split())
            if not any(_opens(node_text, block) for block in block_texts[:MAX_BLOCKS_PER_PREFIX]):
                continue
            el = _lexbor_container(view, parent)
            if el is None or el.mem_id in seen:
                continue
            seen.add(el.mem_id)
            section = _lexbor_section(view, el, m)
            if names and _names_itself(" ".join(view.text(part) for part in section), names):
                continue
            for part in section:
                if part.mem_id not in seen or part.mem_id == el.mem_id:
                    seen.add(part.mem_id)
                    elements.append(part)
    return elements
