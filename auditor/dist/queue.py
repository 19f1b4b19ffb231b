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

_CLAIM = """
local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
if not item then return false end
local key = cjson.decode(item)['key']
redis.call('SET', ARGV[3] .. key, ARGV[1], 'PX', ARGV[2])
return item
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


class WorkQueue:
    """The companies of run ``run`` in Redis: enqueue, claim with a lease, renew, ack, hand back, reap."""

    def __init__(self, client: redis.Redis, run: int) -> None:
        self.client = client
        self.run = run
        self.prefix = f"auditor:{run}:"
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._ack = client.register_script(_ACK)
        self._release = client.register_script(_RELEASE)
        self._reap = client.register_script(_REAP)
        self._enqueue = client.register_script(_ENQUEUE)

    def key(self, name: str) -> str:
        return self.prefix + name

    def lease_key(self, company_key: str) -> str:
        return self.prefix + "lease:" + company_key

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
            args: list[str] = []
            for c in chunk:
                args += (c.website, company_item(c))
            flags = self._enqueue(keys=[self.key("seen"), self.key("queue"), self.key("stats")], args=args)
            for c, new in zip(chunk, cast(list[int], flags), strict=True):
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

    def mark_complete(self) -> None:
        """Every row is enqueued: workers may stop once the queue and the claims are empty."""
        self.client.set(self.key("complete"), "1")

    def is_complete(self) -> bool:
        return bool(self.client.exists(self.key("complete")))

    # -- a worker ---------------------------------------------------------
    def claim(self, token: str, lease: float) -> Claim | None:
        """The next company, now held by ``token`` for ``lease`` seconds (None: the queue is empty)."""
        item = self._claim(keys=[self.key("queue"), self.key("processing")],
                           args=[token, int(lease * 1000), self.prefix + "lease:"])
        if item is None:
            return None
        self.client.hsetnx(self.key("stats"), "started", repr(time.time()))
        return Claim(item_company(str(item)), str(item))

    def renew(self, claim: Claim, token: str, lease: float) -> bool:
        """Extend the lease; False when it is no longer ours (expired and reclaimed)."""
        return bool(self._renew(keys=[self.lease_key(claim.company.key)], args=[token, int(lease * 1000)]))

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
        return bool(self._release(keys=[self.key("processing"), self.lease_key(claim.company.key),
                                        self.key("queue")], args=[claim.item, token]))

    def reap(self, max_attempts: int = MAX_ATTEMPTS) -> int:
        """Put companies whose lease expired back in the queue; the number put back."""
        return int(self._reap(
            keys=[self.key("processing"), self.key("queue"), self.key("attempts"), self.key("outcome"),
                  self.key("stats"), self.key("reason")],
            args=[self.prefix + "lease:", max_attempts, EXPIRED_REASON]))

    def note_refused(self) -> None:
        self.client.hincrby(self.key("stats"), "refused", 1)

    def heartbeat(self, worker: str, counters: dict[str, Any]) -> None:
        self.client.hset(self.key("workers"), worker, json.dumps({**counters, "seen": time.time()}))

    # -- reading ----------------------------------------------------------
    def queued(self) -> int:
        return int(self.client.llen(self.key("queue")))

    def in_progress(self) -> int:
        return int(self.client.llen(self.key("processing")))

    def drained(self) -> bool:
        """Everything enqueued is finished (done or failed)."""
        return self.is_complete() and self.queued() == 0 and self.in_progress() == 0

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
