"""Extraction cost against lxml's own parse time, per page.

Target (issue 2): extracting every contact point from a typical 100-300 KB page
costs at most twice the time lxml needs to parse it. Pages are the fixture corpus,
each padded to 100-300 KB in one of two ways (both are measured by default):

* ``catalog``: product tiles with prices, SKUs, dates, ratings and order numbers, all
  visible text. A worst case: every block holds digit runs the phone, hours and
  decoy logic must look at.
* ``mixed``: the parts heavy pages are usually made of: inline CSS, inline JSON app
  state and analytics scripts, inline SVG icons, a mega-menu of links with long
  utility-class lists, article prose and a smaller product grid. The proportions are
  this benchmark's assumption (about a third visible text), not a measured average.

The benchmark also times a *floor*: the passes no pure-Python extractor can skip
(decode the bytes, parse once, read the visible text in one libxslt pass, find digit runs
with one C-level ``findall`` and look for "@" once), with no extraction logic at all. The
floor's ratio to lxml's parse bounds from below what any pure-Python design can reach.

Beside lxml's parse, every profile times the parser the page model is built on
(Lexbor, a WHATWG parser, through selectolax: its parse alone, no tree copy), and one
more profile, ``unpadded``, takes the corpus pages as they are.

    python bench/bench_extract.py [--repeat 5] [--profile unpadded|catalog|mixed|both|all]

Exits 1 when a profile's median ratio misses the target (TARGET_RATIO).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

import lxml.html
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from auditor.extract import extract_contacts, parse_page
from auditor.extract.page import decode_body

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"
TARGET_RATIO = 2.0  # full extraction <= twice lxml's parse, for the median page of a profile


def boilerplate(rng: random.Random, target: int) -> str:
    """Product tiles with prices, SKUs, dates and ratings: digit-heavy filler."""
    parts: list[str] = []
    size = 0
    i = 0
    while size < target:
        i += 1
        tile = (
            f'<div class="product-tile" data-sku="SKU-{rng.randint(10**7, 10**8)}">'
            f'<a href="/termek/{rng.randint(1000, 99999)}-item-{i}"><img src="/img/p_{rng.randint(10**5, 10**6)}@2x.jpg" alt="Item {i}"></a>'
            f'<h3 class="name">Product {i} model {rng.randint(100, 999)}</h3>'
            f'<span class="price">{rng.randint(1, 99)} {rng.randint(100, 999)} Ft</span> '
            f'<span class="old">€ {rng.randint(1, 9)}.{rng.randint(100, 999)},{rng.randint(10, 99)}</span>'
            f'<p>Added {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.20{rng.randint(10, 25)} · '
            f'order no. {rng.randint(10**9, 10**10)} · rated {rng.randint(1, 5)}/5 by {rng.randint(2, 900)} buyers</p>'
            "</div>\n"
        )
        parts.append(tile)
        size += len(tile)
    return "".join(parts)


_WORDS = (
    "service quality delivery partner customers product solution support team market online "
    "order account payment secure fast local store offer news company career about privacy"
).split()
_UTILITY = "flex items-center justify-between px-4 py-2 text-sm font-medium text-gray-700 hover:bg-gray-50 rounded-md".split()


def _classes(rng: random.Random, n: int) -> str:
    return " ".join(rng.sample(_UTILITY, n))


def _prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def mixed_boilerplate(rng: random.Random, target: int) -> str:
    """Inline CSS, JSON state, analytics, SVG icons, a link menu, prose and a few tiles."""
    import json

    share = {"css": 0.15, "json": 0.25, "svg": 0.08, "menu": 0.12, "prose": 0.25, "tiles": 0.15}
    css = "".join(
        f".c{i}{{display:flex;margin:{rng.randint(0, 32)}px {rng.randint(0, 32)}px;color:#{rng.randint(0, 0xFFFFFF):06x}}}\n"
        for i in range(int(target * share["css"] / 60))
    )
    state = {
        "products": [
            {"id": rng.randint(10**6, 10**7), "price": rng.randint(100, 99999) / 100, "sku": f"SKU-{rng.randint(10**7, 10**8)}",
             "updated": rng.randint(1_600_000_000, 1_700_000_000), "name": _prose(rng, 4)}
            for _ in range(int(target * share["json"] / 140))
        ]
    }
    scripts = (
        f'<style>{css}</style><script id="__STATE__" type="application/json">{json.dumps(state)}</script>'
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
        "gtag('js',new Date());gtag('config','G-TEST0000');</script>"
    )
    svg = "".join(
        f'<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M{rng.randint(0, 24)} {rng.randint(0, 24)}'
        + "".join(f"l{rng.randint(-9, 9)} {rng.randint(-9, 9)}" for _ in range(12)) + 'z"/></svg>'
        for _ in range(int(target * share["svg"] / 200))
    )
    menu = "".join(
        f'<li class="{_classes(rng, 5)}"><a class="{_classes(rng, 6)}" href="/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}-{i}">'
        f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS)}</a></li>"
        for i in range(int(target * share["menu"] / 190))
    )
    prose = "".join(
        f'<div class="{_classes(rng, 4)}"><h2>{_prose(rng, 5)}</h2><p>{_prose(rng, 60)}</p></div>'
        for _ in range(int(target * share["prose"] / 520))
    )
    return (
        f"{scripts}{svg}<nav class=\"mega-menu\"><ul>{menu}</ul></nav><article>{prose}</article>"
        f'<section class="catalog">{boilerplate(rng, int(target * share["tiles"]))}</section>'
    )


def corpus_pages() -> list[tuple[str, str, str | None]]:
    """The fixture pages as they are (the ``unpadded`` profile)."""
    import json

    pages = []
    for html_path in sorted(FIXTURES.glob("*.html")):
        truth_path = html_path.with_suffix(".json")
        truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
        html = html_path.read_text(encoding="utf-8", errors="replace")
        pages.append((html, truth.get("url", "https://example.com/"), truth.get("country")))
    return pages


def padded_pages(min_kb: int, max_kb: int, profile: str = "catalog") -> list[tuple[str, str, str | None]]:
    import json

    rng = random.Random(42)
    pages = []
    for html_path in sorted(FIXTURES.glob("*.html")):
        truth_path = html_path.with_suffix(".json")
        truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
        html = html_path.read_text(encoding="utf-8", errors="replace")
        target = rng.randint(min_kb, max_kb) * 1024 - len(html)
        if profile == "mixed":
            filler = mixed_boilerplate(rng, max(target, 0))
        else:
            filler = f'<section class="catalog">{boilerplate(rng, max(target, 0))}</section>'
        idx = html.lower().rfind("</body>")
        html = html[:idx] + filler + html[idx:] if idx >= 0 else html + filler
        pages.append((html, truth.get("url", "https://example.com/"), truth.get("country")))
    return pages


_FLOOR_PARSER = etree.HTMLParser(recover=True, default_doctype=False)
# Visible text in one C pass: invisible elements dropped, every other text node copied.
_FLOOR_TEXT = etree.XSLT(etree.XML(b"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="UTF-8"/>
<xsl:template match="script|style|noscript|template|svg|head"/>
</xsl:stylesheet>"""))
_DIGIT_RUN = re.compile(r"\d[\d ()./-]{5,}\d")


