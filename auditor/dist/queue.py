"""The queue of companies of a distributed run, on Redis (redis-py, reliable-queue pattern).

A company is the unit of work: one worker crawls one company's whole site, so
per-host order and politeness stay in one process. Keys of run ``R`` (prefix
``auditor:R:``):

- ``queue``       list of companies waiting (JSON); enqueued at the left, claimed at the right
- ``processing``  list of companies claimed and not yet finished
- ``lease:KEY``   the claim's owner token, with a TTL the owner renews
- ``seen``        set of websites enqueued (duplicate rows of a huge list, without client memory)
- ``attempts``    hash KEY -> times its lease expired
- ``outcome``     hash KEY -> ``done`` or ``failed``; ``reason`` hash KEY -> why it failed
- ``stats``       hash of counters (enqueued, done, failed, pages, refused, started)
- ``workers``     hash worker id -> JSON of its counters and last heartbeat
- ``complete``    set once every row of the list is enqueued

Each step that touches more than one key is one Lua script, so Redis runs it
atomically: a claim moves the company to ``processing`` and sets its lease
together (the reaper never sees a claim without its lease), and an ack checks
the lease before it removes the claim (a worker whose lease expired cannot
finish a company that another worker has claimed since).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from auditor.models import Company

MAX_ATTEMPTS = 3  # a company whose lease expired this often is recorded failed (it kills its workers)
EXPIRED_REASON = "lease-expired"
COMMAND_RETRIES = 3  # a command on a dropped connection is sent again this often (0.1, 0.2, 0.4 s apart)

# KEYS: queue, processing, fence counter; ARGV: token, lease ms, lease prefix. Returns {item, fence} or false:
# the fence (claim number) only grows, so a store can refuse a write of an older claim of the same item.
_CLAIM = """
local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
if not item then return false end
local key = cjson.decode(item)['key']
redis.call('SET', ARGV[3] .. key, ARGV[1], 'PX', ARGV[2])
return {item, redis.call('INCR', KEYS[3])}
"""
# KEYS: fence counter; ARGV: the highest fence stored. Never lowers it (a Redis that lost the counter catches up).
_RAISE_FENCE = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return tonumber(redis.call('GET', KEYS[1]) or '0')
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS: processing, lease, outcome, stats, reason; ARGV: item, token, outcome, key, pages, reason
_ACK = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[3])
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
redis.call('HINCRBY', KEYS[4], 'pages', tonumber(ARGV[5]))
if ARGV[6] ~= '' then redis.call('HSET', KEYS[5], ARGV[4], ARGV[6]) end
return 1
"""
# KEYS: processing, lease, queue; ARGV: item, token
_RELEASE = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('RPUSH', KEYS[3], ARGV[1])
return 1
"""
# KEYS: processing, queue, attempts, outcome, stats, reason; ARGV: lease prefix, max attempts, reason
_REAP = """
local back = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local key = cjson.decode(item)['key']
  if redis.call('EXISTS', ARGV[1] .. key) == 0 then
    redis.call('LREM', KEYS[1], 1, item)
    local n = redis.call('HINCRBY', KEYS[3], key, 1)
    if n >= tonumber(ARGV[2]) then
      redis.call('HSET', KEYS[4], key, 'failed')
      redis.call('HSET', KEYS[6], key, ARGV[3])
      redis.call('HINCRBY', KEYS[5], 'failed', 1)
    else
      redis.call('RPUSH', KEYS[2], item)
      back = back + 1
    end
  end
