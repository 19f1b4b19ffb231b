"""Messaging accounts that click-to-chat widgets keep in script configuration.

Joinchat, Click to Chat, Chaty, GetButton and the like draw their WhatsApp (or
Telegram, Viber, Messenger) button at run time from an options object or a
``data-settings`` JSON attribute, so static HTML has no ``wa.me`` link to read. The
number or account in that configuration is the contact point. Widget shapes live in
``auditor/data/messaging_widgets.toml``; each value is turned into a link and
canonicalised by :func:`auditor.extract.messaging.classify`, so it deduplicates with
plain deep links to the same account.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

from auditor import data
from auditor.extract.messaging import Deeplink, classify
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint

_NOT_DIGIT = re.compile(r"[^\d+]")


@dataclass(frozen=True)
class Widget:
    """One widget's configuration shape."""

    provider: str
    where: str  # "script" or "attr:<name>"
    marker: str
    fields: tuple[tuple[str, re.Pattern[str]], ...]
    # for "attr:<name>": a search the markup must answer before the tree is asked for the
    # attribute (see ``_named``)
    named: re.Pattern[str] | None = None


def _named(name: str) -> re.Pattern[str]:
    """A search that finds ``name`` written in any ASCII case, or a part of it.

    The parser lower-cases attribute names (ASCII only), so an element carries the
    attribute only where the markup spells its name in some case: without a match the
    tree holds none. From the first character that is not a letter on (a literal the
    engine skips to quickly), else the whole name; each letter as ``[xX]``.
    """
    start = next((i for i, c in enumerate(name) if not c.isascii() or not c.isalpha()), 0)
    return re.compile("".join(f"[{c.lower()}{c.upper()}]" if c.isascii() and c.isalpha() else re.escape(c)
                              for c in name[start:]))


@dataclass(frozen=True)
class _Rules:
    widgets: tuple[Widget, ...]
    platforms: dict[str, str]  # widget channel name (lower-cased) -> platform
    links: dict[str, str]  # platform -> link template


@cache
def _rules() -> _Rules:
    raw = data.load("messaging_widgets.toml")
    widgets = tuple(
        Widget(
            provider=w["provider"],
            where=w["where"],
            marker=w["marker"],
            fields=tuple((platform, re.compile(rx)) for platform, rx in w["fields"]),
            named=_named(w["where"].removeprefix("attr:")) if w["where"].startswith("attr:") else None,
        )
        for w in raw["widget"]
    )
    return _Rules(widgets, dict(raw["platforms"]), dict(raw["links"]))


def _texts(page: ParsedPage, widget: Widget, scripts: list[str]) -> list[str]:
    if widget.where == "script":
        return scripts
    if widget.named is not None and not widget.named.search(page.html):
        return []  # the markup never names the attribute: no element carries it
    return page.attribute_values(widget.where.removeprefix("attr:"))


def _link(platform: str, value: str, rules: _Rules) -> Deeplink | None:
    """The canonical deep link for a configured number or account, if it is one."""
    template = rules.links.get(platform)
    if template is None:
        return None
    if platform in ("whatsapp", "viber"):
        value = _NOT_DIGIT.sub("", value).lstrip("+")
        value = quote("+", safe="") + value if platform == "viber" else value
    found = classify(template.format(value=value))
    return found if found is not None and found.platform == platform else None


def find_configured(page: ParsedPage) -> Iterator[tuple[Widget, str, Deeplink]]:
    """(widget, raw value, link) for every account a widget's configuration names."""
    rules = _rules()
    scripts = [s.text for s in page.scripts if not s.src and s.text]
    for widget in rules.widgets:
        for text in _texts(page, widget, scripts):
            if widget.marker not in text:
                continue
            for platform, pattern in widget.fields:
                for m in pattern.finditer(text):
                    groups = m.groupdict()
                    chosen = platform
                    if groups.get("platform"):
                        chosen = rules.platforms.get(groups["platform"].lower(), "")
                    link = _link(chosen, groups["value"], rules)
                    if link is not None:
                        yield widget, groups["value"], link


def extract_widget_messaging(page: ParsedPage, seen: set[str]) -> list[ContactPoint]:
    """One messaging contact point per configured account not already in ``seen``."""
    out: list[ContactPoint] = []
    for widget, raw, link in find_configured(page):
        if link.value in seen:
            continue
        seen.add(link.value)
        out.append(
            ContactPoint(
                kind="messaging",
                value=link.value,
                raw=raw,
                label=link.platform,
                method="widget-script",
                page_url=page.url,
                context=f"{widget.provider} widget configuration",
                details={"platform": link.platform, "account": link.account, "provider": widget.provider},
            )
        )
    return out
