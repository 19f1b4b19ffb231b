"""Messaging deep links (WhatsApp, Telegram, Viber, Messenger, Skype) from page links.

Each link is turned into one canonical value so that the same account linked in
several spellings (``api.whatsapp.com/send?phone=+36 20…`` and ``wa.me/3620…``)
deduplicates. Platform rules live in ``auditor/data/messaging.toml``.
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import Link, ParsedPage
from auditor.models import ContactPoint

_NON_DIGIT = re.compile(r"\D+")
_HOST_END = re.compile(r"[/?#]")  # where the host of a scheme-less link ends


@dataclass(frozen=True)
class Deeplink:
    """A recognised messaging link: platform, canonical value and account."""

    platform: str
    value: str
    account: str


@cache
def rules() -> dict[str, Any]:
    """Platform rules from the data file, loaded once."""
    data = copy.deepcopy(load("messaging.toml"))  # derived keys are added below
    for key in ("telegram", "messenger"):
        data[key]["name_re"] = re.compile(data[key]["name_pattern"])
    hosts: set[str] = set()
    for platform in ("whatsapp", "telegram", "messenger"):
        for key in ("number_hosts", "send_hosts", "short_hosts", "hosts", "thread_hosts"):
            hosts.update(data[platform].get(key, []))
    data["web_hosts"] = frozenset(hosts)
    schemes = {sch for platform in ("whatsapp", "telegram", "viber", "skype")
               for sch in data[platform].get("schemes", [])}
    # One cheap search rules out almost every link before any URL parsing.
    words = sorted({h.removeprefix("www.") for h in hosts} | {f"{sch}:" for sch in schemes}, key=len, reverse=True)
    data["prefilter"] = tuple(words)
    return data


def _query(query: str) -> dict[str, str]:
    """Query parameters without turning "+" into a space: numbers keep their plus."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key and key not in out:
            out[key] = unquote(value).strip()
    return out


def _segments(path: str) -> list[str]:
    return [unquote(s) for s in path.split("/") if s]


def _digits(text: str, rule: dict[str, Any]) -> str | None:
    digits = _NON_DIGIT.sub("", text)
    if rule["min_digits"] <= len(digits) <= rule["max_digits"]:
        return digits
    return None


def _whatsapp(parts: SplitResult, host: str, rule: dict[str, Any]) -> Deeplink | None:
    if parts.scheme in rule["schemes"]:
        number = _first_param(_query(parts.query), rule["phone_params"])
        digits = _digits(number, rule) if number else None
        return Deeplink("whatsapp", f"https://wa.me/{digits}", digits) if digits else None
    if host in rule["short_hosts"]:
        segs = _segments(parts.path)
        if segs:
            return Deeplink("whatsapp", f"https://wa.link/{segs[0]}", segs[0])
        return None
    if host in rule["number_hosts"]:
        segs = _segments(parts.path)
        if not segs:
            return None  # wa.me/?text=...: a share link
        if segs[0].lower() in rule["code_prefixes"] and len(segs) > 1:
            path = f"{segs[0].lower()}/{segs[1]}"
            return Deeplink("whatsapp", f"https://wa.me/{path}", segs[1])
        if re.fullmatch(r"[+\d\s().-]+", segs[0]):
            digits = _digits(segs[0], rule)
            return Deeplink("whatsapp", f"https://wa.me/{digits}", digits) if digits else None
        return None
    if host in rule["send_hosts"] and parts.path.lower() in rule["send_paths"]:
        number = _first_param(_query(parts.query), rule["phone_params"])
        digits = _digits(number, rule) if number else None
        return Deeplink("whatsapp", f"https://wa.me/{digits}", digits) if digits else None
    return None


def _first_param(params: dict[str, str], names: list[str]) -> str:
    for name in names:
        if params.get(name):
            return params[name]
    return ""


def _telegram_name(name: str, rule: dict[str, Any]) -> Deeplink | None:
    if rule["name_re"].match(name) and name.lower() not in rule["reserved"]:
        name = name.lower()
        return Deeplink("telegram", f"https://t.me/{name}", name)
    return None


def _telegram(parts: SplitResult, host: str, rule: dict[str, Any]) -> Deeplink | None:
    if parts.scheme in rule["schemes"]:
        params = _query(parts.query)
        if parts.netloc == "resolve" and params.get("domain"):
            return _telegram_name(params["domain"], rule)
        if parts.netloc == "join" and params.get("invite"):
            code = params["invite"]
            return Deeplink("telegram", f"https://t.me/+{code}", f"+{code}")
        return None
    if host not in rule["hosts"]:
        return None
    segs = _segments(parts.path)
    if not segs:
        return None
    first = segs[0]
    if first.startswith("+") and len(first) > 1:
        return Deeplink("telegram", f"https://t.me/{first}", first)
    if first == rule["invite_segment"]:  # t.me/joinchat alone invites nowhere: no account
        path = f"{first}/{segs[1]}" if len(segs) > 1 else ""
        return Deeplink("telegram", f"https://t.me/{path}", path) if path else None
    if first == rule["preview_segment"] and len(segs) > 1:
        return _telegram_name(segs[1], rule)
    return _telegram_name(first, rule)


def _viber(parts: SplitResult, rule: dict[str, Any]) -> Deeplink | None:
    if parts.scheme not in rule["schemes"]:
        return None
    action = parts.netloc.lower()
    if not action:  # viber:chat?number=... without the slashes
        segs = _segments(parts.path)
        action = segs[0].lower() if segs else ""
    params = _query(parts.query)
    if action in rule["number_actions"]:
        number = _first_param(params, rule["number_params"])
        digits = _digits(number, rule) if number else None
        if digits:
            return Deeplink("viber", f"viber://chat?number=%2B{digits}", digits)
        return None
    if action in rule["public_actions"]:
        uri = _first_param(params, rule["public_params"])
        return Deeplink("viber", f"viber://pa?chatURI={uri}", uri) if uri else None
    return None


