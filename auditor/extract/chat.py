"""Live-chat widgets: which provider's chat a page embeds, and its account id.

Fingerprints live in ``auditor/data/chat_providers.toml`` so that adding a provider
is a data change. Static HTML shows a widget through a ``<script src>``, an inline
loader snippet (which builds the URL at run time, so its string literals are
searched too) or a few DOM markers. Visible prose is never searched: "drift" or
"crisp" in a sentence says nothing about a chat widget.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import ahocorasick

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.chat_placeholders import strip_placeholders
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint

# Evidence kinds, strongest first; the rank orders sightings of one provider.
EVIDENCE_RANK = {"script-src": 0, "inline": 1, "dom": 2}
CONFIDENCE = {"script-src": conf.MACHINE, "inline": conf.STRUCTURED, "dom": conf.GUESS}
CONTEXT_RADIUS = 60
MAX_HTML_FOR_ACCOUNT = 2_000_000
_URL_TOKEN_STOP = frozenset(" \t\r\n'\"`<>()[]{},;\\")
# Characters whose ``str.lower()`` holds an ASCII letter (İ -> "i̇", Kelvin K -> "k"):
# markup lower-cased as bytes (ASCII only) differs from ``str.lower()`` only through these.
_ASCII_LOWERING = ("\u0130", "\u212a")
# Where an attribute value may start: every "href" followed by "=" (whitespace around it as
# the tokenizer allows), the value looked ahead at so that no later "href" is passed over;
# quoted to its quote, unquoted to the tag's end (a superset of where any parser stops).
_HREF_VALUE = re.compile(rb"href[\t\n\f\r ]*=[\t\n\f\r ]*(?=(\"[^\"]*|'[^']*|[^>]*))")
_NUMERIC_REF = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]+)|0*([0-9]+))")  # every digit: the whole reference


@dataclass(frozen=True)
class Provider:
    """One chat provider's identity and the facts a validator may need later."""

    slug: str
    name: str
    dom: tuple[str, ...]
    account: tuple[re.Pattern[str], ...]
    config: str
    dead: bool
    dead_since: str | None
    # (tag or "*", attribute, value shape): the account written in markup beside the loader
    markup: tuple[tuple[str, str, re.Pattern[str]], ...] = ()
    # regexes with named groups: the ids a status check needs besides the account
    params: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Pattern:
    """One fingerprint regex with the literal it cannot match without.

    Checking the literal with ``in`` first keeps a page with a 200 kB inline
    bundle fast: the regex only runs where its provider can possibly be.
    """

    index: int  # position of the provider
    kind: str  # "u" URL/host, "g" inline global, "w" weak, "l" direct-chat link
    regex: re.Pattern[str]
    needle: str  # lower-cased when ``folded``
    folded: bool


class Needles:
    """Which patterns' literals occur in a text, found in one pass (Aho-Corasick, in C).

    Testing 200 literals one ``in`` at a time scans an inline script 200 times; the
    automaton reads it once. It holds every literal lower-cased and reads the lower-cased
    text (one pass, where one per kind took twice as long); a case-sensitive literal it
    finds is then confirmed with ``in`` on the text itself.
    """

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.patterns = patterns
        # the literals of each kind, None when there are none
        self.folded = frozenset(p.needle for p in patterns if p.folded) or None
        self.exact = frozenset(p.needle for p in patterns if not p.folded) or None
        # a literal with whitespace: cutting a stub to a space may make it (see _scan_scripts)
        self.spaced = any(c.isspace() for p in patterns for c in p.needle)
        by_needle: dict[str, list[int]] = {}
        # str.lower() of a literal is the text's lower-cased run for ASCII (for Σ it depends
        # on the letters around): a non-ASCII case-sensitive literal is tested by ``in`` alone
        self.unfolded = tuple(i for i, p in enumerate(patterns) if not p.folded and not p.needle.isascii())
        for i, pat in enumerate(patterns):
            if pat.folded or pat.needle.isascii():
                by_needle.setdefault(pat.needle.lower(), []).append(i)
        self.lowered: Any = None
        if by_needle:
            self.lowered = ahocorasick.Automaton()
            for needle, indexes in by_needle.items():
                self.lowered.add_word(needle, tuple(indexes))
            self.lowered.make_automaton()

    def present(self, text: str) -> tuple[Pattern, ...]:
        """The patterns whose literal ``text`` holds, in their own order."""
        if not text:
            return ()
        found = {i for i in self.unfolded if self.patterns[i].needle in text}
        for _end, indexes in self.lowered.iter(text.lower()) if self.lowered is not None else ():
            found.update(indexes)
        patterns = self.patterns  # not a pass over every pattern:
        return tuple(p for p in (patterns[i] for i in sorted(found)) if p.folded or p.needle in text)


