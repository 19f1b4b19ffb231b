"""Validation of a distributed run, in batches grouped by what each must be polite to.

When the crawl queue is drained, one worker plans (under a lock with a lease):
it reads the stored contact points, keeps one check per distinct value (as
:func:`auditor.validate.run.validate_points` does) and groups them into batches:
one mail host's addresses together (the first MX their domain routes to: the
email batcher's per-host sessions, catch-all probes and fallbacks stay in one
process), one platform host's links together (a chat provider, a messaging or
form host: the link checker's per-host soft-404 baseline and back-off stay in
one process), phones in chunks (no network). Batches wait in Redis and workers
take them with the same lease pattern as companies (``auditor:R:validate:``
keys, the queue's atomic Lua steps). A batch's verdicts are written in the same
atomic step that finishes it, and only by the lease's holder: a cut-off worker's
late verdicts are refused. When every batch is done, one worker (or the
coordinator) writes them beside each company in the shared store, replacing the
company's verdicts whole, so a writer cut off midway is simply redone.

The limits still hold across batches, because two batches may share a host
(two mail domains on one provider, a redirect to another platform): every
worker's checks go through :class:`~auditor.net.ratelimit.SharedLimits`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import redis

from auditor.config import Settings
from auditor.dist.queue import LeasedQueue, connect, new_token
from auditor.models import ContactPoint, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.email.routing import mail_hosts
from auditor.validate.email.syntax import parse_address

log = logging.getLogger(__name__)

FLAG = "validate"  # run key: set at registration when the workers validate (in batches) after the crawl
PHONE_CHUNK = 2000  # phone checks per batch (pure: no host to be polite to)
PLAN_LEASE = 300.0  # seconds a planner or a writer holds its lock without finishing
DNS_THREADS = 16
_PR_SET_PDEATHSIG = 1

Point = tuple[ContactPoint, str | None]

# KEYS: processing, lease, outcome, stats, verdicts; ARGV: item, token, batch key, count, field, value, ...
_ACK = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[3], 'done')
redis.call('HINCRBY', KEYS[4], 'done', 1)
redis.call('HINCRBY', KEYS[4], 'verdicts', tonumber(ARGV[4]))
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]) end
return 1
"""


def wanted(settings: Settings) -> bool:
    """Do a run's workers validate? Not with the opt-in browser or line probe (those run at the end, centrally)."""
    return settings.validate and not settings.browser and not settings.probe_lines


# -- grouping -------------------------------------------------------------------
def link_host(cp: ContactPoint) -> str:
    """The host a link check must be polite to: a chat provider's, else the URL's."""
    if cp.kind == "chat":
        return f"chat:{cp.value}"
    host = urlsplit(cp.value).hostname if "//" in cp.value else None
    return f"http:{(host or cp.value).lower()}"


def group_points(points: Iterable[Point], mail_route: Callable[[list[str]], Mapping[str, str]]) -> dict[str, list[Point]]:
    """Batches by what they must be polite to; ``mail_route`` maps domains to the first mail host's IP."""
    from auditor.validate.run import VALIDATED_KINDS, check_key

    unique: dict[tuple[str, ...], Point] = {}
    for cp, country in points:
        if cp.kind in VALIDATED_KINDS:
            unique.setdefault(check_key(cp), (cp, country))
    groups: dict[str, list[Point]] = {}
    emails: list[tuple[Point, str]] = []
    phones = 0
    for cp, country in unique.values():
        if cp.kind == "phone":
            groups.setdefault(f"phone:{phones // PHONE_CHUNK}", []).append((cp, country))
            phones += 1
        elif cp.kind == "email":
            address = parse_address(cp.value)
            emails.append(((cp, country), address.domain if address.valid else ""))
        else:
            groups.setdefault(link_host(cp), []).append((cp, country))
    routes = mail_route(sorted({d for _, d in emails if d}))
    for point, domain in emails:
        ip = routes.get(domain) if domain else None
        key = f"mx:{ip}" if ip else f"email:{domain or 'invalid'}"
        groups.setdefault(key, []).append(point)
    return groups


def first_mail_hosts(settings: Settings) -> Callable[[list[str]], dict[str, str]]:
    """Domain -> the IP of the first mail host the email batcher will talk to (none: no SMTP for it)."""
    def route(domains: list[str]) -> dict[str, str]:
        if not domains or not settings.smtp:
            return {}
        resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
        policy = AddressPolicy(settings.allow_private_targets)
        with ThreadPoolExecutor(max_workers=min(DNS_THREADS, len(domains)), thread_name_prefix="plan-mx") as pool:
            found = list(pool.map(lambda d: mail_hosts(resolver, d, policy), domains))
        return {d: r.targets[0][1] for d, r in zip(domains, found, strict=True) if r.targets}
    return route


