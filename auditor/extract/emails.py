"""Email addresses published on one page.

Sources, best first: ``mailto:`` links, JSON-LD and microdata ``email``
properties, then visible text (plain, obfuscated with at/dot words in several
languages, Cloudflare ``data-cfemail`` and ``/cdn-cgi/l/email-protection``
hex, and entity-encoded addresses in the HTML source). Scripts are never
scanned except JSON-LD: they are full of DSNs, CSS and templating junk.

Every candidate passes one gate (:func:`_validate`): RFC syntax through
email-validator, a real public suffix, and no file names, map coordinates,
placeholders or tracking DSNs. Words and lists live in ``data/emails.toml``.
"""

from __future__ import annotations

import html as htmllib
import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import Any
from urllib.parse import unquote, urlsplit

import ahocorasick
from email_validator import validate_email

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import THIRD_PARTY, ParsedPage, text_of
from auditor.extract.sections import third_party_words
from auditor.models import CONTEXT_MAX, ContactPoint, clip_context
from auditor.net.domains import has_public_suffix, registrable_domain, same_site
from auditor.text import fold

log = logging.getLogger(__name__)

__all__ = ["classify_address", "extract_emails", "normalize_address"]

# A structured or linked address is written for machines: trust it more than a
# string matched in prose, and plain prose more than a de-obfuscated guess.
_METHOD_RANK = {"mailto": 0, "json-ld": 0, "microdata": 1, "text": 2}
_CONFIDENCE = {
    "mailto": conf.MACHINE,
    "json-ld": conf.MACHINE,
    "microdata": conf.STRUCTURED,
    "cloudflare": conf.STRUCTURED,
    "entity": conf.PLAIN,
    "plain": conf.PLAIN,
    "bracket": conf.LIKELY,
    "bare": conf.GUESS,
    "standalone": conf.WEAK,
}
_MAX_TEXT = 200_000  # longest block scanned; longer ones are cut, not skipped
_MAX_HTML = 3_000_000
_MAX_STRUCTURED = 500
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_OPEN, _CLOSE = r"[\[\(\{<]", r"[\]\)\}>]"
_RETINA = re.compile(r"^\d+(?:[.,_]\d+)?x$")
_HEX_LOCAL = re.compile(r"^[0-9a-f]{16,}$")
_TOKEN_SPLIT = re.compile(r"[._+\-]+")


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
    first_names: frozenset[str]
    last_names: frozenset[str]
    placeholder_domains: frozenset[str]
    placeholder_locals: frozenset[str]
    tracking_domains: tuple[str, ...]
    file_extensions: frozenset[str]
    third_party: re.Pattern[str]


def _word_policies(entries: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    policies: dict[str, tuple[str, str | None]] = {}
    for entry in entries:
        for word in entry.get("words", []):
            policies[word.lower()] = (entry.get("bare", "never"), entry.get("upper"))
    return policies


def _keyword_pattern(words: Iterable[str]) -> re.Pattern[str]:
    # Short keywords ("hr", "dpo") must be whole words; longer ones are stems.
    parts = [
        rf"{re.escape(fold(w))}\b" if len(w) <= 3 else re.escape(fold(w))
        for w in sorted(set(words), key=len, reverse=True)
    ]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})")


@cache
def _rules() -> _Rules:
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
    atom = r"\w[\w+'-]*"
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
    for name, entry in data["labels"].items():
        for word in entry.get("locals", []):
            label_locals.setdefault(fold(word), name)
        if entry.get("keywords"):
            keywords.append((name, _keyword_pattern(entry["keywords"])))
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
        first_names=frozenset(fold(w) for w in names["first"]),
        last_names=frozenset(fold(w) for w in names["last"]),
        placeholder_domains=frozenset(d.lower() for d in reject["placeholder_domains"]),
        placeholder_locals=frozenset(w.lower() for w in reject["placeholder_locals"]),
        tracking_domains=tuple(d.lower() for d in reject["tracking_domains"]),
        file_extensions=frozenset(e.lower() for e in reject["file_extensions"]),
        third_party=_keyword_pattern(third_party_words()),
    )


# ---------------------------------------------------------------------------
# The gate every candidate passes.
# ---------------------------------------------------------------------------


