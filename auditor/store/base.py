"""What every store offers the pipeline; the spider, reports and probes see only this."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from auditor.models import Company, CompanyResult, ContactPoint, InputError, Verdict


@dataclass(frozen=True)
class ReplyRow:
    """One classified message matched to an inquiry (the mystery-shopper probe)."""

    inquiry_id: int
    dedupe_key: str
    folder: str
    uidvalidity: int
    uid: int
    message_id: str | None
    from_domain: str | None
    subject: str
    received_at: datetime
    date_header: datetime | None
    kind: str
    reason: str
    detail: str
    matched_by: str


class InquiryOutcome(Protocol):
    """An inquiry's status from its replies, as the probe's classifier decides it."""

    @property
    def status(self) -> str: ...
    @property
    def final(self) -> bool: ...
    @property
    def no_reply(self) -> bool: ...
    @property
    def first_ack_at(self) -> datetime | None: ...
    @property
    def first_human_at(self) -> datetime | None: ...
    @property
    def bounced_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


@runtime_checkable
class InquiryTables(Protocol):
    """The mystery-shopper probe's records: inquiries sent, replies collected, IMAP marks.

    They live beside the audit and outlive a new audit run; writes are
    transactional, so concurrent collectors serialize instead of racing.
    """

    def exists(self) -> bool: ...

    def asked(self) -> dict[str, str]: ...

    def begin_send(self, row: dict[str, Any]) -> int: ...

    def mark_sent(self, inquiry_id: int, sent_at: datetime, code: int, reply: str) -> None: ...

    def note_reply(self, inquiry_id: int, reply: str) -> None: ...

    def mark_failed(self, inquiry_id: int, code: int | None, reply: str) -> None: ...

    def handles(self) -> tuple[dict[str, int], dict[str, int]]: ...

    def sent_at(self) -> dict[int, datetime]: ...

    def imap_state(self, account: str, folder: str) -> tuple[int, int] | None: ...

    def save_batch(
        self, account: str, folder: str, uidvalidity: int, last_uid: int, rows: Sequence[ReplyRow],
        now: datetime,
    ) -> list[ReplyRow]: ...

    def open_inquiries(self) -> list[tuple[int, datetime]]: ...

    def reply_times(self, inquiry_id: int) -> list[tuple[str, datetime]]: ...

    def save_outcome(self, inquiry_id: int, o: InquiryOutcome) -> bool: ...

    def inquiries(self) -> list[dict[str, Any]]: ...

    def replies(self, inquiry_id: int | None = None) -> list[dict[str, Any]]: ...

    def sent_inquiries(self, statuses: Sequence[str]) -> list[dict[str, Any]]: ...


class Store(Protocol):
    """Idempotent, per-company transactional storage of an audit."""

    def start_run(self, settings: dict[str, Any], version: str, resume: bool = False) -> int: ...

    def finish_run(self, summary: dict[str, Any]) -> None: ...

    def run_info(self) -> dict[str, Any]: ...

    def save_input_errors(self, errors: Iterable[InputError]) -> None: ...

    def input_errors(self) -> list[InputError]: ...

    def register_companies(self, companies: Iterable[Company]) -> None: ...

    def done_keys(self) -> set[str]: ...

    def max_fence(self) -> int | None:
        """The highest claim number a stored company was written under (distributed runs)."""
        ...

    def company_counts(self) -> dict[str, int]:
        """``registered`` and ``stored`` (done or failed) companies, counted without loading them."""
        ...

    def pending_companies(self) -> Iterator[Company]:
        """The companies not stored yet, streamed in batches."""
        ...

    def save_company(self, result: CompanyResult, fence: int | None = None) -> None:
        """Replace the company's stored result; with ``fence``, raise :class:`StaleWrite` when a later claim's is stored."""
        ...

    def companies(self) -> list[Company]: ...

    def results(self) -> Iterator[CompanyResult]: ...

    def sightings(self, company_key: str) -> list[dict[str, Any]]: ...

    def add_contacts(self, company_key: str, contacts: Iterable[ContactPoint]) -> int: ...

    def save_verdicts(self, company_key: str, verdicts: Iterable[Verdict]) -> None: ...

    def verdicts(self, company_key: str) -> dict[tuple[str, str], Verdict]: ...

    def clear_verdicts(self) -> None: ...

    def inquiry_tables(self, create: bool = True) -> InquiryTables:
        """The probe's tables in this audit (created unless ``create`` is False: reading never writes)."""
        ...

    def close(self) -> None: ...
