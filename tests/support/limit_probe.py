"""A stand-in worker for the shared-limit tests: one process that validates the points it is handed.

Run as ``python -m tests.support.limit_probe JOB`` with a JSON job:
``settings`` (Settings fields), ``network`` (NetworkOptions fields), ``points``
(``[contact point dict, country]`` pairs), ``redis`` (the shared limiter's URL,
or null for a worker with its own limits only) and ``start_at`` (epoch seconds:
several processes begin together) or ``start_on`` (``[redis URL, key, seconds]``:
begin that long after another worker has set that key). Prints the verdicts as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis

from auditor.config import Settings
from auditor.models import ContactPoint, Verdict
from auditor.net.options import NetworkOptions
from auditor.net.ratelimit import SharedLimits
from auditor.validate.run import validate_points


def main() -> int:
    job = json.loads(sys.argv[1])
    settings = Settings(**job["settings"])
    network = NetworkOptions(**job.get("network", {}))
    points = [(ContactPoint.from_dict(cp), country) for cp, country in job["points"]]
    limits = SharedLimits(job["redis"]) if job.get("redis") else None

    async def run() -> dict[tuple[str, ...], Verdict]:
        try:
            return dict(await validate_points(points, settings, network, limits=limits))
        finally:
            if limits is not None:
                await limits.close()

    time.sleep(max(0.0, float(job.get("start_at", 0)) - time.time()))
    if job.get("start_on"):
        url, key, after = job["start_on"]
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 60
        while not client.exists(key) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(after)
    verdicts = asyncio.run(run())
    for key, verdict in verdicts.items():
        print(json.dumps({"key": list(key), "verdict": verdict.to_dict()}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
