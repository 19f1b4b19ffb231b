"""The lab's companies answering mail: a submission server and reply agents on a compressed clock.

The mystery-shopper probe sends each company one question and later reads what
came back. In the lab the whole round trip happens on loopback:

* ``auditor inquiries send`` submits to :class:`LabReplyAgents`, an aiosmtpd
  submission server (RFC 6409) that requires AUTH PLAIN or LOGIN with a configured
  account, even without TLS (loopback only: ``security = "none"`` is accepted by
  the probe's config only for loopback hosts), and a MAIL FROM that is the
  logged-in account, as real providers insist;
* for each recipient the agent decides what "the company" does, by address
  (or ``@domain``)::

      human-reply:H            a person answers after H hours (default 4), in the
                               inquiry's language, quoting it, with In-Reply-To/References
      auto-ack[:H]             an RFC 3834 acknowledgement (Auto-Submitted: auto-replied,
                               ticket number in the subject) after H hours (default 1 min)
      auto-ack-then-human:H1:H2  both: the receipt after H1 hours, the answer after H2
      bounce[:H]               an RFC 3464 DSN (multipart/report from MAILER-DAEMON,
                               Status 5.1.1) to the envelope sender after H hours (default 0)
      never                    the mail is taken and nobody ever answers (the default)

* replies land in the auditor's mailbox on :class:`~auditor.lab.imap.LabImapServer`
  with an INTERNALDATE on the compressed clock: inquiry time + simulated delay. A
  reply "2.5 hours later" is in the mailbox at once (before the 250 to DATA, so
  ``send`` returning means the replies are there) but reads as 2.5 hours later.
  With ``seconds_per_hour`` > 0 each reply waits that many real seconds per
  simulated hour instead, so a demo can show inquiries pending, then answered.

The inquiry time is the inquiry's Date header (``send_inquiries`` stamps it from the
same clock as the ``sent_at`` it records, so a back-dated test clock stays coherent),
or the arrival time when there is none. The collector measures hours from its own
``sent_at`` to INTERNALDATE, so they come out as the simulated hours (to the second).
Replies in the "future" are fine for the collector: only its ``now`` decides when
an unanswered inquiry is closed (``now >= sent_at + cutoff``).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import logging
import re
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from functools import cache
from typing import Any, Self

from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from auditor.lab.background import BackgroundLoop, BackgroundServer
from auditor.lab.imap import LabImapServer
from auditor.lab.smtp import quiet_mail_log
from auditor.probes.inquiries.compose import render
from auditor.probes.inquiries.config import LANGUAGES, TOPICS

__all__ = ["AgentSpec", "LabReplyAgents", "ReceivedInquiry", "ReplyPlan", "ScheduledReply", "REPLY_KINDS"]

log = logging.getLogger(__name__)

# Each reply a lab agent can give, with how many delays (hours) it takes.
_ARITY = {"human-reply": 1, "auto-ack": 1, "auto-ack-then-human": 2, "bounce": 1, "never": 0}
REPLY_KINDS = tuple(_ARITY)
DEFAULT_HUMAN_HOURS = 4.0
DEFAULT_ACK_HOURS = 1 / 60  # auto-responders answer within a minute
DEFAULT_BOUNCE_HOURS = 0.0
TOKEN_TAIL = re.compile(r"\s*\[ref:\s*[a-z0-9]+\]\s*$", re.IGNORECASE)
# Serializing replies: headers on one line each. Python's folder drops the space between two
# encoded-words it splits ("работы службы" comes back "работыслужбы"); bodies are already
# encoded (set_content) with the usual 78-character lines.
UNFOLDED = policy.default.clone(max_line_length=998)


# ------------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class ReplyPlan:
    """What a company does with an inquiry, with each reply's delay in simulated hours."""

    kind: str
    ack_hours: float | None = None
    human_hours: float | None = None
    bounce_hours: float | None = None

    @classmethod
    def parse(cls, text: str | ReplyPlan) -> ReplyPlan:
        """``"auto-ack-then-human:0.1:26"`` -> ReplyPlan(...); ValueError on anything else."""
        if isinstance(text, ReplyPlan):
            return text
        name, hours = _split_reply(text)
        if name == "human-reply":
            return cls(name, human_hours=hours[0] if hours else DEFAULT_HUMAN_HOURS)
        if name == "auto-ack":
            return cls(name, ack_hours=hours[0] if hours else DEFAULT_ACK_HOURS)
        if name == "auto-ack-then-human":
            ack = hours[0] if hours else DEFAULT_ACK_HOURS
            human = hours[1] if len(hours) > 1 else DEFAULT_HUMAN_HOURS
            if human < ack:
                raise ValueError(f"lab reply {text!r}: the person answers after the receipt (H2 >= H1)")
            return cls(name, ack_hours=ack, human_hours=human)
        if name == "bounce":
            return cls(name, bounce_hours=hours[0] if hours else DEFAULT_BOUNCE_HOURS)
        return cls(name)

    def __str__(self) -> str:
        hours = [h for h in (self.ack_hours, self.human_hours, self.bounce_hours) if h is not None]
        return ":".join([self.kind, *(f"{h:g}" for h in hours)])


