"""Email cloaking decoded without running scripts: pure, bounded decoders.

CMS plugins hide addresses from harvesters behind scripts a visitor's browser
runs: Joomla's cloak (``var addy… = '&#105;nf' + '&#64;' …`` written into
``cloak…`` by ``innerHTML``; Joomla 4's ``<joomla-hidden-mail first= last=>``
in base64), TYPO3's ``linkTo_UnCryptMailto`` (``mailto:`` shifted by the site's
offset), string pieces joined in inline scripts or ``document.write``, strings
reversed by ``.split('').reverse().join('')``, ROT13 with the decoder in the
page, and user and domain in separate ``data-`` attributes. Each decoder reads
strings only, caps its input and never backtracks: a hostile page with
megabytes of script stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import html as htmllib
import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import unquote

MAX_SCRIPTS_TEXT = 1_000_000  # script text read per page, all scripts together
MAX_TOKENS = 20_000  # tokens read per script
MAX_VALUE = 2_000  # characters a variable may hold (``a = a + a`` cannot double forever)
MAX_ATTR = 2_000

# Scripts without one of these marks build no address: skipped unread.
_MARKS = ("@", "&#64", "&#x40", "%40", "mailto", "cloak", "reverse", "rot13", "fromcharcode")
_REVERSE = re.compile(r"\.split\(\s*(['\"])\1\s*\)\s*\.reverse\(\s*\)\s*\.join\(\s*(['\"])\2\s*\)")
_TOKEN = re.compile(
    r"""\s*(?:(?P<s>'(?:[^'\\\n]|\\.){0,4000}'|"(?:[^"\\\n]|\\.){0,4000}")"""
    r"""|(?P<id>[A-Za-z_$][\w$]{0,100}(?:\.[A-Za-z_$][\w$]{0,100}){0,8})"""
    r"""|(?P<op>\+=|~R|[+=;(),\n])|(?P<other>.))""",
    re.DOTALL,
)
_JS_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ROT13_HINT = re.compile(r"rot_?13|\+\s*13\b", re.IGNORECASE)
_TYPO3_CALL = re.compile(
    r"linkTo_UnCryptMailto\(\s*(?:'|\"|%27|%22)([^'\"%)]{1,500})", re.IGNORECASE
)
_TYPO3_RANGES = ((0x2B, 0x3A), (0x40, 0x5A), (0x61, 0x7A))
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)


class Decoded(NamedTuple):
    text: str  # the decoded string (markup or an address), to scan for addresses
    encoder: str  # the obfuscation tag: joomla, typo3, concat, document-write, reversed, rot13, data-attributes