def _validate(address: str) -> str | None:
    """Normalized lower-case address, or None when it is not a real contact.

    Syntax alone lets through ``logo@2x.png`` and ``name@domain.com``; the
    public suffix, file-name, placeholder and tracker checks remove those.
    """
    if not address or len(address) > 320 or address.count("@") != 1:
        return None
    try:
        result = validate_email(address, check_deliverability=False)
    except Exception:  # noqa: BLE001 - EmailNotValidError, and anything IDNA throws
        return None
    value = result.normalized.lower()
    local, _, domain = value.rpartition("@")
    ascii_domain = (result.ascii_domain or domain).lower()
    if not (has_public_suffix(ascii_domain) or has_public_suffix(domain)):
        return None
    rules = _rules()
    labels = ascii_domain.split(".")
    if labels[-1] in rules.file_extensions or _RETINA.match(labels[0]):
        return None
    registrable = registrable_domain(ascii_domain) or ascii_domain
    if (
        registrable in rules.placeholder_domains
        or domain in rules.placeholder_domains
        or ascii_domain in rules.placeholder_domains
        or local in rules.placeholder_locals
    ):
        return None
    if any(ascii_domain == t or ascii_domain.endswith("." + t) for t in rules.tracking_domains):
        return None
    if _HEX_LOCAL.match(local) and re.search(r"\d", local) and re.search(r"[a-f]", local):
        return None  # 32-hex keys of error trackers and analytics
    return value


# ---------------------------------------------------------------------------
# Text scanning: plain and obfuscated addresses.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
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
    label = bool(_rules().email_label.search(fold(before[-40:])))
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


def _judge(text: str, m: re.Match[str]) -> tuple[str, str, bool] | None:
    """(address, form, obfuscated) for a regex match, or None if the form is unsafe."""
    rules = _rules()
    local_raw, at_raw, domain_raw = m.group("local"), m.group("at"), m.group("domain")
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
        looks_meant = bool(dot_seps) or labelled or _is_role(local_folded)
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
    raw, value = m.group(0), _validate(address)
    if value is None and not obfuscated:
        for shorter, cut in _repairs(address):
            value = _validate(shorter)
            if value:
                raw = raw[:-cut]
                break
    if value is None:
        return None
    return _Hit(value, raw, m.start(), m.start() + len(raw), form, obfuscated)


def _scan(text: str) -> list[_Hit]:
    """Every acceptable address in ``text``, plain or obfuscated, left to right."""
    if not text:
        return []
    text = text[:_MAX_TEXT]
    rules = _rules()
    if not rules.at_hint.search(text):
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


def _clean_text(text: str) -> str:
    text = _INVISIBLE.sub("", text)
    if "%" in text:
        text = re.sub(r"%(?:20|09|0[aAdD])", " ", text)
    return text


_WRAPPERS = "<>\"'()[]{},;:"


def normalize_address(text: str) -> str | None:
    """The normalized address ``text`` spells, or None.

    ``text`` must be one address, possibly wrapped: ``mailto:`` and a query,
    percent-encoding, ``Name <addr>``, spaces, quotes, or at/dot obfuscation.
    Anything more (a sentence, two addresses) gives None.
    """
    try:
        if not isinstance(text, str) or not text.strip() or len(text) > 2000:
            return None
        s = _clean_text(text.strip())
        if s[:7].lower() == "mailto:":
            s = s[7:].lstrip("/").split("?", 1)[0]
        if "%" in s:
            s = unquote(s)
        angle = re.search(r"<([^<>]*@[^<>]*)>", s)
        if angle:
            s = angle.group(1)
        s = s.strip().strip(_WRAPPERS).strip().rstrip(".")
        hits = _scan(s)
        if len(hits) == 1 and hits[0].start == 0 and hits[0].end == len(s):
            return hits[0].value
    except Exception:  # noqa: BLE001 - a pure helper must not raise
        log.debug("normalize_address failed on %r", text, exc_info=True)
    return None


# ---------------------------------------------------------------------------
# Role / personal and labels.
# ---------------------------------------------------------------------------


def _tokens(local: str) -> list[str]:
    return [t for t in (re.sub(r"\d+", "", p) for p in _TOKEN_SPLIT.split(local)) if t]


def _is_role(local: str) -> bool:
    rules = _rules()
    if local in rules.role_words or re.sub(r"\d+", "", local) in rules.role_words:
        return True
    if any(t in rules.role_words for t in _tokens(local)):
        return True
    return any(
        len(local) > len(p) and (local.startswith(p) or local.endswith(p))
        for p in rules.role_prefixes
    )