def _point_json(point: Point) -> list[Any]:
    return [point[0].to_dict(), point[1]]


def batch_item(key: str, points: list[Point]) -> str:
    return json.dumps({"key": key, "points": [_point_json(p) for p in points]}, ensure_ascii=False, default=str)


def item_points(item: str) -> tuple[str, list[Point]]:
    data = json.loads(item)
    return str(data["key"]), [(ContactPoint.from_dict(cp), country) for cp, country in data["points"]]


def verdict_field(key: tuple[str, ...]) -> str:
    return json.dumps(list(key), ensure_ascii=False)


# -- the queue of batches ---------------------------------------------------------
@dataclass(frozen=True)
class BatchClaim:
    key: str
    item: str


class BatchQueue(LeasedQueue):
    """The validation batches of run ``run`` in Redis: enqueue, claim with a lease, ack with the verdicts."""

    def __init__(self, client: redis.Redis, run: int) -> None:
        super().__init__(client, run, f"auditor:{run}:validate:")
        self._ack = client.register_script(_ACK)

    # run-level flags
    def enabled(self) -> bool:
        return bool(self.client.exists(f"auditor:{self.run}:{FLAG}"))

    def enable(self) -> None:
        self.client.set(f"auditor:{self.run}:{FLAG}", "1")

    def is_stored(self) -> bool:
        return bool(self.client.exists(self.key("stored")))

    def lock(self, name: str, token: str, lease: float = PLAN_LEASE) -> bool:
        return bool(self.client.set(self.key(f"lock:{name}"), token, nx=True, px=int(lease * 1000)))

    def unlock(self, name: str, token: str) -> None:
        if self.client.get(self.key(f"lock:{name}")) == token:
            self.client.delete(self.key(f"lock:{name}"))

    # planning
    def enqueue(self, batches: Mapping[str, list[Point]]) -> int:
        """Queue each batch once (a planner that died and is redone enqueues nothing twice)."""
        return sum(self._enqueue_items([(key, batch_item(key, points)) for key, points in batches.items()]))

    # a worker
    def claim(self, token: str, lease: float) -> BatchClaim | None:
        found = self._claim_item(token, lease)  # its fence unused: a batch's ack checks the lease in Redis itself
        return None if found is None else BatchClaim(str(json.loads(found[0])["key"]), found[0])

    def renew(self, claim: BatchClaim, token: str, lease: float) -> bool:
        return self._renew_lease(claim.key, token, lease)

    def release(self, claim: BatchClaim, token: str) -> bool:
        return self._release_item(claim.key, claim.item, token)

    def ack(self, claim: BatchClaim, token: str, verdicts: Mapping[tuple[str, ...], Verdict]) -> bool:
        """Finish the batch and record its verdicts in one step; False (nothing written) without the lease."""
        pairs: list[str] = []
        for key, verdict in verdicts.items():
            pairs += [verdict_field(key), json.dumps(verdict.to_dict(), ensure_ascii=False, default=str)]
        ok = bool(self._ack(keys=[self.key("processing"), self.lease_key(claim.key), self.key("outcome"),
                                  self.key("stats"), self.key("verdicts")],
                            args=[claim.item, token, claim.key, len(verdicts), *pairs]))
        if not ok:
            self.client.hincrby(self.key("stats"), "refused", 1)
        return ok

    # reading
    def settled(self) -> bool:
        """Nothing left to validate: the run's workers do not validate in batches, or every batch is done."""
        return not self.enabled() or self.drained()

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in cast(dict[str, str], self.client.hgetall(self.key("stats"))).items()}

    def summary(self) -> dict[str, Any]:
        """Where the validation stands, for ``auditor status``."""
        stats = self.stats()
        return {"planned": self.is_complete(), "batches": stats.get("enqueued", 0), "queued": self.queued(),
                "in_progress": self.in_progress(), "done": stats.get("done", 0), "failed": stats.get("failed", 0),
                "verdicts": stats.get("verdicts", 0), "stored": self.is_stored()}

    def verdicts(self) -> dict[tuple[str, ...], Verdict]:
        found: dict[tuple[str, ...], Verdict] = {}
        for field, value in self.client.hscan_iter(self.key("verdicts"), count=1000):
            found[tuple(json.loads(field))] = Verdict.from_dict(json.loads(value))
        return found

    def mark_stored(self, counts: Mapping[str, int]) -> None:
        self.client.set(self.key("stored"), json.dumps(dict(counts)))

    def stored_counts(self) -> Counter[str] | None:
        raw = self.client.get(self.key("stored"))
        return Counter(json.loads(str(raw))) if raw else None


