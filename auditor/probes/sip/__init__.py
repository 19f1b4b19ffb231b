"""A small asyncio SIP user agent, written for one job: asking the network whether a line rings.

Layers, bottom up, each testable on its own:

* :mod:`.message` parses and builds SIP messages (never raises on garbage),
* :mod:`.digest` answers digest challenges (RFC 2617 / 7616 / 8760),
* :mod:`.transaction` runs the client transaction state machines of RFC 3261 §17.1
  against an injectable clock,
* :mod:`.transport` carries bytes over UDP, TCP or TLS,
* :mod:`.ua` places one call (INVITE, CANCEL, ACK, BYE),
* :mod:`.probe` decides which numbers may be dialled, when, how often, and what the
  answer means.
"""

from auditor.probes.sip.probe import (
    DEFAULT_WINDOWS,
    ProbeResults,
    ProbeWindow,
    SipTrunkConfig,
    classify_call,
    dial_refusal,
    probe_due,
    probe_lines,
)

__all__ = [
    "DEFAULT_WINDOWS",
    "ProbeResults",
    "ProbeWindow",
    "SipTrunkConfig",
    "classify_call",
    "dial_refusal",
    "probe_due",
    "probe_lines",
]