def _surname(token: str) -> bool:
    """Common surname, also in its feminine form (kowalska, novakova, ivanova)."""
    last = _rules().last_names
    if token in last:
        return True
    forms = {token[:-1]} if token.endswith("a") else set()
    if token.endswith(("ska", "cka", "dzka")):
        forms.add(token[:-1] + "i")
    if token.endswith("ova"):
        forms.add(token[:-3])
    return bool(forms & last)


def _name_like(token: str) -> bool:
    """A first name, a surname, or initial/first name joined to a surname."""
    rules = _rules()
    if token in rules.first_names or _surname(token):
        return True
    for i in range(1, len(token)):
        head, tail = token[:i], token[i:]
        if (len(head) == 1 or head in rules.first_names) and _surname(tail):
            return True  # jkowalski, peterhorvath
        if _surname(head) and (len(tail) == 1 or tail in rules.first_names):
            return True  # kovacsp, kovacspeter
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
        rules = _rules()
        parts = [p for p in _TOKEN_SPLIT.split(local) if p]
        if len(parts) >= 2 and parts[0] in rules.first_names and parts[0] not in rules.role_words:
            return "personal"
        if _is_role(local):
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
    rules = _rules()
    local = fold(local.split("+", 1)[0])
    for key in (local, re.sub(r"\d+", "", local), *_tokens(local)):
        if key in rules.label_locals:
            return rules.label_locals[key]
    for word, name in rules.label_prefixes:
        # "salesteam" is sales; "express" and "multimedia" are not press.
        if local.startswith(word) or (len(word) >= 6 and local.endswith(word)):
            return name
    return None


_OTHER_ADDRESS = re.compile(r"\S+@\S+")


def _label_from_text(before: str, after: str = "") -> str | None:
    """The label whose keyword is nearest before the address (or right after it,
    in brackets or after a dash: ``info@x.hu (customer service)``)."""
    before = _OTHER_ADDRESS.sub(" ", fold(before))
    after = _OTHER_ADDRESS.sub(" ", fold(after))
    tail_ok = after.lstrip()[:1] in ("(", "-", "–", "—", ":")
    best: tuple[int, str] | None = None
    for name, pattern in _rules().label_keywords:
        for m in pattern.finditer(before):
            dist = len(before) - m.end()
            if best is None or dist < best[0]:
                best = (dist, name)
        if tail_ok:
            m = pattern.search(after)
            if m and (best is None or m.start() + 40 < best[0]):
                best = (m.start() + 40, name)
    return best[1] if best else None


def _window(text: str, start: int, end: int, limit: int = CONTEXT_MAX) -> str:
    """About ``limit`` characters of ``text`` centred on [start, end)."""
    if len(text) <= limit:
        return clip_context(text)
    room = max(0, limit - (end - start))
    lo = max(0, start - room * 2 // 3)
    hi = min(len(text), end + room - (start - lo))
    return clip_context(text[lo:hi], limit)


# ---------------------------------------------------------------------------
# Collection and deduplication.
# ---------------------------------------------------------------------------


@dataclass
class _Found:
    value: str
    raw: str
    method: str
    context: str
    confidence: float
    label: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)


# What ``\s`` matches in a str pattern (tests check the list against the engine).
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)


@cache
def _hint_automaton() -> Any:
    """``page_hint`` spelled out as literals: "@", or a space or opening bracket, an at-word
    and a space or closing bracket. Each value is the literal's length."""
    automaton = ahocorasick.Automaton()
    automaton.add_word("@", 1)
    before = WHITESPACE + "[({<"
    after = WHITESPACE + "])}>"
    for word in _rules().at_policy:
        for b in before:
            for a in after:
                automaton.add_word(b + word + a, len(word) + 2)
    automaton.make_automaton()
    return automaton


