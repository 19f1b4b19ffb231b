"""Per-mail-host politeness: a cap on parallel sessions and on session starts per minute.

:class:`SharedHostLimiter` adds the same limits across every worker of a
distributed run (one connection per host, start pacing, the greylisting clock),
kept in Redis by :class:`~auditor.net.ratelimit.SharedLimits`.

Keyed by the MX host's IP address, because that is what a receiving server (and
its rate limiter or tarpit) sees; different hosts never wait for each other. The
start times are plain floats, so a limiter survives being used from a new event
loop (each ``asyncio.run``); the semaphores are rebuilt for the new loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from auditor.net.ratelimit import SharedLimits

WINDOW = 60.0


@dataclass
class _HostState:
    starts: deque[float] = field(default_factory=deque)
    active: int = 0
    max_active: int = 0
    sessions: int = 0


class HostLimiter:
    """At most ``concurrency`` open sessions and ``per_minute`` starts per key."""

    def __init__(
        self,
        concurrency: int = 1,
        per_minute: float = 60.0,
        total: int = 256,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        self.concurrency = max(1, int(concurrency))
        per_minute = max(per_minute, 1e-6)
        # A sliding window holding `capacity` starts: 60/min -> 60 per 60 s,
        # 0.5/min -> 1 per 120 s.
        self.capacity = max(1, math.floor(per_minute))
        self.window = WINDOW * self.capacity / per_minute
        self.total = max(1, total)
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._hosts: dict[str, _HostState] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._all: asyncio.Semaphore | None = None

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._sems.clear()
            self._locks.clear()
            self._all = asyncio.Semaphore(self.total)

    def state(self, key: str) -> _HostState:
        return self._hosts.setdefault(key, _HostState())

    @property
    def max_active(self) -> dict[str, int]:
        """Most sessions seen open at once, per key (for politeness checks)."""
        return {k: s.max_active for k, s in self._hosts.items()}

    async def _wait_rate(self, key: str) -> None:
        state = self.state(key)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            while True:
                now = self._clock()
                while state.starts and state.starts[0] <= now - self.window:
                    state.starts.popleft()
                if len(state.starts) < self.capacity:
                    state.starts.append(now)
                    return
                await self._sleep(state.starts[0] + self.window - now)

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one session slot for ``key`` (waits for concurrency, then for rate)."""
        self._bind()
        assert self._all is not None
        sem = self._sems.setdefault(key, asyncio.Semaphore(self.concurrency))
        async with sem:
            await self._wait_rate(key)
            async with self._all:
                state = self.state(key)
                state.active += 1
                state.sessions += 1
                state.max_active = max(state.max_active, state.active)
                try:
                    yield
                finally:
                    state.active -= 1

    async def note_greylisted(self, key: str, delay: float) -> None:
        """``key`` greylisted a recipient; this process's re-probe waits ``delay`` on its own (nothing to share)."""


class SharedHostLimiter(HostLimiter):
    """A :class:`HostLimiter` whose limits also hold across the workers sharing ``shared``'s Redis.

    Inside this process's slot: wait out any worker's greylisting clock of the
    host, take the host's one shared connection slot, then the shared start pace.
    """

    def __init__(self, shared: SharedLimits, concurrency: int = 1, per_minute: float = 60.0,
                 total: int = 256) -> None:
        super().__init__(concurrency, per_minute, total)
        self.shared = shared

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        async with super().slot(key):
            await self.shared.greylist_wait(key)
            async with self.shared.mx_session(key):
                await self.shared.pace(f"smtp:{key}", self.window / self.capacity)
                yield

    async def note_greylisted(self, key: str, delay: float) -> None:
        await self.shared.greylisted(key, delay)
