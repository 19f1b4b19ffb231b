"""The opt-in mystery-shopper email probe.

``plan_inquiries`` picks one customer-service address per company and writes a
short, polite question in the company's language; ``send_inquiries`` sends
them after a confirmation, at a limited rate, through the configured
submission server; ``collect_replies`` reads the auditor's mailbox over IMAP,
matches and classifies what came back (bounce, automatic acknowledgement,
human reply) and records each inquiry's outcome; ``responsiveness`` is what the
report and scoring read.
"""

from __future__ import annotations

from auditor.probes.inquiries.classify import Classification, classify, outcome
from auditor.probes.inquiries.collect import CollectError, CollectReport, collect_replies
from auditor.probes.inquiries.config import (
    ImapConfig,
    InquiryConfig,
    ProbeConfig,
    SubmissionConfig,
    load_config,
    parse_config,
)
from auditor.probes.inquiries.send import (
    Plan,
    Planned,
    SendReport,
    SentItem,
    Skipped,
    SubmissionError,
    confirmation_text,
    plan_inquiries,
    send_inquiries,
)
from auditor.probes.inquiries.store import InquiryStore, responsiveness, scoring_probes

__all__ = [
    "Classification",
    "CollectError",
    "CollectReport",
    "ImapConfig",
    "InquiryConfig",
    "InquiryStore",
    "Plan",
    "Planned",
    "ProbeConfig",
    "SendReport",
    "SentItem",
    "Skipped",
    "SubmissionConfig",
    "SubmissionError",
    "classify",
    "collect_replies",
    "confirmation_text",
    "load_config",
    "outcome",
    "parse_config",
    "plan_inquiries",
    "responsiveness",
    "scoring_probes",
    "send_inquiries",
]