def _split_reply(text: str) -> tuple[str, list[float]]:
    """``"auto-ack-then-human:0.1:26"`` -> ("auto-ack-then-human", [0.1, 26.0]), checked against its arity."""
    name, *args = [part.strip() for part in text.strip().split(":")]
    name = name.lower()
    try:
        hours = [float(a) for a in args]
    except ValueError:
        raise ValueError(f"lab reply {text!r}: delays are hours, e.g. human-reply:2.5") from None
    if any(h < 0 or h != h for h in hours):
        raise ValueError(f"lab reply {text!r}: delays must be >= 0 hours")
    if name not in _ARITY:
        raise ValueError(f"unknown lab reply {text!r}; one of {', '.join(REPLY_KINDS)}")
    if len(hours) > _ARITY[name]:
        raise ValueError(f"lab reply {text!r}: {name} takes at most {_ARITY[name]} delay(s)")
    return name, hours


@dataclass(frozen=True)
class AgentSpec:
    """One company mailbox: how it replies, who signs, in which language (None: the inquiry's)."""

    reply: str | ReplyPlan = "never"
    company: str | None = None
    language: str | None = None

    @property
    def plan(self) -> ReplyPlan:
        return ReplyPlan.parse(self.reply)


@dataclass
class ScheduledReply:
    """One message an agent sends back: its kind, arrival time on the compressed clock, delivery."""

    kind: str  # human | auto-ack | bounce
    internaldate: datetime
    mailbox: str
    raw: bytes = field(repr=False, default=b"")
    delivered: bool = False
    uid: int | None = None


@dataclass
class ReceivedInquiry:
    """What arrived for one recipient and what the agent does about it."""

    arrived_at: datetime
    sent_at: datetime  # the base of the compressed clock
    sender: str
    recipient: str
    message_id: str | None
    subject: str
    language: str
    topic: str | None
    plan: ReplyPlan
    replies: list[ScheduledReply] = field(default_factory=list)


# ------------------------------------------------------------------------------- texts

