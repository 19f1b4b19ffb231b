"""Where addresses are found: mailto: links, text blocks, Cloudflare's protection, schema.org data, entities."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from auditor.extract.context import PageMemo
from auditor.extract.emails import cloaking
from auditor.extract.emails.collect import Collector, Found, PageText
from auditor.extract.emails.labels import label_from_local, label_from_text, text_window
from auditor.extract.emails.rules import (
    CONFIDENCE,
    INVISIBLE,
    MAX_HTML,
    MAX_STRUCTURED,
    email_rules,
)
from auditor.extract.emails.scan import clean_text, normalize_address, scan_text
from auditor.extract.page import THIRD_PARTY, ParsedPage
from auditor.extract.tree import DEEP_SCAN_TAGS
from auditor.models import Method, clip_context
from auditor.net.domains import same_site
from auditor.text import fold, fold_width


def _cf_decode(hexstr: str) -> str | None:
    """Cloudflare email protection: hex bytes XOR the first byte, UTF-8."""
    hexstr = (hexstr or "").strip()
    if len(hexstr) < 4 or len(hexstr) % 2 or len(hexstr) > 2000:
        return None
    try:
        raw = bytes.fromhex(hexstr)
        return bytes(b ^ raw[0] for b in raw[1:]).decode("utf-8")
    except ValueError:
        return None


_MAILTO = re.compile(r"^mailto:(?://)?", re.IGNORECASE)
_RECIPIENTS = re.compile(r"[,;]")


def _mailto_targets(href: str) -> list[tuple[str, str]]:
    """(recipient, field) pairs of a mailto URL, cleaned of junk around them.

    Handles ``mailto:%20a@x.hu``, ``mailto:a@x.hu,b@x.hu``, ``?subject=``,
    ``?cc=`` / ``&bcc=``, a query wrongly started with ``&``, percent-encoding.
    """
    s = href or ""
    if not s.isascii():  # every INVISIBLE character is outside ASCII
        s = INVISIBLE.sub("", s)
    s = s.strip()
    s = _MAILTO.sub("", s)
    if "?" in s:
        addr, _, query = s.partition("?")
    elif "&" in s and "=" in s.partition("&")[2]:
        addr, _, query = s.partition("&")
    else:
        addr, query = s, ""
    out = [(p, "to") for p in _RECIPIENTS.split(unquote(addr))]
    for part in query.split("&"):
        key, _, val = part.partition("=")
        key = unquote(key).strip().lower()
        if key in ("to", "cc", "bcc"):
            out += [(p, key) for p in _RECIPIENTS.split(unquote(val))]
    return [(p.strip(), f) for p, f in out if p.strip()]


def _block_context(
    page: ParsedPage, text: PageText, needle: str
) -> tuple[str, str, str, int] | None:
    """(context, text before, region, index) of the first block containing ``needle``."""
    if not needle or len(needle) < 3 or "\n" in needle:
        return None
    index = text.find(needle)
    if index is None:
        return None
    block = page.blocks[index]
    i = block.text.lower().find(needle.lower())
    if i < 0:
        return None
    j = i + len(needle)
    return text_window(block.text, i, j), block.text[max(0, i - 80) : i], block.region, index


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


# the page's host name, split from its URL once per page
page_host = PageMemo(_host)

_TITLE_MAX_WORDS = 6
_TITLE_LOOKBACK = 8


def _title_like(text: str) -> bool:
    """A short line without digits or "label: value": a section title."""
    head = text.rstrip(":").strip()
    return (
        0 < len(head.split()) <= _TITLE_MAX_WORDS
        and ":" not in head
        and "@" not in head
        and not any(ch.isdigit() for ch in head)
    )


def _third_party(
    page: ParsedPage, index: int | None, before: str, value: str, region: str | None = None
) -> bool:
    """An off-site address in a section about another organisation.

    Imprints name the hosting provider ("Tárhelyszolgáltató"), conciliation
    body and authority with their own addresses; those are not the company's.
    The page model marks such entries (region ``third-party``); failing that, the
    section title is the nearest short, digit-free block above.
    """
    host = page_host(page.url)
    if not host or same_site(value.rpartition("@")[2], host):
        return False
    if region == THIRD_PARTY:
        return True
    pattern = email_rules().third_party
    if pattern.search(fold(before)):
        return True
    if index is None:
        return False
    for block in reversed(page.blocks[max(0, index - _TITLE_LOOKBACK) : index]):
        if _title_like(block.text):
            return bool(pattern.search(fold(block.text)))
    return False


def from_links(page: ParsedPage, out: Collector) -> None:
    for link in page.links:
        raw_href = link.raw_href or ""
        stripped = raw_href.lstrip()
        method: Method
        if stripped[:7].lower() == "mailto:":
            targets, method, obfuscation = _mailto_targets(raw_href), "mailto", None
        elif "#" in stripped and "/cdn-cgi/l/email-protection#" in stripped.lower():
            decoded = _cf_decode(raw_href.rpartition("#")[2])
            if decoded is None:
                continue
            targets, method, obfuscation = _mailto_targets(decoded), "text", "cloudflare"
        else:
            continue
        for target, field_name in targets:
            value = normalize_address(target)
            if value is None:
                continue
            label_text = f"{link.text} {link.title}".strip()
            found = _block_context(page, out.text, link.text) or _block_context(
                page, out.text, value
            )
            context, before, region, index = found or (label_text or value, "", link.region, None)
            if _third_party(page, index, before, value, link.region):
                continue
            kept = out.kept(value, method)
            label = None if kept and kept.label else (
                label_from_local(value.rpartition("@")[0])
                or label_from_text(label_text)
                or label_from_text(before)
            )
            details: dict[str, Any] = {"region": link.region or region}
            if field_name != "to":
                details["mailto_field"] = field_name
            if obfuscation:
                details["obfuscation"] = obfuscation
            conf = CONFIDENCE["cloudflare" if obfuscation else "mailto"]
            raw = raw_href.strip() if method == "mailto" else target
            out.add(Found(value, raw, method, context, conf, label, details))


def from_blocks(page: ParsedPage, out: Collector) -> None:
    for index in out.text.hinted():
        block = page.blocks[index]
        shown = clean_text(block.text)
        # read full-width forms ("sales＠firma.co.jp") as ASCII; same length, so the raw
        # text is cut from the block as shown
        text = fold_width(shown)
        hits = scan_text(text)
        for i, hit in enumerate(hits):
            before = text[max(0, hit.start - 120) : hit.start]
            if _third_party(page, index, before, hit.value, block.region):
                continue
            details: dict[str, Any] = {"region": block.region}
            if hit.obfuscated:
                details["obfuscation"] = "at-dot"
            # A keyword labels the addresses after it up to the next address only:
            # in "Sales: a@x.hu, b@x.hu" b's label is not known.
            lo = max(hit.start - 80, hits[i - 1].end if i else 0)
            hi = min(hit.end + 40, hits[i + 1].start if i + 1 < len(hits) else len(text))
            kept = out.kept(hit.value, "text")
            label = None if kept and kept.label else (
                label_from_local(hit.value.rpartition("@")[0])
                or label_from_text(text[lo : hit.start], text[hit.end : hi])
            )
            context = "" if kept and kept.context else text_window(shown, hit.start, hit.end)
            conf = CONFIDENCE[hit.form]
            raw = shown[hit.start : hit.end] if text is not shown else hit.raw
            out.add(Found(hit.value, raw, "text", context, conf, label, details))


def _cf_context(page: ParsedPage, hexstr: str, decoded: str) -> str:
    try:
        text = page.text_around("data-cfemail", hexstr)
        if text is not None:
            return text.replace("[email protected]", decoded) or decoded
    except Exception:  # noqa: BLE001 - context is a courtesy
        pass
    return decoded


def from_cloudflare(page: ParsedPage, out: Collector) -> None:
    for hexstr, ctx in page.cfemails:
        decoded = _cf_decode(hexstr)
        if not decoded:
            continue
        value = normalize_address(decoded)
        if value is None:
            hits = scan_text(clean_text(decoded))
            if not hits:
                continue
            value = hits[0].value
        context = clip_context(ctx) if ctx else _cf_context(page, hexstr, decoded)
        label = label_from_local(value.rpartition("@")[0]) or label_from_text(context)
        details = {"obfuscation": "cloudflare", "cfemail": hexstr}
        out.add(Found(value, decoded, "text", context, CONFIDENCE["cloudflare"], label, details))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("@value", "@id", "value"):
            if isinstance(value.get(key), str):
                yield value[key]
    elif isinstance(value, list):
        for item in value[:50]:
            yield from _strings(item)


def _first_string(value: Any) -> str:
    return next(_strings(value), "")


def _walk(node: Any, depth: int, found: list[tuple[str, str, str]]) -> None:
    """Collect (email string, contactType, name) from JSON-LD or microdata items."""
    if depth > 12 or len(found) >= MAX_STRUCTURED:
        return
    if isinstance(node, list):
        for item in node[:MAX_STRUCTURED]:
            _walk(item, depth + 1, found)
        return
    if not isinstance(node, dict):
        return
    props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else node
    ctype = _first_string(props.get("contactType"))
    name = _first_string(props.get("name"))
    for key, val in props.items():
        short = key.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() if isinstance(key, str) else ""
        if short == "email":
            found.extend((s, ctype, name) for s in _strings(val))
        elif isinstance(val, dict | list):
            _walk(val, depth + 1, found)
        elif isinstance(val, str) and val.strip().lower().startswith("mailto:"):
            found.append((val, ctype, name))


def from_structured(page: ParsedPage, out: Collector) -> None:
    structured = page.structured
    for method in ("json-ld", "microdata"):
        found: list[tuple[str, str, str]] = []
        _walk(structured.get(method) or [], 0, found)
        for raw, ctype, name in found:
            targets = (
                _mailto_targets(raw) if raw.strip().lower().startswith("mailto:") else [(raw, "to")]
            )
            for target, _field in targets:
                value = normalize_address(target)
                if value is None:
                    continue
                context = clip_context(" ".join(p for p in (name, ctype, raw.strip()) if p))
                label = label_from_local(value.rpartition("@")[0]) or label_from_text(ctype)
                details: dict[str, Any] = {"contact_type": ctype} if ctype else {}
                out.add(
                    Found(value, raw.strip(), method, context, CONFIDENCE[method], label, details)
                )


_HIDDEN_SOURCE = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
# Numeric entities (also double-encoded "&amp;#64;") and the named @ and dot.
_ENTITY_MARK = re.compile(r"&(?:amp;)?#[xX]?[0-9a-fA-F]{1,7};?|&(?:commat|period);", re.IGNORECASE)
_RUN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+@%-&#;")
_RUN_REACH = 300
_RUN = re.compile("[" + "".join(re.escape(c) for c in sorted(_RUN_CHARS)) + "]*")
_PLACEHOLDER_ATTR = re.compile(r"placeholder\s*=\s*[\"']?\s*$", re.IGNORECASE)


def _run_length(text: str, pos: int, endpos: int) -> int:
    """How many address characters ``text`` has from ``pos`` on, before ``endpos``."""
    m = _RUN.match(text, pos, endpos)
    return m.end() - pos if m else 0


def _entity_runs(source: str) -> Iterator[tuple[int, str]]:
    """(start, text) of each stretch of address characters holding an entity.

    Grows outwards from each entity instead of matching runs everywhere: a
    300 KB page has tens of thousands of word runs and a handful of entities.
    """
    done = 0
    for mark in _ENTITY_MARK.finditer(source):
        if mark.start() < done:
            continue
        # up to _RUN_REACH address characters either side, matched in C (backwards on the
        # reversed stretch before the mark)
        start, end = mark.start(), mark.end()
        lo = start - _run_length(source[max(0, start - _RUN_REACH) : start][::-1], 0, _RUN_REACH)
        hi = end + _run_length(source, end, end + _RUN_REACH)
        done = hi
        yield lo, source[lo:hi]


# What can put an "@" into a run's decoding: a literal "@", an entity for "@", or an "&"
# for the second decoding, which an entity for "&" or a second "&" in the run (a literal "&"
# before entity-made "#64;") can start. Spellings as html.unescape reads them: any leading
# zeros, the names as the HTML5 table has them ("commat;", "amp", "AMP").
_AT_OR_AMP = re.compile(r"@|&(?:#0*(?:64|38)(?![0-9])|#[xX]0*(?:40|26)(?![0-9a-fA-F])|commat|amp|AMP)")


def _run_may_decode_at(chunk: str) -> bool:
    """False only when ``chunk`` decodes (once, or twice when an "&" is left) to no "@"."""
    return chunk.count("&") > 1 or _AT_OR_AMP.search(chunk) is not None


def _may_decode_at(source: str) -> bool:
    """False only when no entity run of ``source`` decodes to an "@".

    Safe to ask of the markup before scripts, styles and comments are blanked: each of those
    starts with "<" and ends with ">", which no run holds, so a run outside them is the
    same either way (the runs inside them only add chances to say yes).
    """
    return any(_run_may_decode_at(chunk) for _start, chunk in _entity_runs(source))


def from_entities(page: ParsedPage, out: Collector) -> None:
    """Entity-encoded addresses anywhere in the markup (attributes included).

    lxml decodes entities in text, which the block scan already sees; this
    finds ``data-email="&#105;nfo&#64;..."``, double-encoded ``&amp;#64;`` and
    the like. Scripts, styles, comments and placeholder attributes are skipped.
    """
    source = page.html[:MAX_HTML] if isinstance(page.html, str) else ""
    if not _ENTITY_MARK.search(source) or not _may_decode_at(source):
        return  # no run decodes to an "@": the loop below would skip every one
    source = _HIDDEN_SOURCE.sub(" ", source)
    for start, chunk in _entity_runs(source):
        decoded = htmllib.unescape(chunk)
        if "&" in decoded:
            decoded = htmllib.unescape(decoded)
        if "@" not in decoded or _PLACEHOLDER_ATTR.search(source[max(0, start - 40) : start]):
            continue
        for hit in scan_text(clean_text(decoded)):
            if hit.raw.lower() in chunk.lower():
                continue  # not encoded: the block or link scan owns it
            found = _block_context(page, out.text, hit.value)
            context, before, region, index = found or (hit.value, "", None, None)
            if _third_party(page, index, before, hit.value, region):
                continue
            label = label_from_local(hit.value.rpartition("@")[0]) or label_from_text(before)
            details: dict[str, Any] = {"obfuscation": "entity"}
            if region:
                details["region"] = region
            conf = CONFIDENCE["entity"]
            out.add(Found(hit.value, chunk, "text", context, conf, label, details))


# The attribute and element names the cloaking decoders query, by a part each must contain
# (``data-user`` and ``data-name`` come in pairs with ``data-domain``).
_CLOAK_NAMES = re.compile(r"-(?i:rot13|mailto-token|domain|hidden-mail)")


def _may_cloak_in_markup(page: ParsedPage) -> bool:
    """False only when no element carries a name the cloaking queries ask for.

    Safe: the parser reads element and attribute names from the source as written, only
    lower-casing ASCII letters, so each name it finds is in ``page.html`` in some case
    (``re.I`` matches every case). A source deep enough to be flattened before parsing
    (``DEEP_SCAN_TAGS`` tags or more) can join a name from pieces: it is queried.
    """
    html = page.html if isinstance(page.html, str) else ""
    # a source shorter than DEEP_SCAN_TAGS characters holds fewer tags: not counted
    deep = len(html) >= DEEP_SCAN_TAGS and html.count("<") >= DEEP_SCAN_TAGS
    return deep or _CLOAK_NAMES.search(html) is not None


def _decoded(page: ParsedPage) -> Iterator[cloaking.Decoded]:
    yield from cloaking.from_scripts([s.text for s in page.scripts if s.src is None and s.text])
    # Every href at once: the links below are read only when one of them spells the mark
    # (a href holding it holds it in the joined text too, lower-cased alike).
    hrefs = [link.raw_href for link in page.links]
    every_href = "\n".join(hrefs)
    # href="javascript:void(location.href='mail'+'to:info'+'@'+'x.hu')" (Mobile Joomla's cloak)
    if "javascript:" in every_href.lower():
        yield from cloaking.from_scripts(
            [h for h in map(str.strip, hrefs) if h.lower().startswith("javascript:")]
        )
    markup = _may_cloak_in_markup(page)
    if markup:
        yield from cloaking.from_rot13_attributes(page.attribute_values("data-rot13"))
    yield from cloaking.from_hrefs(
        hrefs if "UnCrypt" in every_href else [],  # from_hrefs reads only hrefs holding it
        page.attribute_values("data-mailto-token") if markup else [],
    )
    if not markup:
        return
    for user, domain in (("data-user", "data-domain"), ("data-name", "data-domain")):
        yield from cloaking.from_pairs(page.attribute_pairs(user, domain), "data-attributes")
    pairs = page.attribute_pairs("first", "last", "joomla-hidden-mail")
    yield from cloaking.from_pairs(pairs, "joomla", base64_parts=True)


def from_cloaking(page: ParsedPage, out: Collector) -> None:
    """Addresses a CMS's cloaking script would build, decoded without running it."""
    seen = 0
    for decoded in _decoded(page):
        seen += 1
        if seen > MAX_STRUCTURED:
            return
        text = decoded.text
        targets = (
            [t for t, _f in _mailto_targets(text)] if text.lower().startswith("mailto:") else []
        )
        values = [v for v in map(normalize_address, targets) if v]
        values += [hit.value for hit in scan_text(clean_text(text))]
        for value in dict.fromkeys(values):
            found = _block_context(page, out.text, value)
            context, before, region, index = found or (value, "", None, None)
            if _third_party(page, index, before, value, region):
                continue
            label = label_from_local(value.rpartition("@")[0]) or label_from_text(before)
            details: dict[str, Any] = {"obfuscation": decoded.encoder}
            if region:
                details["region"] = region
            out.add(Found(value, text[:200], "text", context, CONFIDENCE["entity"], label, details))


