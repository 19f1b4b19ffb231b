"""Run a Scrapy crawl over a list of companies; the project's item pipeline stores each result.

The spider class and the Scrapy settings module are handed in by the caller
(:mod:`auditor.pipeline`): the core never imports ``spiders/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from auditor.config import Settings
from auditor.models import Company, CompanyResult


def run_crawl(
    companies: Iterable[Company],
    store_dir: str | Path,
    settings: Settings,
    spider: type[Spider],
    settings_module: str,
    on_done: Callable[[CompanyResult], None] | None = None,
    spider_args: Mapping[str, Any] | None = None,
    extra_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Crawl ``companies`` (blocking; Scrapy's reactor runs once per process).

    The spider takes the companies from ``companies`` as it starts them (a stream
    of a long list is never turned into a list). Returns Scrapy's stats. The item pipeline named in ``settings_module``
    saves each company in the store of ``store_dir`` the moment it finishes;
    ``on_done`` then hears of it (progress bar, log line). ``store_dir`` may be
    a database URL, and ``companies`` an iterator that claims companies from a
    distributed run's queue (``spider_args`` then hands the spider its guard, and
    ``extra_settings`` its shared per-host pacing).
    """
    if isinstance(companies, Sequence) and not companies:
        return {}  # an empty list: no crawl to start (a stream's emptiness is its caller's to know)
    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule(settings_module, priority="project")
    scrapy_settings.setdict(settings.scrapy_settings(), priority="cmdline")
    scrapy_settings.set("AUDITOR_STORE_DIR", str(store_dir), priority="cmdline")
    scrapy_settings.setdict(dict(extra_settings or {}), priority="cmdline")
    process = CrawlerProcess(scrapy_settings)
    crawler = process.create_crawler(spider)
    if on_done is not None:
        def scraped(item: Any) -> None:
            if isinstance(item, CompanyResult):
                on_done(item)

        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    # Not peeked at here: a distributed run's claims claim a company per step, and one
    # claimed before the crawl starts would be held by nobody who can hand it back.
    process.crawl(crawler, companies=companies, **dict(spider_args or {}))
    process.start()
    return dict(crawler.stats.get_stats() or {})
