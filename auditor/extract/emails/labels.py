"""Role or personal addresses, and the label (sales, support, ...) an address's words give it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache

from auditor.extract.context import PageMemo
from auditor.extract.emails.rules import TOKEN_SPLIT, email_rules
from auditor.models import CONTEXT_MAX, clip_context
from auditor.text import fold

log = logging.getLogger(__package__)


_DIGITS = re.compile(r"\d+")


def _tokens(local: str, bare: str | None = None) -> list[str]:
    """The ``. _ + -`` parts of ``local`` without digits, empty ones dropped.

    The digits go before the split (``bare`` is ``local`` without them, when known): dropping
    them can only join separators around an all-digit part, which would be dropped anyway.
    """
    return [t for t in TOKEN_SPLIT.split(_DIGITS.sub("", local) if bare is None else bare) if t]


def is_role(local: str) -> bool:
    rules = email_rules()
    bare = _DIGITS.sub("", local)
    if local in rules.role_words or bare in rules.role_words:
        return True
    if any(t in rules.role_words for t in _tokens(local, bare)):
        return True
    shortest, heads, tails = _role_prefix_ends()
    # Safe: a stem that starts (ends) the local part shares its first (last) ``shortest``
    # letters, and only stems shorter than the local part count, none shorter than that.
    if len(local) <= shortest or (local[:shortest] not in heads and local[-shortest:] not in tails):
        return False
    return any(
        local.startswith(words) or local.endswith(words)
        for length, words in _role_prefixes_by_length()
        if length < len(local)
    )


@cache
def _by_length(words: tuple[str, ...]) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """``words`` grouped by length: a C-level startswith/endswith per group, not per word."""
    groups: dict[int, list[str]] = {}
    for word in words:
        groups.setdefault(len(word), []).append(word)
    return tuple((length, tuple(group)) for length, group in sorted(groups.items()))


@cache
def _affix_index(pairs: tuple[tuple[str, str], ...]) -> tuple[dict[str, int], dict[str, int], int | None]:
    """The first position of each word of ``pairs`` (as a start), of each word of 6+ letters
    (as an end), and the position of the first empty word (it starts every local part)."""
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    empty = None
    for i, (word, _name) in enumerate(pairs):
        if not word:
            empty = i if empty is None else empty
            continue
        starts.setdefault(word, i)
        if len(word) >= 6:
            ends.setdefault(word, i)
    return starts, ends, empty


@cache
def _affix_sizes(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The lengths of ``_affix_index``'s start words and of its end words."""
    starts, ends, _empty = _affix_index(pairs)
    return tuple(sorted({len(w) for w in starts})), tuple(sorted({len(w) for w in ends}))


# Built once, looked up without an argument: a cache keyed on the rules' long tuples would
# hash them again on every call.
@cache
def _role_prefixes_by_length() -> tuple[tuple[int, tuple[str, ...]], ...]:
    return _by_length(email_rules().role_prefixes)


def _ends(words: Iterable[str]) -> tuple[int, frozenset[str], frozenset[str]]:
    """The shortest word's length n, and every word's first and last n letters: a string
    whose own first (last) n letters are not among them starts (ends) with no word."""
    words = [w for w in words if w]
    shortest = min(map(len, words), default=0)
    return shortest, frozenset(w[:shortest] for w in words), frozenset(w[-shortest:] for w in words)


@cache
def _role_prefix_ends() -> tuple[int, frozenset[str], frozenset[str]]:
    words = email_rules().role_prefixes
    # no stems: a length no local part reaches, so the test above answers False at once
    return _ends(words) if words else (1 << 30, frozenset(), frozenset())


@cache
def _label_affix_ends() -> tuple[tuple[int, frozenset[str]], tuple[int, frozenset[str]]]:
    """``_ends`` of the label words read as starts, and of those read as ends."""
    (starts, ends, _empty), _sizes = _label_affixes()
    head_len, heads, _t = _ends(starts)
    tail_len, _h, tails = _ends(ends)
    return (head_len, heads), (tail_len, tails)