# -- the steps a worker takes -------------------------------------------------------
def plan(queue: BatchQueue, store_target: str, settings: Settings) -> int:
    """Read the stored contact points, group them and enqueue the batches; how many were new."""
    from auditor import pipeline

    points = pipeline.shared_validation_points(store_target)
    batches = group_points(points, first_mail_hosts(settings))
    added = queue.enqueue(batches)
    log.info("validation: %d batches planned (%d new)", len(batches), added)
    return added


def store_verdicts(queue: BatchQueue, store_target: str) -> Counter[str]:
    """Write every batch's verdicts beside each company in the shared store (whole companies: redo is harmless)."""
    from auditor import pipeline

    counts = pipeline.store_shared_verdicts(store_target, queue.verdicts())
    queue.mark_stored(counts)
    return counts


def collect_verdicts(queue: BatchQueue, store_target: str) -> Counter[str]:
    """The counts of the batches' verdicts, written to the store first if no worker has (the coordinator's end)."""
    counts = queue.stored_counts()
    return counts if counts is not None else store_verdicts(queue, store_target)


def step(queue: BatchQueue, store_target: str, settings: Settings, work: Callable[[], None]) -> str:
    """One look at the validation of a drained crawl: ``work`` runs batches; 'wait', 'work' or 'done'."""
    queue.reap()
    token = new_token()
    if not queue.is_complete():
        if queue.lock("plan", token):
            try:
                plan(queue, store_target, settings)
                queue.mark_complete()
            finally:
                queue.unlock("plan", token)
        return "wait"
    if queue.queued():
        work()
        return "work"
    if queue.in_progress():
        return "wait"
    if queue.is_stored():
        return "done"
    if queue.lock("store", token):
        try:
            store_verdicts(queue, store_target)
        finally:
            queue.unlock("store", token)
        return "done"
    return "wait"


def validate_batches(queue_url: str, run: int, settings: Settings, lease: float,
                     stop: threading.Event | None = None) -> int:
    """Take batches until none is left: validate each, ack it with its verdicts; batches done."""
    from auditor import pipeline
    from auditor.net.ratelimit import MX_LEASE, SharedLimits

    queue = BatchQueue(connect(queue_url), run)
    token = new_token()
    # A mail host's connection slot outlives a dead worker no longer than its claims do.
    limits = SharedLimits(queue_url, mx_lease=min(lease, MX_LEASE))
    done = 0
    stop = stop or threading.Event()
    while not stop.is_set():
        claim = queue.claim(token, lease)
        if claim is None:
            break
        held = threading.Event()
        renewal = threading.Thread(target=_renew, args=(queue, claim, token, lease, held), daemon=True)
        renewal.start()
        try:
            _, points = item_points(claim.item)
            log.info("validating batch %s (%d checks)", claim.key, len(points))
            verdicts = pipeline.validate_batch(points, settings, limits)
        except BaseException:
            held.set()
            renewal.join()
            try:
                queue.release(claim, token)
            except redis.RedisError:
                log.warning("could not hand back batch %s: its lease will expire", claim.key)
            raise
        held.set()
        renewal.join()
        if queue.ack(claim, token, verdicts):
            done += 1
        else:
            log.warning("batch %s: lease lost (reclaimed by another worker); its verdicts were not kept", claim.key)
    return done


def _renew(queue: BatchQueue, claim: BatchClaim, token: str, lease: float, stop: threading.Event) -> None:
    while not stop.wait(lease / 3):
        try:
            if not queue.renew(claim, token, lease):
                log.warning("batch %s: lease lost", claim.key)
                return
        except redis.RedisError as exc:
            log.warning("lease renewal failed (%s); retrying", exc)


def validate_child(queue_url: str, run: int, settings: Settings, lease: float, parent: int) -> None:
    """A worker's child process that validates batches (it dies with its supervisor, as the crawl does)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("no PR_SET_PDEATHSIG here")
    if os.getppid() != parent:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def terminate(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)  # the batch in hand is handed back on the way out

    signal.signal(signal.SIGTERM, terminate)
    from auditor.cli.common import setup_logging

    setup_logging(None, False)
    validate_batches(queue_url, run, settings, lease)