class _PageText:
    """The page's blocks lower-cased and joined once, for whole-page searches.

    Thousands of blocks make a regex call or a ``lower()`` per block cost more
    than all the real work; one string and a bisect over block ends do not.
    """

    def __init__(self, page: ParsedPage) -> None:
        self.blocks = page.blocks
        texts = [b.text for b in self.blocks]
        joined = "\n".join(texts)
        self.lowered = joined.lower()
        if len(self.lowered) != len(joined):  # "İ" lower-cases to two characters
            texts = [t.lower() for t in texts]
            self.lowered = "\n".join(texts)
        self.ends = list(accumulate(len(t) + 1 for t in texts))

    def block_at(self, offset: int) -> int:
        return bisect_right(self.ends, offset)

    def hinted(self) -> Iterator[int]:
        """Indexes of blocks with "@" or a spaced or bracketed at-word.

        Where ``_rules().page_hint.finditer`` starts its matches, found by one Aho-Corasick
        pass: the regex begins with a class of whitespace and brackets, which the engine
        tries at every space of the page's prose.
        """
        last = -1
        end = 0
        hits = sorted((at - size + 1, size) for at, size in _hint_automaton().iter(self.lowered))
        for start, size in hits:
            if start < end:
                continue  # finditer's matches do not overlap
            end = start + size
            i = self.block_at(start)
            if i != last and i < len(self.blocks):
                last = i
                yield i

    def find(self, needle: str) -> int | None:
        """Index of the first block containing ``needle`` (case-insensitive)."""
        pos = self.lowered.find(needle.lower()) if needle else -1
        if pos < 0:
            return None
        i = self.block_at(pos)
        return i if i < len(self.blocks) else None


class _Collector:
    """One record per address; the best method wins, the others fill gaps."""

    def __init__(self, page: ParsedPage) -> None:
        self.found: dict[str, _Found] = {}
        self.text = _PageText(page)

    def add(self, item: _Found) -> None:
        item.methods.add(item.method)
        old = self.found.get(item.value)
        if old is None:
            self.found[item.value] = item
            return
        best, other = (
            (item, old) if _METHOD_RANK[item.method] < _METHOD_RANK[old.method] else (old, item)
        )
        best.methods |= other.methods
        best.label = best.label or other.label
        best.context = best.context or other.context
        best.confidence = max(best.confidence, other.confidence)
        for key, val in other.details.items():
            best.details.setdefault(key, val)
        self.found[item.value] = best


def _cf_decode(hexstr: str) -> str | None:
    """Cloudflare email protection: hex bytes XOR the first byte, UTF-8."""
    hexstr = (hexstr or "").strip()
    if len(hexstr) < 4 or len(hexstr) % 2 or len(hexstr) > 2000:
        return None
    try:
        raw = bytes.fromhex(hexstr)
        return bytes(b ^ raw[0] for b in raw[1:]).decode("utf-8")
    except ValueError:
        return None


def _mailto_targets(href: str) -> list[tuple[str, str]]:
    """(recipient, field) pairs of a mailto URL, cleaned of junk around them.

    Handles ``mailto:%20a@x.hu``, ``mailto:a@x.hu,b@x.hu``, ``?subject=``,
    ``?cc=`` / ``&bcc=``, a query wrongly started with ``&``, percent-encoding.
    """
    s = _INVISIBLE.sub("", href or "").strip()
    s = re.sub(r"^mailto:(?://)?", "", s, flags=re.IGNORECASE)
    if "?" in s:
        addr, _, query = s.partition("?")
    elif "&" in s and "=" in s.partition("&")[2]:
        addr, _, query = s.partition("&")
    else:
        addr, query = s, ""
    out = [(p, "to") for p in re.split(r"[,;]", unquote(addr))]
    for part in query.split("&"):
        key, _, val = part.partition("=")
        key = unquote(key).strip().lower()
        if key in ("to", "cc", "bcc"):
            out += [(p, key) for p in re.split(r"[,;]", unquote(val))]
    return [(p.strip(), f) for p, f in out if p.strip()]


def _block_context(
    page: ParsedPage, text: _PageText, needle: str
) -> tuple[str, str, str, int] | None:
    """(context, text before, region, index) of the first block containing ``needle``."""
    if not needle or len(needle) < 3 or "\n" in needle:
        return None
    index = text.find(needle)
    if index is None:
        return None
    block = page.blocks[index]
    i = block.text.lower().find(needle.lower())
    if i < 0:
        return None
    j = i + len(needle)
    return _window(block.text, i, j), block.text[max(0, i - 80) : i], block.region, index


_TITLE_MAX_WORDS = 6
_TITLE_LOOKBACK = 8