@cache
def _label_affixes() -> tuple[
    tuple[dict[str, int], dict[str, int], int | None], tuple[tuple[int, ...], tuple[int, ...]]
]:
    pairs = email_rules().label_prefixes
    return _affix_index(pairs), _affix_sizes(pairs)


def _surname(token: str) -> bool:
    """Common surname, also in its feminine form (kowalska, novakova, ivanova)."""
    last = email_rules().last_names
    if token in last:
        return True
    if not token.endswith("a"):
        return False  # every feminine ending below ends in "a"
    return (
        token[:-1] in last
        or (token.endswith(("ska", "cka", "dzka")) and token[:-1] + "i" in last)
        or (token.endswith("ova") and token[:-3] in last)
    )


@cache
def _first_name_shape() -> tuple[tuple[int, ...], int, frozenset[str], frozenset[str]]:
    """The first names' lengths, the shortest n, and every name's first and last n letters."""
    first = [f for f in email_rules().first_names if f]
    lengths = tuple(sorted({len(f) for f in first})) or (1,)
    n = lengths[0]
    return lengths, n, frozenset(f[:n] for f in first), frozenset(f[-n:] for f in first)


def _name_like(token: str) -> bool:
    """A first name, a surname, or initial/first name joined to a surname."""
    rules = email_rules()
    if token in rules.first_names or _surname(token):
        return True
    if len(token) < 2:
        return False
    if _surname(token[1:]) or _surname(token[:-1]):
        return True  # jkowalski, kovacsp: an initial and a surname
    # A first name and a surname (peterhorvath, kovacspeter): only the lengths first names
    # have are tried, and only on a side whose first (last) letters start (end) one.
    lengths, shortest, heads, tails = _first_name_shape()
    lead, trail = token[:shortest] in heads, token[-shortest:] in tails
    for n in lengths:
        if n >= len(token):
            break
        if lead and token[:n] in rules.first_names and _surname(token[n:]):
            return True
        if trail and token[-n:] in rules.first_names and _surname(token[:-n]):
            return True
    return False


def classify_address(address: str) -> str:
    """'role' or 'personal' for an address (or a bare local part).

    A role mailbox belongs to a function and survives staff changes, so the
    audit weighs it differently from a person's mailbox. The rule, in order:

    1. ``first.last`` whose first token is a common first name -> personal
       (``peter.sales`` is Péter in sales, not the sales desk).
    2. The local part (plus-tag and digits dropped, accents folded), or one of
       its ``. _ -`` tokens, is a role word in any listed language (info,
       kapcsolat, biuro, zakaznik, iletisim, otdel, noreply, …), or it starts
       or ends with a role stem (``infobudapest``, ``salesteam``) -> role.
    3. Letters split by ``.``, ``_`` or ``-`` into two or three parts, one of
       at least two letters (``j.kowalski``, ``anna-maria``) -> personal.
    4. One word that is a common first name or surname, or an initial or
       first name glued to a surname (``jkowalski``, ``peterhorvath``) -> personal.
    5. Anything else (``abc``, ``shop24``, ``12345``) -> role: an unknown
       mailbox that does not look like a name is treated as a function's.
    """
    try:
        local = str(address).rpartition("@")[0] or str(address)
        local = fold(local.split("+", 1)[0].strip())
        if not local:
            return "role"
        rules = email_rules()
        parts = [p for p in TOKEN_SPLIT.split(local) if p]
        if len(parts) >= 2 and parts[0] in rules.first_names and parts[0] not in rules.role_words:
            return "personal"
        if is_role(local):
            return "role"
        tokens = _tokens(local)
        if len(tokens) != len(parts) or not tokens:
            return "role"  # a part was only digits: an account, not a name
        if 2 <= len(tokens) <= 3 and all(t.isalpha() for t in tokens):
            if max(len(t) for t in tokens) >= 2:
                return "personal"
        if len(tokens) == 1 and tokens[0].isalpha() and _name_like(tokens[0]):
            return "personal"
    except Exception:  # noqa: BLE001
        log.debug("classify_address failed on %r", address, exc_info=True)
    return "role"