@dataclass(frozen=True)
class Fingerprints:
    """All providers plus the patterns and DOM marker tables built from them once."""

    providers: tuple[Provider, ...]
    scan: tuple[Pattern, ...]  # for script src/attrs/text and iframe src
    links: tuple[Pattern, ...]  # for <a href>
    scan_needles: Needles
    dom_ids: dict[str, tuple[int, ...]]
    dom_id_prefixes: tuple[tuple[str, int], ...]
    dom_classes: dict[str, tuple[int, ...]]
    # ((element|attribute, name), provider, marker, literal): asked of the page model
    dom_xpaths: tuple[tuple[tuple[str, str], int, str, str], ...]
    dom_id_starts: tuple[str, ...]  # the id prefixes alone, for one ``startswith``
    # characters of the link and frame literals (lower-cased, as they are) and of "://": a
    # character reference decoding to one of them (or to a capital of one) could make a
    # literal, or the "://" an href needs, that the markup does not spell out
    link_chars: frozenset[str]
    link_refs: re.Pattern[str]  # the references that may do so (``_dangerous_refs``)
    # the XPath markers' literals (as in ``dom_xpaths``) grouped by first character, each group
    # with one search for all of them (see :func:`literal_groups`)
    xpath_groups: tuple[tuple[re.Pattern[bytes], tuple[tuple[str, bytes], ...]], ...] = ()
    # the link literals so grouped, the searches alone: for :class:`_Markup`'s search of the
    # lower-cased markup's href values
    link_groups: tuple[re.Pattern[bytes], ...] = ()


@dataclass
class _Hit:
    evidence: str
    raw: str
    context: str
    weak: bool
    url_like: bool
    texts: list[str]  # where the account id may be found


def _skip_group(p: str, i: int) -> int:
    """Index just past the group or class opening at ``p[i]``."""
    close = "]" if p[i] == "[" else ")"
    depth, j = 0, i
    while j < len(p):
        c = p[j]
        if c == "\\":
            j += 2
            continue
        if close == ")" and c == "[":
            j = _skip_group(p, j)
            continue
        if c == p[i] and close == ")":
            depth += 1
        elif c == close:
            depth -= 1 if close == ")" else 1
            if depth <= 0:
                return j + 1
        j += 1
    return j


def _skip_quantifier(p: str, i: int) -> int:
    if i < len(p) and p[i] in "?*+":
        i += 1
    elif i < len(p) and p[i] == "{":
        i = p.index("}", i) + 1
    if i < len(p) and p[i] == "?":
        i += 1
    return i


def required_literal(pattern: str) -> str:
    """The longest literal run every match of ``pattern`` must contain.

    Conservative by construction: anything optional, repeated, grouped or a
    class ends the run; a top-level alternation yields "" (no shortcut).
    """
    runs: list[str] = []
    cur: list[str] = []
    i = 0
    p = pattern
    while i < len(p):
        c = p[i]
        if c == "\\":
            nxt = p[i + 1] if i + 1 < len(p) else ""
            if nxt == "x":
                lit, i = chr(int(p[i + 2 : i + 4], 16)), i + 4
            elif nxt and not nxt.isalnum():
                lit, i = nxt, i + 2
            else:  # \b \s \d \w ... are not literals
                runs.append("".join(cur))
                cur = []
                i = _skip_quantifier(p, i + 2)
                continue
        elif c in "[(":
            runs.append("".join(cur))
            cur = []
            i = _skip_quantifier(p, _skip_group(p, i))
            continue
        elif c == "|":
            return ""
        elif c in ".^$":
            runs.append("".join(cur))
            cur = []
            i = _skip_quantifier(p, i + 1)
            continue
        else:
            lit, i = c, i + 1
        if i < len(p) and p[i] in "?*{":
            runs.append("".join(cur))
            cur = []
            i = _skip_quantifier(p, i)
            continue
        cur.append(lit)
        if i < len(p) and p[i] == "+":
            runs.append("".join(cur))
            cur = []
            i = _skip_quantifier(p, i)
    runs.append("".join(cur))
    return max(runs, key=len)


