"""What came back: bounce, automatic acknowledgement or a person's reply (pure functions).

The order matters: a bounce is recognised first (RFC 3464 reports also carry
``Auto-Submitted``), then automation (RFC 3834 headers, vendor headers, auto-reply
subjects, ticket-system receipts), and anything else that matched an inquiry is
a human reply. Text signals are only trusted where people do not write them:
in the subject, or in the reply's own (unquoted) text together with a ticket
number or a no-reply sender, so "automatic renewal" in a person's answer stays
a human reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from auditor import reasons
from auditor.text import fold

__all__ = [
    "Classification",
    "Outcome",
    "ReplyKeys",
    "classify",
    "fresh_text",
    "header_text",
    "match_inquiry",
    "outcome",
    "parse_message",
    "reply_keys",
]

KINDS = ("bounce", "auto-ack", "human", "delay")
TOKEN_RE = re.compile(r"\bref:\s*([a-hj-km-np-z2-9]{8})\b", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")


@dataclass(frozen=True)
class Classification:
    """``kind`` is bounce | auto-ack | human | delay (a transient DSN that decides nothing)."""

    kind: str
    reason: str
    detail: str = ""


# ---------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------

def _norm(text: str) -> str:
    """Folded (:func:`auditor.text.fold`: 'Otomatik Yanıt' ~ 'otomatik yanit'), spaces collapsed."""
    return " ".join(fold(text).split())


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({_norm(w) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in alts) + r")")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "blockquote"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - broken markup still yields what was read
        pass
    return "".join(parser.parts)


def header_text(msg: Message, name: str) -> str:
    """A header as text, never raising on malformed encodings."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001
        value = None
    if value is None:
        try:
            raw = dict(msg.raw_items()).get(name) if hasattr(msg, "raw_items") else None
        except Exception:  # noqa: BLE001
            raw = None
        return str(raw or "")
    return " ".join(str(value).split())


def _part_text(part: Message) -> str:
    try:
        if isinstance(part, EmailMessage):
            content = part.get_content()
            if isinstance(content, str):
                return content
    except Exception:  # noqa: BLE001 - unknown charset, bad transfer encoding
        pass
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")
    return payload if isinstance(payload, str) else ""


def _own_parts(msg: Message) -> Iterator[Message]:
    """The message's own leaf parts, not descending into attached messages."""
    if msg.is_multipart():
        for sub in msg.get_payload() or []:
            if isinstance(sub, Message) and sub.get_content_maintype() != "message":
                yield from _own_parts(sub)
    else:
        yield msg


def _body_text(msg: Message) -> str:
    """The message's own text: text/plain parts, else its HTML as text."""
    plain: list[str] = []
    html: list[str] = []
    for part in _own_parts(msg):
        ctype = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            continue
        if ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            html.append(_html_text(_part_text(part)))
    return "\n".join(plain) if plain else "\n".join(html)


_QUOTE_HEADER = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|ursprungliche nachricht|originalnachricht|eredeti uzenet|"
    r"oryginalna wiadomosc|wiadomosc oryginalna|orijinal ileti|ozgun ileti|orijinal mesaj|"
    r"исходное сообщение|пересылаемое сообщение|forwarded message|weitergeleitete nachricht)\s*-{2,}"
    r"|_{10,}\s*$"
    r"|.{0,300}(?:wrote|irta|napisal|napisala|napisal\(a\)|yazdi|написал|написала|"
    r"написал\(а\)|пишет):\s*$"
    r"|.{0,300}\bschrieb\b.{0,200}:\s*$)",
    re.IGNORECASE,
)
_QUOTE_FROM = re.compile(r"^\s*\*?(?:from|von|felado|od|kimden|от)\s*:\*?\s", re.IGNORECASE)
_QUOTE_SENT = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|elkuldve|datum|wyslano|data|gonderildi|tarih|"
    r"отправлено|дата)\s*:", re.IGNORECASE,
)


def fresh_text(text: str) -> str:
    """The text a reply's author wrote: quoted lines and the quoted original cut off."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        folded = _norm(line)
        if _QUOTE_HEADER.match(folded):
            break
        if _QUOTE_FROM.match(folded) and any(_QUOTE_SENT.match(_norm(x)) for x in lines[i + 1 : i + 4]):
            break
        if line.lstrip().startswith(">"):
            continue
        out.append(line)
    return "\n".join(out).strip()


def parse_message(raw: bytes) -> EmailMessage:
    """Parse a raw message leniently (RFC 5322 with the modern header API)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