# Who answers, per language: display name and mailbox local part.
PEOPLE = {
    "en": ("Emma Clarke", "emma.clarke"),
    "de": ("Klaus Berger", "k.berger"),
    "hu": ("Nagy Eszter", "nagy.eszter"),
    "pl": ("Katarzyna Nowak", "k.nowak"),
    "tr": ("Elif Yılmaz", "elif.yilmaz"),
    "ru": ("Мария Соколова", "m.sokolova"),
}
REPLY_PREFIX = {"en": "Re", "de": "AW", "hu": "Re", "pl": "Odp", "tr": "Ynt", "ru": "Re"}
ATTRIBUTION = {
    "en": "On {date}, {who} wrote:",
    "de": "Am {date} schrieb {who}:",
    "hu": "{date} időpontban {who} ezt írta:",
    "pl": "W dniu {date} {who} napisał(a):",
    "tr": "{date} tarihinde {who} şunu yazdı:",
    "ru": "{date}, {who} написал(а):",
}
GREETING = {
    "en": "Hello {name},", "de": "Guten Tag,", "hu": "Tisztelt {name}!", "pl": "Dzień dobry,",
    "tr": "Merhaba {name},", "ru": "Здравствуйте, {name}!",
}
SIGN_OFF = {
    "en": "Kind regards,", "de": "Mit freundlichen Grüßen", "hu": "Üdvözlettel:", "pl": "Z poważaniem",
    "tr": "Saygılarımızla,", "ru": "С уважением,",
}
# A person's answer per (language, topic); "hours" is also the answer to anything else.
ANSWERS = {
    ("en", "hours"): "thank you for your question. Our customer service is available Monday to Friday from 8:00 "
                     "to 18:00 and on Saturdays from 9:00 to 13:00. During these hours you can also call us; "
                     "the number is on our contact page.",
    ("en", "delivery"): "thank you for your interest. Orders usually arrive within two to three working days, "
                        "and you can choose the delivery day in the last step of the checkout.",
    ("de", "hours"): "vielen Dank für Ihre Frage. Unser Kundenservice ist montags bis freitags von 8 bis 18 Uhr "
                     "und samstags von 9 bis 13 Uhr für Sie da. In dieser Zeit erreichen Sie uns auch telefonisch "
                     "unter der Nummer auf unserer Kontaktseite.",
    ("de", "delivery"): "vielen Dank für Ihr Interesse. Die Lieferung dauert in der Regel zwei bis drei Werktage. "
                        "Den Liefertag können Sie im letzten Schritt der Bestellung selbst wählen.",
    ("hu", "hours"): "köszönjük a kérdését. Ügyfélszolgálatunk hétfőtől péntekig 8 és 18 óra között, szombaton "
                     "9 és 13 óra között érhető el; ebben az időben telefonon is hívhat minket a kapcsolat "
                     "oldalon található számon.",
    ("hu", "delivery"): "köszönjük az érdeklődését. A csomagok általában két-három munkanap alatt érkeznek meg, "
                        "a szállítás napját pedig a rendelés utolsó lépésében Ön választhatja ki.",
    ("pl", "hours"): "dziękujemy za pytanie. Nasze biuro obsługi klienta pracuje od poniedziałku do piątku "
                     "w godzinach 8–18, a w soboty 9–13. W tych godzinach można też do nas zadzwonić pod numer "
                     "podany na stronie kontaktowej.",
    ("pl", "delivery"): "dziękujemy za zainteresowanie. Dostawa trwa zwykle dwa do trzech dni roboczych, a dzień "
                        "dostawy można wybrać w ostatnim kroku zamówienia.",
    ("tr", "hours"): "sorunuz için teşekkür ederiz. Müşteri hizmetlerimize hafta içi 08:00–18:00, cumartesi "
                     "09:00–13:00 saatleri arasında ulaşabilirsiniz; bu saatlerde iletişim sayfamızdaki "
                     "numaradan bizi telefonla da arayabilirsiniz.",
    ("tr", "delivery"): "ilginiz için teşekkür ederiz. Siparişler genellikle iki ila üç iş günü içinde teslim "
                        "edilir; teslimat gününü siparişin son adımında kendiniz seçebilirsiniz.",
    ("ru", "hours"): "спасибо за ваш вопрос. Наша служба поддержки работает с понедельника по пятницу с 8 до 18 "
                     "часов, в субботу — с 9 до 13. В это время вы можете позвонить нам по номеру, указанному "
                     "на странице контактов.",
    ("ru", "delivery"): "спасибо за интерес к нашему магазину. Доставка обычно занимает два-три рабочих дня, "
                        "а удобный день доставки можно выбрать на последнем шаге оформления заказа.",
}
ACK_WORD = {
    "en": "Automatic reply", "de": "Automatische Antwort", "hu": "Automatikus válasz",
    "pl": "Automatyczna odpowiedź", "tr": "Otomatik yanıt", "ru": "Автоматический ответ",
}
ACK_TEXT = {
    "en": "Thank you for contacting {company}.\n\nWe have received your message and registered it under ticket "
          "number #{ticket}. A member of our team will reply within two working days.\n\nThis is an "
          "automatically generated message; please do not reply to it.\n",
    "de": "Vielen Dank für Ihre Nachricht an {company}.\n\nIhre Anfrage ist bei uns eingegangen und wurde unter "
          "der Ticketnummer #{ticket} registriert. Wir melden uns innerhalb von zwei Werktagen.\n\nDies ist "
          "eine automatisch erzeugte Nachricht, bitte antworten Sie nicht darauf.\n",
    "hu": "Köszönjük, hogy a(z) {company} ügyfélszolgálatához fordult.\n\nMegkeresését megkaptuk, és #{ticket} "
          "azonosítóval rögzítettük. Munkatársunk két munkanapon belül válaszol.\n\nEz egy automatikus "
          "üzenet, kérjük, ne válaszoljon rá.\n",
    "pl": "Dziękujemy za wiadomość do {company}.\n\nTwoje zgłoszenie zostało zarejestrowane pod numerem "
          "#{ticket}. Odpowiemy w ciągu dwóch dni roboczych.\n\nTa wiadomość została wygenerowana "
          "automatycznie, prosimy na nią nie odpowiadać.\n",
    "tr": "{company} ile iletişime geçtiğiniz için teşekkür ederiz.\n\nTalebiniz alınmıştır ve #{ticket} "
          "numarasıyla kaydedilmiştir. En geç iki iş günü içinde size dönüş yapacağız.\n\nBu otomatik bir "
          "mesajdır, lütfen yanıtlamayınız.\n",
    "ru": "Благодарим вас за обращение в {company}.\n\nВаше обращение зарегистрировано под номером #{ticket}. "
          "Мы ответим в течение двух рабочих дней.\n\nЭто автоматическое сообщение, пожалуйста, не отвечайте "
          "на него.\n",
}
# Letters that tell the template languages apart when the subject is not one of ours.
LANGUAGE_HINTS = (("ru", "абвгдежзийклмнопрстуфхцчшщыэюя"), ("hu", "őű"), ("pl", "ąęłńśźż"),
                  ("tr", "ğışç"), ("de", "äöüß"), ("hu", "áéíóú"))
