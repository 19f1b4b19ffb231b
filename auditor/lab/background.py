"""An asyncio loop in a daemon thread: how every lab server runs beside the test or demo."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Self


class BackgroundLoop:
    """Bind in a fresh loop on a daemon thread, serve until :meth:`stop`, then shut down.

    A bind error is raised in the starting thread, so a port clash fails loudly.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(
        self,
        bind: Callable[[], Awaitable[None]],
        shutdown: Callable[[], Awaitable[None]],
        timeout: float = 30.0,
    ) -> None:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(bind())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(shutdown())
            loop.close()

        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()
        ready.wait(timeout)
        if errors:
            self.thread.join(5)
            self.thread = None
            self.loop = None
            raise errors[0]

    def stop(self, before: Callable[[], None] | None = None, timeout: float = 10.0) -> None:
        """Stop the loop (after ``before`` runs inside it) and join the thread."""
        loop, thread = self.loop, self.thread
        if loop is None or thread is None:
            return

        def halt() -> None:
            if before is not None:
                before()
            loop.stop()

        loop.call_soon_threadsafe(halt)
        thread.join(timeout)
        self.thread = None
        self.loop = None


class BackgroundServer:
    """A lab server run by a :class:`BackgroundLoop`: a context manager that starts and stops it.

    Subclasses set ``_bg`` and write :meth:`start` (bind, then return self).
    """

    _bg: BackgroundLoop

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._bg.loop

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        """Close the server and end its thread."""
        self._bg.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