def _messenger(parts: SplitResult, host: str, rule: dict[str, Any]) -> Deeplink | None:
    segs = _segments(parts.path)
    if host in rule["thread_hosts"]:
        if len(segs) < 2 or segs[0] != rule["thread_segment"]:
            return None
        segs = segs[1:]
    elif host not in rule["hosts"] or not segs:
        return None
    if segs[0] in rule["code_prefixes"]:
        if len(segs) < 2:
            return None
        path = f"{segs[0]}/{segs[1]}"
        return Deeplink("messenger", f"https://m.me/{path}", path)
    if rule["name_re"].match(segs[0]):
        page = segs[0].lower()  # page usernames are case-insensitive
        return Deeplink("messenger", f"https://m.me/{page}", page)
    return None


def _skype(href: str, rule: dict[str, Any]) -> Deeplink | None:
    scheme, _, rest = href.partition(":")
    if scheme.lower() not in rule["schemes"] or not rest:
        return None
    name, _, query = rest.partition("?")
    name = unquote(name).strip().lstrip("/")
    if not name:
        return None
    action = query.split("&", 1)[0].split("=", 1)[0].lower()
    verb = "chat" if action in rule["chat_actions"] else "call"
    return Deeplink("skype", f"skype:{name}?{verb}", name)


def _without_scheme(href: str) -> bool:
    """A web link written without its scheme ("wa.me/...", not "https://wa.me/..." or "whatsapp:")."""
    return _HOST_END.split(href.strip(), 1)[0].lower() in rules()["web_hosts"]


def classify(href: str) -> Deeplink | None:
    """The messaging account a link opens, or None (not messaging, or a share link)."""
    href = href.strip()
    if not href or len(href) > 2000:
        return None
    data = rules()
    if href.lower().startswith("skype:"):
        return _skype(href, data["skype"])
    # href="wa.me/3620..." or "api.whatsapp.com?phone=..." written without a scheme: a
    # browser resolves both against the page (a dead link on the company's own site), but
    # the author named the messaging host and published the account, so the host is read;
    # "someone@wa.me/..." or "wa.me.example.hu/..." does not start with one and stays a path.
    if _without_scheme(href):
        href = "https://" + href
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme in data["viber"]["schemes"]:
        return _viber(parts, data["viber"])
    if scheme in data["whatsapp"]["schemes"]:
        return _whatsapp(parts, host, data["whatsapp"])
    if scheme in data["telegram"]["schemes"]:
        return _telegram(parts, host, data["telegram"])
    if scheme not in ("http", "https"):
        return None
    return (
        _whatsapp(parts, host, data["whatsapp"])
        or _telegram(parts, host, data["telegram"])
        or _messenger(parts, host, data["messenger"])
    )


def _linked(links: list[Link], every_href: str, words: list[str], aligned: bool) -> Iterator[int]:
    """The indexes, in order, of the links whose href or raw href holds one of ``words``.

    ``every_href`` is each link's "href raw_href" lower-cased, joined by newlines. When
    no word holds whitespace, an occurrence of one lies within one href or raw href: the
    links are those whose stretch holds an occurrence, found by searching for the words
    (few occurrences) rather than testing every link. Unless ``aligned`` (no whitespace in
    the words, and lower-casing kept every position: no İ), each link is tested as such.
    """
    if not aligned:
        for i, link in enumerate(links):
            low = link.href.lower()
            if any(w in low for w in words) or any(w in link.raw_href.lower() for w in words):
                yield i
        return
    starts = list(accumulate((len(link.href) + len(link.raw_href) + 2 for link in links), initial=0))
    hits: set[int] = set()
    for word in words:
        at = every_href.find(word)
        while at >= 0:
            hits.add(bisect_right(starts, at) - 1)
            at = every_href.find(word, at + 1)
    yield from sorted(hits)


def extract_messaging(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """One contact point per distinct messaging account linked from the page."""
    out: list[ContactPoint] = []
    seen: set[str] = set()
    # Which platform words occur in any href at all: one C-level search per word over
    # all hrefs, then only the links where a word was found.
    links = page.links
    joined = "\n".join(f"{link.href} {link.raw_href}" for link in links)
    every_href = joined.lower()
    from auditor.extract.widget_config import extract_widget_messaging  # imports this module

    words = [w for w in rules()["prefilter"] if w in every_href]
    if not words:
        return extract_widget_messaging(page, seen)
    aligned = len(every_href) == len(joined) and not any(c.isspace() for w in words for c in w)
    for link in (links[i] for i in _linked(links, every_href, words, aligned)):
        found = classify(link.href) or (
            classify(link.raw_href) if link.raw_href != link.href else None
        )
        if found is None or found.value in seen:
            continue
        seen.add(found.value)
        out.append(
            ContactPoint(
                kind="messaging",
                value=found.value,
                raw=link.raw_href,
                label=found.platform,
                method="deep-link",
                confidence=conf.CERTAIN,
                page_url=page.url,
                context=" ".join(filter(None, (link.text, link.title))) or link.raw_href,
                details={
                    "platform": found.platform,
                    "account": found.account,
                    "region": link.region,
                    # href="wa.me/..." opens the site's own page: the account is real, the link dead
                    **({"written_without_scheme": True} if _without_scheme(link.raw_href) else {}),
                },
            )
        )
    return out + extract_widget_messaging(page, seen)  # click-to-chat widget settings