def _patterns(
    index: int, kind: str, sources: Iterable[str], folded: bool, slug: str
) -> list[Pattern]:
    out: list[Pattern] = []
    for src in sources:
        regex = re.compile(src, re.I if folded else 0)
        needle = required_literal(src)
        out.append(Pattern(index, kind, regex, needle.lower() if folded else needle, folded))
        if len(needle) < 2:
            raise ValueError(f"chat fingerprint for {slug} has no literal of 2+ chars: {src!r}")
    return out


_MARKUP_NAME = re.compile(r"[A-Za-z_][\w.-]*")  # an attribute name a DOM marker may test
_MARKUP_AT = re.compile(r"(?:([a-z][a-z0-9-]*))?\[([A-Za-z_][\w.-]*)\]")  # "tag[attr]" or "[attr]"


def _markup_accounts(entry: dict[str, Any]) -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """The provider's ``markup_account`` entries as (tag, attribute, value shape)."""
    out: list[tuple[str, str, re.Pattern[str]]] = []
    for spec in entry.get("markup_account", []):
        m = _MARKUP_AT.fullmatch(spec["at"])
        if m is None:
            raise ValueError(f"markup_account for {entry['slug']} is not tag[attribute]: {spec['at']!r}")
        out.append((m.group(1) or "*", m.group(2), re.compile(spec["value"])))
    return tuple(out)


