"""Signals of the contact spider, for the components that keep state per company."""

# Sent once per company when the spider finishes it, with ``key`` (the company's
# key). Components that keep something per host or per request for a company (the
# robots.txt middleware's parsers) forget it then, so nothing grows with the list.
company_finished = object()
