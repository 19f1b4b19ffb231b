"""Extraction cost against lxml's own parse time, per page.

Target (issue 2): extracting every contact point from a typical 100-300 KB page
costs at most twice the time lxml needs to parse it. Pages are the fixture
corpus, each padded with realistic boilerplate (product grids, prices, dates,
order numbers) to 100-300 KB, as real shop and company pages are.

    python bench/bench_extract.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import lxml.html

from auditor.extract import extract_contacts, parse_page

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


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


def padded_pages(min_kb: int, max_kb: int) -> list[tuple[str, str, str | None]]:
    import json

    rng = random.Random(42)
    pages = []
    for html_path in sorted(FIXTURES.glob("*.html")):
        truth_path = html_path.with_suffix(".json")
        truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
        html = html_path.read_text(encoding="utf-8", errors="replace")
        target = rng.randint(min_kb, max_kb) * 1024 - len(html)
        filler = f'<section class="catalog">{boilerplate(rng, max(target, 0))}</section>'
        idx = html.lower().rfind("</body>")
        html = html[:idx] + filler + html[idx:] if idx >= 0 else html + filler
        pages.append((html, truth.get("url", "https://example.com/"), truth.get("country")))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per page (best is kept)")
    parser.add_argument("--min-kb", type=int, default=100)
    parser.add_argument("--max-kb", type=int, default=300)
    args = parser.parse_args()
    pages = padded_pages(args.min_kb, args.max_kb)
    if not pages:
        raise SystemExit(f"no fixture pages in {FIXTURES}")
    ratios, parse_ms, extract_ms = [], [], []
    print(f"{'page':>4} {'KB':>5} {'lxml ms':>8} {'extract ms':>10} {'ratio':>6}")
    for n, (html, url, country) in enumerate(pages):
        body = html.encode("utf-8")
        best_parse = best_extract = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            lxml.html.document_fromstring(body)
            t1 = time.perf_counter()
            extract_contacts(parse_page(body, url, "text/html; charset=utf-8"), country)
            t2 = time.perf_counter()
            best_parse = min(best_parse, t1 - t0)
            best_extract = min(best_extract, t2 - t1)
        ratio = best_extract / best_parse
        ratios.append(ratio)
        parse_ms.append(best_parse * 1000)
        extract_ms.append(best_extract * 1000)
        print(f"{n:>4} {len(body) // 1024:>5} {best_parse * 1000:>8.2f} {best_extract * 1000:>10.2f} {ratio:>6.2f}")

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]

    print()
    print(f"pages: {len(pages)}")
    print(f"lxml parse ms:      median {statistics.median(parse_ms):.2f}  p95 {p95(parse_ms):.2f}")
    print(f"full extraction ms: median {statistics.median(extract_ms):.2f}  p95 {p95(extract_ms):.2f}")
    print(f"extraction / parse: median {statistics.median(ratios):.2f}  p95 {p95(ratios):.2f}  (target <= 2.0)")


if __name__ == "__main__":
    main()
