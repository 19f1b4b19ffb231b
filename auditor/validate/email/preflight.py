"""Preflight: can this machine reach port 25 at all? Decided from the first sessions.

The first sessions of the first batch go to up to :data:`PREFLIGHT_HOSTS` distinct
mail hosts while every other host waits. If each of them fails to produce an SMTP
greeting within the timeout -- TCP connect timed out, or the connection opened but
no banner came (filtering middleboxes and tarpits look alike from here) -- and at
least two hosts were tried, port 25 is declared blocked: one warning, and every SMTP
check of the run is ``unknown``/``port-25-blocked`` instead of thousands of
timeouts. A refused connection, a 421 or any reply means the path is open. With a
single distinct host the preflight cannot tell a blocked port from one silent
server, so the host's own timeout is reported. No extra connection is ever made.
"""

from __future__ import annotations

import asyncio

PREFLIGHT_HOSTS = 3  # distinct mail hosts probed before the rest may start


class Preflight:
    """Collects the first hosts' greetings; ``event`` releases the hosts that wait."""

    def __init__(self, ips: list[str]) -> None:
        self.ips = set(ips)
        self._waiting = set(ips)
        self.blocked = False
        self.event = asyncio.Event()
        if len(self.ips) < 2:  # one silent host is just one silent host
            self.event.set()

    def report(self, ip: str, greeted: bool) -> None:
        if self.event.is_set() or ip not in self._waiting:
            return
        if greeted:
            self.event.set()
            return
        self._waiting.discard(ip)
        if not self._waiting:
            self.blocked = True
            self.event.set()
