"""The lab's IMAP server: the auditor's own mailbox, in memory, on loopback.

``auditor inquiries collect`` reads replies with the standard library's
:mod:`imaplib`; the lab's reply agents (:mod:`auditor.lab.agents`) put the
companies' answers here with :meth:`LabImapServer.append` and an arrival time
(INTERNALDATE) of their choosing, so a reply "2.5 hours later" is there at once
but reads as 2.5 hours later. Unlike a real server (Dovecot refuses arrival
times in the future), the lab accepts any INTERNALDATE.

A minimal IMAP4rev1 server (RFC 3501) over plain TCP, with exactly what imaplib
and the collector use, done by the RFC:

* any state: CAPABILITY, NOOP, LOGOUT (``* BYE`` before the tagged OK);
* not authenticated: LOGIN, AUTHENTICATE PLAIN (RFC 4616), STARTTLS refused
  (not offered: the collector then logs in in plaintext, which it allows on loopback);
* authenticated: SELECT, EXAMINE (FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS,
  UIDVALIDITY, UIDNEXT; READ-WRITE / READ-ONLY), STATUS, LIST/LSUB, APPEND;
* selected: CHECK, CLOSE, UNSELECT (RFC 3691), SEARCH and FETCH, and both under UID.
  ``UID n:*`` follows §6.4.8: ``*`` is the highest UID, so the range always holds
  the last message even when n is above it. FETCH knows UID, FLAGS, INTERNALDATE,
  RFC822.SIZE, ENVELOPE, RFC822[.HEADER|.TEXT], BODY[...] and BODY.PEEK[...] with
  the sections "", HEADER, TEXT, HEADER.FIELDS[.NOT] and partial ``<o.n>``;
  a non-PEEK body fetch in a read-write session sets ``\\Seen`` and says so.

Literals (``{n}`` with a continuation, ``{n+}`` per LITERAL+) are read anywhere in a
command. Garbage gets BAD (untagged when there is no tag); 20 BADs in a row, an
overlong line or an idle session end with ``* BYE``. STORE, COPY, EXPUNGE and
friends answer NO: the lab's mailbox is changed from Python only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.header
import email.utils
import hmac
import ipaddress
import itertools
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from auditor.lab.background import BackgroundLoop

__all__ = ["LabImapServer", "StoredMessage", "format_internaldate"]

log = logging.getLogger(__name__)

CAPABILITIES = "IMAP4rev1 LITERAL+ AUTH=PLAIN UNSELECT"
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
MAX_LINE = 64 * 1024
MAX_LITERAL = 32 * 1024 * 1024
MAX_BAD = 20
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Commands the lab knows but does not do: the mailbox is changed from Python only.
NOT_SUPPORTED = frozenset({
    "STORE", "COPY", "MOVE", "EXPUNGE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
    "IDLE", "ID", "NAMESPACE", "ENABLE", "COMPRESS", "GETQUOTAROOT", "SORT", "THREAD",
})
ANY_STATE = frozenset({"CAPABILITY", "NOOP", "LOGOUT"})
NOT_AUTH = frozenset({"LOGIN", "AUTHENTICATE", "STARTTLS"})
AUTH = frozenset({"SELECT", "EXAMINE", "STATUS", "LIST", "LSUB", "APPEND"})
SELECTED = frozenset({"CHECK", "CLOSE", "UNSELECT", "SEARCH", "FETCH", "UID"})


def format_internaldate(when: datetime) -> str:
    """RFC 3501 date-time: ``" 7-Jul-2026 14:30:00 +0200"`` (day space-padded)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (f"{when.day:2d}-{MONTHS[when.month - 1]}-{when.year:04d} {when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d} {sign}{minutes // 60:02d}{minutes % 60:02d}")