# ---------------------------------------------------------------------------
# Bounces
# ---------------------------------------------------------------------------

_DAEMON_LOCAL = re.compile(
    r"^(?:mailer-?daemon|mail-?daemon|postmaster|mail\.?delivery\.?subsystem|microsoftexchange[0-9a-f]*)$"
)
_BOUNCE_SUBJECT = _pattern([
    "undeliverable", "undelivered mail", "undeliverable mail", "returned mail", "mail returned",
    "delivery status notification (failure)", "delivery failure", "delivery failed",
    "delivery has failed", "mail delivery failed", "failure notice", "could not be delivered",
    "non-delivery", "nondelivery", "message not delivered", "delivery notification: failed",
    "unzustellbar", "nicht zustellbar", "zustellung fehlgeschlagen", "unzustellbare",
    "nem kézbesíthető", "kézbesítési hiba", "kézbesíthetetlen", "sikertelen kézbesítés",
    "niedostarczalne", "niedostarczona", "nie można dostarczyć", "nie dostarczono",
    "teslim edilemedi", "teslim edilemeyen", "iletilemedi", "ulaştırılamadı",
    "не доставлено", "недоставленное", "недоставлено", "не удалось доставить", "невозможно доставить",
])
_DELAY_SUBJECT = _pattern([
    "delivery status notification (delay)", "delayed mail", "delivery delayed", "delivery delay",
    "warning: could not send message", "mail delivery delayed", "zustellung verzögert",
    "verzögerte zustellung", "késleltetett kézbesítés", "opóźnienie doręczenia", "teslimat gecikmesi",
    "задержка доставки",
])
_FIELD = re.compile(r"^([A-Za-z-]+):[ \t]*(.*(?:\n[ \t]+.*)*)", re.MULTILINE)


