"""A lease renewal loop stops when its holder is done, even when a cancellation is lost inside a Redis call.

This is the hang seen in a distributed validation: the SMTP slot's renewal was
stopped by cancelling it alone; the cancellation arrived during a Redis call,
came out as a connection error, the loop retried, and the finished session's
slot stayed held (and renewed) for ever, with the batch waiting on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import redis

from auditor.net.ratelimit import renewing

PERIOD = 0.01
GUARD = 30.0  # only so that a regression fails instead of hanging the suite; nothing here is timed


def run_bounded(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` on its own loop in a thread; a loop that never ends fails the test (a cancel could be lost too)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the renewal loop never ended: its holder waits for ever"
    if errors:
        raise errors[0]


def test_renewal_stops_although_the_cancellation_is_turned_into_a_redis_error() -> None:
    calls: list[str] = []

    async def run() -> None:
        in_flight = asyncio.Event()

        async def renew() -> bool:
            calls.append("renew")
            in_flight.set()
            try:
                await asyncio.Event().wait()  # a reply that never comes before the holder is done
            except asyncio.CancelledError:
                raise redis.ConnectionError("Connection closed by server.") from None  # the cancel, lost
            return True

        async with renewing(renew, PERIOD):
            await in_flight.wait()
        settled = len(calls)
        await asyncio.sleep(PERIOD * 20)
        assert len(calls) == settled, "renewed after the holder was done"

    run_bounded(run)
    assert calls == ["renew"]


def test_renewal_runs_while_the_body_runs_and_ends_when_the_lease_is_lost() -> None:
    answers = [True, True, False]
    calls: list[bool] = []

    async def renew() -> bool:
        calls.append(answers[len(calls)])
        return calls[-1]

    async def run() -> None:
        async with renewing(renew, PERIOD):
            while len(calls) < 3:
                await asyncio.sleep(PERIOD)
            await asyncio.sleep(PERIOD * 20)  # a lost lease is not renewed again

    run_bounded(run)
    assert calls == [True, True, False]


def test_a_redis_error_while_renewing_is_retried_at_the_next_period() -> None:
    calls: list[int] = []

    async def renew() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise redis.ConnectionError("restarting")
        return True

    async def run() -> None:
        async with renewing(renew, PERIOD):
            while len(calls) < 3:
                await asyncio.sleep(PERIOD)

    run_bounded(run)
    assert len(calls) >= 3