end
return back
"""
# KEYS: seen, queue, stats; ARGV: website, item, website, item, ... (a batch: one call, one round trip)
_ENQUEUE = """
local new = {}
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    added = added + 1
    new[#new + 1] = 1
  else
    new[#new + 1] = 0
  end
end
redis.call('HINCRBY', KEYS[3], 'enqueued', added)
return new
"""


@dataclass(frozen=True)
class Claim:
    """A company this worker holds, and the queue entry that stands for it."""

    company: Company
    item: str
    fence: int | None = None  # the claim's number: its write is refused once a later claim's is stored


@dataclass(frozen=True)
class Status:
    """Where a run stands: counts, workers, speed, time left."""

    run: int
    enqueued: int
    queued: int
    in_progress: int
    done: int
    failed: int
    complete: bool
    pages: int
    pages_per_second: float | None
    seconds_left: float | None
    workers: dict[str, dict[str, Any]]
    refused_late_writes: int
    validation: dict[str, Any] | None = None  # the workers' validation batches, when the run has them

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def company_item(company: Company) -> str:
    """The queue entry of a company: its fields and key as JSON (written per row: no ``asdict`` deep copy)."""
    c = company
    return json.dumps({"country": c.country, "industry": c.industry, "key": c.key, "language": c.language,
                       "name": c.name, "row": c.row, "website": c.website}, ensure_ascii=False)


def item_company(item: str) -> Company:
    data = json.loads(item)
    data.pop("key", None)
    return Company(**data)


def connect(url: str) -> redis.Redis:
    """A client on ``redis://host:port/db``; replies decoded as text.

    A command whose connection dropped (Redis restarted: every pooled connection
    is dead) is sent again on a new one, a few times within a second; a longer
    outage raises, and the worker's supervisor waits for Redis with backoff.
    """
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30,
                                socket_connect_timeout=5, retry_on_timeout=True,
                                retry=Retry(ExponentialBackoff(cap=0.4, base=0.1), COMMAND_RETRIES))


class LeasedQueue:
    """Items of one kind under ``prefix`` in Redis: claimed with a lease its holder renews, reaped when it runs out.

    The companies of a run and its validation batches are both kept this way;
    each subclass adds how its items are made, read and finished (its ack).
    """

    def __init__(self, client: redis.Redis, run: int, prefix: str) -> None:
        self.client = client
        self.run = run
        self.prefix = prefix
        # outside the prefix: forget() (a wave, a resume) never lowers it, so fences keep growing across them
        self.fence_key = f"auditor:fence:{prefix.removeprefix('auditor:')}"
        self._claim = client.register_script(_CLAIM)
        self._raise_fence = client.register_script(_RAISE_FENCE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._reap = client.register_script(_REAP)
        self._enqueue = client.register_script(_ENQUEUE)

    def key(self, name: str) -> str:
        return self.prefix + name

    def lease_key(self, item_key: str) -> str:
        return self.prefix + "lease:" + item_key

    def _enqueue_items(self, pairs: list[tuple[str, str]]) -> list[int]:
        """Queue each (unique id, item) whose id is new, in one call; a flag per pair (1 added, 0 seen)."""
        args = [part for pair in pairs for part in pair]
        if not args:
            return []
        return [int(f) for f in cast(list[int], self._enqueue(
            keys=[self.key("seen"), self.key("queue"), self.key("stats")], args=args))]

    def forget(self) -> int:
        """Delete every key under the prefix (items, claims, leases, outcomes, counters); how many.

        A worker still holding a claim finds its lease gone: its ack is refused.
        """
        deleted = 0
        names: list[str] = []
        for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            names.append(str(key))
            if len(names) >= 1000:
                deleted += int(self.client.delete(*names))
                names.clear()
        if names:
            deleted += int(self.client.delete(*names))
        return deleted

    def mark_complete(self) -> None:
        """Every item is enqueued: workers may stop once the queue and the claims are empty."""
        self.client.set(self.key("complete"), "1")

    def is_complete(self) -> bool:
        return bool(self.client.exists(self.key("complete")))

    def _claim_item(self, token: str, lease: float) -> tuple[str, int] | None:
        """The next item and its fence, now held by ``token`` for ``lease`` seconds (None: the queue is empty)."""
        found = self._claim(keys=[self.key("queue"), self.key("processing"), self.fence_key],
                            args=[token, int(lease * 1000), self.prefix + "lease:"])
        if not found:
            return None
        item, fence = cast(list[Any], found)
        return str(item), int(fence)

    def raise_fence(self, stored: int | None) -> int:
        """Make the next fences higher than ``stored`` (the highest in the store); the counter's value."""
        return int(self._raise_fence(keys=[self.fence_key], args=[int(stored or 0)]))

    def _renew_lease(self, item_key: str, token: str, lease: float) -> bool:
        """Extend the lease; False when it is no longer ours (expired and reclaimed)."""
        return bool(self._renew(keys=[self.lease_key(item_key)], args=[token, int(lease * 1000)]))

    def _release_item(self, item_key: str, item: str, token: str) -> bool:
        """Hand the item back (shutdown): the next claim takes it first."""
        return bool(self._release(keys=[self.key("processing"), self.lease_key(item_key), self.key("queue")],
                                  args=[item, token]))

    def reap(self, max_attempts: int = MAX_ATTEMPTS) -> int:
        """Put items whose lease expired back in the queue (failed after ``max_attempts``); the number put back."""
        return int(self._reap(
            keys=[self.key("processing"), self.key("queue"), self.key("attempts"), self.key("outcome"),
                  self.key("stats"), self.key("reason")],
            args=[self.prefix + "lease:", max_attempts, EXPIRED_REASON]))

    def queued(self) -> int:
        return int(self.client.llen(self.key("queue")))

    def in_progress(self) -> int:
        return int(self.client.llen(self.key("processing")))

    def drained(self) -> bool:
        """Everything enqueued is finished (done or failed)."""
        return self.is_complete() and self.queued() == 0 and self.in_progress() == 0


class WorkQueue(LeasedQueue):
    """The companies of run ``run`` in Redis: enqueue, claim with a lease, renew, ack, hand back, reap."""

    def __init__(self, client: redis.Redis, run: int) -> None:
        super().__init__(client, run, f"auditor:{run}:")
        self._ack = client.register_script(_ACK)

    # -- the coordinator --------------------------------------------------
    def enqueue(self, companies: Iterable[Company], batch: int = 1000) -> tuple[int, list[Company]]:
        """Queue the companies a batch per call (nothing kept per row); count and duplicates.

        A website already in the run's ``seen`` set is a duplicate row: the check
        is Redis's, so the coordinator keeps no set that grows with the list.
        """
        added = 0
        duplicates: list[Company] = []
        chunk: list[Company] = []

        def flush() -> None:
            nonlocal added
            flags = self._enqueue_items([(c.website, company_item(c)) for c in chunk])
            for c, new in zip(chunk, flags, strict=True):
                if new:
                    added += 1
                else:
                    duplicates.append(c)
            chunk.clear()

        for company in companies:
            chunk.append(company)
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
        return added, duplicates

    def reset(self) -> None:
        """Forget the run's queue: waiting companies, claims, leases, outcomes and counters (a resume).

        A worker still holding a claim of the old queue finds its lease gone: its
        write is refused and its company, not stored, is among those enqueued again.
        """
        names = [self.key(n) for n in ("complete", "queue", "processing", "seen", "attempts", "outcome",
                                       "reason", "stats")]
        self.client.delete(*names)
        leases: list[str] = []
        for key in self.client.scan_iter(match=self.prefix + "lease:*", count=1000):
            leases.append(str(key))
            if len(leases) >= 1000:
                self.client.delete(*leases)
                leases.clear()
        if leases:
            self.client.delete(*leases)

    # -- a worker ---------------------------------------------------------
    def claim(self, token: str, lease: float) -> Claim | None:
        """The next company, now held by ``token`` for ``lease`` seconds (None: the queue is empty)."""
        found = self._claim_item(token, lease)
        if found is None:
            return None
        item, fence = found
        self.client.hsetnx(self.key("stats"), "started", repr(time.time()))
        return Claim(item_company(item), item, fence)

    def renew(self, claim: Claim, token: str, lease: float) -> bool:
        """Extend the lease; False when it is no longer ours (expired and reclaimed)."""
        return self._renew_lease(claim.company.key, token, lease)

    def owns(self, claim: Claim, token: str) -> bool:
        return self.client.get(self.lease_key(claim.company.key)) == token

    def ack(self, claim: Claim, token: str, outcome: str, pages: int, reason: str = "") -> bool:
        """Record the company finished; False (nothing changed) when the lease is no longer ours."""
        ok = bool(self._ack(
            keys=[self.key("processing"), self.lease_key(claim.company.key), self.key("outcome"),
                  self.key("stats"), self.key("reason")],
            args=[claim.item, token, outcome, claim.company.key, pages, reason]))
        if not ok:
            self.client.hincrby(self.key("stats"), "refused", 1)
        return ok

    def release(self, claim: Claim, token: str) -> bool:
        """Hand the company back (shutdown): the next claim takes it first."""
        return self._release_item(claim.company.key, claim.item, token)

    def note_refused(self) -> None:
        self.client.hincrby(self.key("stats"), "refused", 1)

    def heartbeat(self, worker: str, counters: dict[str, Any]) -> None:
        self.client.hset(self.key("workers"), worker, json.dumps({**counters, "seen": time.time()}))

    # -- reading ----------------------------------------------------------
    def status(self) -> Status:
        stats = cast(dict[str, str], self.client.hgetall(self.key("stats")))
        workers = {w: json.loads(v) for w, v in cast(dict[str, str], self.client.hgetall(self.key("workers"))).items()}
        done, failed = int(stats.get("done", 0)), int(stats.get("failed", 0))
        queued, in_progress = self.queued(), self.in_progress()
        pages = int(stats.get("pages", 0))
        started = float(stats["started"]) if "started" in stats else None
        elapsed = time.time() - started if started else 0.0
        rate = round(pages / elapsed, 2) if elapsed > 0 and pages else None
        finished = done + failed
        left = round((queued + in_progress) * elapsed / finished, 1) if finished and elapsed > 0 else None
        from auditor.dist.validation import BatchQueue  # it builds on this module

        batches = BatchQueue(self.client, self.run)
        return Status(self.run, int(stats.get("enqueued", 0)), queued, in_progress, done, failed,
                      self.is_complete(), pages, rate, left, workers, int(stats.get("refused", 0)),
                      batches.summary() if batches.enabled() else None)


def new_token() -> str:
    """A claim owner's token: unique per worker process run."""
    return uuid.uuid4().hex
