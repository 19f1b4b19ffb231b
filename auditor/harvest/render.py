"""Pages built by scripts: which ones to render, and what rendering found (pure).

Why: an app shell (``<div id="root"></div>`` and a bundle) yields no contact point
to static extraction, though a visitor sees a phone, an address and a WhatsApp
button once the scripts ran. Rendering every page in a browser costs far more than
fetching it, so with ``--render auto`` the spider renders only the pages that show
they are built by scripts (:func:`render_reason`); ``always`` renders every page,
``never`` none. The spider (spiders/render.py) does the rendering through the
guarded browser; this module decides and merges, with no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urldefrag, urlsplit

from auditor import data
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint
from auditor.net.domains import registrable_domain

APP_SHELL_WORDS = 40  # fewer visible words than this, with scripts: an app shell
APP_SHELL_INLINE_BYTES = 20_000  # inline script text that counts as a bundle
NOSCRIPT_SCAN_BYTES = 512 * 1024  # where <noscript> notices are looked for
HARVEST_KINDS = frozenset({"phone", "email", "messaging", "form", "chat"})
_WORD = re.compile(r"\w+")
_NOSCRIPT = re.compile(r"<noscript\b[^>]*>(.{0,2000}?)</noscript", re.I | re.S)
# An inline script that loads or carries contact data: an API call, a contact link, an address.
_CONTACT_HINT = re.compile(
    r"""\bfetch\s*\(|XMLHttpRequest|\baxios\b|["'`][^"'`]{0,80}/api/|tel:|mailto:|wa\.me/|whatsapp|"""
    r"""t\.me/|viber:|[\w.+-]+@[\w-]+\.[\w.-]+|\+\d[\d ()-]{6,}\d""",
    re.I,
)
_JS_TYPES = ("", "module", "text/javascript", "application/javascript", "text/ecmascript")
_JAVASCRIPT = re.compile("javascript", re.I)
WORD_SCAN_CHARS = 4000  # visible text read for the word count (the thresholds are far below)


@cache
def _notices() -> tuple[str, ...]:
    return tuple(data.load("rendering.toml")["js_required"])


@cache
def _mount_ids() -> frozenset[str]:
    return frozenset(data.load("rendering.toml")["mount_ids"])


def is_hash_route(url: str) -> bool:
    """A client-side route in the fragment (``#/contact``, ``#!/kontakt``): another page to a router.

    ``#/`` and ``#!/`` are the router's start: the page itself.
    """
    fragment = urldefrag(url)[1]
    return fragment.startswith(("/", "!/")) and fragment not in ("/", "!/")


def frontier_url(url: str, rendering: bool) -> str:
    """The URL a frontier keeps: fragments dropped, except hash routes when pages are rendered."""
    if rendering and is_hash_route(url):
        return url
    return urldefrag(url)[0]


@lru_cache(maxsize=4096)
def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return registrable_domain(host) or host


def _script_facts(page: ParsedPage) -> tuple[int, int, int]:
    """(external scripts, the site's own external scripts, inline script bytes)."""
    external = own = inline = 0
    site = _site(page.url)
    for script in page.scripts:
        kind = (script.attrs.get("type") or "").strip().lower()
        if kind not in _JS_TYPES:
            continue  # JSON data blocks, templates: not code that builds the page
        if script.src:
            external += 1
            own += _site(script.src) == site
        else:
            inline += len(script.text)
    return external, own, inline


def _inline_hint(page: ParsedPage) -> bool:
    """An inline script loads or carries contact data (an API call, a contact link, an address)."""
    return any(not script.src and (script.attrs.get("type") or "").strip().lower() in _JS_TYPES
               and _CONTACT_HINT.search(script.text) for script in page.scripts)


def needs_javascript_notice(page: ParsedPage, text: str | None = None) -> bool:
    """The page says it needs JavaScript (visible text or ``<noscript>``)."""
    if not _JAVASCRIPT.search(page.html, 0, NOSCRIPT_SCAN_BYTES):
        return False  # every notice names JavaScript: one C-level scan rules most pages out
    texts = [(page.text if text is None else text).casefold()]
    texts += [m.group(1).casefold() for m in _NOSCRIPT.finditer(page.html, 0, NOSCRIPT_SCAN_BYTES)]
    return any(notice in t for t in texts for notice in _notices())


def render_reason(
    page: ParsedPage, found: Iterable[ContactPoint], *, contact_page: bool, mode: str
) -> str | None:
    """Why ``page`` should be rendered (a kebab-case tag), or None.

    ``found`` is what static extraction found on it; ``contact_page`` says the crawl
    scored it as a contact page. In ``auto`` mode: a hash route (the document is the
    router's shell), an app shell (little visible text and the site's own bundle, or
    a large inline one: a third party's widget loader on a short page is no app), a
    notice that JavaScript is needed, or a contact page without a contact point whose
    scripts may carry one (any script, an API call, contact data in inline code).
    """
    if mode == "never":
        return None
    if mode == "always":
        return "always"
    if is_hash_route(page.url):
        return "hash-route"
    external, own, inline = _script_facts(page)
    if not external and not inline:
        return None  # nothing runs on this page: rendering shows what the markup shows
    scripted = own > 0 or inline >= APP_SHELL_INLINE_BYTES
    text = page.text
    words = len(_WORD.findall(text, 0, WORD_SCAN_CHARS))
    if scripted and words < APP_SHELL_WORDS:
        return "app-shell"
    if needs_javascript_notice(page, text):
        return "needs-javascript"
    if scripted and words < 2 * APP_SHELL_WORDS and page.id_values & _mount_ids():
        return "app-shell"
    if contact_page and not any(cp.kind in HARVEST_KINDS for cp in found) and (external > 0 or _inline_hint(page)):
        return "contact-page-empty"
    return None


def rendered_points(
    rendered: Iterable[ContactPoint], known: Iterable[ContactPoint], page_url: str, reason: str
) -> list[ContactPoint]:
    """The points only rendering showed, with method ``rendered``.

    ``known`` holds what static extraction already found (this page's and the
    company's): those are not sightings of rendering. The extractor's own method is
    kept in ``details.found_as``; the page is the one the crawl asked for (a hash
    route keeps its fragment: that is where a visitor finds it).
    """
    seen = {cp.dedupe_key for cp in known}
    out: list[ContactPoint] = []
    for cp in rendered:
        if cp.dedupe_key in seen:
            continue
        seen.add(cp.dedupe_key)
        details = {**cp.details, "found_as": cp.method, "render_reason": reason}
        out.append(replace(cp, method="rendered", page_url=page_url, details=details))
    return out


def render_summary(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What rendering cost in a crawl, from its stats: pages, seconds, peak browser memory.

    ``mode`` is the effective one (``never`` when Chromium was missing); ``peak_mb`` is
    the browser's resident memory (None where it could not be measured).
    """
    prefix = "auditor/render/"
    reasons = {k[len(prefix) + 7 :]: v for k, v in stats.items() if k.startswith(prefix + "reason/")}
    errors = {k[len(prefix) + 6 :]: v for k, v in stats.items() if k.startswith(prefix + "error/")}
    return {
        "mode": stats.get(prefix + "mode", "never"),
        "pages": int(stats.get(prefix + "pages", 0)),
        "seconds": round(stats.get(prefix + "milliseconds", 0) / 1000, 1),
        "peak_mb": stats.get(prefix + "peak_mb"),
        "requests": int(stats.get(prefix + "requests", 0)),
        "contact_points": int(stats.get(prefix + "contact-points", 0)),
        "reasons": dict(sorted(reasons.items())),
        "errors": dict(sorted(errors.items())),
        "skipped_page_budget": int(stats.get(prefix + "skipped-page-budget", 0)),
    }
