"""One IMAP connection: the RFC 3501 state machine, command by command, over a stream."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.lab.imap.fetch import FetchItem
from auditor.lab.imap.mailbox import Folder, StoredMessage, folder_key, parse_internaldate
from auditor.lab.imap.search import search_test, select_messages
from auditor.lab.imap.syntax import LITERAL_MARK, Atom, BadCommand, Token, astring, quote, tokenize

if TYPE_CHECKING:
    from auditor.lab.imap.server import LabImapServer

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


class Bye(Exception):
    """End the session after the given untagged BYE has been sent."""


class Session:
    """One connection: the RFC 3501 state machine over a stream."""

    def __init__(self, server: LabImapServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.state = "NONAUTH"
        self.user: str | None = None
        self.folder: Folder | None = None
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
            raise Bye() from None
        except asyncio.LimitOverrunError:
            await self.line("* BYE Line too long")
            raise Bye() from None
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
                raise Bye()
            text = raw.decode("utf-8", "surrogateescape")
            if LITERAL_MARK in text:
                text = LITERAL_MARK
            m = re.search(r"\{(\d+)(\+?)\}$", text)
            if m is None:
                parts.append(text)
                return "".join(parts), literals
            size, plus = int(m.group(1)), bool(m.group(2))
            if size > MAX_LITERAL:
                tag = (parts[0] if parts else text).split(" ", 1)[0] or "*"
                await self.line(f"{tag} BAD Literal too large")
                if plus:
                    raise Bye()  # the client is sending it anyway: the stream cannot be resynchronized
                return "", []
            if not plus:
                await self.line("+ Ready for literal data")
            try:
                data = await asyncio.wait_for(self.reader.readexactly(size), self.server.idle_timeout)
            except TimeoutError:
                await self.line("* BYE Autologout; idle for too long")
                raise Bye() from None
            parts.append(text[: m.start()] + LITERAL_MARK)
            literals.append(data)

    # ---------------------------------------------------------------- main loop

    async def run(self) -> None:
        await self.line(f"* OK [CAPABILITY {CAPABILITIES}] {self.server.hostname} lab IMAP ready")
        try:
            while True:
                text, literals = await self.read_command()
                if not text.strip():
                    continue
                if text == LITERAL_MARK and not literals:
                    await self.bad("*", "NUL in command")
                    continue
                if await self.dispatch(text, literals):
                    return
        except Bye:
            return

    async def bad(self, tag: str, message: str) -> None:
        self.bad_in_row += 1
        with self.server._lock:
            self.server.bad_commands += 1
        await self.line(f"{tag} BAD {message}")
        if self.bad_in_row >= MAX_BAD:
            await self.line("* BYE Too many invalid commands")
            raise Bye()

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
        except BadCommand as exc:
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
        handler: Callable[[str, list[Token]], Any] = getattr(self, f"cmd_{name.lower()}")
        try:
            if self.state == "SELECTED":
                await self.announce()
            done = await handler(tag, args)
        except BadCommand as exc:
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

    async def cmd_capability(self, tag: str, args: list[Token]) -> None:
        if args:
            raise BadCommand("CAPABILITY takes no arguments")
        await self.line(f"* CAPABILITY {CAPABILITIES}")
        await self.line(f"{tag} OK CAPABILITY completed")

    async def cmd_noop(self, tag: str, args: list[Token]) -> None:
        await self.line(f"{tag} OK NOOP completed")

    async def cmd_logout(self, tag: str, args: list[Token]) -> bool:
        await self.line("* BYE Logging out")
        await self.line(f"{tag} OK LOGOUT completed")
        return True

    # ---------------------------------------------------------------- not authenticated

    async def cmd_starttls(self, tag: str, args: list[Token]) -> None:
        raise BadCommand("STARTTLS is not offered by the lab server")

    async def cmd_login(self, tag: str, args: list[Token]) -> None:
        if len(args) != 2:
            raise BadCommand("LOGIN needs a user name and a password")
        await self.login(tag, astring(args[0]), astring(args[1]), "LOGIN")

    async def cmd_authenticate(self, tag: str, args: list[Token]) -> None:
        if not args or not isinstance(args[0], Atom) or len(args) > 2:
            raise BadCommand("AUTHENTICATE needs a mechanism")
        if args[0].upper() != "PLAIN":
            await self.line(f"{tag} NO [CANNOT] Unsupported authentication mechanism")
            return
        if len(args) == 2:  # an initial response (RFC 4959), tolerated
            answer = astring(args[1]).encode()
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

    def _find(self, name: str) -> Folder | None:
        assert self.user is not None
        with self.server._lock:
            return self.server._user_boxes(self.user).get(folder_key(name))

    async def cmd_select(self, tag: str, args: list[Token], readonly: bool = False) -> None:
        command = "EXAMINE" if readonly else "SELECT"
        if len(args) != 1:
            raise BadCommand(f"{command} needs one mailbox name")
        folder = self._find(astring(args[0]))
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

    async def cmd_examine(self, tag: str, args: list[Token]) -> None:
        await self.cmd_select(tag, args, readonly=True)

    async def cmd_status(self, tag: str, args: list[Token]) -> None:
        if len(args) != 2 or not isinstance(args[1], list) or not args[1]:
            raise BadCommand("STATUS needs a mailbox and a list of items")
        name = astring(args[0])
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
            key = astring(item).upper()
            if key not in values:
                raise BadCommand(f"unknown STATUS item {key[:40]}")
            items.append(f"{key} {values[key]}")
        await self.line(f"* STATUS {quote(folder.name)} ({' '.join(items)})")
        await self.line(f"{tag} OK STATUS completed")

    async def cmd_list(self, tag: str, args: list[Token], command: str = "LIST") -> None:
        if len(args) != 2:
            raise BadCommand(f"{command} needs a reference and a pattern")
        reference, pattern = astring(args[0]), astring(args[1])
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
                await self.line(f'* {command} (\\HasNoChildren) "/" {quote(name)}')
        await self.line(f"{tag} OK {command} completed")

    async def cmd_lsub(self, tag: str, args: list[Token]) -> None:
        await self.cmd_list(tag, args, "LSUB")  # every folder counts as subscribed

    async def cmd_append(self, tag: str, args: list[Token]) -> None:
        if len(args) < 2 or not isinstance(args[-1], bytes):
            raise BadCommand("APPEND needs a mailbox and a message literal")
        folder = self._find(astring(args[0]))
        flags: list[str] = []
        when: datetime | None = None
        for extra in args[1:-1]:
            if isinstance(extra, list) and not flags:
                flags = [astring(f) for f in extra]
                if any(f.startswith("\\") and f.title() not in SYSTEM_FLAGS for f in flags):
                    raise BadCommand("unknown system flag")
            elif isinstance(extra, bytes) and when is None:
                when = parse_internaldate(extra.decode("ascii", "replace"))
                if when is None:
                    raise BadCommand("invalid date-time")
            else:
                raise BadCommand("unexpected APPEND argument")
        if folder is None:
            await self.line(f"{tag} NO [TRYCREATE] Mailbox does not exist")
            return
        assert self.user is not None
        self.server.append(self.user, args[-1], when, folder.name, [f.title() for f in flags])
        await self.line(f"{tag} OK APPEND completed")

    # ---------------------------------------------------------------- selected

    async def cmd_check(self, tag: str, args: list[Token]) -> None:
        await self.line(f"{tag} OK CHECK completed")

    async def cmd_close(self, tag: str, args: list[Token]) -> None:
        # Nothing can carry \Deleted (no STORE), so there is nothing to expunge.
        self.folder, self.state = None, "AUTH"
        await self.line(f"{tag} OK CLOSE completed")

    async def cmd_unselect(self, tag: str, args: list[Token]) -> None:
        self.folder, self.state = None, "AUTH"
        await self.line(f"{tag} OK UNSELECT completed")

    async def cmd_uid(self, tag: str, args: list[Token]) -> None:
        if not args or not isinstance(args[0], Atom):
            raise BadCommand("UID needs a command")
        sub = args[0].upper()
        if sub == "SEARCH":
            await self.cmd_search(tag, args[1:], by_uid=True)
        elif sub == "FETCH":
            await self.cmd_fetch(tag, args[1:], by_uid=True)
        elif sub in ("STORE", "COPY", "MOVE", "EXPUNGE"):
            await self.line(f"{tag} NO [CANNOT] UID {sub} is not supported by the lab server")
        else:
            raise BadCommand(f"unknown UID command {sub[:40]}")

    def _snapshot(self) -> list[StoredMessage]:
        """The messages this session knows of: sequence numbers stay what it was told."""
        assert self.folder is not None
        with self.server._lock:
            return list(self.folder.messages[: self.known])

    # -- SEARCH

    async def cmd_search(self, tag: str, args: list[Token], by_uid: bool = False) -> None:
        messages = self._snapshot()
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == "CHARSET":
            charset = astring(args[1]).upper()
            if charset not in ("UTF-8", "US-ASCII"):
                await self.line(f"{tag} NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset")
                return
            args = args[2:]
        if not args:
            raise BadCommand("SEARCH needs a criterion")
        test = search_test(args, messages)
        found = [(m.uid if by_uid else i + 1) for i, m in enumerate(messages) if test(i, m)]
        await self.line("* SEARCH" + "".join(f" {n}" for n in found))
        await self.line(f"{tag} OK {'UID ' if by_uid else ''}SEARCH completed")

    # -- FETCH

    async def cmd_fetch(self, tag: str, args: list[Token], by_uid: bool = False) -> None:
        if len(args) != 2 or not isinstance(args[0], Atom):
            raise BadCommand("FETCH needs a sequence set and items")
        messages = self._snapshot()
        indexes = select_messages(args[0], messages, by_uid)
        items_arg = args[1]
        if isinstance(items_arg, Atom):
            macros = {"ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
                      "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]}
            raw_items = macros.get(items_arg.upper(), [str(items_arg)])
        elif isinstance(items_arg, list) and items_arg and all(isinstance(x, Atom) for x in items_arg):
            raw_items = [str(x) for x in items_arg]
        else:
            raise BadCommand("invalid FETCH items")
        items = [FetchItem.parse(x) for x in raw_items]
        if by_uid and not any(item.name == "UID" for item in items):
            items.insert(0, FetchItem("UID"))  # RFC 3501 §6.4.8: UID FETCH always says the UID
        for index in indexes:
            await self.send(self._fetch_one(index, messages[index], items))
        await self.line(f"{tag} OK {'UID ' if by_uid else ''}FETCH completed")

    def _fetch_one(self, index: int, message: StoredMessage, items: list[FetchItem]) -> bytes:
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
            parts.append(FetchItem("FLAGS").render(message))
        return b"* %d FETCH (" % (index + 1) + b" ".join(parts) + b")\r\n"


