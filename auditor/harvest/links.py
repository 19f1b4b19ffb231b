"""Which links to follow first: a pure score from anchor text, URL slug and position."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit

from auditor.data import load
from auditor.text import fold as fold_text

REGION_BONUS = {"footer": 0.15, "header": 0.1, "nav": 0.1, "main": 0.0}
SITEMAP_BONUS = 0.1
_SEPARATORS = re.compile(r"[\s\-_/.,;:|+()\[\]]+")


def fold(text: str) -> str:
    """Folded (:func:`auditor.text.fold`), separators collapsed and padded, so slugs match words."""
    return " " + _SEPARATORS.sub(" ", fold_text(text)).strip() + " "


@dataclass(frozen=True)
class Keywords:
    weighted: tuple[tuple[str, float], ...]  # folded keyword (with leading space), weight
    avoid: tuple[str, ...]
    avoid_ext: tuple[str, ...]


@cache
def keywords() -> Keywords:
    data = load("contact_keywords.toml")
    weighted: dict[str, float] = {}
    for group in ("strong", "medium", "weak"):
        section = data[group]
        weight = float(section["weight"])
        for lang, words in section.items():
            if lang == "weight":
                continue
            for word in words:
                key = fold(word).rstrip()
                weighted[key] = max(weighted.get(key, 0.0), weight)
    ordered = tuple(sorted(weighted.items(), key=lambda kv: -kv[1]))
    avoid = tuple(fold(w).strip() for w in data["avoid"]["words"])
    return Keywords(ordered, avoid, tuple(data["avoid"]["extensions"]))


def text_score(text: str) -> float:
    """Best keyword weight found in ``text`` (0 when none)."""
    if not text:
        return 0.0
    folded = fold(text)
    for word, weight in keywords().weighted:
        if word in folded:
            return weight
    return 0.0


def url_path_text(url: str) -> str:
    """The decoded path of ``url`` (percent-encoded non-ASCII slugs included)."""
    parts = urlsplit(url)
    return unquote(parts.path, errors="replace") + " " + unquote(parts.query, errors="replace")


def is_avoided(url: str) -> bool:
    """Downloads, carts, logins and feeds never hold a contact page."""
    path = urlsplit(url).path.lower()
    if path.endswith(keywords().avoid_ext):
        return True
    folded = fold(url_path_text(url))
    return any(f" {word} " in folded for word in keywords().avoid)


def link_score(url: str, anchor: str = "", region: str = "main", from_sitemap: bool = False) -> float:
    """How likely ``url`` leads to contact points, roughly 0..1.3; negative = skip."""
    if is_avoided(url):
        return -1.0
    score = max(text_score(anchor), text_score(url_path_text(url)))
    if score > 0:
        score += REGION_BONUS.get(region, 0.0)
        if from_sitemap:
            score += SITEMAP_BONUS
    return round(score, 3)
