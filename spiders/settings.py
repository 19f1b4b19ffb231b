"""Scrapy settings of the contact spider; run-specific values come from auditor.config."""

BOT_NAME = "contact-auditor"
SPIDER_MODULES = ["spiders.contact"]
NEWSPIDER_MODULE = "spiders"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy >= 2.19 opens an HTTP server that runs Python code sent to it (token in a
# file under the user's state directory): no open port, no token file, ever.
REMOTE_CONTROL_ENABLED = False
# Never route through a proxy from the environment (http_proxy...): the proxy would
# resolve and connect, and the address guard would never see the target.
HTTPPROXY_ENABLED = False
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
EXTENSIONS = {
    "spiders.limits.HeaderLimit": 0,
}
ITEM_PIPELINES = {
    "spiders.pipelines.StorePipeline": 300,
}
# Responses yield requests and, rarely, one finished company: Scrapy's default of 100
# parallel output workers per response only costs CPU (100 asyncio tasks per page).
CONCURRENT_ITEMS = 8
