"""Harvest: what feeds the extractors and stores contact points.

``inputs`` reads the companies to audit, ``links`` ranks the links worth
following, ``crawl`` runs a Scrapy crawl and ``browser`` renders script-built
pages in headless Chromium (JS-only chat widgets). Everything that adds
contact points to the store lives here; validators only return verdicts.
"""
