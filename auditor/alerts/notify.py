"""Send an event's alerts to every destination once: recorded in the store, retried on failure.

Per (event, destination): a ``delivered`` row is never sent again; a
``sending`` row (a notifier that died mid-attempt) becomes ``unknown`` and is
not sent again either, since it may have arrived (receivers can also drop
duplicates by the ``Idempotency-Key`` header or the Message-ID); a ``failed``
row is tried again. Within a run each destination gets ``attempts`` tries with
exponential back-off; the last error's tag and message are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import reasons
from auditor.alerts import changes, rules, wave_data
from auditor.alerts.config import Destination, NotifyConfig
from auditor.alerts.deliver import DeliveryError, post_webhook, send_email
from auditor.alerts.rules import WaveAlert
from auditor.store import open_store
from auditor.store.alerts import AlertDeliveries
from auditor.store.waves import finished_waves, wave_companies_rows
from auditor.waves.exports import audit_transitions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What one destination got for one event in this run."""

    event: str
    destination: str
    status: str  # delivered | failed | unknown | already-delivered | nothing-to-send
    attempts: int = 0
    tag: str | None = None
    message: str = ""


Sender = Callable[[Destination, dict[str, Any], NotifyConfig, str], None]


def _send(dest: Destination, body: dict[str, Any], config: NotifyConfig, key: str,
          nameserver: str | None) -> None:
    if dest.kind == "webhook":
        post_webhook(dest, body, config, key, nameserver)
    else:
        send_email(dest, body, changes.text(body), changes.subject(body), config, key)


def deliver(tables: AlertDeliveries, event: str, body: dict[str, Any], config: NotifyConfig, *,
            nameserver: str | None = None, sleep: Callable[[float], None] = time.sleep,
            send: Callable[[Destination, dict[str, Any], NotifyConfig, str, str | None], None] = _send,
            ) -> list[Delivery]:
    """Deliver ``body`` (an event's payload) to every configured destination not yet served."""
    out: list[Delivery] = []
    n = len(body.get("alerts", []))
    for dest in config.destinations:
        row = tables.get(event, dest.name)
        if row is not None and row["status"] in ("delivered", "unknown"):
            out.append(Delivery(event, dest.name, "already-delivered" if row["status"] == "delivered" else "unknown",
                                int(row["attempts"])))
            continue
        if row is not None and row["status"] == "sending":
            message = f"{dest.name}: an attempt for {event} was under way when the notifier stopped; not sent again"
            tables.unknown(event, dest.name, reasons.DELIVERY_INTERRUPTED, message)
            log.warning("alerts: %s", message)
            out.append(Delivery(event, dest.name, "unknown", int(row["attempts"]), reasons.DELIVERY_INTERRUPTED,
                                message))
            continue
        key = f"{event}:{dest.name}"
        error: DeliveryError | None = None
        attempts = 0
        for attempt in range(config.attempts):
            if attempt:
                sleep(config.backoff * 2 ** (attempt - 1))
            attempts += 1
            tables.begin(event, dest.name, n)
            try:
                send(dest, body, config, key, nameserver)
            except DeliveryError as exc:
                error = exc
                tables.failed(event, dest.name, exc.tag, exc.message)
                log.warning("alerts: %s to %s failed (attempt %d of %d): %s", event, dest.name, attempt + 1,
                            config.attempts, exc.message)
                continue
            error = None
            tables.delivered(event, dest.name)
            log.info("alerts: %s (%d alerts) delivered to %s", event, n, dest.name)
            break
        if error is None:
            out.append(Delivery(event, dest.name, "delivered", attempts))
        else:
            out.append(Delivery(event, dest.name, "failed", attempts, error.tag, error.message))
    return out


def report_link(out_dir: Path, config: NotifyConfig, page: str = "timeline.html") -> str:
    if config.report_url:
        return config.report_url.rstrip("/") + "/" + page
    return (out_dir / "report" / page).resolve().as_uri()


def wave_rules(engine: Any, store: Any, number: int, previous: int | None, out_dir: Path,
               config: NotifyConfig) -> list[WaveAlert]:
    """Wave ``number``'s score drops (against wave ``previous``) and failed 24/7 claims, as configured."""
    out: list[WaveAlert] = []
    if previous is not None and reasons.SCORE_DROP in config.kinds:
        companies = {c.key: c for c in store.companies()}
        out += rules.score_drops(wave_data.wave_scores(engine, previous, companies),
                                 wave_data.wave_scores(engine, number, companies), config.score_drop, previous, number)
    if reasons.CLAIM_24_7_FAILED in config.kinds:
        names = {r["company_key"]: r["name"] for r in wave_companies_rows(engine) if r["wave"] == number}
        out += rules.claim_failures(wave_data.wave_claim_grids(engine, store, out_dir, number), names, previous,
                                    number)
    return out


def wave_payload(engine: Any, number: int, out_dir: Path, config: NotifyConfig,
                 transitions: list[Any] | None = None, store: Any = None) -> dict[str, Any]:
    """The alerts of wave ``number`` (its transitions from the wave before, and, given the store, its
    score drops and failed 24/7 claims) as a payload."""
    mine = [t for t in (transitions if transitions is not None else audit_transitions(engine)) if t.wave_to == number]
    alerts = changes.select(mine, config.kinds)
    before = [w.number for w in finished_waves(engine) if w.number < number]
    previous = before[-1] if before else None
    extra = (changes.select_rules(wave_rules(engine, store, number, previous, out_dir, config), config.kinds)
             if store is not None else [])
    return changes.payload(f"wave-{number}", out_dir.resolve().name, alerts, report_link(out_dir, config),
                           rules=extra, wave=number, wave_from=mine[0].wave_from if mine else previous)


def notify_waves(out_dir: Path, config: NotifyConfig, *, nameserver: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, store_target: str | None = None) -> list[Delivery]:
    """Send the latest finished wave's alerts, and retry earlier waves whose delivery failed.

    ``store_target``: a distributed run's shared store (its URL), which then
    holds the waves and records the deliveries; ``out_dir`` only names the
    audit and its report. Waves never attempted for a destination are not
    back-filled: adding a destination does not send it the audit's whole history.
    """
    store = open_store(store_target or out_dir)
    engine = store.engine  # type: ignore[attr-defined]
    try:
        tables = AlertDeliveries(engine)
        numbers = [w.number for w in finished_waves(engine)]
        if len(numbers) < 2:
            return []
        todo = sorted({numbers[-1]} | {int(e.split("-", 1)[1]) for e in tables.failed_events()
                                       if e.startswith("wave-")})
        every = audit_transitions(engine)
        out: list[Delivery] = []
        for number in todo:
            body = wave_payload(engine, number, out_dir, config, every, store)
            if not body["alerts"]:
                out += [Delivery(body["event"], d.name, "nothing-to-send") for d in config.destinations]
                continue
            out += deliver(tables, body["event"], body, config, nameserver=nameserver, sleep=sleep)
        return out
    finally:
        store.close()


def summary(deliveries: list[Delivery]) -> str:
    """One line per delivery, for the console (destination names only)."""
    return "\n".join(f"alerts {d.event} -> {d.destination}: {d.status}"
                     + (f" ({d.tag}: {d.message})" if d.tag else "") for d in deliveries)
