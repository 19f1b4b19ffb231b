"""Item pipeline: store each finished company the moment the spider yields it."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from auditor.dist.claims import StoreGuard
from auditor.models import CompanyResult
from auditor.store import StaleWrite, Store, open_store

log = logging.getLogger(__name__)


class StorePipeline:
    """Saves a :class:`CompanyResult` item in one transaction (a crash never leaves half a company).

    The store is the audit's in ``AUDITOR_STORE_DIR`` (a folder, or a database
    URL); a company that cannot be stored is logged and the crawl goes on with
    the others. In a distributed run the spider carries a ``store_guard``: a
    company whose claim was lost is not written, and a stored one finishes its claim.
    """

    def __init__(self, store_dir: str, crawler: Crawler | None = None) -> None:
        self.store_dir = store_dir
        self.store: Store | None = None
        self.crawler = crawler
        self.guard: StoreGuard | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        store_dir = crawler.settings.get("AUDITOR_STORE_DIR")
        if not store_dir:
            raise NotConfigured("AUDITOR_STORE_DIR names no audit directory")
        return cls(str(store_dir), crawler)

    def open_spider(self) -> None:
        self.store = open_store(self.store_dir)
        spider = self.crawler.spider if self.crawler is not None else None
        self.guard = getattr(spider, "store_guard", None)

    def close_spider(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, CompanyResult) and self.store is not None:
            if self.guard is not None and not self.guard.may_store(item):
                return item
            try:
                self.store.save_company(item, self.guard.fence(item) if self.guard is not None else None)
            except StaleWrite:
                if self.guard is not None:
                    self.guard.refused(item)  # a later claim of the company is stored: this write is late
            except Exception as exc:  # noqa: BLE001 - log and keep crawling the others
                log.exception("could not store %s", item.company.website)
                if self.guard is not None:
                    self.guard.store_failed(item, f"{type(exc).__name__}: {exc}")
            else:
                if self.guard is not None:
                    self.guard.stored(item)
        return item
