"""Scanning text for addresses: plain ones and those obfuscated with at/dot words or brackets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import unquote

from auditor.extract.emails.gate import validate
from auditor.extract.emails.labels import is_role
from auditor.extract.emails.rules import INVISIBLE, MAX_TEXT, email_rules
from auditor.text import fold

log = logging.getLogger(__package__)


class _Hit(NamedTuple):
    """One accepted address in a text (a tuple: made once per hit, cheaply)."""

    value: str
    raw: str
    start: int
    end: int
    form: str  # plain, bracket, bare, standalone
    obfuscated: bool


_BEFORE_OK = set(":;,(<[|/–—-•·>\"'«„“*")
_AFTER_OK = set(".,;:)>]|/–—-\"'»”!?*")


def _standalone(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(candidate stands alone, an e-mail label precedes it).

    Standing alone means delimited like an address in a contact block, not
    embedded in a sentence: "E-mail: info at firma dot hu" but not "look at x.com".
    """
    before = text[max(0, start - 300) : start].rstrip()
    label = bool(email_rules().email_label.search(fold(before[-40:])))
    ok_before = not before or before[-1] in _BEFORE_OK or label
    after = text[end : end + 300].lstrip()
    ok_after = (
        not after
        or (after[0] in _AFTER_OK and not (after[0] == "." and after[1:2].isalnum()))
        or after[0].isupper()
        or after[0].isdigit()
        or after[0] == "+"
    )
    return ok_before and ok_after, label


def _separator_word(sep: str) -> tuple[str, str]:
    """(form, word) of one separator: literal, spaced, bracket or bare."""
    stripped = sep.strip()
    if stripped in ("@", "."):
        return ("literal" if stripped == sep else "spaced"), stripped
    if stripped[:1] in "[({<" and stripped[-1:] in "])}>":
        return "bracket", stripped[1:-1].strip()
    return "bare", stripped


def _policy(word: str, policies: dict[str, tuple[str, str | None]], local: str) -> str:
    bare, upper = policies.get(word.lower(), ("never", None))
    # "info AT firma.hu" is deliberate; "EXCLUSIVELY AT NIKE.COM" is shouting.
    if upper and word.isupper() and not local.isupper():
        return upper
    return bare


_SPACE_OR_OPEN = re.compile(r"[\s\[\(\{<]")


def _judge(text: str, m: re.Match[str]) -> tuple[str, str, bool] | None:
    """(address, form, obfuscated) for a regex match, or None if the form is unsafe."""
    rules = email_rules()
    local_raw, at_raw, domain_raw = m.group("local"), m.group("at"), m.group("domain")
    if at_raw == "@" and not _SPACE_OR_OPEN.search(m.group(0)):
        # Safe: every at or dot word form holds a space or an opening bracket; without one
        # the steps below find a literal "@", no dot words and nothing to replace.
        return f"{local_raw}@{domain_raw}", "plain", False
    at_form, at_word = _separator_word(at_raw)
    dot_seps = [_separator_word(s.group(0)) for s in rules.dot_obfuscated.finditer(domain_raw)]
    policies: list[str] = []
    if at_form == "bare":
        policies.append(_policy(at_word, rules.at_policy, local_raw))
    policies += [_policy(w, rules.dot_policy, local_raw) for f, w in dot_seps if f == "bare"]
    if "never" in policies:
        return None
    bare_at = at_form in ("bare", "spaced")
    bare_dot = any(f == "bare" for f, _w in dot_seps)
    local_folded = fold(local_raw)
    if bare_at and not local_raw.isascii():
        return None
    # "find us at x.com": words that are also prose ("at", a spaced "@") cannot
    # follow a verb or pronoun; "kukac" and "arobase" are never prose.
    prose_at = at_form == "spaced" or rules.at_policy.get(at_word.lower(), ("",))[0] == "standalone"
    if prose_at and local_folded in rules.stop_locals:
        return None
    if bare_dot and at_form == "literal":
        return None  # "info@firma.hu pont ma" is a sentence, not firma.hu.ma
    local_dots = rules.dot_obfuscated.search(local_raw) is not None
    obfuscated = at_form != "literal" or bool(dot_seps) or local_dots
    form = "plain"
    if obfuscated:
        form = "bare" if (bare_at or bare_dot) else "bracket"
    if "standalone" in policies:
        alone, labelled = _standalone(text, m.start(), m.end())
        looks_meant = bool(dot_seps) or labelled or is_role(local_folded)
        if not (alone and looks_meant):
            return None
        form = "standalone"
    local = rules.dot_obfuscated.sub(".", local_raw)
    domain = rules.dot_obfuscated.sub(".", domain_raw)
    return f"{local}@{domain}", form, obfuscated


