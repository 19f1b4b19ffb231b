"""Nothing per company outlives its storage (issue 14): memory does not grow with the list.

The spider takes companies from an iterator as crawl slots free up (never a list
of them), drops a company's crawl state once it is stored, and the robots.txt
middleware forgets a host when the last company asking for it finishes. Scrapy's
request dupefilter keeps no fingerprints (the spider filters per company). Each
crawl runs in its own process (Scrapy's reactor runs once per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CRAWL = """
import json, sys
from pathlib import Path
from scrapy import signals
from auditor.config import build_settings
from auditor.harvest.crawl import run_crawl
from auditor.harvest.inputs import stream_companies
from spiders.contact import ContactSpider
from spiders.middlewares import Rfc9309RobotsMiddleware

out, csv_path, nameserver = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
left = {}

class Watched(ContactSpider):
    custom_settings = {"AUDITOR_MAX_OPEN_COMPANIES": 1}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.closing, signal=signals.spider_closed)
        return spider

    def closing(self):
        engine = self.crawler.engine
        robots = next(mw for mw in engine.downloader.middleware.middlewares
                      if isinstance(mw, Rfc9309RobotsMiddleware))
        left.update(states=len(self.states), parsers=len(robots._parsers), outcomes=len(robots.outcomes),
                    hosts=len(robots._hosts), askers=len(robots._askers),
                    fingerprints=len(getattr(engine._slot.scheduler.df, "fingerprints", ())))

settings = build_settings(None, nameserver=nameserver, allow_private_targets=True, delay=0.0, timeout=5.0,
                          autothrottle=False, max_pages=3, progress=False)
pulled, pulled_when_done = [], []

def feed():
    for company in stream_companies(csv_path):
        pulled.append(company.key)
        yield company

run_crawl(feed(), out, settings, Watched, "spiders.settings",
          on_done=lambda result: pulled_when_done.append(len(pulled)))
print(json.dumps({"pulled": pulled, "pulled_when_done": pulled_when_done, "left": left}))
"""


def _crawl(lab: Lab, tmp_path: Path) -> dict[str, Any]:
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv", ["kovacs-szerviz.hu", "teashop.co.uk", "sitemapco.pl"])
    proc = subprocess.run([sys.executable, "-c", CRAWL, str(tmp_path / "out"), str(csv_path), lab.nameserver],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_companies_are_pulled_as_slots_free_and_nothing_is_left_per_company(lab: Lab, tmp_path: Path) -> None:
    doc = _crawl(lab, tmp_path)
    assert len(doc["pulled"]) == 3
    # One company open at a time: when the first is finished, the spider has taken
    # at most the next one from the stream, not the whole list.
    assert len(doc["pulled_when_done"]) == 3
    assert doc["pulled_when_done"][0] <= 2
    # Every company finished: no crawl state, no robots.txt host, no fingerprint left.
    assert doc["left"] == {"states": 0, "parsers": 0, "outcomes": 0, "hosts": 0, "askers": 0, "fingerprints": 0}
