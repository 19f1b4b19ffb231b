"""Run the contact spider over a list of companies and store each result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from auditor.config import Settings
from auditor.models import Company, CompanyResult
from auditor.store import Store

log = logging.getLogger(__name__)


def run_harvest(
    companies: Sequence[Company],
    store: Store,
    settings: Settings,
    on_done: Callable[[CompanyResult], None] | None = None,
) -> dict[str, Any]:
    """Crawl ``companies`` (blocking; Scrapy's reactor runs once per process).

    Returns Scrapy's stats. Each company is saved the moment it finishes.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings

    from spiders.contact import ContactSpider

    if not companies:
        return {}
    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule("spiders.settings", priority="project")
    scrapy_settings.setdict(settings.scrapy_settings(), priority="cmdline")

    def done(result: CompanyResult) -> None:
        try:
            store.save_company(result)
        except Exception:  # noqa: BLE001 - log and keep crawling the others
            log.exception("could not store %s", result.company.website)
        if on_done:
            on_done(result)

    process = CrawlerProcess(scrapy_settings)
    crawler = process.create_crawler(ContactSpider)
    process.crawl(crawler, companies=list(companies), on_company_done=done)
    process.start()
    stats = dict(crawler.stats.get_stats() or {})
    return stats
