"""Parse a page once into everything the extractors need.

Each extractor works on a :class:`ParsedPage`, never on raw HTML, so a page is
decoded and parsed a single time however many extractors read it. The model is read
from Lexbor's WHATWG tree in one walk (``_build_from_lexbor``); pages that walk cannot
model exactly get the lxml copy of the same tree (``_build``), and both give the same
model (``tests/unit/test_page_lexbor.py``).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import accumulate
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit, uses_netloc, uses_relative

from lxml import etree
from selectolax.lexbor import LexborHTMLParser, LexborNode, create_tag
from w3lib.encoding import html_to_unicode

from auditor.extract.sections import (
    find_lexbor_sections,
    find_sections,
    marked_blocks,
    normalize_space,
)
from auditor.extract.tree import (
    _CSS_RULE,
    _RTL,
    MAX_DEPTH,
    clean,
    copy_document,
    copy_element,
    drops_invisible,
    lxml_accepts,
    parse_document,
    parse_html,
    visible_chars,
)
from auditor.text import fold, folded_regex

BLOCK_TAGS = frozenset(
    """address article aside blockquote body br caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main menu
    nav ol option p pre section summary table tbody td tfoot th thead tr ul select textarea
    button iframe img""".split()
)
SKIP_TAGS = frozenset("script style noscript template svg head title object embed video audio".split())
REGION_TAGS = {"header": "header", "footer": "footer", "nav": "nav"}
_REGION_HINT = re.compile(r"(footer|header|navbar|nav\b|menu|topbar|bottom)", re.I)
_FOLDED_HINT = folded_regex(_REGION_HINT) or _REGION_HINT
MAX_SCRIPT_TEXT = 200_000
THIRD_PARTY = "third-party"  # the region of a web agency's, host's or authority's entry
# Links kept per page (issue 6: a hostile page may carry 100,000). Non-web links
# (mailto:, tel:, messaging apps) are always kept: they are contact points. Of the
# web links, the first and the last half of the cap are kept, in document order:
# navigation and header come first, the footer (where contact links live) last.
MAX_LINKS = 10_000
_WEB_HREF = re.compile(r"^(?:https?:|//|/|\.|\?|#|[^:]*$)", re.I)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML text, never visible
_CONTROL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))


def _has_control(text: str) -> bool:
    """``_CONTROL.search(text)``, three times faster: a C-level ``in`` per character."""
    return any(ch in text for ch in _CONTROL_CHARS)


class TextBlock(NamedTuple):
    """Text of one block element with its inline children joined.

    A NamedTuple, not a dataclass: pages hold thousands and creation is hot.
    """

    text: str
    region: str  # header, footer, nav, main or third-party


class ContactAttribute(NamedTuple):
    """An attribute a visitor sees (tooltip, accessible label, icon alt) or a contact link carries."""

    tag: str
    name: str  # title, aria-label, alt, content (itemprop), data-phone ...
    value: str
    region: str
    text: str  # the element's own text, for labels


class Link(NamedTuple):
    href: str  # absolute URL (or the raw href for non-http schemes)
    raw_href: str
    text: str
    region: str
    title: str = ""


@dataclass(frozen=True)
class Script:
    src: str | None  # absolute URL of an external script
    text: str  # inline script text (truncated)
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormField:
    tag: str
    type: str
    name: str
    id: str
    placeholder: str
    label: str
    autocomplete: str = ""


@dataclass(frozen=True)
class Form:
    action: str  # absolute URL
    method: str
    fields: tuple[FormField, ...]
    text: str  # visible text inside the form (labels, buttons)
    attrs: dict[str, str] = field(default_factory=dict)
    # the form's HTML, or what serialises it: a form read from Lexbor's tree is copied into
    # lxml to be serialised, and the form extractor reads the markup of contact forms alone
    source: str | Callable[[], str] = field(default="", repr=False, compare=False)

    @cached_property
    def markup(self) -> str:
        """The form's HTML (capped), for widgets that are not fields (captchas); made on first read."""
        return self.source() if callable(self.source) else self.source


@dataclass
class ParsedPage:
    """A decoded, parsed page: the only input extractors get."""

    url: str
    html: str
    # lxml.etree root element (plain etree: faster than lxml.html). A page read from
    # Lexbor's tree makes it on first use (see the property below the class).
    tree: Any
    lang: str | None
    hreflangs: tuple[str, ...]
    title: str
    blocks: list[TextBlock]
    links: list[Link]
    scripts: list[Script]
    forms: list[Form]
    cfemails: list[tuple[str, str]]  # (encoded hex, context)
    class_values: frozenset[str] = frozenset()  # every distinct class attribute value
    id_values: frozenset[str] = frozenset()
    _structured: dict[str, list[Any]] | None = None
    _contact_attributes: list[ContactAttribute] | None = None
    # Set when the page model was read from Lexbor's tree directly (``tree`` is then None
    # until something asks for the lxml copy: see :meth:`lxml_tree`).
    _lexbor: _LexborView | None = None

    def lxml_tree(self) -> Any:
        """The lxml copy of the page's tree, made on first use when the model came from Lexbor."""
        tree = self.__dict__.get("_tree")
        if tree is None and self._lexbor is not None:
            view = self._lexbor
            # a document whose reversed text was rewritten is parsed again: the copy reverses it itself
            document = parse_document(view.source)[0] if view.reversed else view.document
            tree = self.__dict__["_tree"] = copy_document(document, view.source)
        return tree

    @property
    def text(self) -> str:
        """Visible text with one line per block."""
        return "\n".join(b.text for b in self.blocks)

    # Queries over the whole tree, hidden parts included (a widget leaves its marks
    # anywhere): extractors ask these and never walk the tree themselves.

    def attribute_values(self, name: str) -> list[str]:
        """Every value of attribute ``name`` on any element, in document order."""
        if self._lexbor is not None and _CSS_NAME.match(name):
            return self._lexbor.attribute_values(name)
        return [str(v) for v in _attribute_xpath(name)(self.lxml_tree())]

    def has_attribute(self, name: str) -> bool:
        """Some element carries attribute ``name``."""
        if self._lexbor is not None and _CSS_NAME.match(name):
            return self._lexbor.has_attribute(name)
        return bool(_has_xpath(f"//*[@{name}]")(self.lxml_tree()))

    def attribute_pairs(self, first: str, second: str, tag: str = "*") -> list[tuple[str, str]]:
        """(first, second) values of every ``<tag>`` carrying both attributes (a split address)."""
        if self._lexbor is not None and _CSS_NAME.match(first) and _CSS_NAME.match(second):
            if tag == "*" or _CSS_NAME.match(tag):
                return self._lexbor.attribute_pairs(first, second, tag)
        return [
            (str(el.get(first)), str(el.get(second)))
            for el in _has_xpath_nodes(f"//{tag}[@{first} and @{second}]")(self.lxml_tree())
        ]

    def contact_attributes(self) -> list[ContactAttribute]:
        """Published attributes of contact elements only (see ``_CONTACT_ELEMENTS``).

        A contact element is a ``tel:``/``mailto:`` link or button, an element whose
        class or id names a phone or email (``icon-phone``, ``btn-call``), an element
        carrying ``data-phone``/``data-tel``/``data-email``, a contact icon image, or
        a ``<meta itemprop="telephone|email|faxNumber">``. Other elements' titles and
        labels (order numbers, date pickers, ``data-id``) are never read.
        """
        if self._contact_attributes is not None:
            return self._contact_attributes  # phones and emails both ask: one walk
        if self._lexbor is not None:
            self._contact_attributes = self._lexbor.contact_attributes(self.html)
            return self._contact_attributes
        out: list[ContactAttribute] = []
        for el in _contact_elements(self.tree, self.html)[:MAX_CONTACT_ATTRIBUTES]:
            tag = el.tag if isinstance(el.tag, str) else ""
            names = ("content",) if tag == "meta" else _PUBLISHED_ATTRIBUTES
            region = "main"
            for anc in [*reversed(list(el.iterancestors())), el]:
                region = _region_of(anc, region)
            text = " ".join(text_of(el).split())[:200] if tag != "meta" else ""
            for name in names:
                value = el.get(name)
                if isinstance(value, str) and value.strip():
                    out.append(ContactAttribute(tag, name, value.strip()[:300], region, text))
        self._contact_attributes = out
        return out

    def has_element(self, tag: str) -> bool:
        """Some element is a ``<tag>``."""
        if self._lexbor is not None and _CSS_TAG.match(tag):
            return self._lexbor.document.css_first(tag) is not None
        return bool(_has_xpath(f"//{tag}")(self.lxml_tree()))

    def form_elements(self) -> list[LexborNode] | None:
        """The document's ``<form>`` elements as Lexbor nodes, in document order; None when the
        page was modelled from the lxml copy (its forms' markup is read from that copy)."""
        if self._lexbor is None:
            return None
        return list(self._lexbor.document.tags("form"))

    def frame_sources(self) -> list[str]:
        """``src`` (else ``data-src``) of every iframe, lazy-loaded ones included."""
        if self._lexbor is not None:
            return self._lexbor.frame_sources()
        return [el.get("src") or el.get("data-src") or "" for el in self.tree.iter("iframe")]

    def anchor_hrefs(self) -> list[str]:
        """Every ``<a href>``, those inside ``<noscript>`` or hidden parts included.

        A visitor's browser parses ``<noscript>`` as raw text (scripts run), so the
        fallback links loaders put there are read from that text.
        """
        if self._lexbor is not None:
            return self._lexbor.anchor_hrefs()
        hrefs = [str(h) for h in _HREFS(self.tree)]
        for el in self.tree.iter("noscript"):
            if el.text and "href" in el.text:
                hrefs += [str(h) for h in _HREFS(parse_html(el.text))]
        return hrefs

    def text_around(self, attribute: str, value: str) -> str | None:
        """Whitespace-collapsed text of the parent of the first element whose ``attribute`` is ``value``."""
        if self._lexbor is not None and _CSS_NAME.match(attribute):
            return self._lexbor.text_around(attribute, value)
        for el in _ATTRIBUTE_EQUALS(self.lxml_tree(), v=value, a=attribute):
            parent = el.getparent()
            return " ".join(text_of(parent if parent is not None else el).split())
        return None

    @property
    def structured(self) -> dict[str, list[Any]]:
        """JSON-LD and microdata items (extruct), computed on first use."""
        if self._structured is None:
            if self._lexbor is not None and "itemscope" not in self.html:
                # JSON-LD only: extruct reads the scripts' text, so a tree of those scripts will do
                self._structured = extract_structured(self._lexbor.jsonld_tree(), self.url, self.html)
            else:
                self._structured = extract_structured(self.lxml_tree(), self.url, self.html)
        return self._structured