def _js_unescape(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "xu" and len(code) > 1:
            return chr(int(code[1:], 16))
        return {"n": "\n", "t": "\t", "r": ""}.get(code, code)

    return _JS_ESCAPE.sub(one, body)


def _statements(script: str) -> Iterator[list[tuple[str, str]]]:
    """Token lists of ``script``'s statements, split at ``;`` and newlines."""
    current: list[tuple[str, str]] = []
    for count, m in enumerate(_TOKEN.finditer(_REVERSE.sub(" ~R ", script))):
        if count >= MAX_TOKENS:
            break
        kind = m.lastgroup or "other"
        value = m.group(kind)
        if kind == "op" and value in (";", "\n"):
            if current:
                yield current
            current = []
        elif not (kind == "other" and value.isspace()):
            current.append((kind, value))
    if current:
        yield current


def _evaluate(tokens: list[tuple[str, str]], names: dict[str, str]) -> tuple[str, bool] | None:
    """A ``+`` chain of string literals and known variables, and whether a piece was reversed."""
    pieces: list[str] = []
    reversed_ = False
    for kind, value in tokens:
        if kind == "s":
            pieces.append(_js_unescape(value[1:-1]))
        elif kind == "id" and value in names:
            pieces.append(names[value])
        elif kind == "op" and value == "~R" and pieces:
            pieces[-1] = pieces[-1][::-1]
            reversed_ = True
        elif not (kind == "op" and value in "+()"):
            return None
    # One plain literal is a script's own string (a DSN, a template), not a built address.
    if len(pieces) < 2 and not reversed_:
        return None
    return "".join(pieces)[:MAX_VALUE], reversed_


def _script_strings(script: str) -> Iterator[tuple[str, str]]:
    """(value, how) of each string an inline script assigns or writes."""
    names: dict[str, str] = {}
    for tokens in _statements(script):
        if tokens[0] == ("id", "var") or tokens[0] in (("id", "let"), ("id", "const")):
            tokens = tokens[1:]
        if not tokens:
            continue
        first = tokens[0][1]
        if first in ("document.write", "document.writeln") and len(tokens) > 2:
            result = _evaluate(tokens[1:], names)
            if result:
                yield result[0], "reversed" if result[1] else "document-write"
            continue
        ops = [i for i, (k, v) in enumerate(tokens) if k == "op" and v in ("=", "+=")]
        if not ops or tokens[ops[0] - 1][0] != "id":
            continue
        i = ops[0]
        name = tokens[i - 1][1]
        result = _evaluate(tokens[i + 1 :], names)
        if result is None:
            continue
        value = (names.get(name, "") + result[0] if tokens[i][1] == "+=" else result[0])[:MAX_VALUE]
        if not name.endswith("innerHTML"):
            names[name] = value
        yield value, "reversed" if result[1] else "concat"


def _may_assign(script: str) -> bool:
    """False only when :func:`_script_strings` can yield nothing: JSON-LD and other data.

    Safe: it yields an assignment (an ``=`` or ``+=`` token, which only an "=" in the
    source makes) or a ``document.write`` call (an identifier token spelled so in the
    source); the reversal marker put in before tokenizing holds neither.
    """
    return "=" in script or "document.write" in script


def from_scripts(scripts: list[str]) -> Iterator[Decoded]:
    """Addresses built by inline scripts: Joomla's cloak, concatenation, document.write, reversal, ROT13."""
    budget = MAX_SCRIPTS_TEXT
    for script in scripts:
        if budget <= 0:
            return
        script = script[:budget]
        budget -= len(script)
        lowered = script.lower()
        if not any(mark in lowered for mark in _MARKS):
            continue
        joomla = "cloak" in lowered and "addy" in lowered
        for value, how in _script_strings(script) if _may_assign(script) else ():
            text = htmllib.unescape(value)
            if "@" in text:
                yield Decoded(text, "joomla" if joomla else how)
        if "fromcharcode" in lowered and _ROT13_HINT.search(script):
            for m in _TOKEN.finditer(script[: MAX_VALUE * 50]):
                if m.lastgroup == "s":
                    text = htmllib.unescape(_js_unescape(m.group("s")[1:-1]).translate(_ROT13))
                    if "@" in text:
                        yield Decoded(text, "rot13")


def from_rot13_attributes(values: list[str]) -> Iterator[Decoded]:
    """``data-rot13="vasb@…"``: the value a page's rot13 function writes into the element."""
    for value in values[:MAX_TOKENS]:
        text = htmllib.unescape(value[:MAX_ATTR]).translate(_ROT13)
        if "@" in text:
            yield Decoded(text, "rot13")


def _typo3_shift(code: str, offset: int) -> str:
    out = []
    for ch in code:
        n = ord(ch)
        for start, end in _TYPO3_RANGES:
            if start <= n <= end:
                n = start + (n - start + offset) % (end - start + 1)
                break
        out.append(chr(n))
    return "".join(out)


def typo3(code: str) -> str | None:
    """TYPO3's ``linkTo_UnCryptMailto``: the shift whose result starts with ``mailto:``.

    The offset is the site's ``spamProtectEmailAddresses`` setting (-10..10), so
    every shift is tried; only a ``mailto:`` result is believed.
    """
    code = unquote(code.strip())[:MAX_ATTR]
    for offset in range(-26, 27):
        if offset and _typo3_shift(code[:7], offset) == "mailto:":
            return _typo3_shift(code, offset)
    return None


def from_hrefs(hrefs: list[str], tokens: list[str]) -> Iterator[Decoded]:
    """TYPO3: ``javascript:linkTo_UnCryptMailto('…')`` links and ``data-mailto-token`` (v11+)."""
    codes = [
        m.group(1) for h in hrefs if "UnCrypt" in h for m in _TYPO3_CALL.finditer(h[:MAX_ATTR])
    ]
    for code in codes + tokens:
        decoded = typo3(code)
        if decoded:
            yield Decoded(decoded, "typo3")


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value.strip()[:MAX_ATTR], validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def from_pairs(
    pairs: list[tuple[str, str]], encoder: str, base64_parts: bool = False
) -> Iterator[Decoded]:
    """User and domain published apart (``data-user``/``data-domain``, Joomla 4's first/last)."""
    for user, domain in pairs:
        if base64_parts:
            user_, domain_ = _b64(user), _b64(domain)
            if user_ is None or domain_ is None:
                continue
            user, domain = user_, domain_
        user, domain = user.strip()[:MAX_ATTR], domain.strip().lstrip("@")[:MAX_ATTR]
        if user and domain and "@" not in user:
            yield Decoded(f"{user}@{domain}", encoder)
