"""The page model reads the text a browser shows: conformance against headless Chromium.

For every corpus page (tests/fixtures/pages and holdout), the text the extractors read
(:attr:`ParsedPage.text`) is compared with ``document.body.innerText`` of the same
decoded page in Debian's Chromium with scripts disabled, both whitespace-normalized and
tokenized. Agreement per page is the share of tokens both sides hold (multiset
intersection over the larger side); every page must reach :data:`MIN_AGREEMENT` or be a
named exception in :data:`EXCEPTIONS`, with the reason.

Normalizations, each because the two sides mean the same text:

* case folded: ``innerText`` applies CSS ``text-transform`` (menus in capitals);
* invisible format characters dropped on both sides (the page model drops them so that a
  zero-width space never cuts a number; Chromium keeps them in ``innerText``);
* ``<noscript>`` removed from the DOM before reading: with scripts disabled Chromium shows
  it, while a visitor's browser runs scripts and never does (the page model parses as a
  visitor's browser does).

The page is loaded with ``set_content`` and every request aborted: no page reaches the
network. Needs the ``playwright`` package and Debian's ``chromium``; without them the test
skips, except under CI, where it fails (tests/support/requirements.py).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.extract import parse_page
from auditor.extract.page import decode_body
from auditor.extract.tree import visible_chars
from tests.support.requirements import need_chromium

CHROMIUM = os.environ.get("AUDITOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGES = sorted([*FIXTURES.glob("pages/*.html"), *FIXTURES.glob("holdout/*.html")])
MIN_AGREEMENT = 0.98
# Page -> why its agreement may be lower. The first three hold an element with the ``hidden``
# attribute that a script reveals (a consent dialog, an age gate): Chromium with scripts
# disabled hides it, a visitor's browser shows it, and the page model reads it on purpose
# (a contact in script-revealed content is published). Each must still reach
# EXCEPTION_FLOOR, so the rest of the page agrees.
_SCRIPT_REVEALED = "hidden-attribute content a script reveals (cookie consent dialog)"
EXCEPTIONS: dict[str, str] = {
    "holdout/el-01-ktima-aigaiou-epikoinonia": "hidden-attribute content a script reveals (age gate)",
    "holdout/sv-02-lyktan-inredning-home": _SCRIPT_REVEALED,
    "pages/sv-01-norrskensfjall-kontakt": _SCRIPT_REVEALED,
    # With scripts off, Chromium parses <noscript> as markup: the <p> left open inside it makes
    # </noscript> a parse error, so the noscript swallows the rest of <main> and the test drops
    # it. A visitor's browser (scripts on) reads noscript as raw text and shows that rest, as the
    # page model does. Its own floor: the part before the noscript must still agree.
    "holdout/pl-11-lesny-dwor-kontakt": "an unclosed <p> inside <noscript> (scripts off only)",
    # Buttons and form controls written back to back (`<button>Personalizar</button><button>Rejeitar
    # tudo</button>`, a label's "(opțional)" then the field's "Mesaj"): innerText runs inline-block
    # controls together ("personalizarrejeitar"), a visitor sees separate buttons, and the page model
    # keeps control boundaries as token boundaries on purpose. Found on the blind -12- pages.
    "holdout/pt-12-bicicletas-ribeira-contactos": "adjacent buttons that innerText runs together",
    "holdout/ro-12-brutaria-carpatina-contact": "adjacent form controls and buttons that innerText runs together",
}
FLOORS: dict[str, float] = {"holdout/pl-11-lesny-dwor-kontakt": 0.75}
EXCEPTION_FLOOR = 0.90
# innerText keeps text in its logical order; text that CSS shows reversed (an element whose computed
# style is `unicode-bidi: bidi-override` with `direction: rtl`, by an inline style or a style rule) is
# what a visitor reads backwards, so it is read here as shown: Chromium's own cascade decides which.
_READ_SHOWN = """() => {
  document.querySelectorAll('noscript').forEach(n => n.remove());
  const reversed = [...document.querySelectorAll('body *')].filter(e => {
    const s = getComputedStyle(e);
    return s.unicodeBidi === 'bidi-override' && s.direction === 'rtl';
  });
  reversed.filter(e => !reversed.some(o => o !== e && o.contains(e)))
          .forEach(e => { e.textContent = [...e.textContent].reverse().join(''); });
  return document.body ? document.body.innerText : '';
}"""


def tokens(text: str) -> list[str]:
    return visible_chars(text).casefold().split()


def split_labels(ours: list[str], shown: list[str]) -> list[str]:
    """Our tokens with each label rejoined to the address after it where Chromium runs them
    together: the page model keeps a label element apart from the address element beside it on
    purpose (``E-posta`` + ``satis@...`` is no address ``e-postasatis@...``)."""
    shown_set = set(shown)
    out: list[str] = []
    for token in ours:
        if out and "@" in token and out[-1] + token in shown_set and token not in shown_set:
            out[-1] += token
        else:
            out.append(token)
    return out


def agreement(ours: list[str], shown: list[str]) -> float:
    """Tokens both sides hold, over the larger side: 1.0 only when the texts agree."""
    if not ours and not shown:
        return 1.0
    common = sum((Counter(ours) & Counter(shown)).values())
    return common / max(len(ours), len(shown))


@pytest.fixture(scope="module")
def chromium_page() -> Iterator[Any]:
    need_chromium(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(java_script_enabled=False)
        context.route("**/*", lambda route: route.abort())  # no page reaches the network
        page = context.new_page()
        yield page
        browser.close()


def shown_text(page: Any, html: str) -> str:
    page.set_content(html, wait_until="domcontentloaded")
    return str(page.evaluate(_READ_SHOWN))


def test_page_model_text_agrees_with_chromium(chromium_page: Any) -> None:
    assert PAGES, "no corpus pages"
    scores: dict[str, float] = {}
    for path in PAGES:
        meta = json.loads(path.with_suffix(".json").read_text())
        body = path.read_bytes()
        html = decode_body(body)
        ours = tokens(parse_page(body, meta["url"]).text)
        shown = tokens(shown_text(chromium_page, html))
        scores[f"{path.parent.name}/{path.stem}"] = agreement(split_labels(ours, shown), shown)
    ordered = sorted(scores.values())
    print(f"\npage text agreement with Chromium over {len(scores)} pages: "
          f"min {ordered[0]:.3f} median {ordered[len(ordered) // 2]:.3f}")
    for name, score in sorted(scores.items(), key=lambda kv: kv[1]):
        print(f"  {score:.3f}  {name}{'  (exception: ' + EXCEPTIONS[name] + ')' if name in EXCEPTIONS else ''}")
    low = {n: round(s, 3) for n, s in scores.items() if s < MIN_AGREEMENT and n not in EXCEPTIONS}
    assert low == {}, f"pages whose text differs from what Chromium shows: {low}"
    poor = {n: round(scores[n], 3) for n in EXCEPTIONS if scores.get(n, 0.0) < FLOORS.get(n, EXCEPTION_FLOOR)}
    assert poor == {}, f"named exceptions below {EXCEPTION_FLOOR}: {poor}"