def parse_internaldate(text: str) -> datetime | None:
    """The inverse of :func:`format_internaldate`; None when malformed."""
    m = re.fullmatch(r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*", text)
    if not m or m.group(2).title() not in MONTHS:
        return None
    offset = timedelta(hours=int(m.group(8)), minutes=int(m.group(9)))
    try:
        return datetime(int(m.group(3)), MONTHS.index(m.group(2).title()) + 1, int(m.group(1)), int(m.group(4)),
                        int(m.group(5)), int(m.group(6)), tzinfo=timezone(-offset if m.group(7) == "-" else offset))
    except ValueError:
        return None


def _parse_date(text: str) -> date | None:
    """A SEARCH date: ``1-Feb-1994``."""
    m = re.fullmatch(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", text.strip())
    if not m or m.group(2).title() not in MONTHS:
        return None
    try:
        return date(int(m.group(3)), MONTHS.index(m.group(2).title()) + 1, int(m.group(1)))
    except ValueError:
        return None


def _crlf(raw: bytes) -> bytes:
    """Message data travels with CRLF line ends (RFC 3501 §2.3.1.1 sizes count them)."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


# ------------------------------------------------------------------------------- storage


@dataclass
class StoredMessage:
    """One message in a folder: UID, arrival time, flags and the bytes (CRLF line ends)."""

    uid: int
    raw: bytes
    internaldate: datetime
    flags: set[str] = field(default_factory=set)
    recent: bool = True

    @property
    def header(self) -> bytes:
        """The header including the blank line that ends it (RFC 3501 BODY[HEADER])."""
        end = self.raw.find(b"\r\n\r\n")
        return self.raw if end < 0 else self.raw[: end + 4]

    @property
    def text(self) -> bytes:
        end = self.raw.find(b"\r\n\r\n")
        return b"" if end < 0 else self.raw[end + 4 :]


@dataclass
class _Folder:
    name: str
    uidvalidity: int
    uidnext: int = 1
    messages: list[StoredMessage] = field(default_factory=list)


def _folder_key(name: str) -> str:
    """INBOX is case-insensitive (RFC 3501 §5.1); other names are not."""
    return "INBOX" if name.upper() == "INBOX" else name


# ------------------------------------------------------------------------------- parsing


class _BadCommand(Exception):
    """Arguments that do not parse: answered with BAD."""


class Atom(str):
    """An unquoted token (also NIL, flags, sequence sets, fetch items with their [sections])."""


_Token = Any  # Atom | bytes (quoted string or literal) | list[_Token]
_LITERAL_MARK = "\x00"  # stands in for a literal's position in the command text


def tokenize(text: str, literals: list[bytes]) -> list[_Token]:
    """Atoms, strings (bytes) and parenthesized lists; a literal is wherever the mark is."""
    out: list[_Token] = []
    stack: list[list[_Token]] = [out]
    lits = iter(literals)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == " ":
            i += 1
        elif c == "(":
            stack[-1].append([])
            stack.append(stack[-1][-1])
            i += 1
        elif c == ")":
            if len(stack) == 1:
                raise _BadCommand("unbalanced parenthesis")
            stack.pop()
            i += 1
        elif c == '"':
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise _BadCommand("unterminated quoted string")
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    buf.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    buf.append(c)
                    i += 1
            stack[-1].append("".join(buf).encode("utf-8", "surrogateescape"))
        elif c == _LITERAL_MARK:
            try:
                stack[-1].append(next(lits))
            except StopIteration:
                raise _BadCommand("literal missing") from None
            i += 1
        elif c == "{" or ord(c) < 0x20 or c == "\x7f":
            raise _BadCommand(f"unexpected {c!r}")
        else:
            start = i
            while i < n and text[i] not in ' ()"{' + _LITERAL_MARK and ord(text[i]) >= 0x20:
                if text[i] == "[":  # BODY[HEADER.FIELDS (A B)]: one token up to the matching ]
                    depth = 0
                    while i < n:
                        if text[i] == "[":
                            depth += 1
                        elif text[i] == "]":
                            depth -= 1
                            if depth == 0:
                                break
                        i += 1
                    if i >= n:
                        raise _BadCommand("unterminated [")
                i += 1
            stack[-1].append(Atom(text[start:i]))
    if len(stack) != 1:
        raise _BadCommand("unbalanced parenthesis")
    return out


def _astring(token: _Token) -> str:
    if isinstance(token, Atom):
        return str(token)
    if isinstance(token, bytes):
        return token.decode("utf-8", "replace")
    raise _BadCommand("expected a string")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nstring(value: str | None) -> bytes:
    """NIL, a quoted string, or a literal for anything a quoted string cannot carry."""
    if value is None:
        return b"NIL"
    data = value.encode("utf-8")
    if any(b in data for b in (b"\r", b"\n", b"\x00")) or not value.isascii() or len(data) > 512:
        return b"{%d}\r\n" % len(data) + data
    return _quote(value).encode("ascii")


_SEQ = re.compile(r"^(\d+|\*)(?::(\d+|\*))?$")


def parse_sequence_set(text: str) -> list[tuple[int | None, int | None]]:
    """``1,3:5,7:*`` -> [(1, 1), (3, 5), (7, None)] (None is ``*``); BAD when malformed."""
    ranges: list[tuple[int | None, int | None]] = []
    for part in text.split(","):
        m = _SEQ.match(part)
        if not m:
            raise _BadCommand(f"invalid sequence set {text!r}")
        a = None if m.group(1) == "*" else int(m.group(1))
        b = a if m.group(2) is None else (None if m.group(2) == "*" else int(m.group(2)))
        if a == 0 or b == 0:
            raise _BadCommand("0 is not a valid message number")
        ranges.append((a, b))
    return ranges


def _in_ranges(value: int, ranges: list[tuple[int | None, int | None]], star: int) -> bool:
    for a, b in ranges:
        lo, hi = sorted((star if a is None else a, star if b is None else b))
        if lo <= value <= hi:
            return True
    return False


# ------------------------------------------------------------------------------- server


class LabImapServer:
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
        self._boxes: dict[str, dict[str, _Folder]] = {}
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
            self._boxes.setdefault(key, {"INBOX": _Folder("INBOX", next(self._validity))})

    def has_user(self, user: str) -> bool:
        with self._lock:
            return user.lower() in self._users

    def create_folder(self, user: str, folder: str) -> None:
        with self._lock:
            boxes = self._user_boxes(user)
            boxes.setdefault(_folder_key(folder), _Folder(folder, next(self._validity)))

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
            box.messages.append(StoredMessage(uid, _crlf(bytes(raw)), when.replace(microsecond=0), set(flags)))
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

    def _user_boxes(self, user: str) -> dict[str, _Folder]:
        try:
            return self._boxes[user.lower()]
        except KeyError:
            raise KeyError(f"no lab IMAP user {user!r}") from None

    def _folder(self, user: str, folder: str) -> _Folder:
        try:
            return self._user_boxes(user)[_folder_key(folder)]
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

    def start(self) -> LabImapServer:
        """Bind and serve from a daemon thread; returns self."""
        if not self._bg.running:
            self._bg.start(self._bind, self._shutdown)
        return self

    async def _bind(self) -> None:
        self._server = await asyncio.start_server(
            self._client, self.host, self.port, limit=MAX_LINE, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._bg.loop

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

    def __enter__(self) -> LabImapServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.sessions += 1
        self._writers.add(writer)
        try:
            await _Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception:  # a bug in one session must not stop the server
            log.exception("lab IMAP: session failed")
        finally:
            self._writers.discard(writer)
            writer.close()


class _Bye(Exception):
    """End the session after the given untagged BYE has been sent."""


class _Session:
    """One connection: the RFC 3501 state machine over a stream."""

    def __init__(self, server: LabImapServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.state = "NONAUTH"
        self.user: str | None = None
        self.folder: _Folder | None = None
        self.readonly = False
        self.known = 0  # messages this session has been told about (EXISTS)
        self.bad_in_row = 0

    # ---------------------------------------------------------------- I/O

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode("utf-8") if isinstance(data, str) else data)
        await self.writer.drain()

    async def line(self, text: str) -> None:
        await self.send(text + "\r\n")

    async def readline(self) -> bytes:
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\n"), self.server.idle_timeout)
        except TimeoutError:
            await self.line("* BYE Autologout; idle for too long")
            raise _Bye() from None
        except asyncio.LimitOverrunError:
            await self.line("* BYE Line too long")
            raise _Bye() from None
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise ConnectionResetError("connection closed mid-line") from None
            raise
        return line.rstrip(b"\r\n")

    async def read_command(self) -> tuple[str, list[bytes]]:
        """The command text (literals replaced by a mark) and the literals, in order.

        A NUL in the text itself makes the whole command a single NUL, which is refused.
        """
        parts: list[str] = []
        literals: list[bytes] = []
        total = 0
        while True:
            raw = await self.readline()
            total += len(raw)
            if total > MAX_LINE:
                await self.line("* BYE Command too long")
                raise _Bye()
            text = raw.decode("utf-8", "surrogateescape")
            if _LITERAL_MARK in text:
                text = _LITERAL_MARK
            m = re.search(r"\{(\d+)(\+?)\}$", text)
            if m is None:
                parts.append(text)
                return "".join(parts), literals
            size, plus = int(m.group(1)), bool(m.group(2))
            if size > MAX_LITERAL:
                tag = (parts[0] if parts else text).split(" ", 1)[0] or "*"
                await self.line(f"{tag} BAD Literal too large")
                if plus:
                    raise _Bye()  # the client is sending it anyway: the stream cannot be resynchronized
                return "", []
            if not plus:
                await self.line("+ Ready for literal data")
            try:
                data = await asyncio.wait_for(self.reader.readexactly(size), self.server.idle_timeout)
            except TimeoutError:
                await self.line("* BYE Autologout; idle for too long")
                raise _Bye() from None
            parts.append(text[: m.start()] + _LITERAL_MARK)
            literals.append(data)

    # ---------------------------------------------------------------- main loop

    async def run(self) -> None:
        await self.line(f"* OK [CAPABILITY {CAPABILITIES}] {self.server.hostname} lab IMAP ready")
        try:
            while True:
                text, literals = await self.read_command()
                if not text.strip():
                    continue
                if text == _LITERAL_MARK and not literals:
                    await self.bad("*", "NUL in command")
                    continue
                if await self.dispatch(text, literals):
                    return
        except _Bye:
            return

    async def bad(self, tag: str, message: str) -> None:
        self.bad_in_row += 1
        with self.server._lock:
            self.server.bad_commands += 1
        await self.line(f"{tag} BAD {message}")
        if self.bad_in_row >= MAX_BAD:
            await self.line("* BYE Too many invalid commands")
            raise _Bye()

    async def dispatch(self, text: str, literals: list[bytes]) -> bool:
        """Run one command; True when the session is over (LOGOUT)."""
        tag, _, rest = text.partition(" ")
        if not tag or any(ord(c) <= 0x20 or ord(c) >= 0x7F or c in '(){%*"\\+' for c in tag):  # ASTRING-CHARs, no +
            await self.bad("*", "Invalid tag")
            return False
        name, _, args_text = rest.partition(" ")
        name = name.upper()
        if not name:
            await self.bad(tag, "Missing command")
            return False
        with self.server._lock:
            self.server.commands[name] += 1
        try:
            args = tokenize(args_text, literals)
        except _BadCommand as exc:
            await self.bad(tag, f"Error in IMAP command {name}: {exc}")
            return False
        allowed = (ANY_STATE | {"NONAUTH": NOT_AUTH, "AUTH": AUTH, "SELECTED": AUTH | SELECTED}.get(self.state, set()))
        if name not in ANY_STATE | NOT_AUTH | AUTH | SELECTED | NOT_SUPPORTED:
            await self.bad(tag, f"Unknown command {name[:40]}")
            return False
        if name in NOT_SUPPORTED:
            if self.state == "NONAUTH":
                await self.bad(tag, f"{name} is not valid before login")
            else:
                await self.line(f"{tag} NO [CANNOT] {name} is not supported by the lab server")
            return False
        if name not in allowed:
            await self.bad(tag, f"{name} is not valid in state {self.state}")
            return False
        handler: Callable[[str, list[_Token]], Any] = getattr(self, f"cmd_{name.lower()}")
        try:
            if self.state == "SELECTED":
                await self.announce()
            done = await handler(tag, args)
        except _BadCommand as exc:
            await self.bad(tag, f"Error in IMAP command {name}: {exc}")
            return False
        self.bad_in_row = 0
        return bool(done)

    async def announce(self) -> None:
        """Tell a selected session about mail that arrived since it last heard (EXISTS, RECENT)."""
        assert self.folder is not None
        with self.server._lock:
            count = len(self.folder.messages)
            recent = sum(1 for m in self.folder.messages if m.recent)
        if count != self.known:
            self.known = count
            await self.line(f"* {count} EXISTS")
            await self.line(f"* {recent} RECENT")

    # ---------------------------------------------------------------- any state

    async def cmd_capability(self, tag: str, args: list[_Token]) -> None:
        if args:
            raise _BadCommand("CAPABILITY takes no arguments")
        await self.line(f"* CAPABILITY {CAPABILITIES}")
        await self.line(f"{tag} OK CAPABILITY completed")

    async def cmd_noop(self, tag: str, args: list[_Token]) -> None:
        await self.line(f"{tag} OK NOOP completed")

    async def cmd_logout(self, tag: str, args: list[_Token]) -> bool:
        await self.line("* BYE Logging out")
        await self.line(f"{tag} OK LOGOUT completed")
        return True

    # ---------------------------------------------------------------- not authenticated

    async def cmd_starttls(self, tag: str, args: list[_Token]) -> None:
        raise _BadCommand("STARTTLS is not offered by the lab server")

    async def cmd_login(self, tag: str, args: list[_Token]) -> None:
        if len(args) != 2:
            raise _BadCommand("LOGIN needs a user name and a password")
        await self.login(tag, _astring(args[0]), _astring(args[1]), "LOGIN")

    async def cmd_authenticate(self, tag: str, args: list[_Token]) -> None:
        if not args or not isinstance(args[0], Atom) or len(args) > 2:
            raise _BadCommand("AUTHENTICATE needs a mechanism")
        if args[0].upper() != "PLAIN":
            await self.line(f"{tag} NO [CANNOT] Unsupported authentication mechanism")
            return
        if len(args) == 2:  # an initial response (RFC 4959), tolerated
            answer = _astring(args[1]).encode()
        else:
            await self.line("+ ")
            answer = await self.readline()
        if answer.strip() == b"*":
            await self.line(f"{tag} BAD Authentication canceled")
            return
        try:
            decoded = base64.b64decode(answer.strip(), validate=True)
            _authzid, user, password = decoded.split(b"\x00")
        except (binascii.Error, ValueError):
            await self.line(f"{tag} BAD Invalid base64 or not authzid NUL user NUL password")
            return
        await self.login(tag, user.decode("utf-8", "replace"), password.decode("utf-8", "replace"),
                         "AUTHENTICATE")

    async def login(self, tag: str, user: str, password: str, command: str) -> None:
        canonical = self.server._check_password(user, password)
        if canonical is None:
            await asyncio.sleep(0.05)  # a token delay, as servers do, not enough to slow a test
            await self.line(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.")
            return
        self.user, self.state = canonical, "AUTH"
        await self.line(f"{tag} OK [CAPABILITY {CAPABILITIES}] {command} completed")

    # ---------------------------------------------------------------- authenticated

    def _find(self, name: str) -> _Folder | None:
        assert self.user is not None
        with self.server._lock:
            return self.server._user_boxes(self.user).get(_folder_key(name))

    async def cmd_select(self, tag: str, args: list[_Token], readonly: bool = False) -> None:
        command = "EXAMINE" if readonly else "SELECT"
        if len(args) != 1:
            raise _BadCommand(f"{command} needs one mailbox name")
        folder = self._find(_astring(args[0]))
        # RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
        self.folder, self.state = None, "AUTH"
        if folder is None:
            await self.line(f"{tag} NO [NONEXISTENT] Mailbox does not exist")
            return
        with self.server._lock:
            messages = list(folder.messages)
            recent = sum(1 for m in messages if m.recent)
            if not readonly:
                for m in messages:  # this session has now seen them
                    m.recent = False
            unseen = next((i for i, m in enumerate(messages, 1) if "\\Seen" not in m.flags), None)
            uidvalidity, uidnext = folder.uidvalidity, folder.uidnext
        self.folder, self.readonly, self.state, self.known = folder, readonly, "SELECTED", len(messages)
        await self.line(f"* FLAGS ({' '.join(SYSTEM_FLAGS)})")
        permanent = "" if readonly else " ".join(SYSTEM_FLAGS)
        await self.line(f"* OK [PERMANENTFLAGS ({permanent})] Flags permitted")
        await self.line(f"* {len(messages)} EXISTS")
        await self.line(f"* {recent} RECENT")
        if unseen is not None:
            await self.line(f"* OK [UNSEEN {unseen}] First unseen")
        await self.line(f"* OK [UIDVALIDITY {uidvalidity}] UIDs valid")
        await self.line(f"* OK [UIDNEXT {uidnext}] Predicted next UID")
        mode = "READ-ONLY" if readonly else "READ-WRITE"
        await self.line(f"{tag} OK [{mode}] {command} completed")

    async def cmd_examine(self, tag: str, args: list[_Token]) -> None:
        await self.cmd_select(tag, args, readonly=True)

    async def cmd_status(self, tag: str, args: list[_Token]) -> None:
        if len(args) != 2 or not isinstance(args[1], list) or not args[1]:
            raise _BadCommand("STATUS needs a mailbox and a list of items")
        name = _astring(args[0])
        folder = self._find(name)
        if folder is None:
            await self.line(f"{tag} NO [NONEXISTENT] Mailbox does not exist")
            return
        with self.server._lock:
            values = {
                "MESSAGES": len(folder.messages),
                "RECENT": sum(1 for m in folder.messages if m.recent),
                "UIDNEXT": folder.uidnext,
                "UIDVALIDITY": folder.uidvalidity,
                "UNSEEN": sum(1 for m in folder.messages if "\\Seen" not in m.flags),
            }
        items = []
        for item in args[1]:
            key = _astring(item).upper()
            if key not in values:
                raise _BadCommand(f"unknown STATUS item {key[:40]}")
            items.append(f"{key} {values[key]}")
        await self.line(f"* STATUS {_quote(folder.name)} ({' '.join(items)})")
        await self.line(f"{tag} OK STATUS completed")

    async def cmd_list(self, tag: str, args: list[_Token], command: str = "LIST") -> None:
        if len(args) != 2:
            raise _BadCommand(f"{command} needs a reference and a pattern")
        reference, pattern = _astring(args[0]), _astring(args[1])
        if not pattern:
            await self.line(f'* {command} (\\Noselect) "/" ""')
            await self.line(f"{tag} OK {command} completed")
            return
        regex = re.compile(
            "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in reference + pattern)
            + "$", re.IGNORECASE if (reference + pattern).upper().startswith("INBOX") else 0)
        assert self.user is not None
        with self.server._lock:
            names = [f.name for f in self.server._user_boxes(self.user).values()]
        for name in sorted(names, key=lambda x: (x != "INBOX", x)):
            if regex.match(name):
                await self.line(f'* {command} (\\HasNoChildren) "/" {_quote(name)}')
        await self.line(f"{tag} OK {command} completed")

    async def cmd_lsub(self, tag: str, args: list[_Token]) -> None:
        await self.cmd_list(tag, args, "LSUB")  # every folder counts as subscribed

    async def cmd_append(self, tag: str, args: list[_Token]) -> None:
        if len(args) < 2 or not isinstance(args[-1], bytes):
            raise _BadCommand("APPEND needs a mailbox and a message literal")
        folder = self._find(_astring(args[0]))
        flags: list[str] = []
        when: datetime | None = None
        for extra in args[1:-1]:
            if isinstance(extra, list) and not flags:
                flags = [_astring(f) for f in extra]
                if any(f.startswith("\\") and f.title() not in SYSTEM_FLAGS for f in flags):
                    raise _BadCommand("unknown system flag")
            elif isinstance(extra, bytes) and when is None:
                when = parse_internaldate(extra.decode("ascii", "replace"))
                if when is None:
                    raise _BadCommand("invalid date-time")
            else:
                raise _BadCommand("unexpected APPEND argument")
        if folder is None:
            await self.line(f"{tag} NO [TRYCREATE] Mailbox does not exist")
            return
        assert self.user is not None
        self.server.append(self.user, args[-1], when, folder.name, [f.title() for f in flags])
        await self.line(f"{tag} OK APPEND completed")

    # ---------------------------------------------------------------- selected

    async def cmd_check(self, tag: str, args: list[_Token]) -> None:
        await self.line(f"{tag} OK CHECK completed")

    async def cmd_close(self, tag: str, args: list[_Token]) -> None:
        # Nothing can carry \Deleted (no STORE), so there is nothing to expunge.
        self.folder, self.state = None, "AUTH"
        await self.line(f"{tag} OK CLOSE completed")

    async def cmd_unselect(self, tag: str, args: list[_Token]) -> None:
        self.folder, self.state = None, "AUTH"
        await self.line(f"{tag} OK UNSELECT completed")

    async def cmd_uid(self, tag: str, args: list[_Token]) -> None:
        if not args or not isinstance(args[0], Atom):
            raise _BadCommand("UID needs a command")
        sub = args[0].upper()
        if sub == "SEARCH":
            await self.cmd_search(tag, args[1:], by_uid=True)
        elif sub == "FETCH":
            await self.cmd_fetch(tag, args[1:], by_uid=True)
        elif sub in ("STORE", "COPY", "MOVE", "EXPUNGE"):
            await self.line(f"{tag} NO [CANNOT] UID {sub} is not supported by the lab server")
        else:
            raise _BadCommand(f"unknown UID command {sub[:40]}")

    def _snapshot(self) -> list[StoredMessage]:
        """The messages this session knows of: sequence numbers stay what it was told."""
        assert self.folder is not None
        with self.server._lock:
            return list(self.folder.messages[: self.known])

    def _select_messages(self, set_text: str, messages: list[StoredMessage], by_uid: bool) -> list[int]:
        """Indexes (0-based) of the messages a sequence set names."""
        ranges = parse_sequence_set(set_text)
        if by_uid:
            if not messages:
                return []
            star = messages[-1].uid
            return [i for i, m in enumerate(messages) if _in_ranges(m.uid, ranges, star)]
        if not messages:
            raise _BadCommand("no messages in the mailbox")
        for a, b in ranges:
            for value in (a, b):
                if value is not None and value > len(messages):
                    raise _BadCommand("invalid message sequence number")
        return [i for i in range(len(messages)) if _in_ranges(i + 1, ranges, len(messages))]

    # -- SEARCH

    async def cmd_search(self, tag: str, args: list[_Token], by_uid: bool = False) -> None:
        messages = self._snapshot()
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == "CHARSET":
            charset = _astring(args[1]).upper()
            if charset not in ("UTF-8", "US-ASCII"):
                await self.line(f"{tag} NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset")
                return
            args = args[2:]
        if not args:
            raise _BadCommand("SEARCH needs a criterion")
        tokens = list(args)
        tests: list[Callable[[int, StoredMessage], bool]] = []
        while tokens:
            tests.append(self._search_key(tokens, messages))
        found = [(m.uid if by_uid else i + 1) for i, m in enumerate(messages) if all(t(i, m) for t in tests)]
        await self.line("* SEARCH" + "".join(f" {n}" for n in found))
        await self.line(f"{tag} OK {'UID ' if by_uid else ''}SEARCH completed")

    def _search_key(self, tokens: list[_Token], messages: list[StoredMessage]) -> Callable[[int, StoredMessage], bool]:
        """Consume one search key from ``tokens`` and return its test (RFC 3501 §6.4.4)."""
        token = tokens.pop(0)
        if isinstance(token, list):
            inner = list(token)
            if not inner:
                raise _BadCommand("empty parenthesized search key")
            tests = []
            while inner:
                tests.append(self._search_key(inner, messages))
            return lambda i, m: all(t(i, m) for t in tests)
        if not isinstance(token, Atom):
            raise _BadCommand("expected a search key")
        key = token.upper()

        def arg() -> _Token:
            if not tokens:
                raise _BadCommand(f"{key} needs an argument")
            return tokens.pop(0)

        flag_keys = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft",
                     "FLAGGED": "\\Flagged", "SEEN": "\\Seen"}
        if key == "ALL":
            return lambda i, m: True
        if key in flag_keys:
            flag = flag_keys[key]
            return lambda i, m: flag in m.flags
        if key.startswith("UN") and key[2:] in flag_keys:
            flag = flag_keys[key[2:]]
            return lambda i, m: flag not in m.flags
        if key == "RECENT":
            return lambda i, m: m.recent
        if key == "OLD":
            return lambda i, m: not m.recent
        if key == "NEW":
            return lambda i, m: m.recent and "\\Seen" not in m.flags
        if key in ("KEYWORD", "UNKEYWORD"):
            word = _astring(arg()).lower()
            has = key == "KEYWORD"
            return lambda i, m: (word in {f.lower() for f in m.flags}) == has
        if key in ("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"):
            day = _parse_date(_astring(arg()))
            if day is None:
                raise _BadCommand(f"{key} needs a date like 1-Feb-2026")
            sent = key.startswith("SENT")
            compare = {"BEFORE": lambda d: d < day, "ON": lambda d: d == day,
                       "SINCE": lambda d: d >= day}[key.removeprefix("SENT")]

            def by_date(i: int, m: StoredMessage) -> bool:
                when = _sent_date(m) if sent else m.internaldate
                return when is not None and compare(when.date())
            return by_date
        if key in ("LARGER", "SMALLER"):
            size_text = _astring(arg())
            if not size_text.isdigit():
                raise _BadCommand(f"{key} needs a number")
            size = int(size_text)
            return (lambda i, m: len(m.raw) > size) if key == "LARGER" else (lambda i, m: len(m.raw) < size)
        if key in ("FROM", "TO", "CC", "BCC", "SUBJECT"):
            needle = _astring(arg()).lower()
            return lambda i, m: needle in _header_value(m, key).lower()
        if key == "HEADER":
            name, needle = _astring(arg()), _astring(arg()).lower()
            return lambda i, m: _has_header(m, name) and needle in _header_value(m, name).lower()
        if key in ("BODY", "TEXT"):
            needle = _astring(arg()).lower().encode("utf-8")
            part = (lambda m: m.text) if key == "BODY" else (lambda m: m.raw)
            return lambda i, m: needle in part(m).lower()
        if key == "NOT":
            test = self._search_key(tokens, messages)
            return lambda i, m: not test(i, m)
        if key == "OR":
            first = self._search_key(tokens, messages)
            second = self._search_key(tokens, messages)
            return lambda i, m: first(i, m) or second(i, m)
        if key == "UID":
            ranges = parse_sequence_set(_astring(arg()))
            star = messages[-1].uid if messages else 0
            return lambda i, m: bool(messages) and _in_ranges(m.uid, ranges, star)
        if _SEQ.match(key.split(",")[0]):
            indexes = set(self._select_messages(key, messages, by_uid=False)) if messages else set()
            return lambda i, m: i in indexes
        raise _BadCommand(f"unknown search key {key[:40]}")

    # -- FETCH

    async def cmd_fetch(self, tag: str, args: list[_Token], by_uid: bool = False) -> None:
        if len(args) != 2 or not isinstance(args[0], Atom):
            raise _BadCommand("FETCH needs a sequence set and items")
        messages = self._snapshot()
        indexes = self._select_messages(args[0], messages, by_uid)
        items_arg = args[1]
        if isinstance(items_arg, Atom):
            macros = {"ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
                      "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]}
            raw_items = macros.get(items_arg.upper(), [str(items_arg)])
        elif isinstance(items_arg, list) and items_arg and all(isinstance(x, Atom) for x in items_arg):
            raw_items = [str(x) for x in items_arg]
        else:
            raise _BadCommand("invalid FETCH items")
        items = [_FetchItem.parse(x) for x in raw_items]
        if by_uid and not any(item.name == "UID" for item in items):
            items.insert(0, _FetchItem("UID"))  # RFC 3501 §6.4.8: UID FETCH always says the UID
        for index in indexes:
            await self.send(self._fetch_one(index, messages[index], items))
        await self.line(f"{tag} OK {'UID ' if by_uid else ''}FETCH completed")

    def _fetch_one(self, index: int, message: StoredMessage, items: list[_FetchItem]) -> bytes:
        parts: list[bytes] = []
        seen_now = False
        if not self.readonly and any(item.sets_seen for item in items):
            with self.server._lock:  # the snapshot holds the stored objects: this sets the real flag
                if "\\Seen" not in message.flags:
                    message.flags.add("\\Seen")
                    seen_now = True
        for item in items:
            parts.append(item.render(message))
        if seen_now and not any(item.name == "FLAGS" for item in items):
            parts.append(_FetchItem("FLAGS").render(message))
        return b"* %d FETCH (" % (index + 1) + b" ".join(parts) + b")\r\n"


def _headers(message: StoredMessage) -> Any:
    return BytesHeaderParser(policy=compat32).parsebytes(message.header)


def _header_value(message: StoredMessage, name: str) -> str:
    values = _headers(message).get_all(name) or []
    out = []
    for value in values:
        try:
            out.append(str(email.header.make_header(email.header.decode_header(str(value)))))
        except (ValueError, LookupError, UnicodeError):
            out.append(str(value))
    return " ".join(out)


def _has_header(message: StoredMessage, name: str) -> bool:
    return _headers(message).get(name) is not None


def _sent_date(message: StoredMessage) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(_header_value(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None


_ITEM = re.compile(
    r"^(?P<name>BODY\.PEEK|BODY|BINARY\.PEEK|BINARY)\[(?P<section>[^\]]*)\](?:<(?P<start>\d+)(?:\.(?P<count>\d+))?>)?$",
    re.IGNORECASE,
)
_SIMPLE_ITEMS = frozenset({"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER",
                           "RFC822.TEXT", "ENVELOPE"})


@dataclass(frozen=True)
class _FetchItem:
    """One FETCH data item, parsed once and rendered per message."""

    name: str  # UID, FLAGS, ..., or BODY for a [section]
    peek: bool = True
    section: str = ""
    fields: tuple[str, ...] = ()
    start: int | None = None
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> _FetchItem:
        upper = text.upper()
        if upper in _SIMPLE_ITEMS:
            return cls(upper, peek=upper not in ("RFC822", "RFC822.TEXT"))
        m = _ITEM.match(text)
        if not m or m.group("name").upper().startswith("BINARY"):
            raise _BadCommand(f"unsupported FETCH item {text[:60]}")
        section = m.group("section").strip()
        fields: tuple[str, ...] = ()
        fm = re.fullmatch(r"(HEADER\.FIELDS(?:\.NOT)?)\s*\(([^)]*)\)", section, re.IGNORECASE)
        if fm:
            section = fm.group(1).upper()
            fields = tuple(f.strip('"').lower() for f in fm.group(2).split())
            if not fields:
                raise _BadCommand("HEADER.FIELDS needs field names")
        elif section.upper() in ("", "HEADER", "TEXT"):
            section = section.upper()
        else:
            raise _BadCommand(f"unsupported section {section[:40]} (the lab serves whole messages)")
        start = int(m.group("start")) if m.group("start") is not None else None
        count = int(m.group("count")) if m.group("count") is not None else None
        if count == 0:
            raise _BadCommand("a partial fetch needs a non-zero length")
        return cls("BODY", peek=m.group("name").upper() == "BODY.PEEK", section=section, fields=fields,
                   start=start, count=count)

    @property
    def sets_seen(self) -> bool:
        return not self.peek

    def render(self, m: StoredMessage) -> bytes:
        if self.name == "UID":
            return b"UID %d" % m.uid
        if self.name == "FLAGS":
            flags = sorted(m.flags) + (["\\Recent"] if m.recent else [])
            return f"FLAGS ({' '.join(flags)})".encode()
        if self.name == "INTERNALDATE":
            return f'INTERNALDATE "{format_internaldate(m.internaldate)}"'.encode()
        if self.name == "RFC822.SIZE":
            return b"RFC822.SIZE %d" % len(m.raw)
        if self.name == "ENVELOPE":
            return b"ENVELOPE " + _envelope(m)
        if self.name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            data = {"RFC822": m.raw, "RFC822.HEADER": m.header, "RFC822.TEXT": m.text}[self.name]
            return self.name.encode() + b" " + _literal(data)
        data = self._section_data(m)
        label = f"BODY[{self.section}"
        if self.fields:
            label += " (" + " ".join(f.upper() for f in self.fields) + ")"
        label += "]"
        if self.start is not None:
            label += f"<{self.start}>"
            end = None if self.count is None else self.start + self.count
            data = data[self.start : end]
        return label.encode() + b" " + _literal(data)

    def _section_data(self, m: StoredMessage) -> bytes:
        if self.section == "":
            return m.raw
        if self.section == "HEADER":
            return m.header
        if self.section == "TEXT":
            return m.text
        keep = self.section == "HEADER.FIELDS"
        lines: list[bytes] = []
        current: list[bytes] = []
        for line in m.header.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and current:
                current.append(line)
                continue
            if current:
                lines.append(b"\r\n".join(current))
            current = [line] if line else []
        if current:
            lines.append(b"\r\n".join(current))
        chosen = [ln for ln in lines
                  if (ln.split(b":", 1)[0].strip().decode("ascii", "replace").lower() in self.fields) == keep]
        return b"".join(ln + b"\r\n" for ln in chosen) + b"\r\n"


def _literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def _envelope(m: StoredMessage) -> bytes:
    """ENVELOPE (RFC 3501 §7.4.2): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id."""
    headers = _headers(m)

    def raw(name: str) -> str | None:
        value = headers.get(name)
        return None if value is None else " ".join(str(value).split())

    def addresses(name: str, fallback: str | None = None) -> bytes:
        values = headers.get_all(name) or (headers.get_all(fallback) if fallback else None)
        if not values:
            return b"NIL"
        out = []
        for display, address in email.utils.getaddresses([str(v) for v in values]):
            if not address and not display:
                continue
            local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
            out.append(b"(" + b" ".join([_nstring(display or None), b"NIL", _nstring(local or None),
                                         _nstring(domain or None)]) + b")")
        return b"(" + b"".join(out) + b")" if out else b"NIL"

    fields = [
        _nstring(raw("Date")), _nstring(raw("Subject")), addresses("From"), addresses("Sender", "From"),
        addresses("Reply-To", "From"), addresses("To"), addresses("Cc"), addresses("Bcc"),
        _nstring(raw("In-Reply-To")), _nstring(raw("Message-ID")),
    ]
    return b"(" + b" ".join(fields) + b")"
