"""Politeness that holds across every worker of a distributed run, kept in Redis.

Each worker process keeps its own per-host limits (Scrapy's download slots, the
validators' :class:`~auditor.validate.limits.HostLimiter`); with many workers a
host would see their sum. :class:`SharedLimits` adds what they all share:

- **A host's turn** (:meth:`SharedLimits.turn`): one request in flight per host
  across workers, and the next one sent no sooner than an interval after the
  previous one *finished*, so the host never sees two requests closer than the
  interval however long a request takes to reach it. The turn is a lock with a
  lease (renewed while the request runs; a dead worker's runs out) and the time
  the host is free again, both set by Lua scripts on Redis' own clock (machines'
  clocks never disagree).
- **Start pacing** (:meth:`SharedLimits.pace`): session starts to one host spaced
  by an interval; a Lua script reserves the host's next free start (a GCRA-style
  "next free slot" key, as rate limiters such as redis-cell keep it) in one
  atomic round trip.
- **One SMTP connection per mail host** (:meth:`SharedLimits.mx_session`): a
  redis-py :class:`~redis.asyncio.lock.Lock` per host with a lease that the
  holder extends while the session runs; a dead worker's lease runs out, so it
  cannot block a mail host for ever.
- **The greylisting delay** (:meth:`SharedLimits.greylisted`,
  :meth:`SharedLimits.greylist_wait`): the first greylisting reply of a mail host
  starts a clock that every worker waits for before it talks to that host again.

Keys live under ``auditor:limits:`` (not per run: two runs on one Redis are
polite together). While Redis cannot be reached (a restart) a worker goes on
under its own per-host limits and says so, rather than failing its checks. A client is made per event loop (the validators run one
``asyncio.run`` per batch; Scrapy runs on the asyncio reactor's loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import redis
import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = logging.getLogger(__name__)

PREFIX = "auditor:limits:"
MX_LEASE = 60.0  # seconds an SMTP connection slot lives without renewal (renewed every third of it)
TURN_LEASE = 30.0  # seconds a host's HTTP turn lives without renewal (renewed every third of it)
TURN_POLL = 0.02  # seconds between tries while another worker has the host's turn

_NOW = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
# KEYS: the host's turn (lock), the time it is free again; ARGV: token, lease ms.
# Returns -1 when another holder has the turn, else the ms to wait before sending.
_TAKE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
""" + _NOW + """
return math.max(0, tonumber(redis.call('GET', KEYS[2]) or '0') - now)
"""
# KEYS: the host's turn, the time it is free again; ARGV: token, interval ms. The interval runs from now.
_GIVE = _NOW + """
redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + 1000)
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

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


@contextlib.asynccontextmanager
async def renewing(renew: Callable[[], Awaitable[bool]], period: float) -> AsyncIterator[None]:
    """Call ``renew`` every ``period`` seconds while the body runs, until it answers False (lease lost).

    The loop is stopped by an event, not by cancelling it alone: a cancellation
    can be lost inside a Redis call (turned into a connection error, or dropped
    by a timeout racing it), and a renewal loop that retried on that error would
    keep a finished holder's lease alive for ever (a mail host's SMTP slot held
    by a session that had ended, every other batch waiting on it).
    """
    done = asyncio.Event()

    async def loop() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), period)
            if done.is_set():
                return
            try:
                if not await renew():
                    return
            except redis.RedisError as exc:
                log.warning("lease renewal failed (%s); retrying", exc)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        done.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class SharedLimits:
    """Per-host limits in the Redis at ``url``, shared by every process that uses the same server."""

    def __init__(self, url: str, mx_lease: float = MX_LEASE) -> None:
        self.url = url
        self.mx_lease = mx_lease
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: aioredis.Redis | None = None
        self._hosts: dict[str, asyncio.Lock] = {}  # this process's callers wait here, one polls Redis
        self._warned = -math.inf

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or loop is not self._loop:
            self._loop = loop
            self._hosts = {}
            self._client = aioredis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=5,
                                                   retry_on_timeout=True)
        return self._client

    def _unreachable(self, exc: redis.RedisError) -> None:
        """Redis is gone (restarting?): go on under this worker's own limits, and say so once a minute."""
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            log.warning("shared limits unreachable (%s): this worker's own per-host limits hold meanwhile", exc)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, RuntimeError):
                await self._client.aclose()
            self._client = None

    @contextlib.asynccontextmanager
    async def turn(self, host: str, interval: float, lease: float = TURN_LEASE) -> AsyncIterator[float]:
        """Hold ``host``'s one request slot across all workers; yields the seconds waited for it.

        Entered when no other worker has a request to ``host`` in flight and
        ``interval`` seconds have passed since the last one finished.
        """
        if interval <= 0 or not host:
            yield 0.0
            return
        client = self._redis()
        host = host.lower()
        keys = [f"{PREFIX}turn:{host}", f"{PREFIX}free:{host}"]
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self._hosts.setdefault(host, asyncio.Lock()):
            wait_ms: int | None = None
            try:
                while (wait_ms := int(await client.eval(_TAKE, 2, *keys, token, int(lease * 1000)))) < 0:
                    await asyncio.sleep(TURN_POLL)
            except redis.RedisError as exc:
                self._unreachable(exc)
                wait_ms = None
            if wait_ms is None:  # no shared turn to hold
                yield loop.time() - started
                return
            if wait_ms:
                await asyncio.sleep(wait_ms / 1000)
            try:
                async with renewing(lambda: self._extend(keys[0], token, lease), lease / 3):
                    yield loop.time() - started
            finally:
                with contextlib.suppress(redis.RedisError):
                    await client.eval(_GIVE, 2, *keys, token, int(interval * 1000))

    async def _extend(self, key: str, token: str, lease: float) -> bool:
        if await self._redis().eval(_EXTEND, 1, key, token, int(lease * 1000)):
            return True
        log.warning("the turn %s ran out while its request was in flight", key)
        return False

    async def pace(self, host: str, interval: float) -> float:
        """Wait for this host's next free start (``interval`` seconds after the previous one); seconds waited."""
        if interval <= 0 or not host:
            return 0.0
        try:
            wait_ms = await self._redis().eval(_PACE, 1, f"{PREFIX}pace:{host.lower()}", int(interval * 1000))
        except redis.RedisError as exc:
            self._unreachable(exc)
            return 0.0
        wait = int(wait_ms) / 1000
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    @contextlib.asynccontextmanager
    async def mx_session(self, host: str) -> AsyncIterator[None]:
        """Hold the one SMTP connection slot of mail host ``host`` (its IP) across all workers."""
        lock = Lock(self._redis(), f"{PREFIX}smtp:{host}", timeout=self.mx_lease, sleep=0.05,
                    thread_local=False, raise_on_release_error=False)
        held = False
        try:
            held = await lock.acquire()
        except redis.RedisError as exc:
            self._unreachable(exc)  # this process's limiter still allows one session per host
        if not held:
            yield
            return
        try:
            async with renewing(lambda: self._keep(lock), self.mx_lease / 3):
                yield
        finally:
            with contextlib.suppress(redis.RedisError):
                await lock.release()

    @staticmethod
    async def _keep(lock: Lock) -> bool:
        try:
            return bool(await lock.reacquire())
        except LockError:
            log.warning("SMTP slot %s lost (its lease ran out)", lock.name)
            return False

    async def greylisted(self, host: str, delay: float) -> float:
        """Mail host ``host`` greylisted us: start its shared clock (if not running); seconds left on it."""
        try:
            left = await self._redis().eval(_GREYLISTED, 1, f"{PREFIX}greylist:{host}", max(1, int(delay * 1000)))
        except redis.RedisError as exc:
            self._unreachable(exc)
            return delay
        return int(left) / 1000

    async def greylist_wait(self, host: str) -> float:
        """Wait until no worker's greylisting of ``host`` asks us to stay away; seconds waited."""
        try:
            left = int(await self._redis().eval(_GREYLIST_LEFT, 1, f"{PREFIX}greylist:{host}")) / 1000
        except redis.RedisError as exc:
            self._unreachable(exc)
            return 0.0
        if left > 0:
            log.info("%s greylisted a worker: waiting %.1f s before talking to it again", host, left)
            await asyncio.sleep(left)
        return left
