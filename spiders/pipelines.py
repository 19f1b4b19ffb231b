"""Item pipeline: store each finished company the moment the spider yields it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from auditor.models import CompanyResult
from auditor.store import Store, open_store

log = logging.getLogger(__name__)


class StorePipeline:
    """Saves a :class:`CompanyResult` item in one transaction (a crash never leaves half a company).

    The store is the audit's in ``AUDITOR_STORE_DIR``; a company that cannot be
    stored is logged and the crawl goes on with the others.
    """

    def __init__(self, store_dir: str) -> None:
        self.store_dir = store_dir
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        store_dir = crawler.settings.get("AUDITOR_STORE_DIR")
        if not store_dir:
            raise NotConfigured("AUDITOR_STORE_DIR names no audit directory")
        return cls(str(store_dir))

    def open_spider(self) -> None:
        self.store = open_store(self.store_dir)

    def close_spider(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, CompanyResult) and self.store is not None:
            try:
                self.store.save_company(item)
            except Exception:  # noqa: BLE001 - log and keep crawling the others
                log.exception("could not store %s", item.company.website)
        return item