def _in_url(text: str, start: int, end: int) -> bool:
    """User-info or path of a URL: ``https://key@o1.ingest.sentry.io/1``."""
    before = text[max(0, start - 300) : start]
    token = before.rsplit(None, 1)[-1] if before and not before[-1].isspace() else ""
    if "//" in token or token.endswith("/"):
        return True
    nxt = text[end : end + 2]
    return len(nxt) == 2 and nxt[0] in ":/" and not nxt[1].isspace()


def _repairs(address: str) -> Iterator[tuple[str, int]]:
    """Shorter readings of a domain glued to the next word: 'firma.huTelefon'.

    Inline elements join without spaces ("<span>info@x.hu</span><span>Tel"),
    so a failed domain is retried cut at a lower-to-upper case change, without
    a capitalised last label, or before a hyphenated suffix ("firma.hu-ra").
    Yields (address, characters cut).
    """
    local, _, domain = address.rpartition("@")
    labels = domain.split(".")
    last = labels[-1]
    cut = re.search(r"(?<=[a-z])[A-Z]", last)
    if cut:
        yield f"{local}@{'.'.join(labels[:-1] + [last[: cut.start()]])}", len(last) - cut.start()
    if len(labels) >= 3 and last[:1].isupper() and domain[: -len(last)].islower():
        yield f"{local}@{'.'.join(labels[:-1])}", len(last) + 1
    if "-" in last:  # Hungarian case endings: "info@firma.hu-ra"
        kept = last.split("-", 1)[0]
        yield f"{local}@{'.'.join(labels[:-1] + [kept])}", len(last) - len(kept)


def _accept(text: str, m: re.Match[str]) -> _Hit | None:
    """The hit a regex match stands for, if its form is safe and it validates."""
    judged = None if _in_url(text, m.start(), m.end()) else _judge(text, m)
    if judged is None:
        return None
    address, form, obfuscated = judged
    raw, value = m.group(0), validate(address)
    if value is None and not obfuscated:
        for shorter, cut in _repairs(address):
            value = validate(shorter)
            if value:
                raw = raw[:-cut]
                break
    if value is None:
        return None
    return _Hit(value, raw, m.start(), m.start() + len(raw), form, obfuscated)


def scan_text(text: str) -> list[_Hit]:
    """Every acceptable address in ``text``, plain or obfuscated, left to right."""
    if not text:
        return []
    text = text[:MAX_TEXT]
    rules = email_rules()
    if "@" not in text and not rules.at_hint.search(text):  # the hint's first branch, in C
        return []
    hits: list[_Hit] = []
    pos = 0
    while pos < len(text):
        m = rules.candidate.search(text, pos)
        if m is None:
            break
        hit = _accept(text, m)
        if hit is None:
            shorter = rules.strict.match(text, m.start())
            if shorter is not None and shorter.end() < m.end():
                hit = _accept(text, shorter)
        if hit is None:
            pos = m.start() + 1
            continue
        hits.append(hit)
        pos = hit.end
    return hits


_ENCODED_SPACE = re.compile(r"%(?:20|09|0[aAdD])")
_ANGLE = re.compile(r"<([^<>]*@[^<>]*)>")


def clean_text(text: str) -> str:
    if not text.isascii():  # every INVISIBLE character is outside ASCII
        text = INVISIBLE.sub("", text)
    if "%" in text:
        text = _ENCODED_SPACE.sub(" ", text)
    return text


_WRAPPERS = "<>\"'()[]{},;:"
# An ASCII address as the candidate pattern reads it: atoms of the local part, plain labels.
_PLAIN = re.compile(
    r"[A-Za-z0-9_][A-Za-z0-9_+'-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_+'-]*)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z"
)


def normalize_address(text: str) -> str | None:
    """The normalized address ``text`` spells, or None.

    ``text`` must be one address, possibly wrapped: ``mailto:`` and a query,
    percent-encoding, ``Name <addr>``, spaces, quotes, or at/dot obfuscation.
    Anything more (a sentence, two addresses) gives None.
    """
    try:
        if not isinstance(text, str) or not text.strip() or len(text) > 2000:
            return None
        if _PLAIN.match(text):
            # Safe: on a bare ASCII address with nothing around it the steps below change
            # nothing and the scan finds one plain hit spanning it whose value is
            # ``validate(text)``; when that fails they decide.
            value = validate(text)
            if value is not None:
                return value
        s = clean_text(text.strip())
        if s[:7].lower() == "mailto:":
            s = s[7:].lstrip("/").split("?", 1)[0]
        if "%" in s:
            s = unquote(s)
        angle = _ANGLE.search(s)
        if angle:
            s = angle.group(1)
        s = s.strip().strip(_WRAPPERS).strip().rstrip(".")
        hits = scan_text(s)
        if len(hits) == 1 and hits[0].start == 0 and hits[0].end == len(s):
            return hits[0].value
    except Exception:  # noqa: BLE001 - a pure helper must not raise
        log.debug("normalize_address failed on %r", text, exc_info=True)
    return None