def _label_from_local(local: str) -> str | None:
    rules = email_rules()
    local = fold(local.split("+", 1)[0])
    bare = _DIGITS.sub("", local)
    for key in (local, bare, *_tokens(local, bare)):
        if key in rules.label_locals:
            return rules.label_locals[key]
    # The first entry that starts the local part, or (6+ letters) ends it: "salesteam" is
    # sales; "express" and "multimedia" are not press. Looked up by the part's own starts and ends.
    (starts, ends, empty), (start_sizes, end_sizes) = _label_affixes()
    (head_len, heads), (tail_len, tails) = _label_affix_ends()
    # Safe: a word that starts (ends) the local part shares its first (last) letters, as many
    # as the shortest such word has; an empty word would start every local part.
    if (
        empty is None
        and (not heads or len(local) < head_len or local[:head_len] not in heads)
        and (not tails or len(local) < tail_len or local[-tail_len:] not in tails)
    ):
        return None
    # only the lengths some word has can match: the rest of 1..len(local) finds nothing
    found = [starts.get(local[:n]) for n in start_sizes if n <= len(local)]
    found += [ends.get(local[-n:]) for n in end_sizes if n <= len(local)]
    first = min((i for i in [empty, *found] if i is not None), default=None)
    return rules.label_prefixes[first][1] if first is not None else None


# one page shows an address in its link, its text and its markup: its label is read once
label_from_local = PageMemo(_label_from_local)

_OTHER_ADDRESS = re.compile(r"\S+@\S+")


def _without_addresses(text: str) -> str:
    """``text`` with other addresses blanked out; the pattern's own search is skipped
    where it cannot match (it needs an "@": a C-level test finds out)."""
    return _OTHER_ADDRESS.sub(" ", text) if "@" in text else text


# what may open the text after an address that names its label: "(customer service)", "- sales"
_TAIL_MARKS = ("(", "-", "–", "—", ":")


def label_from_text(before: str, after: str = "") -> str | None:
    """The label whose keyword is nearest before the address (or right after it,
    in brackets or after a dash: ``info@x.hu (customer service)``)."""
    before = _without_addresses(fold(before))
    head = after.lstrip()[:1]
    if head.isascii() and head not in _TAIL_MARKS:
        # Safe: folding keeps whitespace whitespace and lower-cases an ASCII character, so
        # the folded text starts with no mark either and is read no further.
        after, tail_ok = "", False
    else:
        after = _without_addresses(fold(after))
        tail_ok = after.lstrip()[:1] in _TAIL_MARKS
    # Safe: the trie matches where any label's pattern does, so a miss means none would.
    anywhere = email_rules().any_label_keyword
    if anywhere.search(before) is None and not (tail_ok and anywhere.search(after)):
        return None
    best: tuple[int, str] | None = None
    rules = email_rules()
    for (name, pattern), gate in zip(rules.label_keywords, rules.label_gates, strict=True):
        # the gate matches where the pattern does (not always the same word): a miss skips it
        for m in pattern.finditer(before) if gate.search(before) else ():
            dist = len(before) - m.end()
            if best is None or dist < best[0]:
                best = (dist, name)
        if tail_ok and gate.search(after):
            hit = pattern.search(after)
            if hit and (best is None or hit.start() + 40 < best[0]):
                best = (hit.start() + 40, name)
    return best[1] if best else None


def text_window(text: str, start: int, end: int, limit: int = CONTEXT_MAX) -> str:
    """About ``limit`` characters of ``text`` centred on [start, end)."""
    if len(text) <= limit:
        return clip_context(text)
    room = max(0, limit - (end - start))
    lo = max(0, start - room * 2 // 3)
    hi = min(len(text), end + room - (start - lo))
    return clip_context(text[lo:hi], limit)