def from_attributes(page: ParsedPage, out: Collector) -> None:
    """Addresses only in contact elements' tooltips, labels, icon alts or ``data-email``.

    Runs last and adds only addresses no other source found: a mailto link's own title
    says nothing new.
    """
    for attr in page.contact_attributes():
        if attr.region == THIRD_PARTY or "@" not in attr.value:
            continue
        value_text = attr.value
        if value_text.lower().startswith("mailto:"):
            value_text = " ".join(t for t, _f in _mailto_targets(value_text))
        for hit in scan_text(clean_text(value_text)):
            if hit.value in out.found:
                continue
            context = f"{attr.text} {attr.value}".strip()
            label = label_from_local(hit.value.rpartition("@")[0]) or label_from_text(context)
            details: dict[str, Any] = {"attribute": attr.name, "region": attr.region}
            conf = CONFIDENCE["attribute"]
            out.add(Found(hit.value, attr.value, "attribute", context, conf, label, details))


def placeholders_of(page: ParsedPage) -> set[str]:
    """Addresses shown as form hints: they are examples, not contacts."""
    values: set[str] = set()
    for form in page.forms:
        for fld in form.fields:
            if "@" in (fld.placeholder or ""):
                value = normalize_address(fld.placeholder)
                if value:
                    values.add(value)
    return values


def glued(value: str, reliable: dict[str, list[str]]) -> bool:
    """A text match that is a clean address with a neighbouring word stuck to it.

    ``reliable`` maps each domain of a linked or structured address to its
    local parts: "Kontaktinfo@x.hu" next to a mailto of info@x.hu is a glue of
    "Kontakt" and the address, as is "info@x.hub" next to info@x.hu.
    """
    local, _, domain = value.rpartition("@")
    for o_local in reliable.get(domain, ()):
        if o_local != local and local.endswith(o_local) and local[: -len(o_local)].isalpha():
            return True
    for o_domain, o_locals in reliable.items():
        if local in o_locals and domain != o_domain and domain.startswith(o_domain):
            if domain[len(o_domain) :].isalpha():
                return True
    return False