TLD_LANGUAGE = {"de": "de", "at": "de", "ch": "de", "hu": "hu", "pl": "pl", "tr": "tr", "ru": "ru", "by": "ru"}


@cache
def _template_subjects() -> dict[str, tuple[str, str]]:
    """Every template subject -> (topic, language): the reply agent recognizes the question."""
    return {render(topic, lang, "x")[0]: (topic, lang) for topic in TOPICS for lang in LANGUAGES}


def recognize(subject: str, body: str = "", recipient: str = "") -> tuple[str | None, str]:
    """(topic or None, language) of an inquiry, from its subject, else its letters, else the TLD."""
    bare = TOKEN_TAIL.sub("", subject).strip()
    for known, found in _template_subjects().items():
        if bare == known or (bare.endswith("…") and known.startswith(bare[:-1].rstrip())):
            return found
    text = (bare + " " + body).lower()
    for lang, letters in LANGUAGE_HINTS:
        if any(ch in text for ch in letters):
            return None, lang
    return None, TLD_LANGUAGE.get(recipient.rpartition(".")[2].lower(), "en")


def company_name(domain: str) -> str:
    """``kovacs-szerviz.hu`` -> ``Kovacs-szerviz``: a signature when none is configured."""
    label = domain.split(".")[0] if domain else "Customer Service"
    return label[:1].upper() + label[1:]


def _quoted(text: str) -> str:
    return "\n".join(">" if not line.strip() else f"> {line}" for line in text.strip("\n").splitlines())


def _plain_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    try:
        content = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        content = ""
    return content if isinstance(content, str) else ""


# ------------------------------------------------------------------------------- messages


def human_reply(inquiry: EmailMessage, *, company: str, domain: str, language: str, topic: str | None,
                when: datetime) -> EmailMessage:
    """A person's answer: greeting, the answer, signature, then the question quoted below."""
    name, local = PEOPLE[language]
    asker = getaddresses([str(inquiry.get("Reply-To") or inquiry.get("From") or "")])
    asker_name, asker_addr = asker[0] if asker else ("", "")
    greeting = GREETING[language].format(name=asker_name or "").replace(" ,", ",").replace(" !", "!")
    answer = ANSWERS.get((language, topic or "hours"), ANSWERS[(language, "hours")])
    who = f"{asker_name} <{asker_addr}>" if asker_name else f"<{asker_addr}>"
    attribution = ATTRIBUTION[language].format(date=str(inquiry.get("Date") or format_datetime(when)), who=who)
    body = (f"{greeting}\n\n{answer}\n\n{SIGN_OFF[language]}\n{name}\n{company}\n\n{attribution}\n"
            f"{_quoted(_plain_text(inquiry))}\n")
    msg = EmailMessage()
    msg["From"] = Address(display_name=f"{name} ({company})", username=local, domain=domain)
    msg["To"] = str(inquiry.get("Reply-To") or inquiry.get("From") or "")
    msg["Subject"] = f"{REPLY_PREFIX[language]}: {inquiry.get('Subject', '')}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{secrets.token_hex(10)}@{domain}>"
    _thread(msg, inquiry)
    msg["Content-Language"] = language
    msg.set_content(body, charset="utf-8", cte="quoted-printable" if language != "ru" else "base64")
    return msg