def _compile(data: dict[str, Any]) -> Fingerprints:
    providers: list[Provider] = []
    scan: list[Pattern] = []
    links: list[Pattern] = []
    ids: dict[str, list[int]] = {}
    id_prefixes: list[tuple[str, int]] = []
    classes: dict[str, list[int]] = {}
    xpaths: list[tuple[tuple[str, str], int, str, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["provider"]):
        slug = entry["slug"]
        if slug in seen:
            raise ValueError(f"duplicate chat provider slug {slug!r}")
        seen.add(slug)
        scan.extend(_patterns(i, "u", entry.get("src", []), True, slug))
        scan.extend(_patterns(i, "g", entry.get("inline", []), False, slug))
        scan.extend(_patterns(i, "w", entry.get("weak", []), True, slug))
        links.extend(_patterns(i, "l", entry.get("links", []), True, slug))
        for marker in entry.get("dom", []):
            if marker.startswith("#") and marker.endswith("*"):
                id_prefixes.append((marker[1:-1], i))
            elif marker.startswith("#"):
                ids.setdefault(marker[1:], []).append(i)
            elif marker.startswith("."):
                classes.setdefault(marker[1:], []).append(i)
            elif marker.startswith("[") and marker.endswith("]") and _MARKUP_NAME.fullmatch(marker[1:-1]):
                xpaths.append((("attribute", marker[1:-1]), i, marker, marker[1:-1].lower()))
            elif re.fullmatch(r"[a-z][a-z0-9-]*", marker):
                xpaths.append((("element", marker), i, marker, "<" + marker.lower()))
            else:
                raise ValueError(f"unsupported DOM marker {marker!r} for {slug}")
        providers.append(
            Provider(
                slug=slug,
                name=entry["name"],
                dom=tuple(entry.get("dom", [])),
                account=tuple(re.compile(p) for p in entry.get("account", [])),
                config=entry.get("config", ""),
                dead=bool(entry.get("dead", False)),
                dead_since=entry.get("dead_since"),
                markup=_markup_accounts(entry),
                params=tuple(re.compile(p) for p in entry.get("params", [])),
            )
        )
    link_chars = {c for p in (*links, *scan) if p.kind in "ul" for c in p.needle + "://"}
    return Fingerprints(
        providers=tuple(providers),
        scan=tuple(scan),
        links=tuple(links),
        scan_needles=Needles(tuple(scan)),
        dom_ids={k: tuple(v) for k, v in ids.items()},
        dom_id_prefixes=tuple(id_prefixes),
        dom_classes={k: tuple(v) for k, v in classes.items()},
        dom_xpaths=tuple(xpaths),
        dom_id_starts=tuple(prefix for prefix, _i in id_prefixes),
        link_chars=frozenset(link_chars),
        link_refs=_dangerous_refs(link_chars),
        xpath_groups=literal_groups(literal for *_x, literal in xpaths),
        link_groups=tuple(search for search, _members in literal_groups(p.needle for p in links)),
    )


def literal_groups(literals: Iterable[str]) -> tuple[tuple[re.Pattern[bytes], tuple[tuple[str, bytes], ...]], ...]:
    """The ``literals`` grouped by first character, each group with a search for any of them.

    A search starting with a literal character skips to it in C: one such search per group
    costs about what one ``in`` costs, where the markup was read once per literal.
    """
    groups: dict[str, list[str]] = {}
    for literal in sorted(set(literals)):
        groups.setdefault(literal[:1], []).append(literal)
    return tuple(
        (re.compile(b"|".join(re.escape(m.encode()) for m in members)), tuple((m, m.encode()) for m in members))
        for members in groups.values()
    )


def _dangerous_refs(chars: set[str]) -> re.Pattern[str]:
    """Character references that may decode to one of ``chars`` (or to a capital of one) or to
    a control character.

    Every numeric reference (``_refs_matter`` decodes them) and each named one whose
    expansion holds such a character, as the table spells it (with its ";", and a legacy
    name also without): matched as a prefix, a superset of what the parser decodes.
    """
    names = [
        name
        for name, expansion in html.entities.html5.items()
        if any(c in chars or ord(c) < 32 for c in expansion + expansion.lower())
    ]
    return re.compile("&(?:#|" + "|".join(map(re.escape, names)) + ")")


@cache
def fingerprints() -> Fingerprints:
    """Load and compile the provider data once per process."""
    return _compile(load("chat_providers.toml"))


def providers() -> dict[str, Provider]:
    """Providers by slug, for validators that want config endpoints or dead flags."""
    return {p.slug: p for p in fingerprints().providers}


def _matches(patterns: tuple[Pattern, ...], text: str) -> Iterator[tuple[Pattern, re.Match[str]]]:
    """Every fingerprint match in ``text``, trying a regex only if its literal is there."""
    if not text:
        return
    lower = text.lower()
    for pat in patterns:
        if pat.needle in (lower if pat.folded else text):
            for m in pat.regex.finditer(text):
                yield pat, m


def _scan_matches(fp: Fingerprints, text: str) -> Iterator[tuple[Pattern, re.Match[str]]]:
    """``_matches(fp.scan, text)``, the literals found by one automaton pass."""
    if not text:
        return
    for pat in fp.scan_needles.present(text):
        for m in pat.regex.finditer(text):
            yield pat, m


def _snippet(text: str, start: int, end: int) -> str:
    return " ".join(text[max(0, start - CONTEXT_RADIUS) : end + CONTEXT_RADIUS].split())


def _url_token(text: str, start: int, end: int) -> str:
    """Widen a host match in script text to the whole string literal it sits in."""
    lo, hi = start, end
    limit_lo, limit_hi = max(0, start - 200), min(len(text), end + 300)
    while lo > limit_lo and text[lo - 1] not in _URL_TOKEN_STOP:
        lo -= 1
    while hi < limit_hi and text[hi] not in _URL_TOKEN_STOP:
        hi += 1
    return text[lo:hi]


def _better(new: _Hit, old: _Hit | None) -> bool:
    if old is None:
        return True
    key_new = (new.weak, EVIDENCE_RANK[new.evidence], not new.url_like)
    key_old = (old.weak, EVIDENCE_RANK[old.evidence], not old.url_like)
    return key_new < key_old


def _record(hits: dict[int, _Hit], index: int, hit: _Hit) -> None:
    old = hits.get(index)
    if _better(hit, old):
        if old is not None:
            hit.texts.extend(t for t in old.texts if t not in hit.texts)
        hits[index] = hit
    elif old is not None:
        old.texts.extend(t for t in hit.texts if t not in old.texts)


class _Markup:
    """Which tree queries can find anything on this page, from its markup.

    A frame, a link literal, an XPath marker's name: each is in the markup before the
    parser turns it into an element or attribute value, so a query whose literal is not
    in the markup finds nothing and is skipped. Why each gate is exact is said below.
    """

    def __init__(self, page: ParsedPage, fp: Fingerprints) -> None:
        source = page.html
        special = any(c in source for c in _ASCII_LOWERING)
        # Lower-cased as bytes: ASCII letters only, in a fraction of str.lower()'s time. For
        # the ASCII literals looked for, both hold the same ASCII runs (other characters are
        # bytes >= 0x80 here and non-ASCII there) unless İ or the Kelvin sign is there, whose
        # str.lower() holds an ASCII letter: then str.lower() it is.
        text = source.lower() if special else source
        self.low = text.encode("utf-8", "surrogatepass").lower()
        # An iframe element exists only where the markup opens one (tag names fold ASCII case).
        self.frames = b"<iframe" in self.low
        # An <a href> value is the markup's text after "href=", with character references
        # decoded (and, read out of <noscript>, invisible characters dropped or references
        # decoded twice). Unless a reference decodes to ":", "/", a link literal's character
        # or a control character the model drops, an href holding "://" and a link literal
        # holds both in the markup too: in one of the values ``_HREF_VALUE`` reads.
        self.links = b"<noscript" in self.low or _refs_matter(source, fp)
        if not self.links:
            values = b"\n".join(v for v in _HREF_VALUE.findall(self.low) if b"://" in v)
            self.links = any(search.search(values) for search in fp.link_groups)

    def literals(self, groups: tuple[tuple[re.Pattern[bytes], tuple[tuple[str, bytes], ...]], ...]) -> set[str]:
        """Which of the grouped literals (see :func:`literal_groups`) the lower-cased markup holds:
        a group's members are looked for one by one only where its search found one of them."""
        low = self.low
        return {
            literal
            for search, members in groups if search.search(low)
            for literal, encoded in members if encoded in low
        }


def _refs_matter(source: str, fp: Fingerprints) -> bool:
    """A character reference in ``source`` may decode to a link literal's or a control character.

    Conservative: C1 codes (which WHATWG maps through windows-1252) always matter.
    """
    for ref in fp.link_refs.finditer(source):
        if ref.group() != "&#":
            return True
        m = _NUMERIC_REF.match(source, ref.start())
        if m is None:
            continue  # "&#" without digits is text
        hexa, dec = m.groups()
        if len(hexa or dec) > 8:
            continue  # past U+10FFFF: decodes to U+FFFD
        code = int(hexa, 16) if hexa else int(dec)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return True
        if code > 0x10FFFF:
            continue  # decodes to U+FFFD (a surrogate too: chr() makes one, in no literal)
        char = chr(code)
        if any(c in fp.link_chars for c in char + char.lower()):
            return True
    return False


def _scan_scripts(page: ParsedPage, fp: Fingerprints, hits: dict[int, _Hit]) -> None:
    for script in page.scripts:
        attrs = " ".join(f'{k}="{v}"' for k, v in script.attrs.items() if k != "src")
        if script.src:
            subject = f"{script.src} {attrs}"
            for pat, _m in _scan_matches(fp, subject):
                hit = _Hit("script-src", script.src, script.src, pat.kind == "w", True, [subject])
                _record(hits, pat.index, hit)
            continue
        subject = f"{attrs}\n{script.text}" if attrs else script.text
        # Literals are looked for before the stubs are cut: cutting one leaves a space, which
        # makes no literal without whitespace (the table's are all so, else cut first), and
        # the regexes of the literals found run on the cut text, where a stub's match is gone.
        needles = fp.scan_needles
        if needles.spaced:
            subject = strip_placeholders(subject)  # empty vendor stubs are no chat
            found = needles.present(subject)
        else:
            found = needles.present(subject)
            subject = strip_placeholders(subject) if found else subject
        for pat, m in ((p, m) for p in found for m in p.regex.finditer(subject)):
            url_like = pat.kind in "uw"
            raw = _url_token(subject, m.start(), m.end()) if url_like else m.group(0)
            context = _snippet(subject, m.start(), m.end())
            hit = _Hit("inline", raw, context, pat.kind == "w", url_like, [subject])
            _record(hits, pat.index, hit)


def _scan_dom(page: ParsedPage, fp: Fingerprints, hits: dict[int, _Hit]) -> None:
    """Widget frames and links first, then the elements a widget leaves (ids, classes, XPaths)."""
    markup = _Markup(page, fp)
    _scan_frames_and_links(page, fp, hits, markup)
    for index, marker in _dom_markers(page, fp, markup):
        _record(hits, index, _Hit("dom", marker, marker, False, False, ["\x00html"]))


def _scan_frames_and_links(page: ParsedPage, fp: Fingerprints, hits: dict[int, _Hit], markup: _Markup) -> None:
    for src in page.frame_sources() if markup.frames else ():
        for pat, _m in (*_scan_matches(fp, src), *_matches(fp.links, src)):
            if pat.kind in "ul":
                _record(hits, pat.index, _Hit("dom", src, src, False, True, [src]))
    # hrefs from the tree, not page.links: loaders put a fallback link in <noscript>
    if not markup.links:
        return
    hrefs = [h for h in {h.strip() for h in page.anchor_hrefs()} if "://" in h]
    joined = "\n".join(hrefs)  # one C-level search per pattern over all hrefs
    folded = joined.lower()
    present = tuple(p for p in fp.links if p.needle in (folded if p.folded else joined))
    for href in hrefs if present else ():
        for pat, _m in _matches(present, href):
            _record(hits, pat.index, _Hit("dom", href, href, False, True, [href]))


def _dom_markers(page: ParsedPage, fp: Fingerprints, markup: _Markup) -> list[tuple[int, str]]:
    """(provider index, marker) for each widget element id, class or XPath on the page."""
    found: list[tuple[int, str]] = []
    for value in page.id_values:
        for index in fp.dom_ids.get(value, ()):
            found.append((index, f'id="{value}"'))
        for prefix, index in fp.dom_id_prefixes if value.startswith(fp.dom_id_starts) else ():
            if value.startswith(prefix):
                found.append((index, f'id="{value}"'))
    for value in page.class_values:
        for token in value.split():
            for index in fp.dom_classes.get(token, ()):
                found.append((index, f'class="{token}"'))
    literals = markup.literals(fp.xpath_groups)
    for (what, name), index, marker, literal in fp.dom_xpaths if literals else ():
        # each query scans the whole tree: only run it when its name is in the source. Not
        # skipped for a provider already seen: like an id or class, an element confirms a
        # weak sighting (it was skipped, so a weak loader beside the element stayed weak).
        if literal in literals and _present(page, what, name):
            found.append((index, marker))
    return found


def _present(page: ParsedPage, what: str, name: str) -> bool:
    return page.has_attribute(name) if what == "attribute" else page.has_element(name)


def _texts(hit: _Hit, page: ParsedPage) -> Iterator[str]:
    """The evidence texts of a sighting, the page's markup for a DOM marker."""
    for text in hit.texts:
        yield page.html[:MAX_HTML_FOR_ACCOUNT] if text == "\x00html" else text


def _account_id(provider: Provider, hit: _Hit, page: ParsedPage) -> str | None:
    """The account from the sighting's own evidence, else from the markup beside the loader.

    Some loaders take the account from an element next to the script tag (Chatlio's
    ``<chatlio-widget widgetid>``, Zalo's ``data-oaid``): it is read from that element's
    attribute through the page model, only once the provider itself was seen, and only
    when the value has the account's shape.
    """
    for subject in _texts(hit, page) if provider.account else ():
        for pattern in provider.account:
            m = pattern.search(subject)
            if m:
                return m.group(1)
    for tag, attr, shape in provider.markup:
        for value, _same in page.attribute_pairs(attr, attr, tag):
            if shape.fullmatch(value.strip()):
                return value.strip()
    return None


def _params(provider: Provider, hit: _Hit, page: ParsedPage) -> dict[str, str]:
    """Named ids a status check needs (``params`` regexes over the sighting's evidence).

    A name ending in ``_ids`` collects every distinct value, comma-joined (a page may
    carry several chat buttons); any other name keeps the first value found.
    """
    found: dict[str, list[str]] = {}
    for subject in _texts(hit, page) if provider.params else ():
        for pattern in provider.params:
            for m in pattern.finditer(subject):
                for name, value in m.groupdict().items():
                    values = found.setdefault(name, [])
                    if value and value not in values and (name.endswith("_ids") or not values):
                        values.append(value)
    return {name: ",".join(values) for name, values in found.items() if values}


def extract_chat(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """One contact point per chat provider whose widget the page embeds."""
    fp = context.chat or fingerprints()
    hits: dict[int, _Hit] = {}
    _scan_scripts(page, fp, hits)
    _scan_dom(page, fp, hits)
    out: list[ContactPoint] = []
    for index in sorted(hits, key=lambda i: (hits[i].weak, EVIDENCE_RANK[hits[i].evidence], i)):
        hit = hits[index]
        provider = fp.providers[index]
        details: dict[str, Any] = {"provider": provider.name, "evidence": hit.evidence}
        account = _account_id(provider, hit, page)
        if account:
            details["account_id"] = account
            if provider.config:
                details["config_url"] = provider.config.format(account_id=account)
        params = _params(provider, hit, page)
        if params:
            details["widget_params"] = params
        if provider.dead:
            details["dead-provider"] = True
            if provider.dead_since:
                details["dead_since"] = provider.dead_since
        if hit.weak:
            details["weak"] = True
        out.append(
            ContactPoint(
                kind="chat",
                value=provider.slug,
                raw=hit.raw,
                label=None,
                method="widget-script",
                page_url=page.url,
                context=hit.context,
                confidence=conf.HINT if hit.weak else CONFIDENCE[hit.evidence],
                details=details,
            )
        )
    return out
