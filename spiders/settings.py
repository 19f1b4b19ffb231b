"""Scrapy settings of the contact spider; run-specific values come from auditor.config."""

BOT_NAME = "contact-auditor"
SPIDER_MODULES = ["spiders.contact"]
NEWSPIDER_MODULE = "spiders"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
TWISTED_DNS_RESOLVER = "spiders.dns.GuardedResolver"
REACTOR_THREADPOOL_MAXSIZE = 16
RETRY_ENABLED = True
RETRY_TIMES = 1
RETRY_HTTP_CODES = [502, 503, 504, 522, 524, 408, 429]
HTTPERROR_ALLOW_ALL = True
METAREFRESH_ENABLED = True
REFERER_ENABLED = True
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.Rfc9309RobotsMiddleware": 100,
    "spiders.middlewares.AddressGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
}
LOG_LEVEL = "INFO"
LOG_INSTALL_ROOT_HANDLER = False
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
