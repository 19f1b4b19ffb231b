"""Contact data in the state a framework embeds in the page, read without running scripts.

Why: server-rendered single-page apps ship their data twice, as markup and as the
state the client code starts from (Next.js ``__NEXT_DATA__``, Nuxt ``__NUXT__`` and
``__NUXT_DATA__``, Redux-style ``window.__INITIAL_STATE__``/``__PRELOADED_STATE__``,
Apollo's ``__APOLLO_STATE__``). When the markup is an empty shell, the state is the
only place the phone, the address and the WhatsApp link are written. It is read as
data: JSON where it is JSON (also ``JSON.parse("...")``), Nuxt 3's flat devalue
array with keys resolved through its index references, and otherwise the string
literals of the JavaScript object with the key before each.

Only string values are read, each within :data:`MAX_VALUE_CHARS`; a blob is read
up to :data:`MAX_STATE_CHARS` and :data:`MAX_NODES` values. A phone is taken only
from a value under a phone-like key (``phone``, ``telephone``, ``hotline``...) or a
``tel:`` link, so order numbers and ids in the state are never read as numbers;
emails and messaging links are recognised wherever they are. The label comes from
the keys above the value (``support.phone`` is support).

A number under a WhatsApp or Viber key (``whatsapp: {number: "40723418596"}``,
``viberPhone``) is what a click-to-chat button is drawn from: it is read as the
messaging link too, in international form as those apps take it. Nuxt 2 writes its
state as a function whose repeated values are its arguments
(``(function(a,b){return {mobile:b}}("", "+370 612 48730"))``): a key whose value is
a parameter is read as that argument.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from typing import Any

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.emails.gate import validate as valid_email
from auditor.extract.emails.labels import label_from_local, label_from_text
from auditor.extract.messaging import Deeplink, classify
from auditor.extract.page import ParsedPage
from auditor.extract.phones.labels import pick_label
from auditor.extract.phones.matching import parse_valid, phone_point
from auditor.extract.phones.words import phone_vocab
from auditor.models import ContactPoint

MAX_STATE_CHARS = 1_000_000  # of one blob
MAX_BLOBS = 4
MAX_NODES = 50_000  # values visited per blob
MAX_DEPTH = 64
MAX_VALUE_CHARS = 500
MAX_POINTS = 100
CONFIDENCE = conf.STRUCTURED  # data written for the page's own code, read exactly

JSON_IDS = ("__NEXT_DATA__", "__NUXT_DATA__")
# `window.__NUXT__ = ...`, `self.__INITIAL_STATE__=...`, `var __APOLLO_STATE__ = ...`
_ASSIGNMENT = re.compile(
    r"(?:\b(?:window|self|globalThis)\s*\.\s*|\b(?:var|let|const)\s+|(?<![\w.$]))"
    r"(__NEXT_DATA__|__NUXT__|__INITIAL_STATE__|__PRELOADED_STATE__|__APOLLO_STATE__)\s*=(?!=)\s*"
)
_JSON_PARSE = re.compile(r"JSON\.parse\(\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')\s*\)", re.S)
# A string literal of JavaScript and the key just before it (`phone: "..."`, `"phone":"..."`).
_LITERAL = re.compile(
    r"""(?:(?:["']?)([A-Za-z_$][\w$-]{0,60})(?:["']?)\s*:\s*)?("(?:[^"\\\n]|\\.){0,500}"|'(?:[^'\\\n]|\\.){0,500}')"""
)
_PHONE_KEY = re.compile(r"phone|tel(?:efon|ephone)?(?:number)?$|^tel|mobile|hotline|fax|whatsapp|"
                        r"contactnumber|callnumber|handy|telefono|telefone|telefoon|numer", re.I)
# a generic key under a phone-like one: `whatsapp: {number: "..."}`, `hotline: {value: "..."}`
_NUMBER_KEY = re.compile(r"number|num|nr|no|numero|nummer|value|phone", re.I)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_MESSAGING_HINT = re.compile(r"wa\.me|whatsapp|t\.me/|telegram|viber|m\.me/|messenger|skype:", re.I)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|[_\-.$]+")
_DIGITS = re.compile(r"\d")
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_INTERNATIONAL = re.compile(r"[1-9][\d\s().-]{6,20}")  # a chat app's number: country code, no plus
# Nuxt 2: `(function(a,b,c){return {...}}("x",null,"+370..."))` (or `})(...)`)
_IIFE_HEAD = re.compile(r"\(?\s*function\s*\(([\w$,\s]{0,2000})\)\s*\{")
_IIFE_CALL = re.compile(r"\}\s*\)?\s*\(")
_IIFE_ARG = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[\w$.+-]+(?:\s+[\w$.]+)?)\s*([,)])""")
_IIFE_TAIL = re.compile(r"[\s);]*")
_KEY_IDENT = re.compile(r"""(?:["']?)([A-Za-z_$][\w$-]{0,60})(?:["']?)\s*:\s*([A-Za-z_$][\w$]{0,30})(?=\s*[,}\]])""")
MAX_IIFE_CALLS = 5  # call-shaped spots tried from the end of a blob
MAX_IIFE_ARGS = 5000
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(body: str) -> str:
    """The value of a JavaScript string literal's body (quotes removed)."""
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "ux" and len(esc) > 1:
            try:
                return chr(int(esc[1:], 16))
            except ValueError:
                return esc
        return _SIMPLE_ESCAPES.get(esc, esc)

    return _JS_ESCAPE.sub(one, body)


def blobs(page: ParsedPage) -> Iterator[tuple[str, str]]:
    """(name, source text) of every framework state on the page, each capped."""
    count = 0
    for script in page.scripts:
        if count >= MAX_BLOBS or script.src:
            continue
        text = script.text
        ident = script.attrs.get("id", "")
        if ident in JSON_IDS:
            count += 1
            yield ident, text[:MAX_STATE_CHARS]
            continue
        if "__" not in text:
            continue
        for m in _ASSIGNMENT.finditer(text):
            count += 1
            yield m.group(1), text[m.end() : m.end() + MAX_STATE_CHARS]
            if count >= MAX_BLOBS:
                break


def _decode(source: str) -> Any:
    """The blob as data, or None when it is not JSON (a JS literal, a function call)."""
    source = source.lstrip()
    parsed = _JSON_PARSE.match(source)
    if parsed is not None:
        literal = parsed.group(1)
        source = _unescape(literal[1:-1])
    try:
        value, _end = json.JSONDecoder().raw_decode(source)
    except (ValueError, RecursionError):
        return None
    return value


def _devalue_keys(items: list[Any]) -> dict[int, str]:
    """Nuxt 3's devalue array: objects map keys to indexes of their values."""
    keys: dict[int, str] = {}
    for item in items[:MAX_NODES]:
        if isinstance(item, dict):
            for key, ref in item.items():
                if isinstance(ref, int) and not isinstance(ref, bool) and ref not in keys:
                    keys[ref] = str(key)
    return keys


def _walk(root: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, string) for every string value, iteratively, within the caps."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    visited = 0
    while stack and visited < MAX_NODES:
        node, path = stack.pop()
        visited += 1
        if isinstance(node, str):
            if node:
                yield path, node[:MAX_VALUE_CHARS]
        elif len(path) >= MAX_DEPTH:
            continue
        elif isinstance(node, dict):
            stack.extend((value, (*path, str(key)[:60])) for key, value in reversed(list(node.items())[:2000]))
        elif isinstance(node, list):
            stack.extend((value, path) for value in reversed(node[:2000]))


def _call_args(source: str, start: int) -> list[str | None] | None:
    """The arguments of the call whose list opens at ``start``, when it ends the blob:
    string values as strings, anything else as None; None when it is not such a call."""
    args: list[str | None] = []
    pos = start
    if source.startswith(")", pos):
        pos += 1
    else:
        while len(args) < MAX_IIFE_ARGS:
            m = _IIFE_ARG.match(source, pos)
            if m is None:
                return None
            value, end = m.groups()
            args.append(_unescape(value[1:-1]) if value[0] in "\"'" else None)
            pos = m.end()
            if end == ")":
                break
        else:
            return None
    tail = _IIFE_TAIL.match(source, pos)
    return args if tail is not None and tail.end() == len(source.rstrip()) else None


def _iife_bindings(source: str) -> dict[str, str]:
    """Nuxt 2's state function: each parameter bound to its string argument.

    Only when the blob is one such call: ``function(params){...}`` first and the
    argument list last (nothing after it but ``)`` and ``;``).
    """
    head = _IIFE_HEAD.match(source)
    if head is None:
        return {}
    params = [p.strip() for p in head.group(1).split(",")]
    tail = source.rstrip()
    calls = deque((m.end() for m in _IIFE_CALL.finditer(tail, head.end())), maxlen=MAX_IIFE_CALLS)
    for start in reversed(calls):
        args = _call_args(tail, start)
        if args is not None:
            return {p: a for p, a in zip(params, args, strict=False) if p and a}
    return {}


def state_strings(name: str, source: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, string value) of one blob: as data when it parses, else from its literals."""
    data = _decode(source)
    if isinstance(data, list) and name == "__NUXT_DATA__":
        keys = _devalue_keys(data)
        for index, item in enumerate(data[:MAX_NODES]):
            if isinstance(item, str) and item:
                yield ((keys[index],) if index in keys else ()), item[:MAX_VALUE_CHARS]
        return
    if data is not None:
        yield from _walk(data)
        return
    for visited, m in enumerate(_LITERAL.finditer(source)):
        if visited >= MAX_NODES:
            break
        key, literal = m.groups()
        yield ((key,) if key else ()), _unescape(literal[1:-1])[:MAX_VALUE_CHARS]
    bindings = _iife_bindings(source.lstrip())
    if bindings:
        for visited, m in enumerate(_KEY_IDENT.finditer(source)):
            if visited >= MAX_NODES:
                break
            key, ident = m.groups()
            if ident in bindings:
                yield (key,), bindings[ident][:MAX_VALUE_CHARS]


def _words(path: tuple[str, ...]) -> str:
    """The key path as words: ``["supportTeam", "phone_number"]`` -> ``support Team phone number``."""
    return " ".join(w for key in path[-3:] for w in _CAMEL.split(key) if w)


def _phone_key(path: tuple[str, ...]) -> bool:
    """A phone-like last key, or a generic one (``number``) under a phone-like key."""
    keys = [k.replace("_", "").replace("-", "") for k in path[-2:]]
    if keys and _PHONE_KEY.search(keys[-1]):
        return True
    return len(keys) == 2 and _NUMBER_KEY.fullmatch(keys[-1]) is not None and bool(_PHONE_KEY.search(keys[0]))


@cache
def _number_platforms() -> dict[str, str]:
    """Key word -> messaging platform, for the apps a phone number opens (WhatsApp, Viber).

    The words and link templates are the click-to-chat widgets' (messaging_widgets.toml).
    """
    raw = load("messaging_widgets.toml")
    return {word: platform for word, platform in raw["platforms"].items()
            if platform in ("whatsapp", "viber") and platform in raw["links"]}


def _platform(path: tuple[str, ...]) -> str | None:
    """The number-addressed messaging app the last two keys name (``whatsapp.number``)."""
    platforms = _number_platforms()
    keys = " ".join(path[-2:]).lower()  # "whatsApp", "viber_phone", "WhatsappNumber"
    return next((platform for word, platform in platforms.items() if word in keys), None)


def _chat_link(platform: str, e164: str) -> Deeplink | None:
    """The canonical deep link of an E.164 number on ``platform``, as messaging.py writes it."""
    template = load("messaging_widgets.toml")["links"][platform]
    found = classify(template.format(value=("%2B" if platform == "viber" else "") + e164.lstrip("+")))
    return found if found is not None and found.platform == platform else None


def _phone(page: ParsedPage, name: str, path: tuple[str, ...], value: str,
           regions: list[str]) -> ContactPoint | None:
    raw = value.strip()
    if raw.lower().startswith("tel:"):
        raw = raw[4:]
    elif not _phone_key(path):
        return None
    if len(raw) > 40 or len(_DIGITS.findall(raw)) < 6 or "/" in raw or ":" in raw or "@" in raw:
        return None
    parsed = None
    if _platform(path) and _INTERNATIONAL.fullmatch(raw):
        # a chat app's number is international without the plus: "40723418596" is +40...
        parsed = parse_valid("+" + raw, [])
    parsed = parsed or parse_valid(raw, regions)
    if parsed is None:
        return None
    words = _words(path)
    label = pick_label(phone_vocab().hits(words), len(words)) if words else None
    return phone_point(page, parsed[0], raw, "framework-state", label, f"{name} {'.'.join(path)}: {raw}", CONFIDENCE)


def _points(page: ParsedPage, name: str, path: tuple[str, ...], value: str,
            regions: list[str]) -> Iterator[ContactPoint]:
    where = f"{name} {'.'.join(path[-4:])}".strip()
    details = {"state": name, "key": ".".join(path)[:200]}
    phone = _phone(page, name, path, value, regions)
    if phone is not None:
        yield replace(phone, details={**phone.details, **details})
        platform = _platform(path)
        chat = _chat_link(platform, phone.value) if platform else None
        if chat is not None:
            yield ContactPoint(kind="messaging", value=chat.value, raw=value.strip(), label=chat.platform,
                               method="framework-state", page_url=page.url, context=f"{where}: {value}",
                               confidence=CONFIDENCE,
                               details={**details, "platform": chat.platform, "account": chat.account})
    if _MESSAGING_HINT.search(value):
        link = classify(value.strip())
        if link is not None:
            yield ContactPoint(kind="messaging", value=link.value, raw=value.strip(), label=link.platform,
                               method="framework-state", page_url=page.url, context=f"{where}: {value}",
                               confidence=CONFIDENCE,
                               details={**details, "platform": link.platform, "account": link.account})
    if "@" in value:
        for m in _EMAIL.finditer(value):
            address = valid_email(m.group(0))
            if address is None:
                continue
            local = address.rpartition("@")[0]
            label = label_from_text(_words(path)) or label_from_local(local)
            yield ContactPoint(kind="email", value=address, raw=m.group(0), label=label,
                               method="framework-state", page_url=page.url, context=f"{where}: {value}",
                               confidence=CONFIDENCE, details=details)


def extract_framework_state(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Phones, emails and messaging links in the page's framework state, not found otherwise."""
    seen: set[tuple[str, str]] | None = None  # the others' keys, collected once a point turns up
    regions = [context.region] if context.region else []
    out: list[ContactPoint] = []
    for name, source in blobs(page):
        for path, value in state_strings(name, source):
            for cp in _points(page, name, path, value, regions):
                if seen is None:
                    seen = {other.dedupe_key for other in context.found}
                if cp.dedupe_key in seen:
                    continue
                seen.add(cp.dedupe_key)
                out.append(cp)
                if len(out) >= MAX_POINTS:
                    return out
    return out
