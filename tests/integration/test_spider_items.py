"""The spider yields each finished company as an item; the item pipeline stores it.

A company finished outside a callback (the idle rescue, when its last request
vanished) cannot be yielded from the signal handler: a data: request carries it
to a callback. A spider that never finishes companies in callbacks shows that
path stores every company too. Each crawl runs in its own process (Scrapy's
reactor runs once per process).
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
from auditor.config import build_settings
from auditor.harvest.crawl import run_crawl
from auditor.harvest.inputs import read_companies
from auditor.store import open_store
from spiders.contact import ContactSpider

class IdleFinisher(ContactSpider):
    def _continue(self, state):
        return list(self._drain(state))  # never finish here: only the idle rescue does

out, csv_path, nameserver, spider = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
settings = build_settings(None, nameserver=nameserver, allow_private_targets=True, delay=0.0, timeout=5.0,
                          autothrottle=False, max_pages=3, progress=False)
companies = read_companies(csv_path).companies
store = open_store(out)
store.start_run(settings.to_dict(), "test")
store.register_companies(companies)
store.close()
heard = []
cls = IdleFinisher if spider == "idle" else ContactSpider
run_crawl(companies, out, settings, cls, "spiders.settings", on_done=lambda r: heard.append(r.company.key))
store = open_store(out)
stored = {r.company.key: len(r.pages) for r in store.results() if r.status != "pending"}
print(json.dumps({"companies": [c.key for c in companies], "heard": heard, "stored": stored}))
"""


def _crawl(lab: Lab, tmp_path: Path, spider: str) -> dict[str, Any]:
    csv_path = lab.write_companies_csv(tmp_path / f"{spider}.csv", ["kovacs-szerviz.hu", "teashop.co.uk", "sitemapco.pl"])
    proc = subprocess.run([sys.executable, "-c", CRAWL, str(tmp_path / spider), str(csv_path), lab.nameserver, spider],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("spider", ["contact", "idle"])
def test_every_finished_company_is_stored_once(lab: Lab, tmp_path: Path, spider: str) -> None:
    doc = _crawl(lab, tmp_path, spider)
    companies = doc["companies"]
    assert len(companies) == 3
    assert sorted(doc["heard"]) == sorted(companies)
    stored = doc["stored"]
    assert sorted(stored) == sorted(companies)
    assert all(pages >= 1 for pages in stored.values())