def _set_tree(page: ParsedPage, tree: Any) -> None:
    page.__dict__["_tree"] = tree


# ``tree`` stays an attribute every reader can use; for a page read from Lexbor's tree it
# is made on first use (a property in place of the dataclass field, set once, here).
ParsedPage.tree = property(ParsedPage.lxml_tree, _set_tree)


MAX_CONTACT_ATTRIBUTES = 300
_PUBLISHED_ATTRIBUTES = (
    "title",
    "aria-label",
    "alt",
    "data-phone",
    "data-tel",
    "data-telephone",
    "data-email",
    "data-mail",
)
_CONTACT_HINT = (
    "contains($c, 'phone') or contains($c, 'tel-') or contains($c, '-tel') or contains($c, 'call')"
    " or contains($c, 'mail') or contains($c, 'telefon')"
)
_CONTACT_ELEMENTS = etree.XPath(
    "//meta[@content and (@itemprop='telephone' or @itemprop='email' or @itemprop='faxNumber')]"
    " | //*[@data-phone or @data-tel or @data-telephone or @data-email or @data-mail]"
    " | //*[self::a or self::button][starts-with(normalize-space(translate(@href,"
    " 'TELMAITOC', 'telmaitoc')), 'tel:') or starts-with(normalize-space(translate(@href,"
    " 'TELMAITOC', 'telmaitoc')), 'mailto:') or starts-with(normalize-space(translate(@href,"
    " 'TELMAITOC', 'telmaitoc')), 'callto:')]"
    " | //*[self::a or self::button or self::i or self::span or self::img or self::svg]["
    + _CONTACT_HINT.replace(
        "$c", "translate(concat(@class, ' ', @id, ' ', @src), 'PHONEMAILTCL', 'phonemailtcl')"
    )
    + "]"
)
_DATA_ATTRIBUTES = re.compile("data-(?:phone|tel|email|mail)", re.I)
_CONTACT_TAGS = ("a", "button", "i", "span", "img", "svg", "meta")
_CONTACT_SCHEMES = ("tel:", "mailto:", "callto:")
_SCHEME_LOWER = str.maketrans("TELMAITOC", "telmaitoc")  # what the XPath translate() folds
_HINT_LOWER = str.maketrans("PHONEMAILTCL", "phonemailtcl")
_HINT_WORDS = ("phone", "tel-", "-tel", "call", "mail", "telefon")
_META_PROPS = ("telephone", "email", "faxNumber")


def _contact_elements(tree: Any, html: str) -> list[Any]:
    """``_CONTACT_ELEMENTS(tree)``, in one Python pass over the few tags it can select.

    libxml2's ``translate()`` over every candidate's class, id and src costs ~50 us an
    element (0.2 s on a catalogue page); the same tests in Python cost about 1 us. The
    ``data-*`` branch may select any tag: a page whose source spells such an attribute
    gets the XPath (rare, and it is the same answer).
    """
    if _DATA_ATTRIBUTES.search(html):
        found = list(_CONTACT_ELEMENTS(tree))
    else:
        hints: dict[str, bool] = {}
        found = [el for el in tree.iter(*_CONTACT_TAGS) if _contact_element(el, hints)]
    return _with_icon_hosts(found, lambda el: el.getparent(), lambda el: el.tag, lambda el: el)


_ICON_TAGS = frozenset({"i", "span", "img", "svg"})
_HOST_TAGS = frozenset({"a", "button"})
_T = TypeVar("_T")


def _with_icon_hosts(
    found: list[_T], parent: Callable[[_T], _T | None], tag: Callable[[_T], str], key: Callable[[_T], Hashable]
) -> list[_T]:
    """``found`` with the link or button that holds a contact icon, right before the icon.

    A phone or mail icon says what its link is for ("Call the depot on 0161 ..." in the
    title of a link to the depot's page, a hotline's ``aria-label`` on a call-back
    button); the link's own class, id and href need not say it.
    """
    out: list[_T] = []
    seen = {key(item) for item in found}
    for item in found:
        if tag(item) in _ICON_TAGS:
            host = parent(item)
            if host is not None and tag(host) in _HOST_TAGS and key(host) not in seen:
                seen.add(key(host))
                out.append(host)
        out.append(item)
    return out


_HREFS = etree.XPath("//a/@href", smart_strings=False)  # plain strings: half the cost
_ATTRIBUTE_EQUALS = etree.XPath("//*[@*[name() = $a] = $v]")


@cache
def _attribute_xpath(name: str) -> etree.XPath:
    """Every value of attribute ``name``, compiled once per name."""
    return etree.XPath(f"//*/@{name}", smart_strings=False)


@cache
def _has_xpath_nodes(path: str) -> etree.XPath:
    return etree.XPath(path)


@cache
def _has_xpath(path: str) -> etree.XPath:
    return etree.XPath(f"boolean({path})")


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode a response body the way browsers do: BOM, header, meta, then sniff.

    Servers often declare the wrong charset in the header (UTF-8 for a
    windows-1250 page): when the declared one leaves undecodable bytes, the
    page's own declaration and sniffing get a say.
    """
    _enc, text = html_to_unicode(content_type, body)
    if "\ufffd" in text and content_type:
        _enc2, second = html_to_unicode(None, body)
        if second.count("\ufffd") < text.count("\ufffd"):
            return second
    return text


def parse_page(body: bytes | str, url: str, content_type: str | None = None) -> ParsedPage:
    """Decode and parse ``body`` fetched from ``url``.

    Never raises on malformed input: an unparsable body yields an empty page.
    The model is read from Lexbor's tree directly; the few pages that reading cannot
    model exactly (see :func:`_build_from_lexbor`) get the lxml copy of the same tree.
    """
    html = decode_body(body, content_type) if isinstance(body, bytes) else body
    if _has_control(html):  # rare: the test costs a third of the substitution
        html = _CONTROL.sub("", html)
    document, flat = parse_document(html)
    page = _read_lexbor(document, flat, html, url, scrubbed=True)
    if page is not None:
        return page
    return _build(copy_document(document, flat), url, html)  # the same document, not parsed again


_STRING = etree.XPath("string()")


def text_of(el: Any) -> str:
    """An element's text content (plain lxml.etree elements have no text_content())."""
    return str(_STRING(el))


def _parse_html(html: str) -> Any:
    """The browser's (WHATWG) tree as plain lxml.etree elements: see :mod:`auditor.extract.tree`."""
    return parse_html(html)


def _attr(el: Any, name: str) -> str:
    value = el.get(name)
    return value.strip() if isinstance(value, str) else ""


def _region_of(el: Any, inherited: str) -> str:
    if inherited != "main":
        return inherited
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in REGION_TAGS:
        return REGION_TAGS[tag]
    role = _attr(el, "role")
    if role == "contentinfo":
        return "footer"
    if role in ("banner",):
        return "header"
    if role == "navigation":
        return "nav"
    hint = f"{_attr(el, 'id')} {_attr(el, 'class')}"
    if hint.strip():
        m = _REGION_HINT.search(hint)
        if m:
            word = m.group(1).lower()
            if word in ("footer", "bottom"):
                return "footer"
            if word in ("header", "topbar"):
                return "header"
            return "nav"
    return "main"