def _title_like(text: str) -> bool:
    """A short line without digits or "label: value": a section title."""
    head = text.rstrip(":").strip()
    return (
        0 < len(head.split()) <= _TITLE_MAX_WORDS
        and ":" not in head
        and "@" not in head
        and not any(ch.isdigit() for ch in head)
    )


def _third_party(
    page: ParsedPage, index: int | None, before: str, value: str, region: str | None = None
) -> bool:
    """An off-site address in a section about another organisation.

    Imprints name the hosting provider ("Tárhelyszolgáltató"), conciliation
    body and authority with their own addresses; those are not the company's.
    The page model marks such entries (region ``third-party``); failing that, the
    section title is the nearest short, digit-free block above.
    """
    try:
        host = urlsplit(page.url).hostname or ""
    except ValueError:
        host = ""
    if not host or same_site(value.rpartition("@")[2], host):
        return False
    if region == THIRD_PARTY:
        return True
    pattern = _rules().third_party
    if pattern.search(fold(before)):
        return True
    if index is None:
        return False
    for block in reversed(page.blocks[max(0, index - _TITLE_LOOKBACK) : index]):
        if _title_like(block.text):
            return bool(pattern.search(fold(block.text)))
    return False


def _from_links(page: ParsedPage, out: _Collector) -> None:
    for link in page.links:
        raw_href = link.raw_href or ""
        lowered = raw_href.lstrip().lower()
        if lowered.startswith("mailto:"):
            targets, method, obfuscation = _mailto_targets(raw_href), "mailto", None
        elif "/cdn-cgi/l/email-protection#" in lowered:
            decoded = _cf_decode(raw_href.rpartition("#")[2])
            if decoded is None:
                continue
            targets, method, obfuscation = _mailto_targets(decoded), "text", "cloudflare"
        else:
            continue
        for target, field_name in targets:
            value = normalize_address(target)
            if value is None:
                continue
            label_text = f"{link.text} {link.title}".strip()
            found = _block_context(page, out.text, link.text) or _block_context(
                page, out.text, value
            )
            context, before, region, index = found or (label_text or value, "", link.region, None)
            if _third_party(page, index, before, value, link.region):
                continue
            label = (
                _label_from_local(value.rpartition("@")[0])
                or _label_from_text(label_text)
                or _label_from_text(before)
            )
            details: dict[str, Any] = {"region": link.region or region}
            if field_name != "to":
                details["mailto_field"] = field_name
            if obfuscation:
                details["obfuscation"] = obfuscation
            conf = _CONFIDENCE["cloudflare" if obfuscation else "mailto"]
            raw = raw_href.strip() if method == "mailto" else target
            out.add(_Found(value, raw, method, context, conf, label, details))


def _from_blocks(page: ParsedPage, out: _Collector) -> None:
    for index in out.text.hinted():
        block = page.blocks[index]
        text = _clean_text(block.text)
        hits = _scan(text)
        for i, hit in enumerate(hits):
            before = text[max(0, hit.start - 120) : hit.start]
            if _third_party(page, index, before, hit.value, block.region):
                continue
            details: dict[str, Any] = {"region": block.region}
            if hit.obfuscated:
                details["obfuscation"] = "at-dot"
            # A keyword labels the addresses after it up to the next address only:
            # in "Sales: a@x.hu, b@x.hu" b's label is not known.
            lo = max(hit.start - 80, hits[i - 1].end if i else 0)
            hi = min(hit.end + 40, hits[i + 1].start if i + 1 < len(hits) else len(text))
            label = _label_from_local(hit.value.rpartition("@")[0]) or _label_from_text(
                text[lo : hit.start], text[hit.end : hi]
            )
            context = _window(text, hit.start, hit.end)
            conf = _CONFIDENCE[hit.form]
            out.add(_Found(hit.value, hit.raw, "text", context, conf, label, details))


def _cf_context(page: ParsedPage, hexstr: str, decoded: str) -> str:
    try:
        for el in page.tree.xpath("//*[@data-cfemail=$h]", h=hexstr):
            parent = el.getparent() if el.getparent() is not None else el
            text = " ".join(text_of(parent).split())
            return text.replace("[email protected]", decoded) or decoded
    except Exception:  # noqa: BLE001 - context is a courtesy
        pass
    return decoded


