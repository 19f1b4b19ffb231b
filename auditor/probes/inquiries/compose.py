"""The inquiry itself: a short customer question from a template, a token and a Message-ID.

Each inquiry carries two handles for matching what comes back: a unique
Message-ID (replies name it in In-Reply-To/References, bounces embed it) and a
short token in the subject tail ``[ref: k3m9x2pq]`` and the ``X-Auditor-Token``
header (people who start a new thread usually keep the subject).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path

import jinja2

from auditor.models import Company
from auditor.probes.inquiries.config import LANGUAGES, TOPICS, InquiryConfig

TOKEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or retyped
TOKEN_LENGTH = 8
TOKEN_HEADER = "X-Auditor-Token"
SUBJECT_MAX = 78  # RFC 5322's recommended line length: the whole subject fits one header line

# Country -> template language when the company's own language is not given.
COUNTRY_LANGUAGE = {
    "DE": "de", "AT": "de", "CH": "de", "LI": "de", "LU": "de",
    "HU": "hu", "PL": "pl", "TR": "tr", "CY": "tr",
    "RU": "ru", "BY": "ru", "KZ": "ru", "KG": "ru",
}  # fmt: skip


@cache
def _env(templates_dir: str | None = None) -> jinja2.Environment:
    # Plain text, not HTML: autoescape would turn "&" in a name into "&amp;".
    # The user's own templates (same file names) come before the packaged ones.
    package = jinja2.PackageLoader("auditor.probes.inquiries", "templates")
    loader: jinja2.BaseLoader = package
    if templates_dir:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(Path(templates_dir).expanduser())), package])
    return jinja2.Environment(  # noqa: S701
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def new_token() -> str:
    """A fresh random token (8 characters, about 40 bits)."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def make_message_id(token: str, from_address: str) -> str:
    """A globally unique Message-ID on the sender's own domain, holding the token.

    Built from a random UUID rather than :func:`email.utils.make_msgid`, which
    puts this machine's host name and process id into every message.
    """
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}.{token}@{domain}>"


def subject_with_token(subject: str, token: str) -> str:
    """``subject [ref: token]``, shortened so the whole line stays within 78 characters."""
    tail = f" [ref: {token}]"
    room = SUBJECT_MAX - len(tail)
    subject = " ".join(subject.split())
    if len(subject) > room:
        subject = subject[: room - 1].rstrip() + "…"
    return subject + tail


def render(topic: str, language: str, sender_name: str, company_name: str = "",
           templates_dir: str | None = None) -> tuple[str, str]:
    """(subject, body) of the template ``{topic}.{language}.j2`` (first line ``Subject: ...``).

    ``templates_dir`` holds the user's own templates; they override the packaged
    ones and may add languages.
    """
    user_file = Path(templates_dir).expanduser() / f"{topic}.{language}.j2" if templates_dir else None
    if topic not in TOPICS and not (user_file and user_file.exists()):
        raise ValueError(f"unknown topic {topic!r}")
    if language not in LANGUAGES and not (user_file and user_file.exists()):
        raise ValueError(f"no template for language {language!r}")
    text = _env(templates_dir).get_template(f"{topic}.{language}.j2").render(
        sender_name=sender_name.strip(), company=company_name
    )
    head, _, body = text.partition("\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"template {topic}.{language}.j2 must start with 'Subject: '")
    return head.removeprefix("Subject:").strip(), body.strip("\n") + "\n"


def pick_language(company: Company, config: InquiryConfig) -> str:
    """The forced language, else the company's language, else its country's, else English."""
    if config.language:
        return config.language
    lang = (company.language or "").strip().lower()[:2]
    if lang in LANGUAGES:
        return lang
    return COUNTRY_LANGUAGE.get((company.country or "").upper(), "en")


def pick_topic(company: Company, config: InquiryConfig) -> str:
    """The question to ask: by the company's industry when configured, else the default."""
    industry = (company.industry or "").strip().lower()
    for key, topic in config.topics_by_industry.items():
        if key.lower() in industry and industry:
            return topic
    return config.topic


def ascii_address(address: str) -> str | None:
    """The address with an IDNA-encoded domain; None when the local part is not ASCII.

    A non-ASCII local part needs SMTPUTF8 end to end; such addresses are skipped
    rather than sent half-delivered.
    """
    local, _, domain = address.rpartition("@")
    if not local or not domain or not local.isascii():
        return None
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return None
    return f"{local}@{domain.lower()}"


def build_message(
    *,
    from_address: str,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    token: str,
    date: datetime | None = None,
) -> EmailMessage:
    """The RFC 5322 message as sent: plain text, UTF-8 quoted-printable, no tracking of any kind."""
    msg = EmailMessage()
    local, _, domain = from_address.rpartition("@")
    msg["From"] = Address(display_name=sender_name.strip(), username=local, domain=domain)
    to_local, _, to_domain = to.rpartition("@")
    msg["To"] = Address(username=to_local, domain=to_domain)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id
    msg[TOKEN_HEADER] = token
    # 7-bit safe for any server: readable quoted-printable for Latin scripts,
    # base64 where quoted-printable would triple the size (Cyrillic).
    ascii_share = sum(ch.isascii() for ch in body) / max(len(body), 1)
    msg.set_content(body, charset="utf-8", cte="quoted-printable" if ascii_share > 0.7 else "base64")
    return msg