def _safe_urljoin(base: str, href: str) -> str:
    try:
        return urljoin(base, href)
    except ValueError:
        return href


class _Joiner:
    """urljoin with fast paths: most hrefs are absolute or root-relative."""

    def __init__(self, base: str) -> None:
        self.base = base
        parts = urlsplit(base)
        self.scheme = parts.scheme
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

    def __call__(self, href: str) -> str:
        if href.startswith(("http://", "https://")):
            if " " not in href and "\t" not in href and "\n" not in href and "\\" not in href:
                return href
        elif self.origin and href.startswith("/") and not href.startswith("//") and "/." not in href:
            return self.origin + href
        else:
            # urljoin returns an href whose scheme it does not resolve against (tel:, mailto:,
            # javascript:) as it is: its scheme is the same run of letters urlsplit reads
            scheme = _SCHEME.match(href)
            if scheme is not None and scheme[0][:-1].lower() not in uses_relative:
                return href
        return _safe_urljoin(self.base, href)


    def exact(self, href: str) -> str:
        """``urljoin(base, href)`` exactly (a form's action): shortcuts only where urljoin's answer is known.

        An absolute http(s) href of another scheme than the base's is kept; one of the same
        scheme, and a root-relative one, come back as written (after the base's origin) when
        urlsplit has nothing to remove, no params to split and no empty query or fragment to drop.
        """
        if href.startswith(("http://", "https://")):
            scheme, _colon, rest = href.partition(":")
            if scheme != self.scheme:
                return href  # urljoin keeps an href of another scheme as it is
            if len(rest) > 2 and rest[2] not in "/?#" and _unchanged_by_urlsplit(href):
                return href  # urljoin gives urlunparse(urlparse(href)): the same text
        elif (
            self.origin and self.scheme in uses_relative and self.scheme in uses_netloc
            and href.startswith("/") and not href.startswith("//") and "/." not in href
            and _unchanged_by_urlsplit(href)
        ):
            return self.origin + href  # no dot segments: the path stays as written
        return _safe_urljoin(self.base, href)


def _unchanged_by_urlsplit(href: str) -> bool:
    """urlsplit and urlunsplit give ``href`` back: no tab or line break to remove, no params,
    no empty query or fragment to drop."""
    if "\t" in href or "\r" in href or "\n" in href or ";" in href:
        return False
    head, hash_mark, fragment = href.partition("#")
    if hash_mark and not fragment:
        return False
    _path, question_mark, query = head.partition("?")
    return not question_mark or bool(query)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")  # urlsplit's scheme: a letter, then scheme_chars


# Content a visitor never sees (inside template, noscript, svg, object, head; a video's or
# audio's fallback, which every current browser replaces with the player).
_INVISIBLE_ROOTS = ("template", "noscript", "svg", "object", "head", "video", "audio")
_BLOCK_MARK = "\ue000"  # private-use characters: valid in XML, absent from real text
_REGION_OPEN = "\ue001"  # followed by one letter: h, f, n
_REGION_CLOSE = "\ue002"
_REGION_SPLIT = re.compile("(\ue001.|\ue002)")
_REGION_LETTER = {"header": "h", "footer": "f", "nav": "n", THIRD_PARTY: "t"}
_LETTER_REGION = {v: k for k, v in _REGION_LETTER.items()}


# Whole-tree walks stay in C. Class and id values come back as plain strings, so the
# hint regex runs once per distinct value; elements are fetched only for the values
# that pass. The order of candidates does not matter: only outermost roots are kept.
# (Selecting attribute nodes and stepping to their parent is several times faster in
# libxml2 than testing attributes in an element predicate.)
_REGION_ELEMENTS = etree.XPath("//header | //footer | //nav")
_ROLE_ELEMENTS = etree.XPath("//@role[.='contentinfo' or .='banner' or .='navigation']/..")
_CF_ELEMENTS = etree.XPath("//@data-cfemail/..")
_MAX_XPATH_VALUES = 64  # hinting class/id values tested in one XPath; more: one Python walk
_CLASS_VALUES = etree.XPath("//@class", smart_strings=False)
_ID_VALUES = etree.XPath("//@id", smart_strings=False)


def _xpath_literal(value: str) -> str | None:
    if "'" not in value:
        return f"'{value}'"
    return f'"{value}"' if '"' not in value else None


def _hinting(values: frozenset[str]) -> set[str]:
    """The values :data:`_REGION_HINT` finds a word in: one folded search over them all."""
    if not values:
        return set()
    ordered = list(values)
    joined = "\n".join(ordered)
    # fold() of ASCII text is its lower case (the characters it folds further are not ASCII)
    hits = list(_FOLDED_HINT.finditer(joined.lower() if joined.isascii() else fold(joined, keep_accents=True)))
    if not hits:
        return set()
    ends = list(accumulate(len(v) + 1 for v in ordered))
    return {ordered[bisect_right(ends, m.start())] for m in hits}


def _scan(tree: Any, html: str, class_values: frozenset[str], id_values: frozenset[str]) -> tuple[list[Any], list[Any]]:
    """Region candidates (tags, roles, hinting class or id) and Cloudflare email spans."""
    classes = _hinting(class_values)
    ids = _hinting(id_values)
    candidates = [*_REGION_ELEMENTS(tree), *_ROLE_ELEMENTS(tree)]
    if classes or ids:
        class_tests = [f".={lit}" for v in classes if (lit := _xpath_literal(v))]
        id_tests = [f".={lit}" for v in ids if (lit := _xpath_literal(v))]
        spelled = len(class_tests) + len(id_tests) == len(classes) + len(ids)
        if spelled and len(class_tests) + len(id_tests) <= _MAX_XPATH_VALUES:
            if class_tests:
                candidates += etree.XPath(f"//@class[{' or '.join(class_tests)}]/..")(tree)
            if id_tests:
                candidates += etree.XPath(f"//@id[{' or '.join(id_tests)}]/..")(tree)
        else:  # a value no XPath literal can spell, or so many that one walk is cheaper
            candidates += [el for el in tree.iter() if el.get("class") in classes or el.get("id") in ids]
    cfemails = _CF_ELEMENTS(tree) if "data-cfemail" in html else []
    return candidates, cfemails


def _region_roots(candidates: list[Any]) -> dict[Any, str]:
    """Outermost elements that start a header, footer or nav region."""
    found: dict[Any, str] = {}
    for el in candidates:
        region = _region_of(el, "main")
        if region != "main":
            found[el] = region
    outermost: dict[Any, str] = {}
    for el, region in found.items():
        if not any(anc in found for anc in el.iterancestors()):
            outermost[el] = region
    return outermost


def _visible_blocks(tree: Any, roots: dict[Any, str]) -> list[TextBlock]:
    """Visible text split at block elements, by marking the tree and reading it once.

    The tree is changed only for the duration of the call and restored after:
    one C-level string() over the tree replaces a Python walk over every node.
    """
    try:
        text = _marked_text(tree, roots, clean=False)
    except ValueError:
        # A character reference like &#7; put a control character in the tree
        # that lxml refuses to write back: retry, dropping such characters.
        text = _marked_text(tree, roots, clean=True)
    return _split_blocks(text)