def _from_cloudflare(page: ParsedPage, out: _Collector) -> None:
    for hexstr, ctx in page.cfemails:
        decoded = _cf_decode(hexstr)
        if not decoded:
            continue
        value = normalize_address(decoded)
        if value is None:
            hits = _scan(_clean_text(decoded))
            if not hits:
                continue
            value = hits[0].value
        context = clip_context(ctx) if ctx else _cf_context(page, hexstr, decoded)
        label = _label_from_local(value.rpartition("@")[0]) or _label_from_text(context)
        details = {"obfuscation": "cloudflare", "cfemail": hexstr}
        out.add(_Found(value, decoded, "text", context, _CONFIDENCE["cloudflare"], label, details))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("@value", "@id", "value"):
            if isinstance(value.get(key), str):
                yield value[key]
    elif isinstance(value, list):
        for item in value[:50]:
            yield from _strings(item)


def _first_string(value: Any) -> str:
    return next(_strings(value), "")


def _walk(node: Any, depth: int, found: list[tuple[str, str, str]]) -> None:
    """Collect (email string, contactType, name) from JSON-LD or microdata items."""
    if depth > 12 or len(found) >= _MAX_STRUCTURED:
        return
    if isinstance(node, list):
        for item in node[:_MAX_STRUCTURED]:
            _walk(item, depth + 1, found)
        return
    if not isinstance(node, dict):
        return
    props = node.get("properties") if isinstance(node.get("properties"), dict) else node
    ctype = _first_string(props.get("contactType"))
    name = _first_string(props.get("name"))
    for key, val in props.items():
        short = key.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() if isinstance(key, str) else ""
        if short == "email":
            found.extend((s, ctype, name) for s in _strings(val))
        elif isinstance(val, dict | list):
            _walk(val, depth + 1, found)
        elif isinstance(val, str) and val.strip().lower().startswith("mailto:"):
            found.append((val, ctype, name))


def _from_structured(page: ParsedPage, out: _Collector) -> None:
    structured = page.structured
    for method in ("json-ld", "microdata"):
        found: list[tuple[str, str, str]] = []
        _walk(structured.get(method) or [], 0, found)
        for raw, ctype, name in found:
            targets = (
                _mailto_targets(raw) if raw.strip().lower().startswith("mailto:") else [(raw, "to")]
            )
            for target, _field in targets:
                value = normalize_address(target)
                if value is None:
                    continue
                context = clip_context(" ".join(p for p in (name, ctype, raw.strip()) if p))
                label = _label_from_local(value.rpartition("@")[0]) or _label_from_text(ctype)
                details: dict[str, Any] = {"contact_type": ctype} if ctype else {}
                out.add(
                    _Found(value, raw.strip(), method, context, _CONFIDENCE[method], label, details)
                )


_HIDDEN_SOURCE = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
# Numeric entities (also double-encoded "&amp;#64;") and the named @ and dot.
_ENTITY_MARK = re.compile(r"&(?:amp;)?#[xX]?[0-9a-fA-F]{1,7};?|&(?:commat|period);", re.IGNORECASE)
_RUN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+@%-&#;")
_RUN_REACH = 300
_PLACEHOLDER_ATTR = re.compile(r"placeholder\s*=\s*[\"']?\s*$", re.IGNORECASE)


def _entity_runs(source: str) -> Iterator[tuple[int, str]]:
    """(start, text) of each stretch of address characters holding an entity.

    Grows outwards from each entity instead of matching runs everywhere: a
    300 KB page has tens of thousands of word runs and a handful of entities.
    """
    done = 0
    for mark in _ENTITY_MARK.finditer(source):
        if mark.start() < done:
            continue
        lo = mark.start()
        while lo > 0 and mark.start() - lo < _RUN_REACH and source[lo - 1] in _RUN_CHARS:
            lo -= 1
        hi = mark.end()
        while hi < len(source) and hi - mark.end() < _RUN_REACH and source[hi] in _RUN_CHARS:
            hi += 1
        done = hi
        yield lo, source[lo:hi]


