"""The lab IMAP server: users' mailboxes in memory, changed from Python, served from a thread."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Self

from auditor.lab.background import BackgroundLoop, BackgroundServer
from auditor.lab.imap.mailbox import Folder, StoredMessage, crlf, folder_key
from auditor.lab.imap.session import MAX_LINE, Session

log = logging.getLogger(__name__)


class LabImapServer(BackgroundServer):
    """In-memory mailboxes of ``users`` (name -> password), served over IMAP from a thread.

    User names compare case-insensitively (they are email addresses); every user
    has an INBOX. Thread-safe: :meth:`append` may be called from any thread while
    clients are connected; a selected session learns of new mail (``* n EXISTS``)
    with its next command.
    """

    def __init__(
        self,
        users: Mapping[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        hostname: str = "imap.lab.test",
        idle_timeout: float = 300.0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab IMAP server listens on loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.hostname = hostname
        self.idle_timeout = idle_timeout
        self._lock = threading.RLock()
        self._users: dict[str, tuple[str, str]] = {}
        self._boxes: dict[str, dict[str, Folder]] = {}
        self._validity = itertools.count(int(time.time()) & 0x7FFFFFFF or 1)
        for user, password in users.items():
            self.add_user(user, password)
        self.sessions = 0
        self.logins: Counter[str] = Counter()
        self.failed_logins: Counter[str] = Counter()
        self.commands: Counter[str] = Counter()
        self.bad_commands = 0
        self._bg = BackgroundLoop("lab-imap")
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ---------------------------------------------------------------- mailboxes (Python side)

    def add_user(self, user: str, password: str) -> None:
        with self._lock:
            key = user.lower()
            self._users[key] = (user, password)
            self._boxes.setdefault(key, {"INBOX": Folder("INBOX", next(self._validity))})

    def has_user(self, user: str) -> bool:
        with self._lock:
            return user.lower() in self._users

    def create_folder(self, user: str, folder: str) -> None:
        with self._lock:
            boxes = self._user_boxes(user)
            boxes.setdefault(folder_key(folder), Folder(folder, next(self._validity)))

    def append(self, user: str, raw: bytes, internaldate: datetime | None = None, folder: str = "INBOX",
               flags: Iterable[str] = ()) -> int:
        """Put a message in ``user``'s ``folder``; returns its UID. Naive times are UTC."""
        when = internaldate or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            box = self._folder(user, folder)
            uid = box.uidnext
            box.uidnext += 1
            box.messages.append(StoredMessage(uid, crlf(bytes(raw)), when.replace(microsecond=0), set(flags)))
            return uid

    def messages(self, user: str, folder: str = "INBOX") -> list[StoredMessage]:
        """A snapshot of the folder's messages (copies: changing them changes nothing)."""
        with self._lock:
            return [StoredMessage(m.uid, m.raw, m.internaldate, set(m.flags), m.recent)
                    for m in self._folder(user, folder).messages]

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self._lock:
            return self._folder(user, folder).uidvalidity

    def renumber(self, user: str, folder: str = "INBOX") -> int:
        """Give the folder a new UIDVALIDITY and UIDs from 1, as a server rebuilding its index does."""
        with self._lock:
            box = self._folder(user, folder)
            box.uidvalidity = next(self._validity)
            for uid, message in enumerate(box.messages, 1):
                message.uid = uid
            box.uidnext = len(box.messages) + 1
            return box.uidvalidity

    def clear(self, user: str, folder: str = "INBOX") -> None:
        """Empty the folder (UIDs are never reused: UIDNEXT stays)."""
        with self._lock:
            self._folder(user, folder).messages.clear()

    def _user_boxes(self, user: str) -> dict[str, Folder]:
        try:
            return self._boxes[user.lower()]
        except KeyError:
            raise KeyError(f"no lab IMAP user {user!r}") from None

    def _folder(self, user: str, folder: str) -> Folder:
        try:
            return self._user_boxes(user)[folder_key(folder)]
        except KeyError:
            raise KeyError(f"user {user!r} has no folder {folder!r}") from None

    def _check_password(self, user: str, password: str) -> str | None:
        """The canonical user name when ``password`` is right, else None."""
        with self._lock:
            entry = self._users.get(user.lower())
        if entry is None or not hmac.compare_digest(entry[1].encode(), password.encode()):
            with self._lock:
                self.failed_logins[user.lower()] += 1
            return None
        with self._lock:
            self.logins[entry[0]] += 1
        return entry[0]

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind and serve from a daemon thread; returns self."""
        if not self._bg.running:
            self._bg.start(self._bind, self._shutdown)
        return self

    async def _bind(self) -> None:
        self._server = await asyncio.start_server(
            self._client, self.host, self.port, limit=MAX_LINE, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.sleep(0)

    def stop(self) -> None:
        """Close the listener and every session and end the thread (the mail stays)."""
        self._bg.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.sessions += 1
        self._writers.add(writer)
        try:
            await Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:  # a bug in one session must not stop the server
            log.exception("lab IMAP: session failed")
        finally:
            self._writers.discard(writer)
            writer.close()

