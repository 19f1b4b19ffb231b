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

from auditor.lab.imap.mailbox import StoredMessage, format_internaldate, parse_internaldate
from auditor.lab.imap.server import LabImapServer

__all__ = ["LabImapServer", "StoredMessage", "format_internaldate", "parse_internaldate"]