def _from_entities(page: ParsedPage, out: _Collector) -> None:
    """Entity-encoded addresses anywhere in the markup (attributes included).

    lxml decodes entities in text, which the block scan already sees; this
    finds ``data-email="&#105;nfo&#64;..."``, double-encoded ``&amp;#64;`` and
    the like. Scripts, styles, comments and placeholder attributes are skipped.
    """
    source = page.html[:_MAX_HTML] if isinstance(page.html, str) else ""
    if not _ENTITY_MARK.search(source):
        return
    source = _HIDDEN_SOURCE.sub(" ", source)
    for start, chunk in _entity_runs(source):
        decoded = htmllib.unescape(chunk)
        if "&" in decoded:
            decoded = htmllib.unescape(decoded)
        if "@" not in decoded or _PLACEHOLDER_ATTR.search(source[max(0, start - 40) : start]):
            continue
        for hit in _scan(_clean_text(decoded)):
            if hit.raw.lower() in chunk.lower():
                continue  # not encoded: the block or link scan owns it
            found = _block_context(page, out.text, hit.value)
            context, before, region, index = found or (hit.value, "", None, None)
            if _third_party(page, index, before, hit.value, region):
                continue
            label = _label_from_local(hit.value.rpartition("@")[0]) or _label_from_text(before)
            details: dict[str, Any] = {"obfuscation": "entity"}
            if region:
                details["region"] = region
            conf = _CONFIDENCE["entity"]
            out.add(_Found(hit.value, chunk, "text", context, conf, label, details))


def _placeholders(page: ParsedPage) -> set[str]:
    """Addresses shown as form hints: they are examples, not contacts."""
    values: set[str] = set()
    for form in page.forms:
        for fld in form.fields:
            if "@" in (fld.placeholder or ""):
                value = normalize_address(fld.placeholder)
                if value:
                    values.add(value)
    return values


def _glued(value: str, reliable: dict[str, list[str]]) -> bool:
    """A text match that is a clean address with a neighbouring word stuck to it.

    ``reliable`` maps each domain of a linked or structured address to its
    local parts: "Kontaktinfo@x.hu" next to a mailto of info@x.hu is a glue of
    "Kontakt" and the address, as is "info@x.hub" next to info@x.hu.
    """
    local, _, domain = value.rpartition("@")
    for o_local in reliable.get(domain, ()):
        if o_local != local and local.endswith(o_local) and local[: -len(o_local)].isalpha():
            return True
    for o_domain, o_locals in reliable.items():
        if local in o_locals and domain != o_domain and domain.startswith(o_domain):
            if domain[len(o_domain) :].isalpha():
                return True
    return False


def _build(page: ParsedPage, collector: _Collector) -> list[ContactPoint]:
    try:
        host = urlsplit(page.url).hostname or ""
    except ValueError:
        host = ""
    placeholders = _placeholders(page)
    items = list(collector.found.values())
    reliable: dict[str, list[str]] = {}
    for item in items:
        if item.method != "text":
            local, _, domain = item.value.rpartition("@")
            reliable.setdefault(domain, []).append(local)
    points: list[ContactPoint] = []
    for item in items:
        if item.method == "text" and (item.value in placeholders or _glued(item.value, reliable)):
            continue
        domain = item.value.rpartition("@")[2]
        details: dict[str, Any] = {"address_class": classify_address(item.value), **item.details}
        details["same_site"] = bool(host) and same_site(domain, host)
        if len(item.methods) > 1:
            details["methods"] = sorted(item.methods)
        if details.get("region") is None:
            details.pop("region", None)
        points.append(
            ContactPoint(
                kind="email",
                value=item.value,
                raw=item.raw,
                label=item.label,
                method=item.method,
                page_url=page.url,
                context=clip_context(item.context or item.value),
                confidence=round(item.confidence, 3),
                details=details,
            )
        )
    return points


def extract_emails(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Every distinct email address published on ``page``, best sighting each.

    Each source runs guarded so that hostile markup in one (a broken JSON-LD
    block, a huge attribute) cannot lose the others' results; never raises.
    """
    try:
        collector = _Collector(page)
    except Exception:  # noqa: BLE001
        log.exception("email extraction failed on %s", getattr(page, "url", "?"))
        return []
    for source in (_from_links, _from_structured, _from_blocks, _from_cloudflare, _from_entities):
        try:
            source(page, collector)
        except Exception:  # noqa: BLE001
            log.exception(
                "email source %s failed on %s", source.__name__, getattr(page, "url", "?")
            )
    try:
        return _build(page, collector)
    except Exception:  # noqa: BLE001
        log.exception("email extraction failed on %s", getattr(page, "url", "?"))
        return []