def floor(body: bytes) -> int:
    """The unavoidable passes of any extraction, without its logic (see the module doc)."""
    html = decode_body(body, "text/html; charset=utf-8")
    tree = etree.fromstring(html, _FLOOR_PARSER)
    text = str(_FLOOR_TEXT(tree))
    return len(_DIGIT_RUN.findall(text)) + text.count("@")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def measure(pages: list[tuple[str, str, str | None]], repeat: int, label: str) -> dict[str, float]:
    """Best-of-``repeat`` times per page; prints one line per page and a summary."""
    ratios, floor_ratios, parse_ms, extract_ms, model_ms, floor_ms = [], [], [], [], [], []
    lexbor_ms: list[float] = []
    print(f"\n[{label}]")
    print(
        f"{'page':>4} {'KB':>5} {'lexbor ms':>9} {'lxml ms':>8} {'floor ms':>9} {'model ms':>9} {'extract ms':>10} "
        f"{'ratio':>6} {'floor':>6}"
    )
    for n, (html, url, country) in enumerate(pages):
        body = html.encode("utf-8")
        best_parse = best_extract = best_model = best_floor = best_lexbor = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            LexborHTMLParser(body)  # bytes are read as UTF-8, as lxml reads them here
            best_lexbor = min(best_lexbor, time.perf_counter() - t0)
            t0 = time.perf_counter()
            floor(body)
            best_floor = min(best_floor, time.perf_counter() - t0)
            t0 = time.perf_counter()
            lxml.html.document_fromstring(body)
            t1 = time.perf_counter()
            page = parse_page(body, url, "text/html; charset=utf-8")
            t2 = time.perf_counter()
            extract_contacts(page, country)
            t3 = time.perf_counter()
            best_parse = min(best_parse, t1 - t0)
            best_model = min(best_model, t2 - t1)
            best_extract = min(best_extract, t3 - t1)
        ratio = best_extract / best_parse
        ratios.append(ratio)
        floor_ratios.append(best_floor / best_parse)
        floor_ms.append(best_floor * 1000)
        parse_ms.append(best_parse * 1000)
        lexbor_ms.append(best_lexbor * 1000)
        model_ms.append(best_model * 1000)
        extract_ms.append(best_extract * 1000)
        print(
            f"{n:>4} {len(body) // 1024:>5} {best_lexbor * 1000:>9.2f} {best_parse * 1000:>8.2f} {best_floor * 1000:>9.2f} "
            f"{best_model * 1000:>9.2f} {best_extract * 1000:>10.2f} {ratio:>6.2f} {floor_ratios[-1]:>6.2f}"
        )
    return {
        "parse_median": statistics.median(parse_ms), "parse_p95": p95(parse_ms),
        "lexbor_median": statistics.median(lexbor_ms), "lexbor_p95": p95(lexbor_ms),
        "model_median": statistics.median(model_ms),
        "extract_median": statistics.median(extract_ms), "extract_p95": p95(extract_ms),
        "ratio_median": statistics.median(ratios), "ratio_p95": p95(ratios), "pages": len(pages),
        "floor_median": statistics.median(floor_ms),
        "floor_ratio_median": statistics.median(floor_ratios), "floor_ratio_p95": p95(floor_ratios),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per page (best is kept)")
    parser.add_argument("--min-kb", type=int, default=100)
    parser.add_argument("--max-kb", type=int, default=300)
    parser.add_argument("--profile", choices=("unpadded", "catalog", "mixed", "both", "all"), default="all",
                        help="both: catalog and mixed; all: unpadded too")
    args = parser.parse_args()
    profiles = {"both": ("catalog", "mixed"), "all": ("unpadded", "catalog", "mixed")}.get(args.profile, (args.profile,))
    results = {}
    for profile in profiles:
        pages = corpus_pages() if profile == "unpadded" else padded_pages(args.min_kb, args.max_kb, profile)
        if not pages:
            raise SystemExit(f"no fixture pages in {FIXTURES}")
        results[profile] = measure(pages, args.repeat, profile)
    print("\nfull extraction (decode, parse, page model, every extractor) against lxml.html's parse")
    print(f"of the same bytes; the page model (parse_page) is part of it (target <= {TARGET_RATIO:g})")
    for profile, r in results.items():
        print(
            f"{profile:>8}: {r['pages']} pages; lxml parse ms median {r['parse_median']:.2f} p95 {r['parse_p95']:.2f}; "
            f"page model ms median {r['model_median']:.2f}; "
            f"full extraction ms median {r['extract_median']:.2f} p95 {r['extract_p95']:.2f}; "
            f"ratio median {r['ratio_median']:.2f} p95 {r['ratio_p95']:.2f}"
        )
    print("\nside by side, ms per page (median / p95): the page model's parser (Lexbor) alone,")
    print("lxml's parse, and the project's full extraction")
    print(f"{'profile':>8} {'lexbor parse':>16} {'lxml parse':>16} {'full extraction':>18}")
    for profile, r in results.items():
        print(
            f"{profile:>8} {r['lexbor_median']:>7.2f} / {r['lexbor_p95']:<6.2f} {r['parse_median']:>7.2f} / {r['parse_p95']:<6.2f} "
            f"{r['extract_median']:>8.2f} / {r['extract_p95']:<7.2f}"
        )
    print("\nfloor (decode, parse, visible text, one digit-run and one '@' scan; no extraction logic)")
    print("against the same lxml parse: what no pure-Python extractor can go below")
    for profile, r in results.items():
        print(
            f"{profile:>8}: floor ms median {r['floor_median']:.2f}; "
            f"floor ratio median {r['floor_ratio_median']:.2f} p95 {r['floor_ratio_p95']:.2f}"
        )
    missed = {profile: r["ratio_median"] for profile, r in results.items() if r["ratio_median"] > TARGET_RATIO}
    for profile, ratio in missed.items():
        print(f"MISSED: {profile}: median ratio {ratio:.2f} > target {TARGET_RATIO:g}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
