"""Parse a page once into everything the extractors need.

Each extractor works on a :class:`ParsedPage`, never on raw HTML, so a page is
decoded and parsed a single time however many extractors read it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

BLOCK_TAGS = frozenset(
    """address article aside blockquote body br caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main menu
    nav ol option p pre section summary table tbody td tfoot th thead tr ul select textarea
    button iframe img""".split()
)
SKIP_TAGS = frozenset("script style noscript template svg head title object embed".split())
REGION_TAGS = {"header": "header", "footer": "footer", "nav": "nav"}
_REGION_HINT = re.compile(r"(footer|header|navbar|nav\b|menu|topbar|bottom)", re.I)
MAX_SCRIPT_TEXT = 200_000


@dataclass(frozen=True)
class TextBlock:
    """Text of one block element with its inline children joined."""

    text: str
    region: str  # header, footer, nav or main


@dataclass(frozen=True)
class Link:
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


@dataclass
class ParsedPage:
    """A decoded, parsed page: the only input extractors get."""

    url: str
    html: str
    tree: Any  # lxml.html.HtmlElement
    lang: str | None
    hreflangs: tuple[str, ...]
    title: str
    blocks: list[TextBlock]
    links: list[Link]
    scripts: list[Script]
    forms: list[Form]
    cfemails: list[tuple[str, str]]  # (encoded hex, context)
    _structured: dict[str, list[Any]] | None = None

    @property
    def text(self) -> str:
        """Visible text with one line per block."""
        return "\n".join(b.text for b in self.blocks)

    @property
    def structured(self) -> dict[str, list[Any]]:
        """JSON-LD and microdata items (extruct), computed on first use."""
        if self._structured is None:
            self._structured = extract_structured(self.tree, self.url, self.html)
        return self._structured


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Decode a response body the way browsers do: BOM, header, meta, then sniff."""
    _enc, text = html_to_unicode(content_type, body)
    return text


def parse_page(body: bytes | str, url: str, content_type: str | None = None) -> ParsedPage:
    """Decode and parse ``body`` fetched from ``url``.

    Never raises on malformed input: an unparsable body yields an empty page.
    """
    html = decode_body(body, content_type) if isinstance(body, bytes) else body
    html = html.replace("\x00", "")
    try:
        tree = lxml.html.document_fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        tree = lxml.html.document_fromstring("<html></html>")
    return _build(tree, url, html)


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


def _build(tree: Any, url: str, html: str) -> ParsedPage:
    base_url = url
    for base in tree.iter("base"):
        href = _attr(base, "href")
        if href:
            base_url = _safe_urljoin(url, href)
        break

    blocks: list[TextBlock] = []
    links: list[Link] = []
    scripts: list[Script] = []
    forms: list[Form] = []
    cfemails: list[tuple[str, str]] = []

    current: list[str] = []
    region_stack: list[str] = ["main"]
    skip_depth = 0
    # open anchors: element -> (start index into a running text list)
    anchor_parts: dict[Any, list[str]] = {}

    def flush() -> None:
        if current:
            text = " ".join("".join(current).split())
            if text:
                blocks.append(TextBlock(text, region_stack[-1]))
            current.clear()

    def add_text(text: str | None) -> None:
        if text and not skip_depth:
            current.append(text)
            for parts in anchor_parts.values():
                parts.append(text)

    for event, el in etree.iterwalk(tree, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            if not tag:  # comment or processing instruction: only its tail counts
                continue
            if tag in SKIP_TAGS:
                if tag == "script":
                    src = _attr(el, "src")
                    scripts.append(
                        Script(
                            src=_safe_urljoin(base_url, src) if src else None,
                            text=(el.text or "")[:MAX_SCRIPT_TEXT],
                            attrs={k: v for k, v in el.attrib.items() if isinstance(v, str)},
                        )
                    )
                skip_depth += 1
                continue
            if skip_depth:
                continue
            region_stack.append(_region_of(el, region_stack[-1]))
            if tag in BLOCK_TAGS:
                flush()
            if tag == "a":
                anchor_parts[el] = []
            if el.get("data-cfemail"):
                cfemails.append((_attr(el, "data-cfemail"), ""))
            add_text(el.text)
        else:
            if not tag:
                add_text(el.tail)
                continue
            if tag in SKIP_TAGS:
                skip_depth -= 1
                add_text(el.tail)
                continue
            if skip_depth:
                continue
            if tag == "a":
                parts = anchor_parts.pop(el, [])
                raw_href = _attr(el, "href")
                if raw_href:
                    links.append(
                        Link(
                            href=_safe_urljoin(base_url, raw_href),
                            raw_href=raw_href,
                            text=" ".join("".join(parts).split()),
                            region=region_stack[-1],
                            title=_attr(el, "title") or _attr(el, "aria-label"),
                        )
                    )
            elif tag == "form":
                forms.append(_form(el, base_url))
            if tag in BLOCK_TAGS:
                flush()
            region_stack.pop()
            add_text(el.tail)
    flush()

    lang = None
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    if root is not None and root.get("lang"):
        lang = root.get("lang").strip() or None
    hreflangs = tuple(
        _attr(link, "hreflang")
        for link in tree.iter("link")
        if _attr(link, "hreflang") and "alternate" in _attr(link, "rel").lower()
    )
    if lang is None:
        for meta in tree.iter("meta"):
            if _attr(meta, "http-equiv").lower() == "content-language":
                lang = _attr(meta, "content") or None
                break
    title = ""
    for t in tree.iter("title"):
        title = " ".join((t.text_content() or "").split())
        break
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
    )


def _label_for(form: Any, el: Any) -> str:
    el_id = _attr(el, "id")
    if el_id:
        for label in form.iter("label"):
            if _attr(label, "for") == el_id:
                return " ".join(label.text_content().split())
    parent = el.getparent()
    while parent is not None and parent is not form:
        if parent.tag == "label":
            return " ".join(parent.text_content().split())
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
        text=" ".join(el.text_content().split())[:2000],
        attrs={k: v for k, v in el.attrib.items() if isinstance(v, str)},
    )


def extract_structured(tree: Any, url: str, html: str) -> dict[str, list[Any]]:
    """JSON-LD and microdata via extruct, tolerant of broken markup."""
    out: dict[str, list[Any]] = {"json-ld": [], "microdata": []}
    if "ld+json" in html:
        try:
            from extruct.jsonld import JsonLdExtractor

            out["json-ld"] = JsonLdExtractor().extract_items(tree, base_url=url)
        except Exception:  # noqa: BLE001 - hostile JSON must not stop extraction
            out["json-ld"] = _lenient_jsonld(tree)
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
        except ValueError:
            continue
        items.extend(data if isinstance(data, list) else [data])
    return items
