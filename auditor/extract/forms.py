"""Contact forms: a way to write to the company without knowing an address.

A form counts when a visitor can leave a message (a textarea, or a field named
like one) together with a way to be answered (an email or phone field), or asks
to be called back (a phone field without a message: callback, quote, demo), or is
itself a quote or demo request answered by email (its id, class or action says so). Search,
login, newsletter, blog-comment, review and cart forms are look-alikes that are
excluded. Keywords in many languages live in ``auditor/data/forms.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urldefrag

import ahocorasick
from selectolax.lexbor import LexborNode

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import Form, FormField, ParsedPage
from auditor.extract.tree import visible_chars
from auditor.models import ContactPoint
from auditor.text import fold, folded_regex

TEXTLIKE_TYPES = frozenset({"text", "email", "tel", "number", "textarea", ""})
SHORT_KEYWORD = 5  # shorter keywords must stand alone, longer ones match inside names
# What the copy of a form drops from text and attribute values: the control characters lxml
# refuses, deleted from the UTF-8 bytes (which deletes them from the text), and U+FFFE/U+FFFF.
_DELETED_BYTES = bytes(range(0x20)).translate(None, b"\t\n\r")
# Above this many characters of markup the captcha gate is not asked (see _markup_may_hold_captcha):
# Lexbor's lookup of the form elements walks every node (0.5 ms on a 200 kB catalogue page).
GATE_MAX_HTML = 50_000


class Keywords:
    """A keyword list compiled into one case-insensitive regex."""

    def __init__(self, words: Iterable[str]) -> None:
        longs = sorted({w.lower() for w in words if len(w) >= SHORT_KEYWORD}, key=len, reverse=True)
        shorts = sorted({w.lower() for w in words if len(w) < SHORT_KEYWORD}, key=len, reverse=True)
        parts = [re.escape(w) for w in longs]
        parts += [rf"(?<![^\W_]){re.escape(w)}(?![^\W_])" for w in shorts]
        self.regex = re.compile("|".join(parts) or r"(?!)", re.I)
        # the same without re.I, for folded text: the engine then skips to the keywords'
        # first letters instead of trying every alternative at every position
        self.folded = folded_regex(self.regex)
        # The folded regex's literals, (literal, stands alone), for :class:`KeywordIndex`; only
        # when rebuilding the regex from them gives the folded regex itself (same meaning).
        self.literals: tuple[tuple[str, bool], ...] | None = None
        if self.folded is not None:
            literals = [(fold(w, keep_accents=True), False) for w in longs]
            literals += [(fold(w, keep_accents=True), True) for w in shorts]
            source = "|".join(
                rf"(?<![^\W_]){re.escape(lit)}(?![^\W_])" if alone else re.escape(lit) for lit, alone in literals
            )
            if source == self.folded.pattern and all(lit for lit, _alone in literals):
                self.literals = tuple(literals)
        self.id: int | None = None  # its place in the rules' KeywordIndex

    def search(self, text: str, signals: Signals | None = None) -> bool:
        """A keyword in ``text``; ``signals`` answers from one pass for every keyword set."""
        if not text:
            return False
        if signals is not None and self.id is not None and self.literals is not None:
            return self.id in signals.hits(text)
        if self.folded is not None:
            return self.folded.search(fold(text, keep_accents=True)) is not None
        return self.regex.search(text) is not None


class KeywordIndex:
    """Every keyword set's literals in one automaton: one pass over a folded text says
    which sets have a keyword in it (the regexes took one pass per set, each trying every
    alternative at every position). A short keyword counts only standing alone, as the
    regex's lookarounds say: no letter or digit on either side.
    """

    def __init__(self, sets: Iterable[Keywords]) -> None:
        words: dict[str, set[tuple[int, bool]]] = {}
        self.searched: list[Keywords] = []  # the sets without literals: searched by their regex
        for number, keywords in enumerate(sets):
            keywords.id = number
            if keywords.literals is None:
                self.searched.append(keywords)
                continue
            for literal, alone in keywords.literals:
                words.setdefault(literal, set()).add((number, alone))
        self.automaton: Any = None
        if words:
            self.automaton = ahocorasick.Automaton()
            for literal, values in words.items():
                self.automaton.add_word(literal, (len(literal), tuple(sorted(values))))
            self.automaton.make_automaton()

    def hits(self, folded: str) -> set[int]:
        """The numbers of the sets with a keyword in ``folded`` (a text passed through fold)."""
        found: set[int] = set()
        for end, (length, values) in self.automaton.iter(folded) if self.automaton is not None else ():
            for number, alone in values:
                if number in found:
                    continue
                if alone:
                    start = end - length + 1
                    if (start > 0 and folded[start - 1].isalnum()) or (
                        end + 1 < len(folded) and folded[end + 1].isalnum()
                    ):
                        continue
                found.add(number)
        return found


class Signals:
    """The keyword sets each text of one form holds, found once per text (a memo of one form)."""

    def __init__(self, index: KeywordIndex) -> None:
        self.index = index
        self.found: dict[str, set[int]] = {}

    def hits(self, text: str) -> set[int]:
        """The numbers (``Keywords.id``) of the sets with a keyword in ``text``: ``keywords.id in
        signals.hits(text)`` is ``keywords.search(text)``."""
        found = self.found.get(text)
        if found is None:
            found = self.found[text] = self.index.hits(fold(text, keep_accents=True))
            for keywords in self.index.searched:  # none in the packaged data
                if keywords.id is not None and keywords.search(text):
                    found.add(keywords.id)
        return found


@dataclass(frozen=True)
class FormRules:
    """Compiled keyword sets from the data file."""

    message: Keywords
    not_message: Keywords
    email: Keywords
    phone: Keywords
    newsletter: Keywords
    comment: Keywords
    cart: Keywords
    lookup: Keywords
    request: Keywords
    search_names: frozenset[str]
    search_actions: tuple[str, ...]
    captcha_fields: Keywords
    captcha_markup: tuple[str, ...]
    captcha_scripts: tuple[str, ...]
    ignored_types: frozenset[str]
    index: KeywordIndex  # every keyword set above in one automaton
    # what of each captcha marker a form's serialised markup must show (see _captcha_cores)
    captcha_cores: tuple[bytes, ...]


@cache
def rules() -> FormRules:
    """Load and compile the form keywords once per process."""
    data: dict[str, Any] = load("forms.toml")
    sets = {
        name: Keywords(data[name]["keywords"]) for name in ("message", "not_message", "email", "phone")
    } | {
        name: Keywords(data[name]["markers"]) for name in ("newsletter", "comment", "cart", "lookup", "request")
    }
    sets["captcha_fields"] = Keywords(data["captcha"]["field_markers"])
    return FormRules(
        **sets,
        search_names=frozenset(n.lower() for n in data["search"]["field_names"]),
        search_actions=tuple(a.lower() for a in data["search"]["action_markers"]),
        captcha_markup=tuple(m.lower() for m in data["captcha"]["markup_markers"]),
        captcha_scripts=tuple(m.lower() for m in data["captcha"]["script_markers"]),
        ignored_types=frozenset(data["ignored_types"]["types"]),
        index=KeywordIndex(sets.values()),
        captcha_cores=tuple(core.encode() for core in _captcha_cores(data["captcha"]["markup_markers"])),
    )


def _captcha_cores(markers: list[str]) -> list[str]:
    """The part of each captcha marker a form's markup cannot show without the form element's
    Lexbor serialisation or text showing it too (see :class:`_CaptchaGate`): lower-cased,
    markers holding another left out (``g-recaptcha`` holds ``captcha``), then cut after the
    leading hex digits (at most two), which lxml's serialiser may write itself: it escapes URL
    attributes, so ``href="ìaptcha"`` serialises as ``href="%C3%ACaptcha"``, whose lower case
    holds ``captcha``.
    """
    low = sorted({m.lower() for m in markers})
    kept = [m for m in low if not any(other != m and other in m for other in low)]
    cores = []
    for marker in kept:
        cut = 0
        while cut < 2 and cut < len(marker) and marker[cut] in "0123456789abcdef":
            cut += 1
        cores.append(marker[cut:])
    return cores


def _signal(field: FormField) -> str:
    """Everything a field says about itself, for keyword matching."""
    return " ".join(
        filter(None, (field.name, field.id, field.placeholder, field.label, field.autocomplete))
    )


@dataclass(frozen=True)
class Verdict:
    """Why a form is (or is not) a contact form; kept for tests and debugging."""

    is_contact: bool
    reason: str
    message: bool = False
    email: bool = False
    phone: bool = False


def _lookalike(form: Form, visible: list[FormField], r: FormRules, signals: Signals, attrs: str) -> str | None:
    """Which non-contact form this plainly is (login, search, comment, cart, lookup), if any."""
    if any(f.type == "password" for f in form.fields):
        return "login"
    if form.attrs.get("role", "").lower() == "search" or any(f.type == "search" for f in visible):
        return "search"
    all_names = " ".join(f"{f.name} {f.id}" for f in form.fields)
    in_attrs, in_names = signals.hits(attrs), signals.hits(all_names)
    for name, keywords in (("comment", r.comment), ("cart", r.cart), ("lookup", r.lookup)):
        if keywords.id in in_attrs or keywords.id in in_names:
            return name
    return None


def _field_role(f: FormField, r: FormRules, signals: Signals) -> str | None:
    """What a visible field asks for: "textarea" (a message), "email", "phone", "message" or None."""
    found = signals.hits(_signal(f))
    if r.captcha_fields.id in found:
        return None
    if f.tag == "textarea":
        if r.not_message.id in found and r.message.id not in found:
            return None  # "Shipping address" is data, not a message
        return "textarea"
    if f.type not in TEXTLIKE_TYPES:
        return None
    if f.type == "email" or "email" in f.autocomplete.lower() or r.email.id in found:
        return "email"
    if f.type == "tel" or f.autocomplete.lower().startswith("tel") or r.phone.id in found:
        return "phone"
    return "message" if r.message.id in found else None


def classify(form: Form) -> Verdict:
    """Decide whether ``form`` is a contact form, and if not, which look-alike it is."""
    r = rules()
    signals = Signals(r.index)  # each text folded and searched once for all keyword sets (this form only)
    visible = [f for f in form.fields if f.type not in r.ignored_types]
    attrs = " ".join(form.attrs.get(k, "") for k in ("id", "class", "name", "action", "role"))
    lookalike = _lookalike(form, visible, r, signals, attrs)
    if lookalike:
        return Verdict(False, lookalike)
    roles = {_field_role(f, r, signals) for f in visible}
    textarea = "textarea" in roles
    message, email, phone = textarea or "message" in roles, "email" in roles, "phone" in roles

    newsletter = r.newsletter.id
    if newsletter in signals.hits(attrs) or (not textarea and newsletter in signals.hits(form.text)):
        return Verdict(False, "newsletter", message, email, phone)
    if not message:
        names = {f.name.lower() for f in visible if f.type in TEXTLIKE_TYPES}
        action = form.action.lower()
        if names & r.search_names or any(a in action for a in r.search_actions):
            return Verdict(False, "search", message, email, phone)
        if phone:  # "call me back", quote, appointment and demo requests
            return Verdict(True, "callback", message, email, phone)
        if email and r.request.id in signals.hits(attrs + " " + form.attrs.get("data-name", "")):
            return Verdict(True, "request", message, email, phone)  # a quote sent by email
        return Verdict(False, "no-message-field", message, email, phone)
    if not (email or phone):
        return Verdict(False, "no-reply-channel", message, email, phone)
    return Verdict(True, "contact", message, email, phone)


def _has_captcha(form: Form, page: ParsedPage, page_captcha: bool, gate: _CaptchaGate) -> bool:
    r = rules()
    # one search over the fields joined by line breaks: no keyword holds one, beside one a
    # short keyword stands alone as at a text's end, and folding ends final sigma there too
    if r.captcha_fields.search("\n".join(f"{f.name} {f.id}" for f in form.fields)):
        return True
    if page_captcha or not gate.open(page):
        return page_captcha  # the markup is made only where it may hold a marker
    low = form.markup.lower()
    return any(m in low for m in r.captcha_markup)


class _CaptchaGate:
    """Whether the markup of a form on the page may hold a captcha marker, asked once per page.

    A form's markup is its copy into lxml, serialised (see ``page._lexbor_form``): tag and
    attribute names, attribute values and comments, which Lexbor's own serialisation of the
    form element shows too (references decoded); text, which the copy joins across the
    comments it drops and the invisible and control characters it deletes (``capt<U+200B>cha``),
    so it is read as the form's text and its tail's, those characters deleted. Serialising adds
    only ``%XX`` escapes in URL attributes (see ``_captcha_cores``). So a markup holding a
    marker holds its core, and the core is in what is read here, lower-cased: a "no" is exact.
    Every form element of the document is read (the page's forms are among them), in C calls
    but for the tails; copying and serialising a form cost more than the page's other form work.
    """

    def __init__(self) -> None:
        self.answer: bool | None = None

    def open(self, page: ParsedPage) -> bool:
        if self.answer is None:
            self.answer = _markup_may_hold_captcha(page)
        return self.answer


def _markup_may_hold_captcha(page: ParsedPage) -> bool:
    """:class:`_CaptchaGate`'s answer for ``page``."""
    if len(page.html) > GATE_MAX_HTML:
        return True  # finding the form elements walks the whole tree: copying the forms costs less
    nodes = page.form_elements()
    if nodes is None:
        return True  # a page modelled from the lxml copy: its forms' markup is made already
    if len(nodes) < len(page.forms):
        return True  # not the forms the page model read
    pieces: list[str] = []
    for node in nodes:
        pieces += (node.html or "", (node.text(deep=True) or "") + _tail(node))
    text = "\n".join(pieces)  # no core holds a line break
    if not text.isascii():
        text = visible_chars(text)
    low = _lowered(text)
    return any(core in low for core in rules().captcha_cores)


def _tail(node: LexborNode) -> str:
    """The text after ``node`` up to its next element sibling, as the copy of a form serialises
    it (comments skipped: joining across the ones the copy keeps only adds matches)."""
    parts = []
    sibling = node.next
    while sibling is not None:
        kind = sibling.tag or ""
        if kind == "-text":
            parts.append(sibling.text_content or "")
        elif kind and kind[0] not in "-_#!":
            break
        sibling = sibling.next
    return "".join(parts)


def _lowered(text: str) -> bytes:
    """``text`` lower-cased as UTF-8, the characters the copy deletes deleted. Bytes lower-case
    ASCII only, which differs from ``str.lower()`` only where it makes an ASCII letter of
    another character: İ ("i̇") and the Kelvin sign ("k")."""
    if text.isascii():
        return text.encode().lower().translate(None, _DELETED_BYTES)
    if "\u0130" in text or "\u212a" in text:
        text = text.lower()
    if "\ufffe" in text or "\uffff" in text:
        text = text.replace("\ufffe", "").replace("\uffff", "")
    return text.encode("utf-8", "surrogatepass").lower().translate(None, _DELETED_BYTES)


def _page_captcha(page: ParsedPage) -> bool:
    """A captcha script on the page (reCAPTCHA v3 guards every form invisibly)."""
    markers = rules().captcha_scripts
    for script in page.scripts:
        src = (script.src or "").lower()
        if src and any(m in src for m in markers):
            return True
    return False


def _value(form: Form, page: ParsedPage) -> str:
    action = form.action.strip()
    if not action or action.lower().startswith("javascript:"):
        return page.url
    if "#" not in action:
        return action  # what urldefrag gives back, without parsing it
    return urldefrag(action)[0] or page.url


def extract_forms(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """One contact point per contact form on the page (same action counted once)."""
    page_captcha: bool | None = None  # asked of the scripts once a contact form is found
    gate = _CaptchaGate()
    out: list[ContactPoint] = []
    seen: set[str] = set()
    for form in page.forms:
        verdict = classify(form)
        if not verdict.is_contact:
            continue
        value = _value(form, page)
        if value in seen:
            continue
        seen.add(value)
        if page_captcha is None:
            page_captcha = _page_captcha(page)
        fields = [f.name or f.id for f in form.fields if f.type not in rules().ignored_types]
        channels = [c for c, ok in (("email", verdict.email), ("phone", verdict.phone)) if ok]
        out.append(
            ContactPoint(
                kind="form",
                value=value,
                raw=form.action,
                label="contact-form",
                method="form",
                page_url=page.url,
                context=form.text,
                confidence=conf.STRUCTURED if verdict.message and verdict.email else conf.LIKELY,
                details={
                    "method": form.method,
                    "fields": [f for f in fields if f],
                    "has_captcha": _has_captcha(form, page, page_captcha, gate),
                    "reply_channels": channels,
                    "kind": verdict.reason,  # "contact", "callback" or "request"
                },
            )
        )
    return out
