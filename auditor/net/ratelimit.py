"""Politeness that holds across every worker of a distributed run, kept in Redis.

Each worker process keeps its own per-host limits (Scrapy's download slots, the
validators' :class:`~auditor.validate.limits.HostLimiter`); with many workers a
host would see their sum. :class:`SharedLimits` adds what they all share:

- **Pacing** (:meth:`SharedLimits.pace`): no two requests to one host closer than
  an interval, across workers. A Lua script reserves the host's next free start
  time on Redis' own clock (a GCRA-style "next free slot" key, as rate limiters
  such as redis-cell keep it) and returns how long to wait for it, so the
  reservation is one atomic round trip and machines' clocks never disagree.
- **One SMTP connection per mail host** (:meth:`SharedLimits.mx_session`): a
  redis-py :class:`~redis.asyncio.lock.Lock` per host with a lease that the
  holder extends while the session runs; a dead worker's lease runs out, so it
  cannot block a mail host for ever.
- **The greylisting delay** (:meth:`SharedLimits.greylisted`,
  :meth:`SharedLimits.greylist_wait`): the first greylisting reply of a mail host
  starts a clock that every worker waits for before it talks to that host again.

Keys live under ``auditor:limits:`` (not per run: two runs on one Redis are
polite together). A client is made per event loop (the validators run one
``asyncio.run`` per batch; Scrapy runs on the asyncio reactor's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = logging.getLogger(__name__)

PREFIX = "auditor:limits:"
MX_LEASE = 60.0  # seconds an SMTP connection slot lives without renewal (renewed every third of it)

# KEYS[1]: the host's next free start (ms on Redis' clock); ARGV[1]: interval in ms.
# Returns how many ms the caller waits before its start (0: now).
_PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], start + interval, 'PX', start + interval - now + 1000)
return start - now
"""
# KEYS[1]: the host's greylist clock; ARGV[1]: the delay in ms. Set once (the first greylisting).
_GREYLISTED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[1])
redis.call('SET', KEYS[1], now + delay, 'NX', 'PX', delay + 1000)
return tonumber(redis.call('GET', KEYS[1])) - now
"""
# KEYS[1]: the host's greylist clock. Returns the ms left before the host may be asked again.
_GREYLIST_LEFT = """
local until_ms = redis.call('GET', KEYS[1])
if not until_ms then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return math.max(0, tonumber(until_ms) - now)
"""


class SharedLimits:
    """Per-host limits in the Redis at ``url``, shared by every process that uses the same server."""

    def __init__(self, url: str, mx_lease: float = MX_LEASE) -> None:
        self.url = url
        self.mx_lease = mx_lease
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: aioredis.Redis | None = None

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or loop is not self._loop:
            self._loop = loop
            self._client = aioredis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=5,
                                                   retry_on_timeout=True)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, RuntimeError):
                await self._client.aclose()
            self._client = None

    async def pace(self, host: str, interval: float) -> float:
        """Wait for this host's next free start (``interval`` seconds after the previous one); seconds waited."""
        if interval <= 0 or not host:
            return 0.0
        wait_ms = await self._redis().eval(_PACE, 1, f"{PREFIX}pace:{host.lower()}", int(interval * 1000))
        wait = int(wait_ms) / 1000
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    @contextlib.asynccontextmanager
    async def mx_session(self, host: str) -> AsyncIterator[None]:
        """Hold the one SMTP connection slot of mail host ``host`` (its IP) across all workers."""
        lock = Lock(self._redis(), f"{PREFIX}smtp:{host}", timeout=self.mx_lease, sleep=0.05,
                    thread_local=False, raise_on_release_error=False)
        await lock.acquire()
        renewal = asyncio.create_task(self._keep(lock))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            with contextlib.suppress(redis.RedisError):
                await lock.release()

    async def _keep(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self.mx_lease / 3)
            try:
                await lock.reacquire()
            except LockError:
                log.warning("SMTP slot %s lost (its lease ran out)", lock.name)
                return
            except redis.RedisError as exc:
                log.warning("SMTP slot renewal failed (%s); retrying", exc)

    async def greylisted(self, host: str, delay: float) -> float:
        """Mail host ``host`` greylisted us: start its shared clock (if not running); seconds left on it."""
        left = await self._redis().eval(_GREYLISTED, 1, f"{PREFIX}greylist:{host}", max(1, int(delay * 1000)))
        return int(left) / 1000

    async def greylist_wait(self, host: str) -> float:
        """Wait until no worker's greylisting of ``host`` asks us to stay away; seconds waited."""
        left = int(await self._redis().eval(_GREYLIST_LEFT, 1, f"{PREFIX}greylist:{host}")) / 1000
        if left > 0:
            log.info("%s greylisted a worker: waiting %.1f s before talking to it again", host, left)
            await asyncio.sleep(left)
        return left
