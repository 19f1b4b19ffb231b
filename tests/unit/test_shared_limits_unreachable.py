"""A worker whose Redis is gone (restarting) keeps working under its own limits instead of failing its checks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from auditor.net.ratelimit import SharedLimits
from tests.support.servers import free_port


def test_every_shared_limit_lets_the_work_go_on_without_redis(caplog: pytest.LogCaptureFixture) -> None:
    limits = SharedLimits(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    async def run() -> list[object]:
        done: list[object] = []
        async with limits.turn("www.example.com", 1.0) as waited:
            done.append(waited)
        async with limits.mx_session("192.0.2.25"):
            done.append("smtp")
        done += [await limits.pace("smtp:192.0.2.25", 1.0), await limits.greylist_wait("192.0.2.25")]
        await limits.close()
        return done

    with caplog.at_level(logging.WARNING, logger="auditor.net.ratelimit"):
        done = asyncio.run(asyncio.wait_for(run(), 60))
    assert done[1:] == ["smtp", 0.0, 0.0] and float(str(done[0])) < 60
    warnings = [r for r in caplog.records if "shared limits unreachable" in r.getMessage()]
    assert len(warnings) == 1, "said once, not once per request"
