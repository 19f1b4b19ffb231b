"""The email rules, compiled once from ``auditor/data/emails.toml``.

Labels, role words, names, the at/dot words of obfuscated addresses and what to reject;
the scan's limits and the confidence of each way an address is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.sections import third_party_words
from auditor.text import fold

# A structured or linked address is written for machines: trust it more than a
# string matched in prose, and plain prose more than a de-obfuscated guess.
METHOD_RANK = {"mailto": 0, "json-ld": 0, "microdata": 1, "text": 2, "attribute": 3}
CONFIDENCE = {
    "mailto": conf.MACHINE,
    "json-ld": conf.MACHINE,
    "microdata": conf.STRUCTURED,
    "cloudflare": conf.STRUCTURED,
    "entity": conf.PLAIN,
    "attribute": conf.PLAIN,
    "plain": conf.PLAIN,
    "bracket": conf.LIKELY,
    "bare": conf.GUESS,
    "standalone": conf.WEAK,
}
MAX_TEXT = 200_000  # longest block scanned; longer ones are cut, not skipped
MAX_HTML = 3_000_000
MAX_STRUCTURED = 500
INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_OPEN, _CLOSE = r"[\[\(\{<]", r"[\]\)\}>]"
RETINA = re.compile(r"^\d+(?:[.,_]\d+)?x$")
HEX_LOCAL = re.compile(r"^[0-9a-f]{16,}$")
TOKEN_SPLIT = re.compile(r"[._+\-]+")


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@dataclass(frozen=True)
class _Rules:
    """The compiled data file: built once per process."""

    candidate: re.Pattern[str]
    strict: re.Pattern[str]
    dot_obfuscated: re.Pattern[str]
    at_hint: re.Pattern[str]
    page_hint: re.Pattern[str]
    at_policy: dict[str, tuple[str, str | None]]
    dot_policy: dict[str, tuple[str, str | None]]
    stop_locals: frozenset[str]
    email_label: re.Pattern[str]
    role_words: frozenset[str]
    role_prefixes: tuple[str, ...]
    label_locals: dict[str, str]
    label_prefixes: tuple[tuple[str, str], ...]
    label_keywords: tuple[tuple[str, re.Pattern[str]], ...]
    any_label_keyword: re.Pattern[str]  # a trie of every label's keywords: a yes/no gate
    label_gates: tuple[re.Pattern[str], ...]  # each label's keywords as a trie, in that order
    first_names: frozenset[str]
    last_names: frozenset[str]
    placeholder_domains: frozenset[str]
    placeholder_locals: frozenset[str]
    no_reply_locals: tuple[str, ...]
    tracking_domains: tuple[str, ...]
    file_extensions: frozenset[str]
    third_party: re.Pattern[str]  # a trie: whether a third party is named, not which word


def _word_policies(entries: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    policies: dict[str, tuple[str, str | None]] = {}
    for entry in entries:
        for word in entry.get("words", []):
            policies[word.lower()] = (entry.get("bare", "never"), entry.get("upper"))
    return policies


def keyword_trie(words: Iterable[str]) -> re.Pattern[str]:
    """Where any of ``words`` matches as :func:`_keyword_pattern` reads it, as a trie.

    For a yes/no search only: it matches at the same places as the plain alternation, but
    not always the same word. The engine tries an alternation's branches one by one at
    every position; branching on one character at a time, it skips all words but the few
    starting with the character there.
    """
    trie: dict[str, Any] = {}
    for w in set(words):
        node = trie
        for ch in fold(w):
            node = node.setdefault(ch, {})
        # "" marks a word's end: True when it must end a word, False when a stem
        node[""] = node.get("", True) and len(w) <= 3

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if "" in node:
            alts.append(r"\b" if node[""] else "")
        return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"

    return re.compile(rf"(?<!\w){emit(trie)}")


def _keyword_pattern(words: Iterable[str]) -> re.Pattern[str]:
    # Short keywords ("hr", "dpo") must be whole words; longer ones are stems.
    parts = [
        rf"{re.escape(fold(w))}\b" if len(w) <= 3 else re.escape(fold(w))
        for w in sorted(set(words), key=len, reverse=True)
    ]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})")


@cache
def email_rules() -> _Rules:
    data = load("emails.toml")
    obf = data["obfuscation"]
    at_policy = _word_policies(obf["at"])
    dot_policy = _word_policies(obf["dot"])

    def bareable(policies: dict[str, tuple[str, str | None]]) -> list[str]:
        return [w for w, (bare, upper) in policies.items() if bare != "never" or upper]

    at_bracket = rf"\s*{_OPEN}\s*(?:{_alternation(at_policy)}|@)\s*{_CLOSE}\s*"
    at_bare = rf"\s+(?:{_alternation(bareable(at_policy))})\s+"
    dot_bracket = rf"\s*{_OPEN}\s*(?:{_alternation(dot_policy)}|\.)\s*{_CLOSE}\s*"
    dot_bare = rf"\s+(?:{_alternation(bareable(dot_policy))})\s+"
    # possessive: what may follow an atom (".", a space, a bracket, "@") is never one of its
    # characters, so giving some back cannot help a match; trying to costs a scan per word
    atom = r"\w[\w+'-]*+"
    label = r"[^\W_](?:[\w-]*[^\W_])?"
    local = rf"{atom}(?:(?:\.|{dot_bracket}){atom})*"
    at = rf"(?:{at_bracket}|{at_bare}|\s*@\s*)"
    dot = rf"(?:\.|{dot_bracket}|{dot_bare})"
    start = rf"(?<![\w.+-])(?P<local>{local})(?P<at>{at})"
    candidate = re.compile(rf"{start}(?P<domain>{label}(?:{dot}{label})+)", re.IGNORECASE)
    # The same without bare dot words: "info@firma.hu pont ma" is info@firma.hu.
    strict = re.compile(
        rf"{start}(?P<domain>{label}(?:(?:\.|{dot_bracket}){label})+)", re.IGNORECASE
    )
    at_hint = re.compile(rf"@|(?<!\w)(?:{_alternation(at_policy)})(?!\w)", re.IGNORECASE)

    label_locals: dict[str, str] = {}
    keywords: list[tuple[str, re.Pattern[str]]] = []
    gates: list[re.Pattern[str]] = []
    for name, entry in data["labels"].items():
        for word in entry.get("locals", []):
            label_locals.setdefault(fold(word), name)
        if entry.get("keywords"):
            keywords.append((name, _keyword_pattern(entry["keywords"])))
            gates.append(keyword_trie(entry["keywords"]))
    label_prefixes = tuple(
        sorted(((w, n) for w, n in label_locals.items() if len(w) >= 5), key=lambda p: -len(p[0]))
    )
    role = data["role"]
    names = data["names"]
    reject = data["reject"]
    bare = obf["bare"]
    labels_alt = _alternation(fold(w) for w in bare["labels"])
    return _Rules(
        candidate=candidate,
        strict=strict,
        dot_obfuscated=re.compile(rf"{dot_bracket}|{dot_bare}", re.IGNORECASE),
        at_hint=at_hint,
        page_hint=re.compile(
            rf"[@\s\[\(\{{<](?:(?<=@)|(?:{_alternation(at_policy)})[\s\]\)\}}>])"
        ),
        at_policy=at_policy,
        dot_policy=dot_policy,
        stop_locals=frozenset(fold(w) for w in bare["stop_locals"]),
        email_label=re.compile(rf"(?<!\w)(?:{labels_alt})\W{{0,3}}$"),
        role_words=frozenset(fold(w) for w in role["words"]) | frozenset(label_locals),
        role_prefixes=tuple(sorted({fold(w) for w in role["prefixes"]}, key=len, reverse=True)),
        label_locals=label_locals,
        label_prefixes=label_prefixes,
        label_keywords=tuple(keywords),
        label_gates=tuple(gates),
        any_label_keyword=keyword_trie(
            w for entry in data["labels"].values() for w in entry.get("keywords", [])
        ),
        first_names=frozenset(fold(w) for w in names["first"]),
        last_names=frozenset(fold(w) for w in names["last"]),
        placeholder_domains=frozenset(d.lower() for d in reject["placeholder_domains"]),
        placeholder_locals=frozenset(w.lower() for w in reject["placeholder_locals"]),
        no_reply_locals=tuple(fold(w) for w in reject["no_reply_locals"]),
        tracking_domains=tuple(d.lower() for d in reject["tracking_domains"]),
        file_extensions=frozenset(e.lower() for e in reject["file_extensions"]),
        third_party=keyword_trie(third_party_words()),
    )
