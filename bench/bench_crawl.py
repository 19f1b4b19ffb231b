"""Harvesting spider against a bare link-following Scrapy spider, same lab, same settings.

Target (issue 2): the harvesting spider keeps at least 0.8 of the bare spider's
pages per second. Both crawl the same generated lab world (N companies, each a
home page linking product pages and a contact page) at the same concurrency,
each in its own process (Scrapy's reactor runs once per process).

    python bench/bench_crawl.py [--companies 40] [--pages 40] [--concurrency 16] [--no-scripts]

Rendering is reported apart: the generated world has no script-built page (the
harvest line shows how many pages ``--render auto`` rendered there: none should
be), and the script-built lab world (auditor/lab/worlds/scripts.toml) is crawled
with ``--render never`` and ``--render auto``: wall time, pages rendered, seconds
spent rendering, the browser's peak memory and the contact points found.

Exits 1 when the ratio of medians misses the target (TARGET_RATIO).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.8  # harvesting pages/s over bare pages/s, ratio of medians

ROOT = Path(__file__).resolve().parent.parent
COMMON = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "LOG_LEVEL": "WARNING",
    "ROBOTSTXT_OBEY": True,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
}


def world_toml(companies: int, pages: int) -> str:
    """A generated world: realistic product pages and one contact page per company."""
    parts = ['[world]\nname = "bench"\ndescription = "crawl benchmark"\n']
    for i in range(companies):
        parts.append(f'''
[[company]]
name = "Bench Shop {i}"
domain = "bench-shop-{i}.de"
country = "DE"
industry = "retail"
language = "de"

[[company.pages]]
path = "/"
title = "Start"
main = \'\'\'
<h1>Willkommen bei Bench Shop {i}</h1>
<ul>{{% for n in range(1, {pages + 1}) %}}<li><a href="/produkt/{{{{ n }}}}">Produkt {{{{ n }}}} – ab {{{{ 10 + n }}}},99 €</a></li>{{% endfor %}}</ul>
<footer><a href="/kontakt">Kontakt</a> · <a href="/impressum">Impressum</a></footer>
\'\'\'

[[company.pages]]
path = "/produkt/{{{{ n }}}}"
repeat = {pages}
title = "Produkt {{{{ n }}}}"
main = \'\'\'
<h1>Produkt {{{{ n }}}}</h1>
<p>Preis: {{{{ 10 + n }}}},99 € inkl. MwSt. Artikelnummer 4711-{{{{ n }}}}. Lieferung am 12.05.2024.</p>
<p>{{{{ "Beschreibung " * 80 }}}}</p>
<p><a href="/produkt/{{{{ n % {pages} + 1 }}}}">Nächstes Produkt</a> <a href="/kontakt">Kontakt</a></p>
\'\'\'

[[company.pages]]
path = "/kontakt"
title = "Kontakt"
main = \'\'\'
<h1>Kontakt</h1>
<p>Kundenservice: <a href="tel:+4930123456{i % 10}0">030 123456{i % 10}0</a></p>
<p>E-Mail: <a href="mailto:service@bench-shop-{i}.de">service@bench-shop-{i}.de</a></p>
<p>Mo–Fr 8:00–18:00</p>
\'\'\'

[[company.pages]]
path = "/impressum"
title = "Impressum"
main = "<h1>Impressum</h1><p>Bench Shop {i} GmbH, Musterstraße 1, 10115 Berlin</p>"
''')
    return "".join(parts)


BARE = '''
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from urllib.parse import urlsplit

sites, settings, budget, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

class Bare(scrapy.Spider):
    """Follows every in-site link, page budget per site, no extraction."""
    name = "bare"
    def __init__(self, **kw):
        super().__init__(**kw)
        self.counts = {}
        self.links = LinkExtractor()
    async def start(self):
        for url in sites:
            self.counts[urlsplit(url).hostname] = 1
            yield scrapy.Request(url)
    def parse(self, response):
        host = urlsplit(response.url).hostname
        for link in self.links.extract_links(response):
            if urlsplit(link.url).hostname == host and self.counts[host] < budget:
                self.counts[host] += 1
                yield scrapy.Request(link.url)

process = CrawlerProcess({**settings, "TWISTED_DNS_RESOLVER": "spiders.dns.GuardedResolver",
                          "AUDITOR_NAMESERVER": settings.pop("NAMESERVER"),
                          "AUDITOR_ALLOW_PRIVATE_TARGETS": True})
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
json.dump({"responses": stats.get("response_received_count", 0),
           "seconds": (stats["finish_time"] - stats["start_time"]).total_seconds()}, open(out, "w"))
'''


def run_bare(lab: object, sites: list[str], concurrency: int, budget: int, tmp: Path) -> dict[str, float]:
    settings = {**COMMON, "CONCURRENT_REQUESTS": concurrency, "NAMESERVER": lab.nameserver}  # type: ignore[attr-defined]
    out = tmp / "bare.json"
    script = tmp / "bare.py"
    script.write_text(BARE)
    subprocess.run([sys.executable, str(script), json.dumps(sites), json.dumps(settings), str(budget), str(out)],
                   check=True, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.read_text())


def run_harvest(lab: object, csv_path: Path, concurrency: int, budget: int, tmp: Path,
                render: str = "auto") -> dict[str, Any]:
    out = tmp / "harvest"
    tmp.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out), "--no-validate",
           "--no-progress", "--nameserver", lab.nameserver, "--allow-private-targets",  # type: ignore[attr-defined]
           "--delay", "0", "--no-autothrottle", "--concurrency", str(concurrency), "--max-pages", str(budget),
           "--no-report", "--render", render]
    t0 = time.perf_counter()
    env = {**os.environ, **lab.env()}  # type: ignore[attr-defined]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    db = sqlite3.connect(out / "audit.sqlite")
    summary = json.loads(db.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    responses = db.execute("SELECT count(*) FROM pages WHERE status IS NOT NULL").fetchone()[0]
    contacts = db.execute("SELECT count(*) FROM contact_points").fetchone()[0]
    pps = summary.get("pages_per_second") or 0.0
    return {"responses": responses, "pages_per_second": pps, "wall": wall, "contacts": contacts,
            "rendering": summary.get("rendering") or {}}


def run_scripts(tmp: Path, concurrency: int, budget: int) -> None:
    """The script-built lab world without and with rendering: what rendering costs and finds."""
    from auditor.lab import Lab
    from auditor.lab.world import SCRIPTS_WORLD, load_world

    with Lab(load_world(SCRIPTS_WORLD)) as lab:
        csv_path = lab.write_companies_csv(tmp / "scripts.csv")
        for mode in ("never", "auto"):
            run = run_harvest(lab, csv_path, concurrency, budget, tmp / f"scripts-{mode}", render=mode)
            r = run["rendering"]
            peak = f"{r['peak_mb']:.0f} MB" if r.get("peak_mb") else "n/a"
            print(f"script-built world, --render {mode:5}: {run['wall']:.1f} s wall, {run['contacts']} contact points, "
                  f"{r.get('pages', 0)} pages rendered in {r.get('seconds', 0):g} s (browser peak {peak}; "
                  f"reasons {r.get('reasons', {})}, errors {r.get('errors', {})})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=40)
    parser.add_argument("--pages", type=int, default=40, help="product pages per company")
    parser.add_argument("--budget", type=int, default=25, help="page budget per company (both spiders)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each spider")
    parser.add_argument("--no-scripts", action="store_true", help="skip the script-built world (rendering cost)")
    args = parser.parse_args()

    from auditor.lab import Lab
    from auditor.lab.world import parse_world

    world = parse_world(world_toml(args.companies, args.pages), "bench-world")
    tmp = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    with Lab(world) as lab:
        csv_path = lab.write_companies_csv(tmp / "companies.csv")
        sites = [lab.website(c) for c in world.companies]
        bare_runs, harvest_runs = [], []
        for i in range(args.rounds):  # alternate, so neither always runs on a warmer lab
            bare_runs.append(run_bare(lab, sites, args.concurrency, args.budget, tmp))
            harvest_runs.append(run_harvest(lab, csv_path, args.concurrency, args.budget, tmp / f"h{i}"))
    import statistics

    bare_pps = [b["responses"] / b["seconds"] for b in bare_runs if b["seconds"]]
    harvest_pps = [h["pages_per_second"] for h in harvest_runs]
    print(f"companies: {args.companies}, page budget {args.budget}, concurrency {args.concurrency},"
          f" rounds {args.rounds} (same settings: no delay, no AutoThrottle, robots obeyed)")
    print("bare spider pages/s:       " + ", ".join(f"{v:.0f}" for v in bare_pps))
    print("harvesting spider pages/s: " + ", ".join(f"{v:.0f}" for v in harvest_pps)
          + f"  ({harvest_runs[-1]['contacts']} contact points stored per run)")
    rendered = [h["rendering"].get("pages", 0) for h in harvest_runs]
    print(f"pages rendered by the harvesting spider (--render auto): {rendered} "
          f"(mode {harvest_runs[-1]['rendering'].get('mode', '?')})")
    if not args.no_scripts:
        run_scripts(tmp, args.concurrency, args.budget)
    ratio = statistics.median(harvest_pps) / statistics.median(bare_pps)
    print(f"ratio of medians harvest/bare: {ratio:.2f} (target >= {TARGET_RATIO:g})")
    if ratio < TARGET_RATIO:
        print(f"MISSED: ratio {ratio:.2f} < target {TARGET_RATIO:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
