"""From the syntax check, the route and the SMTP outcome to one verdict with its checks. Pure."""

from __future__ import annotations

from auditor import reasons
from auditor.models import ACTIVE, INACTIVE, UNKNOWN, Check, Verdict, VerdictValue
from auditor.validate.email.outcomes import CatchAll, Outcome, Probe
from auditor.validate.email.routing import MailRoute
from auditor.validate.email.syntax import Address


def _verdict(key: str, verdict: VerdictValue, reason: str, checks: list[Check], flags: list[str] | None = None) -> Verdict:
    return Verdict("email", key, verdict, reason, reasons.message(reason), tuple(checks), tuple(flags or ()))


def dns_check(route: MailRoute) -> Check:
    return Check(
        "email-dns", route.verdict, route.reason, reasons.message(route.reason), route.evidence(),
        route.started_at, round(route.duration_ms, 2),
    )


def smtp_check(probe: Probe, outcome: Outcome) -> Check:
    evidence = outcome.evidence()
    if probe.failures:
        evidence["failed_hosts"] = [f.evidence() for f in probe.failures if f is not outcome]
    if probe.earlier:
        evidence["earlier_attempts"] = [e.evidence() for e in probe.earlier]
    return Check(
        "smtp-rcpt", outcome.verdict, outcome.reason, reasons.message(outcome.reason), evidence,
        outcome.started_at, outcome.duration_ms,
    )


def catch_all_check(catch: CatchAll) -> Check:
    probe = catch.probe
    outcome = probe.outcome or Outcome(UNKNOWN, reasons.SMTP_ERROR)
    accepted = catch.accepted
    if accepted is True:
        verdict, reason = UNKNOWN, reasons.ACCEPT_ALL
    elif accepted is False:
        verdict, reason = ACTIVE, reasons.NOT_ACCEPT_ALL
    else:
        verdict, reason = UNKNOWN, outcome.reason
    evidence = {"probe": probe.rcpt, "accepted": accepted, **outcome.evidence()}
    if probe.earlier:
        evidence["earlier_attempts"] = [e.evidence() for e in probe.earlier]
    return Check("catch-all", verdict, reason, reasons.message(reason), evidence, outcome.started_at, outcome.duration_ms)


def email_verdict(item: Address, route: MailRoute | None, probe: Probe | None, catch: CatchAll | None) -> Verdict:
    """The verdict on one address; acceptances at an accept-all domain prove nothing."""
    checks = [item.syntax]
    if not item.valid or route is None:
        return _verdict(item.key, INACTIVE, reasons.INVALID_SYNTAX, checks)
    checks.append(dns_check(route))
    flags: list[str] = [reasons.IMPLICIT_MX] if route.implicit else []
    if route.verdict != ACTIVE:
        return _verdict(item.key, route.verdict, route.reason, checks, flags)
    if probe is None or probe.outcome is None:
        # DNS only: the domain takes mail; the mailbox itself was not asked about.
        return _verdict(item.key, UNKNOWN, route.reason, checks, flags)
    outcome = probe.outcome
    checks.append(smtp_check(probe, outcome))
    if any(o.reason == reasons.GREYLISTED for o in [*probe.earlier, outcome]):
        flags.append(reasons.GREYLISTED)
    verdict, reason = outcome.verdict, outcome.reason
    if catch is not None and (outcome.accepted or any(e.reason == reasons.GREYLISTED for e in probe.earlier)):
        checks.append(catch_all_check(catch))
        if outcome.accepted and catch.accepted:
            verdict, reason = UNKNOWN, reasons.ACCEPT_ALL
            flags.append(reasons.ACCEPT_ALL)
    return _verdict(item.key, verdict, reason, checks, flags)


def crashed_verdict(item: Address, exc: BaseException) -> Verdict:
    """A bug in the validator costs an ``unknown`` per address, never the run."""
    return Verdict(
        "email", item.key, UNKNOWN, reasons.VALIDATOR_ERROR, f"{reasons.message(reasons.VALIDATOR_ERROR)} ({exc})",
        (item.syntax,),
    )
