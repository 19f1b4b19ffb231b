"""Run a Scrapy crawl over a list of companies; the project's item pipeline stores each result.

The spider class and the Scrapy settings module are handed in by the caller
(:mod:`auditor.pipeline`): the core never imports ``spiders/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from auditor.config import Settings
from auditor.models import Company, CompanyResult


def run_crawl(
    companies: Sequence[Company],
    store_dir: Path,
    settings: Settings,
    spider: type[Spider],
    settings_module: str,
    on_done: Callable[[CompanyResult], None] | None = None,
) -> dict[str, Any]:
    """Crawl ``companies`` (blocking; Scrapy's reactor runs once per process).

    Returns Scrapy's stats. The item pipeline named in ``settings_module``
    saves each company in the store of ``store_dir`` the moment it finishes;
    ``on_done`` then hears of it (progress bar, log line).
    """
    if not companies:
        return {}
    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule(settings_module, priority="project")
    scrapy_settings.setdict(settings.scrapy_settings(), priority="cmdline")
    scrapy_settings.set("AUDITOR_STORE_DIR", str(store_dir), priority="cmdline")
    process = CrawlerProcess(scrapy_settings)
    crawler = process.create_crawler(spider)
    if on_done is not None:
        def scraped(item: Any) -> None:
            if isinstance(item, CompanyResult):
                on_done(item)

        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    process.crawl(crawler, companies=list(companies))
    process.start()
    return dict(crawler.stats.get_stats() or {})