def _report_fields(part: Message) -> list[dict[str, str]]:
    """The field groups of a message/delivery-status part (per-message, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            try:
                blocks.append(block.as_string() if isinstance(block, Message) else str(block))
            except Exception:  # noqa: BLE001
                blocks.append(str(block))
    else:
        text = payload if isinstance(payload, str) else ""
        blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    groups = []
    for block in blocks:
        fields = {m.group(1).lower(): " ".join(m.group(2).split()) for m in _FIELD.finditer(block)}
        if fields:
            groups.append(fields)
    return groups


def _embedded(msg: Message) -> list[Message]:
    """Messages (or header blocks) attached to a report or forwarded in it."""
    found: list[Message] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list):
                found.extend(p for p in payload if isinstance(p, Message))
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            try:
                found.append(HeaderParser(policy=policy.default).parsestr(_part_text(part)))
            except Exception:  # noqa: BLE001
                pass
    return found


def _sender_local(msg: Message) -> str:
    return parseaddr(header_text(msg, "From"))[1].rpartition("@")[0].lower()


def _is_reply_subject(subject: str) -> bool:
    return bool(re.match(r"^\s*(?:re|aw|vs|sv|odp|ynt|yanit|ответ|на)\s*:", subject, re.IGNORECASE))


def _bounce(msg: Message) -> Classification | None:
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    status_parts = [p for p in msg.walk() if p.get_content_type() in (
        "message/delivery-status", "message/global-delivery-status")]
    if (ctype == "multipart/report" and report_type in ("delivery-status", "global-delivery-status")) or status_parts:
        recipients = [g for part in status_parts for g in _report_fields(part) if "action" in g]
        actions = {g["action"].lower() for g in recipients}
        failed = [g for g in recipients if g["action"].lower() == "failed"
                  or g.get("status", "").startswith("5")]
        if failed or not actions:
            g = failed[0] if failed else {}
            detail = " ".join(x for x in (g.get("status", ""), g.get("diagnostic-code", "")) if x)
            return Classification("bounce", reasons.DSN_FAILED, detail[:500])
        reason = reasons.DSN_DELAYED if "delayed" in actions else reasons.DSN_INFO  # delivered, relayed, expanded
        return Classification("delay", reason, ", ".join(sorted(actions)))
    subject = header_text(msg, "Subject")
    if _is_reply_subject(subject):
        return None
    norm_subject = _norm(subject)
    daemon = bool(_DAEMON_LOCAL.match(_sender_local(msg)))
    null_sender = header_text(msg, "Return-Path").strip() == "<>"
    if _BOUNCE_SUBJECT.search(norm_subject) and (daemon or null_sender or _embedded(msg)):
        return Classification("bounce", reasons.NDR, subject[:200])
    if daemon and _DELAY_SUBJECT.search(norm_subject):
        return Classification("delay", reasons.DELAY_NOTICE, subject[:200])
    return None


# ---------------------------------------------------------------------------
# Automatic replies
# ---------------------------------------------------------------------------

_AUTO_HEADERS = {"xautoreply", "xautorespond", "xautoresponse", "xautogenerated", "xautoreplyfrom",
                 "xmailautoreply", "xautoresponder", "xautoreplied"}
# X-Auto-Response-Suppress is deliberately absent: Outlook puts it on ordinary mail.
_AUTO_SUBJECT = _pattern([
    # EN
    "automatic reply", "automatic response", "automated response", "automated reply", "auto-reply",
    "autoreply", "auto reply", "auto response", "auto-response", "autoresponse", "out of office",
    "out of the office", "away from the office", "acknowledgement of receipt", "receipt confirmation",
    "we have received your", "we've received your", "we received your", "request received",
    "ticket received", "ticket created", "ticket has been created", "has been received",
    # DE
    "automatische antwort", "automatische rückantwort", "automatische nachricht", "autoantwort",
    "abwesenheitsnotiz", "abwesenheitsmeldung", "nicht im büro", "außer haus",
    "eingangsbestätigung", "ihre anfrage ist eingegangen", "wir haben ihre anfrage erhalten",
    # HU
    "automatikus válasz", "automatikus üzenet", "automatikus visszaigazolás", "házon kívül",
    "nem vagyok az irodában", "megkaptuk", "beérkezett",
    # PL
    "odpowiedź automatyczna", "automatyczna odpowiedź", "autoodpowiedź", "wiadomość automatyczna",
    "poza biurem", "nieobecność w biurze", "potwierdzenie otrzymania", "otrzymaliśmy",
    "zgłoszenie zostało przyjęte", "zgłoszenie zostało zarejestrowane",
    # TR
    "otomatik yanıt", "otomatik cevap", "otomatik mesaj", "ofis dışında", "ofiste değilim",
    "talebiniz alınmıştır", "talebiniz alındı", "mesajınız alınmıştır", "kaydınız oluşturuldu",
    # RU
    "автоматический ответ", "автоответ", "автоматическое сообщение", "вне офиса", "нет на месте",
    "ваше обращение зарегистрировано", "ваша заявка принята", "обращение принято",
    "заявка зарегистрирована", "мы получили ваше",
])
# Receipt phrases in the reply's own text: an ack only beside a ticket number
# or from a no-reply sender (people write "thank you for your message" too).
_RECEIPT = _pattern([
    "we have received your", "we've received your", "we received your", "has been received",
    "have received your", "has been registered", "has been logged", "has been created",
    "ticket has been opened", "we will get back to you", "we'll get back to you",
    "will get back to you as soon as", "will respond as soon as", "will reply as soon as",
    "will be answered", "respond within", "reply within",
    "ihre anfrage erhalten", "ihre nachricht erhalten", "ihre e-mail erhalten", "ihre anfrage ist",
    "bei uns eingegangen", "eingangsbestätigung", "wurde erstellt", "wurde registriert",
    "wurde aufgenommen", "melden uns schnellstmöglich", "so schnell wie möglich bei ihnen",
    "megkaptuk", "beérkezett", "rögzítettük", "hamarosan válaszolunk", "hamarosan felvesszük",
    "kollégáink hamarosan", "munkatársunk hamarosan", "nyilvántartásba vettük",
    "otrzymaliśmy", "zostało przyjęte", "zostało zarejestrowane", "zarejestrowaliśmy",
    "odpowiemy najszybciej", "odpowiemy w ciągu", "skontaktujemy się",
    "talebiniz alınmıştır", "talebiniz alındı", "mesajınız alınmıştır", "mesajınız bize ulaştı",
    "kaydınız oluşturul", "talebiniz oluşturul", "en kısa sürede dönüş", "en kısa sürede size",
    "мы получили ваше", "получили ваш", "зарегистрировано", "зарегистрирована", "принята",
    "принято в работу", "ответим в ближайшее время", "свяжемся с вами", "ответим вам",
])
_TICKET = re.compile(
    r"\[#\s?[a-z]{0,5}-?\d{3,}\]|##\s?\d{3,}|#\d{4,}\b"
    r"|(?<!\w)(?:ticket|case|request|incident|anfrage|vorgang|ticketnummer|vorgangsnummer|"
    r"hibajegy|jegy|bejelentes|ugyszam|ugyiratszam|azonosito|zgloszeni\w*|sprawa|nr sprawy|"
    r"talep|kayit|basvuru|заявк\w*|обращени\w*|тикет|запрос\w*)"
    r"\W{0,3}(?:no\.?|nr\.?|number|nummer|id|szam\w*|numara\w*|номер)?\s*[:#№]?\s*"
    r"[a-z]{0,5}-?\d{3,}",
)
_NOREPLY_LOCAL = re.compile(
    r"(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|nicht[-_.]?antworten|ne[-_.]?valaszolj|"
    r"nie[-_.]?odpowiadaj|yanitlamayin|cevaplamayin|autoreply|auto[-_.]?response|notifications?$)"
)


def _auto(msg: Message) -> Classification | None:
    """An automatic reply, told by its headers first, then by its subject and words."""
    return _auto_headers(msg) or _auto_words(msg)


def _auto_headers(msg: Message) -> Classification | None:
    auto_submitted = header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return Classification("auto-ack", reasons.AUTO_SUBMITTED, auto_submitted[:100])
    for name in msg.keys():
        if name.lower().replace("-", "") in _AUTO_HEADERS:
            value = header_text(msg, name).lower()
            if value not in ("no", "false", "0"):
                return Classification("auto-ack", reasons.X_AUTOREPLY, f"{name}: {value}"[:100])
    precedence = (header_text(msg, "Precedence") or header_text(msg, "X-Precedence")).lower().strip()
    if precedence in ("auto_reply", "auto-reply", "bulk", "junk"):
        return Classification("auto-ack", reasons.PRECEDENCE, precedence)
    if ctype_is_mdn(msg):
        return Classification("auto-ack", reasons.READ_RECEIPT)
    return None


def _auto_words(msg: Message) -> Classification | None:
    subject = header_text(msg, "Subject")
    norm_subject = _norm(subject)
    hit = _AUTO_SUBJECT.search(norm_subject)
    if hit:
        return Classification("auto-ack", reasons.AUTO_REPLY_SUBJECT, hit.group(0))
    own = _norm(fresh_text(_body_text(msg)))
    receipt = _RECEIPT.search(own)
    if receipt:
        ticket = _TICKET.search(norm_subject) or _TICKET.search(own)
        if ticket:
            return Classification("auto-ack", reasons.TICKET_ACK, f"{ticket.group(0)} / {receipt.group(0)}")
        if _NOREPLY_LOCAL.search(_sender_local(msg)):
            return Classification("auto-ack", reasons.NO_REPLY_SENDER, receipt.group(0))
    return None


def ctype_is_mdn(msg: Message) -> bool:
    """A message disposition notification (read receipt, RFC 8098)."""
    return msg.get_content_type() == "multipart/report" and str(
        msg.get_param("report-type", "") or ""
    ).lower() == "disposition-notification"


def classify(msg: Message) -> Classification:
    """Bounce, automatic acknowledgement, or human reply (in that order of precedence)."""
    return _bounce(msg) or _auto(msg) or Classification("human", reasons.NO_AUTOMATION_SIGNS)


# ---------------------------------------------------------------------------
# Matching replies to inquiries
# ---------------------------------------------------------------------------


def _ids(value: str) -> list[str]:
    return [m.lower() for m in _MSGID.findall(value)]


@dataclass(frozen=True)
class ReplyKeys:
    """Everything in a message that may point back at an inquiry, strongest first."""

    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    embedded_ids: tuple[str, ...] = ()
    embedded_tokens: tuple[str, ...] = ()
    subject_tokens: tuple[str, ...] = ()
    body_ids: tuple[str, ...] = ()
    body_tokens: tuple[str, ...] = ()


def reply_keys(msg: Message) -> ReplyKeys:
    """Message-IDs and tokens a reply, bounce or auto-reply carries about its original."""
    embedded = _embedded(msg)
    emb_ids: list[str] = []
    emb_tokens: list[str] = []
    texts = [_body_text(msg)]
    for sub in embedded:
        emb_ids.extend(_ids(header_text(sub, "Message-ID")))
        token = header_text(sub, "X-Auditor-Token").strip().lower()
        if token:
            emb_tokens.append(token)
        emb_tokens.extend(t.lower() for t in TOKEN_RE.findall(header_text(sub, "Subject")))
        if sub.get_content_maintype() in ("text", "multipart"):
            texts.append(_body_text(sub))
    body = "\n".join(texts)
    return ReplyKeys(
        in_reply_to=tuple(_ids(header_text(msg, "In-Reply-To"))),
        references=tuple(reversed(_ids(header_text(msg, "References")))),
        embedded_ids=tuple(emb_ids),
        embedded_tokens=tuple(emb_tokens),
        subject_tokens=tuple(t.lower() for t in TOKEN_RE.findall(header_text(msg, "Subject"))),
        body_ids=tuple(_ids(body)),
        body_tokens=tuple(t.lower() for t in TOKEN_RE.findall(body)),
    )


def match_inquiry(
    keys: ReplyKeys, by_message_id: Mapping[str, int], by_token: Mapping[str, int]
) -> tuple[int, str] | None:
    """(inquiry id, how it matched) for the strongest key that names a known inquiry."""
    ids = {k.lower(): v for k, v in by_message_id.items()}
    tokens = {k.lower(): v for k, v in by_token.items()}
    for how, values, table in (
        ("in-reply-to", keys.in_reply_to, ids),
        ("references", keys.references, ids),
        ("embedded-message-id", keys.embedded_ids, ids),
        ("embedded-token", keys.embedded_tokens, tokens),
        ("subject-token", keys.subject_tokens, tokens),
        ("body-message-id", keys.body_ids, ids),
        ("body-token", keys.body_tokens, tokens),
    ):
        for value in values:
            if value in table:
                return table[value], how
    return None


def header_date(msg: Message) -> datetime | None:
    """The Date header as an aware datetime, or None when missing or unreadable."""
    try:
        value = parsedate_to_datetime(header_text(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return value if value.tzinfo else None


# ---------------------------------------------------------------------------
# The outcome of one inquiry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Status of one inquiry from its replies, as of ``now``.

    ``final`` once a person replied or the cutoff passed; ``no_reply`` records
    that no person replied by the cutoff (an acknowledgement is kept beside it).
    Replies after the cutoff are kept in the store but do not change the outcome.
    """

    status: str  # human-reply | auto-ack-only | bounced | no-reply | pending
    final: bool
    no_reply: bool
    first_ack_at: datetime | None
    first_human_at: datetime | None
    bounced_at: datetime | None
    closed_at: datetime | None


def outcome(
    sent_at: datetime,
    replies: Sequence[tuple[str, datetime]],
    now: datetime,
    cutoff: timedelta,
) -> Outcome:
    """Decide an inquiry's status from (kind, received time) of its replies."""
    deadline = sent_at + cutoff
    in_time = [(kind, max(at, sent_at)) for kind, at in replies if at <= deadline]

    def first(kind: str) -> datetime | None:
        times = [at for k, at in in_time if k == kind]
        return min(times) if times else None

    human, ack, bounce = first("human"), first("auto-ack"), first("bounce")
    closed = now >= deadline
    if human:
        return Outcome(reasons.HUMAN_REPLY, True, False, ack, human, bounce, None)
    if ack:
        status = reasons.AUTO_ACK_ONLY
    elif bounce:
        status = reasons.BOUNCED
    else:
        status = reasons.NO_REPLY if closed else reasons.PENDING
    return Outcome(status, closed, closed, ack, None, bounce, deadline if closed else None)
