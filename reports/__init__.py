"""The report generator: scores and a static, self-contained HTML site from the store."""

from reports.render import render_report

__all__ = ["render_report"]