_BLOCK_XSLT = etree.XSLT(etree.XML(f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="UTF-8"/>
<xsl:template match="{'|'.join(sorted(SKIP_TAGS))}"><xsl:text>{_BLOCK_MARK}</xsl:text></xsl:template>
<xsl:template match="{'|'.join(sorted(BLOCK_TAGS))}"><xsl:text>{_BLOCK_MARK}</xsl:text><xsl:apply-templates/><xsl:text>{_BLOCK_MARK}</xsl:text></xsl:template>
</xsl:stylesheet>""".encode()))


def _marked_text(tree: Any, roots: dict[Any, str], clean: bool) -> str:
    """The visible text with a mark at every block boundary, rendered by libxslt in C.

    Region roots (few) get their own marks by a brief change to the tree.
    """
    saved: list[tuple[Any, str | None, str | None]] = []

    def scrub(value: str | None) -> str | None:
        return _CONTROL.sub("", value) if clean and value else value

    try:
        for el, region in roots.items():
            text, tail = scrub(el.text), scrub(el.tail)
            saved.append((el, text, tail))
            el.text = _REGION_OPEN + _REGION_LETTER[region] + (text or "")
            el.tail = _REGION_CLOSE + (tail or "")
        return str(_BLOCK_XSLT(tree))
    finally:
        for el, old_text, old_tail in reversed(saved):
            try:
                el.text = old_text
                el.tail = old_tail
            except ValueError:
                el.text = _CONTROL.sub("", old_text or "") or None
                el.tail = _CONTROL.sub("", old_tail or "") or None


def _split_blocks(text: str, checked: bool = False) -> list[TextBlock]:
    """Blocks between marks, whitespace collapsed once for the whole page.

    ``checked``: the caller found no control character in ``text``.
    """
    if not checked and _has_control(text):
        text = _CONTROL.sub("", text)  # &#7; etc. survive parsing; never visible
    text = " ".join(text.split())  # str.split() knows the same whitespace as \\s, in C
    mark = _BLOCK_MARK
    if _REGION_OPEN not in text:
        return [_new(TextBlock, (t, "main")) for chunk in text.split(mark) if (t := chunk.strip())]
    blocks: list[TextBlock] = []
    region = "main"
    outer: list[str] = []  # the regions around the current one
    parts = _region_split(text)  # text, token, text, token, ...: tokens are few
    for i, part in enumerate(parts):
        if i % 2:
            if part == _REGION_CLOSE:
                region = outer.pop() if outer else "main"
            else:
                outer.append(region)
                opened = _LETTER_REGION.get(part[1], "main")
                # the outermost header, footer or nav names the region; a third party's
                # entry names it wherever it sits
                if region == "main" or opened == THIRD_PARTY:
                    region = opened
        elif part:
            blocks += [_new(TextBlock, (t, region)) for chunk in part.split(mark) if (t := chunk.strip())]
    return blocks


def _region_split(text: str) -> list[str]:
    """``_REGION_SPLIT.split(text)`` by C-level searches for the two mark characters (the regex
    tests every position: a third of the blocks' cost on a large page)."""
    parts: list[str] = []
    find = text.find
    start = 0
    opening, closing = find(_REGION_OPEN), find(_REGION_CLOSE)
    while opening >= 0 or closing >= 0:
        if closing < 0 or 0 <= opening < closing:
            at = opening
            if at + 1 >= len(text) or text[at + 1] == "\n":  # the regex's "." needs a character, not a newline
                opening = find(_REGION_OPEN, at + 1)
                continue
            end = at + 2
        else:
            at, end = closing, closing + 1
        parts += (text[start:at], text[at:end])
        start = end
        if opening < end:
            opening = find(_REGION_OPEN, end)
        if closing < end:
            closing = find(_REGION_CLOSE, end)
    parts.append(text[start:])
    return parts


# ``tuple.__new__(TextBlock, (text, region))`` is ``TextBlock(text, region)`` without the
# Python-level ``__new__`` a NamedTuple adds: half the cost, and pages hold thousands.
_new = tuple.__new__


def _region_index(roots: dict[Any, str], tag: str) -> dict[Any, str]:
    index: dict[Any, str] = {}
    for root, region in roots.items():
        for el in root.iter(tag):
            index[el] = region
    return index


def _capped(web_flags: list[bool]) -> list[int]:
    """Indexes of the links :data:`MAX_LINKS` keeps, given whether each is a web link: past
    the cap, web links lose their middle (the first and last halves stay), others their tail."""
    web = sum(web_flags)
    half = MAX_LINKS // 2
    kept: list[int] = []
    seen_web = other = 0
    for i, is_web in enumerate(web_flags):
        if is_web:
            seen_web += 1
            if web > MAX_LINKS and half < seen_web <= web - half:
                continue
        else:
            other += 1
            if other > MAX_LINKS:
                continue
        kept.append(i)
    return kept


def _capped_anchors(elements: list[Any], hidden: set[Any]) -> list[tuple[Any, str]]:
    """Visible anchors with an href: web links capped as :data:`MAX_LINKS` says, others at it."""
    anchors: list[tuple[Any, str]] = []
    for el in elements:
        raw_href = _attr(el, "href")
        if raw_href and el not in hidden:
            anchors.append((el, raw_href))
    return [anchors[i] for i in _capped([_WEB_HREF.match(href) is not None for _el, href in anchors])]


_WALKED = ("a", "script", "form", "base", "link", "meta", "title", *_INVISIBLE_ROOTS)


def _declared_lang(tree: Any, metas: list[Any]) -> str | None:
    """The page's language as ``<html lang>`` declares it, else a Content-Language meta."""
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    if root is not None and root.get("lang"):
        lang: str | None = root.get("lang").strip() or None
        if lang is not None:
            return lang
    for meta in metas:
        if _attr(meta, "http-equiv").lower() == "content-language":
            return _attr(meta, "content") or None
    return None


def _build(tree: Any, url: str, html: str) -> ParsedPage:
    found: dict[str, list[Any]] = {tag: [] for tag in _WALKED}
    for el in tree.iter(*_WALKED):  # one C-level walk for every tag read below
        found[el.tag].append(el)
    base_url = url
    for base in found["base"][:1]:
        href = _attr(base, "href")
        if href:
            base_url = _safe_urljoin(url, href)
    join = _Joiner(base_url)

    scripts = [
        Script(
            src=join(src) if (src := _attr(el, "src")) else None,
            text=(el.text or "")[:MAX_SCRIPT_TEXT],
            attrs={k: v for k, v in el.attrib.items() if isinstance(v, str)},
        )
        for el in found["script"]
    ]
    class_values = frozenset(_CLASS_VALUES(tree))  # kept: the chat extractor reads them too
    id_values = frozenset(_ID_VALUES(tree))
    candidates, cf_elements = _scan(tree, html, class_values, id_values)
    roots = _region_roots(candidates)
    blocks = _visible_blocks(tree, roots)
    entries = find_sections(tree, (b.text for b in blocks), url)
    if entries:  # a web agency, host or authority: its blocks and links are set apart
        roots = {**roots, **dict.fromkeys(entries, THIRD_PARTY)}
        blocks = _visible_blocks(tree, roots)
    link_regions = _region_index(roots, "a")
    link_regions.update(_region_index(dict.fromkeys(entries, THIRD_PARTY), "a"))
    links: list[Link] = []
    invisible = [el for tag in _INVISIBLE_ROOTS for el in found[tag]]  # few, and small
    hidden_links = {a for el in invisible for a in el.iter("a")}
    for el, raw_href in _capped_anchors(found["a"], hidden_links):
        links.append(
            Link(
                href=join(raw_href),
                raw_href=raw_href,
                text=" ".join(text_of(el).split()),
                region=link_regions.get(el, "main"),
                title=_attr(el, "title") or _attr(el, "aria-label"),
            )
        )
    hidden = {f for el in invisible for f in el.iter("form")}
    forms = [_form(el, base_url) for el in found["form"] if el not in hidden]
    cfemails = [(_attr(el, "data-cfemail"), "") for el in cf_elements]

    lang = _declared_lang(tree, found["meta"])
    hreflangs = tuple(
        _attr(link, "hreflang")
        for link in found["link"]
        if _attr(link, "hreflang") and "alternate" in _attr(link, "rel").lower()
    )
    title = ""
    for t in found["title"][:1]:
        title = " ".join(text_of(t).split())
    return ParsedPage(
        url=url,
        html=html,
        tree=tree,
        lang=lang,
        hreflangs=hreflangs,
        title=title,
        blocks=blocks,
        links=links,
        scripts=scripts,
        forms=forms,
        cfemails=cfemails,
        class_values=class_values,
        id_values=id_values,
    )


def _label_for(form: Any, el: Any) -> str:
    el_id = _attr(el, "id")
    if el_id:
        for label in form.iter("label"):
            if _attr(label, "for") == el_id:
                return " ".join(text_of(label).split())
    parent = el.getparent()
    while parent is not None and parent is not form:
        if parent.tag == "label":
            return " ".join(text_of(parent).split())
        parent = parent.getparent()
    return ""


def _form(el: Any, base_url: str) -> Form:
    fields: list[FormField] = []
    for child in el.iter("input", "textarea", "select"):
        fields.append(
            FormField(
                tag=child.tag,
                type=(_attr(child, "type") or ("textarea" if child.tag == "textarea" else "text")).lower(),
                name=_attr(child, "name"),
                id=_attr(child, "id"),
                placeholder=_attr(child, "placeholder"),
                label=_label_for(el, child),
                autocomplete=_attr(child, "autocomplete"),
            )
        )
    action = _attr(el, "action")
    return Form(
        action=_safe_urljoin(base_url, action) if action else base_url,
        method=(_attr(el, "method") or "get").lower(),
        fields=tuple(fields),
        text=" ".join(text_of(el).split())[:2000],
        attrs={k: v for k, v in el.attrib.items() if isinstance(v, str)},
        source=etree.tostring(el, method="html", encoding="unicode")[:50_000],
    )


def _tag_ids(*names: str) -> tuple[int, ...]:
    """Lexbor's tag ids of these standard tags (constants of the library: read once, not assumed)."""
    document = LexborHTMLParser("".join(f"<{name}></{name}>" for name in names))
    found = {n.tag: int(n.tag_id) for n in document.css(", ".join(names))}
    return tuple(found[name] for name in names)


_INPUT_ID, _TEXTAREA_ID, _SELECT_ID, _LABEL_ID = _tag_ids("input", "textarea", "select", "label")
_FIELD_IDS = frozenset((_INPUT_ID, _TEXTAREA_ID, _SELECT_ID))


def _lexbor_form(view: _LexborView, node: LexborNode, base_url: str, join: _Joiner) -> Form:
    """:func:`_form` of the copied form, read from Lexbor's nodes (the copy is made for the markup alone)."""
    fields: list[FormField] = []
    # one pass over the form's elements in document order (cheaper than two CSS queries):
    # its fields, and the labels a field's label is one of (by its id, else around it)
    controls: list[LexborNode] = []
    labels: list[LexborNode] = []
    for el in node.traverse():
        tid = el.tag_id
        if tid in _FIELD_IDS:
            controls.append(el)
        elif tid == _LABEL_ID:
            labels.append(el)
    label_for: list[tuple[str, LexborNode]] | None = None
    form_id = node.mem_id
    control = view.control
    for child in controls:
        tag = view.tag(child)
        attrs = {k: (clean(v) if control else v).strip() for k, v in child.attributes.items() if v}
        el_id = attrs.get("id", "")
        label = None
        if el_id and labels:
            if label_for is None:
                label_for = [(view.value(lb, "for").strip(), lb) for lb in labels]
            label = next((lb for for_id, lb in label_for if for_id == el_id), None)
        if label is None and labels:
            parent = child.parent
            while parent is not None and parent.mem_id != form_id:
                if view.tag(parent) == "label":
                    label = parent
                    break
                parent = parent.parent
        fields.append(FormField(  # positional: a third cheaper than keywords, and forms are many
            tag,
            (attrs.get("type") or ("textarea" if tag == "textarea" else "text")).lower(),
            attrs.get("name", ""),
            el_id,
            attrs.get("placeholder", ""),
            " ".join(view.text(label).split()) if label is not None else "",
            attrs.get("autocomplete", ""),
        ))
    action = view.value(node, "action").strip()
    drop, separate = view.drop, bool(view.spaced)
    return Form(
        action=join.exact(action) if action else base_url,
        method=(view.value(node, "method").strip() or "get").lower(),
        fields=tuple(fields),
        text=" ".join(view.text(node).split())[:2000],
        attrs=_copied_attrs(node, control),
        source=lambda: etree.tostring(copy_element(node, drop, separate), method="html", encoding="unicode")[:50_000],
    )


def extract_structured(tree: Any, url: str, html: str) -> dict[str, list[Any]]:
    """JSON-LD and microdata via extruct, tolerant of broken markup."""
    out: dict[str, list[Any]] = {"json-ld": [], "microdata": []}
    if "ld+json" in html:
        try:
            from extruct.jsonld import JsonLdExtractor

            out["json-ld"] = JsonLdExtractor().extract_items(tree, base_url=url)
        except Exception:  # noqa: BLE001 - hostile JSON must not stop extraction
            try:
                out["json-ld"] = _lenient_jsonld(tree)
            except RecursionError:
                out["json-ld"] = []
    if "itemscope" in html:
        try:
            from extruct.w3cmicrodata import MicrodataExtractor

            out["microdata"] = MicrodataExtractor().extract_items(tree, url)
        except Exception:  # noqa: BLE001
            out["microdata"] = []
    return out


def _lenient_jsonld(tree: Any) -> list[Any]:
    items: list[Any] = []
    for script in tree.iter("script"):
        if "ld+json" not in (_attr(script, "type") or ""):
            continue
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):
            continue
        items.extend(data if isinstance(data, list) else [data])
    return items


# --- The page model read from Lexbor's tree -----------------------------------------------
#
# Copying Lexbor's tree into lxml elements costs several times Lexbor's parse (Python
# creates an lxml element per node). The walk below reads Lexbor's nodes once and yields
# what the copy and its libxslt text pass yield: the same text stream with block and
# region marks, the same elements in document order. Queries go to Lexbor's CSS engine.
# Pages this reading would not model exactly get the copy instead: CSS-reversed text, tags
# nested past MAX_DEPTH, control characters. Third parties' entries are found in Lexbor's
# tree as in the copy (``find_lexbor_sections``), and the walk is run again with them as
# regions; the space the copy puts between a label element and an address goes into the
# text stream and every text read from the view (``_LexborView.spaced``).

_CSS_NAME = re.compile(r"^[a-z_][a-z0-9_-]*$")  # an attribute or tag name CSS takes unescaped
_CSS_TAG = _CSS_NAME
_ROLES = ("contentinfo", "banner", "navigation")
_INLINE_TAGS = frozenset("a abbr b bdi bdo cite code em font i kbd label mark q s samp small span strong sub sup u var".split())
_ALNUM_END = re.compile(r"\w$")
_ADDRESS_START = re.compile(r"^\s*\w[\w.+-]*@")
_TREE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LXML_TAG_OK: dict[str, str] = {}


def _copied_tag(tag: str) -> str:
    """The tag the lxml copy gives an element (a name lxml refuses becomes ``span``)."""
    name = _LXML_TAG_OK.get(tag)
    if name is None:
        try:
            etree.Element(tag)
            name = tag
        except ValueError:
            name = "span"
        if len(_LXML_TAG_OK) < 10_000:
            _LXML_TAG_OK[tag] = name
    return name


class _Attributes:
    """An element's attributes as the lxml copy has them: ``get`` and ``tag`` like an lxml element's."""

    __slots__ = ("attrs", "tag", "control")

    def __init__(self, node: LexborNode, tag: str, control: bool) -> None:
        self.attrs = node.attributes  # one dict: Lexbor's lookup of a missing name raises and catches
        self.tag = tag
        self.control = control

    def get(self, name: str) -> str | None:
        if name not in self.attrs:
            return None
        value = self.attrs[name]
        if value is None:
            return ""
        return clean(value) if self.control else value


def _copied_attrs(node: LexborNode, control: bool) -> dict[str, str]:
    """``node``'s attributes as the lxml copy keeps them (names lxml refuses dropped)."""
    out: dict[str, str] = {}
    for name, value in node.attributes.items():
        if lxml_accepts(name):
            out[name] = clean(value or "") if control else (value or "")
    return out


class _LexborView:
    """Queries over Lexbor's document, answering as the lxml copy would."""

    def __init__(self, document: LexborHTMLParser, drop: bool, control: bool, tags: dict[int, str],
                 source: str = "") -> None:
        self.document = document
        self.source = source  # the text Lexbor parsed (see :func:`parse_document`), for the lxml copy
        self.drop = drop
        self.control = control  # attribute values may hold control characters the copy drops
        self.tags = tags  # Lexbor tag id -> the copy's tag name, for this document
        self.regions: dict[int, str] = {}  # mem_id -> region, of the nodes ``region`` climbed
        # mem_ids of the elements the copy puts a space before (see ``_spaced_rights``)
        self.spaced: frozenset[int] = frozenset()
        self.reversed = False  # the document's CSS-reversed text was read as shown (see ``_read_reversed``)

    def tag(self, node: LexborNode) -> str:
        tid = node.tag_id
        name = self.tags.get(tid)
        if name is None:
            name = self.tags[tid] = _copied_tag(node.tag or "span")
        return name

    def text(self, node: LexborNode) -> str:
        """XPath ``string()`` of the copied element."""
        text = node.text(deep=True) or "" if not self.spaced else self.spaced_text(node)
        if self.drop:
            text = visible_chars(text)
        return clean(text) if self.control else text

    def spaced_text(self, node: LexborNode) -> str:
        """``node``'s text with the space the copy puts before each element of ``spaced`` inside it."""
        parts: list[str] = []
        spaced, own = self.spaced, node.mem_id
        for inner in node.traverse(include_text=True):
            if inner.is_text_node:
                parts.append(inner.text_content or "")
            elif inner.mem_id in spaced and inner.mem_id != own:
                parts.append(" ")
        return "".join(parts)

    def value(self, node: LexborNode, name: str) -> str:
        value = node.attrs.get(name) or ""
        return clean(value) if self.control else value

    def values(self, nodes: list[LexborNode], name: str) -> list[str]:
        """``name``'s value on each of ``nodes`` (all carry it)."""
        try:  # indexing skips ``get``'s Python-level try (a catalogue page has thousands)
            values = [n.attrs[name] or "" for n in nodes]
        except KeyError:  # a node CSS matched by another spelling of the name
            values = [n.attrs.get(name) or "" for n in nodes]
        return [clean(v) for v in values] if self.control else values

    def carrying(self, selector: str, *names: str) -> list[LexborNode]:
        """Elements ``selector`` matches that carry attributes ``names`` as spelled: CSS also
        matches a namespaced ``xlink:href`` for ``href`` and ``viewBox`` for ``viewbox``, which the
        copy drops or spells otherwise."""
        return [n for n in self.document.css(selector) if all(name in n.attributes for name in names)]

    def has_attribute(self, name: str) -> bool:
        return any(name in n.attributes for n in self.document.css(f"[{name}]"))

    def attribute_values(self, name: str) -> list[str]:
        return self.values(self.carrying(f"[{name}]", name), name)

    def attribute_pairs(self, first: str, second: str, tag: str) -> list[tuple[str, str]]:
        return [
            (self.value(n, first), self.value(n, second))
            for n in self.carrying(f"{'' if tag == '*' else tag}[{first}][{second}]", first, second)
        ]

    def frame_sources(self) -> list[str]:
        return [self.value(n, "src") or self.value(n, "data-src") for n in self.document.css("iframe")]

    def anchor_hrefs(self) -> list[str]:
        hrefs = [self.value(n, "href") for n in self.document.css("a[href]")]
        for el in self.document.css("noscript"):
            text = self.leading_text(el)
            if text and "href" in text:
                hrefs += [str(h) for h in _HREFS(parse_html(text))]
        return hrefs

    def leading_text(self, node: LexborNode) -> str:
        """The copied element's ``.text``: its text nodes before its first other child."""
        parts = []
        child = node.first_child
        while child is not None and child.is_text_node:
            parts.append(child.text_content or "")
            child = child.next
        text = "".join(parts)
        if self.drop:
            text = visible_chars(text)
        return clean(text) if self.control else text

    def text_around(self, attribute: str, value: str) -> str | None:
        for el in self.carrying(f"[{attribute}]", attribute):
            if self.value(el, attribute) == value:
                parent = el.parent
                target = parent if parent is not None and parent.is_element_node else el
                return " ".join(self.text(target).split())
        return None

    def region(self, node: LexborNode) -> str:
        """The region of ``node`` from its ancestors' tags, roles, ids and classes: the first
        that is not "main", from the root down. Contact elements share their ancestors, so
        each node's region is kept."""
        regions = self.regions
        chain = [node]
        parent = node.parent
        while parent is not None and parent.is_element_node and parent.mem_id not in regions:
            chain.append(parent)
            parent = parent.parent
        region = regions.get(parent.mem_id, "main") if parent is not None and parent.is_element_node else "main"
        for anc in reversed(chain):
            region = regions[anc.mem_id] = _region_of(_Attributes(anc, self.tag(anc), self.control), region)
        return region

    def contact_attributes(self, html: str) -> list[ContactAttribute]:
        out: list[ContactAttribute] = []
        for node, el in self.contact_elements(html)[:MAX_CONTACT_ATTRIBUTES]:
            tag = el.tag
            names = ("content",) if tag == "meta" else _PUBLISHED_ATTRIBUTES
            region = self.region(node)
            text = " ".join(self.text(node).split())[:200] if tag != "meta" else ""
            for name in names:
                value = el.get(name)
                if isinstance(value, str) and value.strip():
                    out.append(ContactAttribute(tag, name, value.strip()[:300], region, text))
        return out

    def contact_elements(self, html: str) -> list[tuple[LexborNode, _Attributes]]:
        """What :func:`_contact_elements` selects in the copy, in document order."""
        data = _DATA_ATTRIBUTES.search(html) is not None
        # the copy drops control characters from values: a hint may span one ("pho&#1;ne")
        selector = _CONTACT_SELECTOR if self.control else _CONTACT_CANDIDATES
        if data:
            selector += ", [data-phone], [data-tel], [data-telephone], [data-email], [data-mail]"
        found: list[tuple[LexborNode, _Attributes]] = []
        hints: dict[str, bool] = {}
        seen: set[int] = set()
        for node in self.document.css(selector):
            # a node matching several selectors comes once per selector
            if node.mem_id in seen:
                continue
            seen.add(node.mem_id)
            el = _Attributes(node, self.tag(node), self.control)
            if data and any(name in el.attrs for name in _DATA_NAMES):
                found.append((node, el))
                continue
            if _contact_element(el, hints):
                found.append((node, el))
        return _with_icon_hosts(found, self._parent_pair, lambda pair: pair[1].tag, lambda pair: pair[0].mem_id)

    def _parent_pair(self, pair: tuple[LexborNode, _Attributes]) -> tuple[LexborNode, _Attributes] | None:
        node = pair[0].parent
        return None if node is None or node.tag in (None, "-document") else (node, _Attributes(node, self.tag(node), self.control))

    def jsonld_tree(self) -> Any:
        """A tree of the page's JSON-LD scripts alone (what extruct reads of the page)."""
        root = etree.Element("html")
        for node in self.document.css("script[type]"):
            kind = self.value(node, "type")
            if "ld+json" in kind:
                script = etree.SubElement(root, "script", type=kind)
                script.text = self.leading_text(node)
        return root


_DATA_NAMES = ("data-phone", "data-tel", "data-telephone", "data-email", "data-mail")
# The contact tags carrying what ``_contact_element`` reads (an element with none of it is
# never one): Lexbor drops the bare spans, links and icons, not Python.
_CONTACT_SELECTOR = ":is(a, button):is([href], [class], [id], [src]), :is(i, span, img, svg):is([class], [id], [src]), meta"
# Where attribute values hold no control character, more: a contact scheme in the href, a hint
# word in the class, id or src (case aside), as ``_contact_element`` then checks exactly.
_HINTED = ", ".join(f'[{name}*="{word}" i]' for name in ("class", "id", "src") for word in _HINT_WORDS)
_SCHEMED = ", ".join(f'[href*="{scheme}" i]' for scheme in _CONTACT_SCHEMES)
_CONTACT_CANDIDATES = f":is(a, button):is({_SCHEMED}), :is(a, button, i, span, img, svg):is({_HINTED}), meta"


def _contact_element(el: Any, hints: dict[str, bool]) -> bool:
    """Whether ``el`` (an lxml element or :class:`_Attributes`) is a contact element by its tag,
    href, itemprop, class, id or src (the ``data-*`` branch aside)."""
    tag = el.tag
    if tag == "meta":
        return el.get("itemprop") in _META_PROPS and el.get("content") is not None
    if tag in ("a", "button"):
        href = el.get("href")
        if href is not None and href.translate(_SCHEME_LOWER).lstrip(" \t\r\n").startswith(_CONTACT_SCHEMES):
            return True
    for name in ("class", "id", "src"):
        value = el.get(name)
        if value:
            hit = hints.get(value)
            if hit is None:
                folded = value.translate(_HINT_LOWER)
                hit = hints[value] = any(word in folded for word in _HINT_WORDS)
            if hit:
                return True
    return False


class _Walk:
    """One pass over Lexbor's nodes: the copy's text stream and the elements the model reads."""

    def __init__(self, view: _LexborView, roots: dict[int, str], want_pairs: bool, root_tags: frozenset[int]) -> None:
        self.view = view
        self.roots = roots  # mem_id -> region letter of the outermost region elements
        self.root_tags = root_tags  # their Lexbor tag ids: elements of other tags are not looked up
        self.want_pairs = want_pairs
        self.out: list[str] = []
        self.found: dict[str, list[LexborNode]] = {tag: [] for tag in _WALKED}
        self.anchors: list[tuple[LexborNode, str, bool]] = []  # node, region, hidden
        self.forms: list[LexborNode] = []  # visible ones
        # adjacent inline siblings with nothing between them (a label and an address may touch
        # there), with where the right one's text starts in ``out`` (-1: not shown)
        self.pairs: list[tuple[LexborNode, LexborNode, int]] = []
        self.exact = True  # False: the copy differs from this reading (too deep)

    def run(self, root: LexborNode) -> None:
        """Walk ``root``'s descendants in document order, depth first.

        The state of the element being read lives in locals (a list per level cost a third
        more); entering an element saves its parent's state on ``stack``, leaving restores it.
        """
        roots, out, found, anchors, forms, pairs = self.roots, self.out, self.found, self.anchors, self.forms, self.pairs
        root_tags = self.root_tags
        # Lexbor tag id -> the copy's tag, what the walk does with it (standard tags known already)
        kinds: dict[int, tuple[str, int]] = _STANDARD_KINDS.copy()
        want_pairs = self.want_pairs
        max_stack = MAX_DEPTH - 1
        # module constants as locals: read for every node
        text_id, block_mark, region_open, region_close = _TEXT_ID, _BLOCK_MARK, _REGION_OPEN, _REGION_CLOSE
        is_node, is_inline, is_walked, is_invisible, is_skip, is_block = _K_NODE, _K_INLINE, _K_WALKED, _K_INVISIBLE, _K_SKIP, _K_BLOCK
        stack: list[tuple[Any, ...]] = []
        # the element being read: next node, emit text, hidden, region, last copied child is
        # inline element (its inline bit; None: no element yet; 0 or False: other), tail seen,
        # that child, closing marks
        node: LexborNode | None = root.first_child
        emit, hidden, region = True, False, "main"
        last_inline: int | None = None
        tail_seen = True
        prev: LexborNode | None = None
        closing = ""
        while True:
            if node is None:
                if not stack:
                    return
                done = closing
                node, emit, hidden, region, last_inline, tail_seen, prev, closing = stack.pop()
                if done and emit:
                    out.append(done)
                continue
            tid = node.tag_id
            if tid == text_id:
                if emit:
                    out.append(node.text_content or "")
                tail_seen = True
                node = node.next
                continue
            kind = kinds.get(tid)
            if kind is None:
                kind = kinds[tid] = _walk_kind(node.tag or "")
            tag, flags = kind
            if flags & is_node:  # not an element
                if tag == "-text":
                    if emit:
                        out.append(node.text_content or "")
                    tail_seen = True
                elif tag == "-comment":
                    comment = node.comment_content
                    if comment is not None and "--" not in comment and not comment.endswith("-"):
                        last_inline, tail_seen = 0, False
                node = node.next
                continue
            if want_pairs:
                inline = flags & is_inline
                if inline and last_inline and not tail_seen and prev is not None:
                    pairs.append((prev, node, len(out) if emit else -1))
                last_inline = inline
                tail_seen = False
                prev = node
            child_hidden, child_region = hidden, region
            letter = roots.get(node.mem_id) if tid in root_tags else None
            if letter is not None and region != THIRD_PARTY:  # a third party's entry names all it holds
                child_region = _LETTER_REGION[letter]
            if flags & is_walked:
                found[tag].append(node)
                if tag == "a":
                    anchors.append((node, child_region, hidden))
                elif tag == "form" and not hidden:
                    forms.append(node)
                if flags & is_invisible:
                    child_hidden = True
            el_closing = ""
            child_emit = emit
            if flags & is_skip:
                if emit:
                    out.append(block_mark)
                    if letter is not None:
                        out.append(region_close)
                child_emit = False
            else:
                if flags & is_block:
                    if emit:
                        out.append(block_mark)
                    el_closing = block_mark
                if letter is not None:
                    if emit:
                        out.append(region_open + letter)
                    el_closing += region_close
            child = node.first_child
            if child is None:
                if el_closing and emit:
                    out.append(el_closing)
                node = node.next
                continue
            if len(stack) >= max_stack:
                self.exact = False  # the copy flattens here
                return
            if child.tag_id == text_id and child.next is None:
                # a lone text child (a link's, a cell's): read here, no state saved and restored
                if child_emit:
                    out.append(child.text_content or "")
                if el_closing and emit:
                    out.append(el_closing)
                node = node.next
                continue
            stack.append((node.next, emit, hidden, region, last_inline, tail_seen, prev, closing))
            node, emit, hidden, region = child, child_emit, child_hidden, child_region
            last_inline, tail_seen, prev, closing = None, True, None, el_closing


# What the walk does with a tag (bits of ``_walk_kind``'s second value).
_K_NODE, _K_INLINE, _K_WALKED, _K_INVISIBLE, _K_SKIP, _K_BLOCK = 1, 2, 4, 8, 16, 32


def _walk_kind(raw: str) -> tuple[str, int]:
    """The copy's tag for Lexbor's tag name ``raw``, and what the walk does with it."""
    if not raw or raw[0] in "-_#!":
        return raw, _K_NODE  # text, comment, doctype and the like: not an element
    tag = _copied_tag(raw)
    flags = 0
    if tag in _INLINE_TAGS:
        flags |= _K_INLINE
    if tag in _WALKED_SET:
        flags |= _K_WALKED
    if tag in _INVISIBLE_SET:
        flags |= _K_INVISIBLE
    if tag in SKIP_TAGS:
        flags |= _K_SKIP
    elif tag in BLOCK_TAGS:
        flags |= _K_BLOCK
    return tag, flags


_WALKED_SET = frozenset(_WALKED)


def _text_tag_id() -> int:
    """Lexbor's tag id of text nodes (a constant of the library: read once, not assumed)."""
    body = LexborHTMLParser("x").body
    text = body.first_child if body is not None else None
    return int(text.tag_id) if text is not None and text.is_text_node else -1


_TEXT_ID = _text_tag_id()
_INVISIBLE_SET = frozenset(_INVISIBLE_ROOTS)
# Frequent standard HTML tags beyond the sets above (each is otherwise looked up once per page).
_COMMON_TAGS = "input label optgroup picture source link area col colgroup ins del time canvas map param track wbr"


def _standard_kinds() -> dict[int, tuple[str, int]]:
    """``_walk_kind`` of standard tags by their Lexbor tag id, made once.

    A standard tag's id is a constant of the library (the same in every document), unlike a
    custom element's, which each document numbers itself: only small ids are standard.
    """
    names = {*BLOCK_TAGS, *SKIP_TAGS, *_INLINE_TAGS, *_WALKED, *_COMMON_TAGS.split()}
    kinds: dict[int, tuple[str, int]] = {}
    for name in sorted(names):
        tag_id = int(create_tag(name).tag_id)
        if tag_id < _STANDARD_TAG_IDS:
            kinds[tag_id] = _walk_kind(name)
    return kinds


_STANDARD_TAG_IDS = 1 << 16  # Lexbor's standard tags are numbered from 0 up, a few hundred of them
_STANDARD_KINDS = _standard_kinds()
_STANDARD_NAMES = {tag_id: tag for tag_id, (tag, _flags) in _STANDARD_KINDS.items()}  # for ``_LexborView.tag``


def _spaced_rights(view: _LexborView, pairs: list[tuple[LexborNode, LexborNode, int]]) -> frozenset[int]:
    """mem_ids of the elements the copy puts a space before: an address right after a label
    element (``_separate_labels``). Read before any space is: the copy's test sees none that
    matters (spaces inside the right element come later, those inside the left one not at its end)."""
    return frozenset(
        right.mem_id for left, right, _at in pairs
        if _ADDRESS_START.match(view.text(right)) and _ALNUM_END.search(view.text(left))
    )


_CLASS_SELECTOR = re.compile(r"^\.(-?[A-Za-z_][A-Za-z0-9_-]*)$")  # a class selector cssselect reads as it is

def _read_reversed(view: _LexborView, root: LexborNode, want_pairs: bool) -> bool:
    """``tree._read_reversed`` on Lexbor's document: an element whose inline style shows its text
    reversed (``direction: rtl; unicode-bidi: bidi-override``) gets that text, read as shown, in
    place of its children (the outermost one only), and so does one of a class the page's own
    style rules show reversed. False where only the copy reads it exactly.

    The copy separates labels from addresses before it reverses, so the spaces are found first
    (``view.spaced``). Not read here: style rules with other selectors than one class
    (cssselect's matching is the copy's own), a form holding reversed text (its markup
    copy would test the reversed text for labels), nesting the copy flattens.
    """
    names: set[str] = set()  # classes the page's own style rules show reversed
    for style in view.document.css("style"):
        for selectors, body in _CSS_RULE.findall(view.leading_text(style)):
            if "bidi-override" not in body or not _RTL.search(body):
                continue
            for selector in selectors.split(","):
                selector = selector.strip()
                if not selector:
                    continue  # cssselect refuses it: the copy skips it too
                simple = _CLASS_SELECTOR.match(selector)
                if simple is None:
                    return False  # matched as cssselect matches it, by the copy alone
                names.add(simple[1])
    found = [
        node for node in view.document.css("[style]")
        if "bidi-override" in (declared := view.value(node, "style")) and _RTL.search(declared)
    ]
    if names:  # cssselect's ".name": the name among the class's words split at XML whitespace
        found += [
            node for node in view.document.css("[class]")
            if any(f" {name} " in f" {normalize_space(view.value(node, 'class'))} " for name in names)
        ]
    if not found:
        return True
    chosen = {node.mem_id for node in found}
    outermost = []
    for node in found:
        in_form = False
        parent = node.parent
        while parent is not None and parent.is_element_node and parent.mem_id not in chosen:
            in_form = in_form or view.tag(parent) == "form"
            parent = parent.parent
        if parent is not None and parent.is_element_node:
            continue  # read with the reversed element around it
        if in_form:
            return False
        outermost.append(node)
    if want_pairs:
        walk = _Walk(view, {}, True, frozenset())
        walk.run(root)
        if not walk.exact:
            return False
        view.spaced = _spaced_rights(view, walk.pairs)
    for node in outermost:
        shown = view.text(node)[::-1]
        child = node.first_child
        while child is not None:
            after = child.next
            child.decompose()
            child = after
        if shown:
            node.insert_child(shown)
    view.reversed = True
    return True


def _walk_text(view: _LexborView, walk: _Walk) -> str:
    """The walk's text stream, with the copy's spaces between labels and addresses."""
    out = walk.out
    if view.spaced:
        for _left, right, at in reversed(walk.pairs):  # from the end: earlier places stay put
            if at >= 0 and right.mem_id in view.spaced:
                out.insert(at, " ")
    text = "".join(out)
    return visible_chars(text) if view.drop else text


def _lexbor_roots(view: _LexborView, document: LexborHTMLParser, class_values: list[str],
                  id_values: list[str], by_class: list[LexborNode], by_id: list[LexborNode]) -> dict[int, tuple[int, str]]:
    """Outermost elements that start a header, footer or nav region: mem_id -> (Lexbor tag id, region letter).

    ``class_values`` and ``id_values`` are the values of ``by_class`` and ``by_id``, in order.
    """
    classes = _hinting(frozenset(class_values))
    ids = _hinting(frozenset(id_values))
    # the order of candidates does not matter: each one's region is its own, and only
    # outermost ones are kept
    candidates = [
        n for n in document.css("header, footer, nav, [role]")
        if view.tag(n) in REGION_TAGS or view.value(n, "role") in _ROLES
    ]
    if classes:
        candidates += [n for n, value in zip(by_class, class_values, strict=True) if value in classes]
    if ids:
        candidates += [n for n, value in zip(by_id, id_values, strict=True) if value in ids]
    found: dict[int, tuple[LexborNode, str]] = {}
    for node in candidates:
        region = _region_of(_Attributes(node, view.tag(node), view.control), "main")
        if region != "main":
            found[node.mem_id] = (node, region)
    roots: dict[int, tuple[int, str]] = {}
    clear: set[int] = set()  # nodes neither found nor below a found one
    for mem_id, (node, region) in found.items():
        path = []
        parent = node.parent
        while parent is not None:
            parent_id = parent.mem_id
            if parent_id in found or parent_id in clear:
                break
            path.append(parent_id)
            parent = parent.parent
        if parent is None or parent.mem_id in clear:
            clear.update(path)
            roots[mem_id] = (node.tag_id, _REGION_LETTER[region])
    return roots


def _visible_href(node: LexborNode, control: bool) -> tuple[dict[str, str | None], str]:
    """An anchor's attributes (one dict: Lexbor's lookup of a missing name raises and catches)
    and its href as the copy has it, stripped."""
    attrs = node.attributes
    raw_href = attrs.get("href") or ""
    return attrs, (clean(raw_href) if control else raw_href).strip()


def _kept_anchors(anchors: list[tuple[LexborNode, str, bool]], control: bool) -> set[int]:
    """mem_ids of the visible anchors with an href that :data:`MAX_LINKS` keeps, as _capped_anchors keeps them."""
    rows: list[tuple[int, bool]] = []  # (mem_id, is a web link)
    for node, _region, hidden in anchors:
        raw_href = "" if hidden else _visible_href(node, control)[1]
        if raw_href:
            rows.append((node.mem_id, _WEB_HREF.match(raw_href) is not None))
    return {rows[i][0] for i in _capped([is_web for _mem_id, is_web in rows])}


def _lexbor_links(view: _LexborView, anchors: list[tuple[LexborNode, str, bool]], join: _Joiner) -> list[Link]:
    """The page's links from the walk's anchors (node, region, hidden), as ``_build`` makes them.

    The cap of :data:`MAX_LINKS` drops a link only when more web links, or more other links,
    than that carry an href: with no more anchors than that in all, every one is kept, read
    in one pass.
    """
    control, drop, spaced = view.control, view.drop, bool(view.spaced)
    keep = None if len(anchors) <= MAX_LINKS else _kept_anchors(anchors, control)
    links: list[Link] = []
    for node, region, hidden in anchors:
        if hidden:
            continue
        attrs = node.attributes  # _visible_href, inline
        raw_href = attrs.get("href") or ""
        raw_href = (clean(raw_href) if control else raw_href).strip()
        if not raw_href or (keep is not None and node.mem_id not in keep):
            continue
        title = attrs.get("title") or ""
        title = (clean(title) if control else title).strip()
        if not title:
            title = attrs.get("aria-label") or ""
            title = (clean(title) if control else title).strip()
        if spaced:
            text = view.text(node)
        else:  # view.text, inline: links are many
            text = node.text(deep=True) or ""
            if drop:
                text = visible_chars(text)
            if control:
                text = clean(text)
        links.append(_new(Link, (join(raw_href), raw_href, " ".join(text.split()), region, title)))
    return links


def _hreflangs(links: list[LexborNode], control: bool) -> Iterator[str]:
    """``hreflang`` of the alternate ``<link>``s, as the copy has them (both names are ones lxml
    takes): a page's many stylesheet and icon links have none, and only theirs is read."""
    for link in links:
        attrs = link.attributes
        hreflang = attrs.get("hreflang")
        if not hreflang:
            continue
        hreflang = (clean(hreflang) if control else hreflang).strip()
        rel = attrs.get("rel") or ""
        if hreflang and "alternate" in (clean(rel) if control else rel).strip().lower():
            yield hreflang


def _build_from_lexbor(html: str, url: str, scrubbed: bool = False) -> ParsedPage | None:
    """The page model read from Lexbor's tree, or None where only the lxml copy models it exactly.

    ``scrubbed``: ``html`` holds no control character (:func:`parse_page` removed them).
    """
    return _read_lexbor(*parse_document(html), html, url, scrubbed)


def _read_lexbor(document: LexborHTMLParser, flat: str, html: str, url: str, scrubbed: bool) -> ParsedPage | None:
    """:func:`_build_from_lexbor` of the ``document`` :func:`parse_document` made of ``html`` (``flat``)."""
    root = document.root
    if root is None:
        return None
    control = "&#" in flat or "\ufffe" in flat or "\uffff" in flat
    view = _LexborView(document, drops_invisible(flat), control, _STANDARD_NAMES.copy(), flat)
    if "bidi-override" in flat and not _read_reversed(view, root, "@" in flat):
        return None
    by_class = document.css("[class]")
    by_id = document.css("[id]")
    class_list = view.values(by_class, "class")
    id_list = view.values(by_id, "id")
    class_values = frozenset(class_list)
    id_values = frozenset(id_list)
    root_tags = _lexbor_roots(view, document, class_list, id_list, by_class, by_id)
    roots = {mem_id: letter for mem_id, (_tid, letter) in root_tags.items()}
    walk = _Walk(view, roots, "@" in flat, frozenset(tid for tid, _letter in root_tags.values()))
    root_tag = view.tag(root)
    if root_tag != "html":
        return None
    walk.out.append(_BLOCK_MARK)
    letter = roots.get(root.mem_id)
    if letter is not None:
        return None  # the copy's root is never a region mark's holder the same way
    walk.run(root)
    if not walk.exact:
        return None
    if walk.pairs and not view.reversed:  # a page with reversed text has them from before (see _read_reversed)
        view.spaced = _spaced_rights(view, walk.pairs)
    walk.out.append(_BLOCK_MARK)
    text = _walk_text(view, walk)
    # Text holds a control character only where the source does (``scrubbed`` says it does not),
    # from a numeric reference, or as U+FFFE/U+FFFF: ``control`` covers the last two.
    if (control or not scrubbed) and _TREE_CONTROL.search(text):
        return None
    blocks = _split_blocks(text, checked=True)
    marked = marked_blocks(b.text for b in blocks)
    if marked:
        entries = find_lexbor_sections(view, marked, url)
        if entries:  # a web agency, host or authority: its blocks and links are set apart (as in _build)
            roots.update((node.mem_id, _REGION_LETTER[THIRD_PARTY]) for node in entries)
            entry_tags = frozenset(tid for tid, _letter in root_tags.values()) | {node.tag_id for node in entries}
            walk = _Walk(view, roots, bool(view.spaced), entry_tags)
            walk.out.append(_BLOCK_MARK)
            walk.run(root)
            walk.out.append(_BLOCK_MARK)
            blocks = _split_blocks(_walk_text(view, walk), checked=True)

    found = walk.found
    base_url = url
    for base in found["base"][:1]:
        href = view.value(base, "href").strip()
        if href:
            base_url = _safe_urljoin(url, href)
    join = _Joiner(base_url)
    scripts = []
    for node in found["script"]:
        attrs = _copied_attrs(node, control)
        src = attrs.get("src", "").strip()
        scripts.append(Script(
            src=join(src) if src else None,
            text=view.leading_text(node)[:MAX_SCRIPT_TEXT],
            attrs=attrs,
        ))
    links = _lexbor_links(view, walk.anchors, join)
    forms = [_lexbor_form(view, node, base_url, join) for node in walk.forms]
    cfemails = (
        [(view.value(n, "data-cfemail").strip(), "") for n in document.css("[data-cfemail]")]
        if "data-cfemail" in html else []
    )
    lang: str | None = view.value(root, "lang").strip() or None
    if lang is None:
        for meta in found["meta"]:
            if view.value(meta, "http-equiv").strip().lower() == "content-language":
                lang = view.value(meta, "content").strip() or None
                break
    hreflangs = tuple(_hreflangs(found["link"], control))
    title = ""
    for t in found["title"][:1]:
        title = " ".join(view.text(t).split())
    return ParsedPage(
        url=url,
        html=html,
        tree=None,
        lang=lang,
        hreflangs=hreflangs,
        title=title,
        blocks=blocks,
        links=links,
        scripts=scripts,
        forms=forms,
        cfemails=cfemails,
        class_values=class_values,
        id_values=id_values,
        _lexbor=view,
    )