def auto_ack(inquiry: EmailMessage, *, company: str, recipient: str, language: str, ticket: int,
             when: datetime) -> EmailMessage:
    """An RFC 3834 auto-reply: Auto-Submitted, ticket number and "Automatic reply" in the subject."""
    local, _, domain = recipient.rpartition("@")
    msg = EmailMessage()
    msg["From"] = Address(display_name=company, username=local, domain=domain)
    msg["To"] = str(inquiry.get("Reply-To") or inquiry.get("From") or "")
    msg["Subject"] = f"[#{ticket}] {ACK_WORD[language]}: {inquiry.get('Subject', '')}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<ticket-{ticket}.{secrets.token_hex(6)}@{domain}>"
    _thread(msg, inquiry)
    msg["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    msg["X-Auto-Response-Suppress"] = "All"  # no auto-reply loops with Exchange
    msg["Content-Language"] = language
    msg.set_content(ACK_TEXT[language].format(company=company, ticket=ticket), charset="utf-8",
                    cte="quoted-printable" if language != "ru" else "base64")
    return msg


def _thread(msg: EmailMessage, inquiry: EmailMessage) -> None:
    """In-Reply-To and References (RFC 5322 §3.6.4), as mail clients set them."""
    original = str(inquiry.get("Message-ID") or "").strip()
    if not original:
        return
    msg["In-Reply-To"] = original
    references = " ".join(str(inquiry.get("References") or "").split())
    msg["References"] = f"{references} {original}".strip()


def bounce_dsn(raw_inquiry: bytes, *, sender: str, recipient: str, reporting_mta: str, arrived: datetime,
               when: datetime) -> bytes:
    """An RFC 3464 delivery status notification: the remote MX said 550 5.1.1 to ``recipient``."""
    domain = recipient.rpartition("@")[2] or "invalid"
    boundary = f"lab-dsn-{secrets.token_hex(8)}"
    diagnostic = f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"
    end = raw_inquiry.find(b"\r\n\r\n")
    if end < 0:
        end = raw_inquiry.find(b"\n\n")
    headers = (raw_inquiry if end < 0 else raw_inquiry[:end]).decode("ascii", "replace")
    lines = [
        "Return-Path: <>",
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: {sender}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {format_datetime(when)}",
        f"Message-ID: <dsn.{secrets.token_hex(8)}@{reporting_mta}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        f"This is the mail system at host {reporting_mta}.",
        "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients. It's attached below.",
        "",
        f"<{recipient}>: host mx1.{domain}[127.0.0.1] said: {diagnostic}",
        "    (in reply to RCPT TO command)",
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {reporting_mta}",
        f"Arrival-Date: {format_datetime(arrived)}",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Original-Recipient: rfc822;{recipient}",
        "Action: failed",
        "Status: 5.1.1",
        f"Remote-MTA: dns; mx1.{domain}",
        f"Diagnostic-Code: smtp; {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Description: Undelivered Message Headers",
        "Content-Type: text/rfc822-headers",
        "",
        headers.replace("\r\n", "\n").rstrip("\n"),
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join("\r\n".join(line.split("\n")) for line in lines).encode("utf-8")


# ------------------------------------------------------------------------------- server


class _Handler:
    """aiosmtpd hooks: authenticated submission only, then hand each message to the agents."""

    def __init__(self, agents: LabReplyAgents) -> None:
        self.agents = agents

    async def handle_MAIL(self, server: AioSMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        login = getattr(session, "lab_login", None)
        if login is None:
            return "530 5.7.0 Authentication required"
        if self.agents.sender_must_match and address.lower() != login.lower():
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user {login}"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: AioSMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"  # submission takes every recipient; delivery decides later

    async def handle_DATA(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        queue_id = self.agents._receive(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        return f"250 2.0.0 Ok: queued as {queue_id}"


class LabReplyAgents(BackgroundServer):
    """The lab's submission server and the companies behind the addresses it delivers to.

    ``mailboxes`` maps an address (``info@firma.hu``) or a domain (``@firma.hu``)
    to a reply string or :class:`AgentSpec`; other recipients get ``default``.
    ``accounts`` are the submission logins (user -> password). Replies go to the
    IMAP user named by the inquiry's Reply-To/From (a bounce: the envelope sender);
    when ``imap`` has no such user the reply is counted as undeliverable.
    """

    def __init__(
        self,
        mailboxes: Mapping[str, str | ReplyPlan | AgentSpec],
        imap: LabImapServer,
        accounts: Mapping[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: str | ReplyPlan | AgentSpec = "never",
        seconds_per_hour: float = 0.0,
        hostname: str = "submission.lab.test",
        sender_must_match: bool = True,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab submission server listens on loopback only, not {host!r}")
        self.specs: dict[str, AgentSpec] = {k.strip().lower(): _spec(v) for k, v in mailboxes.items()}
        self.default = _spec(default)
        for spec in (*self.specs.values(), self.default):
            spec.plan  # noqa: B018 - validate every reply string now, not at the first inquiry
            if spec.language is not None and spec.language not in LANGUAGES:
                raise ValueError(f"no reply texts in language {spec.language!r} (known: {', '.join(LANGUAGES)})")
        self.imap = imap
        self.accounts = {u.lower(): (u, p) for u, p in accounts.items()}
        self.host = host
        self.port = port
        self.seconds_per_hour = seconds_per_hour
        self.hostname = hostname
        self.sender_must_match = sender_must_match
        self._lock = threading.Lock()
        self.inquiries: list[ReceivedInquiry] = []
        self.logins: Counter[str] = Counter()
        self.failed_logins: Counter[str] = Counter()
        self.replies: Counter[str] = Counter()  # delivered, by kind
        self.undeliverable = 0
        self._tickets = itertools.count(480_213)
        self._queue = itertools.count(0xA1B2C3)
        self._pending: dict[int, tuple[asyncio.TimerHandle, ScheduledReply]] = {}
        self._bg = BackgroundLoop("lab-agents")
        self._server: asyncio.AbstractServer | None = None

    # ---------------------------------------------------------------- decisions

    def spec_for(self, address: str) -> AgentSpec:
        """The spec of an address: exact address, then ``@domain``, then the default."""
        address = address.strip().lower()
        domain = "@" + address.rpartition("@")[2]
        return self.specs.get(address) or self.specs.get(domain) or self.default

    @property
    def pending(self) -> int:
        """Replies scheduled on the real clock (``seconds_per_hour`` > 0) and not delivered yet."""
        with self._lock:
            return len(self._pending)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "inquiries": len(self.inquiries), "logins": dict(self.logins),
                "failed_logins": dict(self.failed_logins), "replies": dict(self.replies),
                "undeliverable": self.undeliverable, "pending": len(self._pending),
            }

    def _authenticate(self, server: AioSMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        entry = self.accounts.get(login.lower())
        ok = entry is not None and hmac.compare_digest(entry[1].encode(), auth_data.password)
        with self._lock:
            (self.logins if ok else self.failed_logins)[login.lower()] += 1
        if ok:
            session.lab_login = entry[0] if entry else login  # type: ignore[attr-defined]
        return AuthResult(success=ok, handled=False)

    def _receive(self, raw: bytes, sender: str, recipients: list[str]) -> str:
        """One accepted message: plan and (at once, or on the real clock) deliver each reply."""
        arrived = datetime.now(UTC).replace(microsecond=0)
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        try:
            sent = parsedate_to_datetime(str(msg.get("Date") or ""))
            sent = sent if sent.tzinfo else arrived
        except (TypeError, ValueError, IndexError):
            sent = arrived
        subject = str(msg.get("Subject") or "")
        reply_to = getaddresses([str(msg.get("Reply-To") or msg.get("From") or "")])
        reply_address = reply_to[0][1] if reply_to else ""
        for rcpt in recipients:
            spec = self.spec_for(rcpt)
            plan = spec.plan
            topic, language = recognize(subject, _plain_text(msg), rcpt)
            language = spec.language or language
            domain = rcpt.rpartition("@")[2].lower()
            company = spec.company or company_name(domain)
            inquiry = ReceivedInquiry(arrived, sent, sender, rcpt, str(msg.get("Message-ID") or "") or None,
                                      subject, language, topic, plan)
            at = lambda hours: sent + timedelta(hours=hours)  # noqa: E731 - the compressed clock
            if plan.ack_hours is not None:
                when = at(plan.ack_hours)
                ack = auto_ack(msg, company=company, recipient=rcpt, language=language,
                               ticket=next(self._tickets), when=when)
                inquiry.replies.append(ScheduledReply("auto-ack", when, reply_address, ack.as_bytes(policy=UNFOLDED)))
            if plan.human_hours is not None:
                when = at(plan.human_hours)
                human = human_reply(msg, company=company, domain=domain, language=language, topic=topic, when=when)
                inquiry.replies.append(ScheduledReply("human", when, reply_address, human.as_bytes(policy=UNFOLDED)))
            if plan.bounce_hours is not None and sender:
                when = at(plan.bounce_hours)
                dsn = bounce_dsn(raw, sender=sender, recipient=rcpt, reporting_mta=self.hostname,
                                 arrived=arrived, when=when)
                inquiry.replies.append(ScheduledReply("bounce", when, sender, dsn))
            with self._lock:
                self.inquiries.append(inquiry)
            for reply, hours in zip(inquiry.replies, _delays(plan, bool(sender)), strict=True):
                self._schedule(reply, hours)
            log.info("lab agent %s: %s (%s, %s)", rcpt, plan, language, topic or "unknown topic")
        return f"{next(self._queue):X}"

    def _schedule(self, reply: ScheduledReply, hours: float) -> None:
        delay = hours * self.seconds_per_hour
        if delay <= 0 or self._loop is None:
            self._deliver(reply)
            return
        key = id(reply)
        handle = self._loop.call_later(delay, lambda: self._deliver(reply))
        with self._lock:
            self._pending[key] = (handle, reply)

    def _deliver(self, reply: ScheduledReply) -> None:
        with self._lock:
            self._pending.pop(id(reply), None)
        if reply.delivered:
            return
        if not reply.mailbox or not self.imap.has_user(reply.mailbox):
            with self._lock:
                self.undeliverable += 1
            log.warning("lab agent: no lab mailbox %r for a %s reply; dropped", reply.mailbox, reply.kind)
            return
        reply.uid = self.imap.append(reply.mailbox, reply.raw, reply.internaldate)
        reply.delivered = True
        with self._lock:
            self.replies[reply.kind] += 1

    def flush(self) -> int:
        """Deliver every pending reply now (their INTERNALDATEs stay); returns how many."""
        loop = self._loop

        async def in_loop() -> int:
            with self._lock:
                pending = list(self._pending.values())
            for handle, reply in pending:
                handle.cancel()
                self._deliver(reply)
            return len(pending)

        if loop is None or not loop.is_running():
            return 0
        return asyncio.run_coroutine_threadsafe(in_loop(), loop).result(30)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind the submission port and serve from a daemon thread; returns self."""
        if self._bg.running:
            return self
        mail_log = quiet_mail_log()
        if _quiet_login_data not in mail_log.filters:
            mail_log.addFilter(_quiet_login_data)
        self._bg.start(self._bind, self._shutdown)
        return self

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self)

        def factory() -> AioSMTP:
            return AioSMTP(handler, hostname=self.hostname, ident="ESMTP lab submission",
                           authenticator=self._authenticate, auth_require_tls=False, timeout=60, loop=loop)

        self._server = await loop.create_server(factory, self.host, self.port, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def stop(self) -> None:
        """Close the submission port and end the thread; replies not yet due are dropped."""

        def drop_pending() -> None:
            with self._lock:
                for handle, _reply in self._pending.values():
                    handle.cancel()
                self._pending.clear()

        self._bg.stop(before=drop_pending)


def _quiet_login_data(record: logging.LogRecord) -> bool:
    """aiosmtpd 1.4 warns about its own deprecated ``login_data`` on every successful AUTH."""
    return "login_data is deprecated" not in str(record.msg)


def _spec(value: str | ReplyPlan | AgentSpec) -> AgentSpec:
    return value if isinstance(value, AgentSpec) else AgentSpec(reply=value)


def _delays(plan: ReplyPlan, has_sender: bool) -> list[float]:
    """The delays of the replies :meth:`LabReplyAgents._receive` built, in the same order."""
    hours = [plan.ack_hours, plan.human_hours, plan.bounce_hours if has_sender else None]
    return [h for h in hours if h is not None]
