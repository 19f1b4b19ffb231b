"""Bytes to and from one SIP proxy over UDP, TCP or TLS (RFC 3261 §18).

One transport talks to exactly one peer, the trunk's proxy, already resolved and
checked by the address policy: a probe never follows a Contact or Record-Route
somewhere else. UDP sockets are *connected*, so the kernel drops datagrams from
anyone else and reports ICMP port-unreachable as an error instead of leaving the
INVITE to time out. Stream transports frame by Content-Length and close on lost
framing.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from auditor.probes.sip.message import ParseError, SipMessage, StreamFramer, parse_message

log = logging.getLogger(__name__)

TRANSPORTS = ("udp", "tcp", "tls")
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}

MessageHandler = Callable[[SipMessage | ParseError], None]
ErrorHandler = Callable[[BaseException], None]


class SipTransport:
    """The common face of the three transports: ``send`` bytes, get messages by callback."""

    name = "UDP"
    reliable = False

    def __init__(self) -> None:
        self.on_message: MessageHandler = lambda _msg: None
        self.on_error: ErrorHandler = lambda _exc: None
        self.local: tuple[str, int] = ("0.0.0.0", 0)
        self.remote: tuple[str, int] = ("0.0.0.0", 0)
        self.closed = False
        self.bytes_sent = 0

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True

    def _deliver(self, item: SipMessage | ParseError) -> None:
        if isinstance(item, ParseError):
            log.debug("sip: dropped unparseable input from %s: %s", self.remote, item.reason)
        try:
            self.on_message(item)
        except Exception:  # a handler bug must not kill the protocol callbacks
            log.exception("sip: message handler failed")

    def _fail(self, exc: BaseException) -> None:
        if self.closed:
            return
        try:
            self.on_error(exc)
        except Exception:
            log.exception("sip: error handler failed")


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner._deliver(parse_message(data))

    def error_received(self, exc: Exception) -> None:
        self.owner._fail(exc)  # ICMP unreachable on a connected socket

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.owner._fail(exc)


class UdpTransport(SipTransport):
    name = "UDP"
    reliable = False

    def __init__(self) -> None:
        super().__init__()
        self._transport: asyncio.DatagramTransport | None = None

    def send(self, data: bytes) -> None:
        if self.closed or self._transport is None or self._transport.is_closing():
            raise ConnectionResetError("UDP transport closed")
        self._transport.sendto(data)
        self.bytes_sent += len(data)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, owner: StreamTransport) -> None:
        self.owner = owner
        self.framer = StreamFramer()

    def data_received(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            self.owner._deliver(item)
        if self.framer.broken and self.owner._transport is not None:
            self.owner._transport.close()  # framing lost: nothing after this can be trusted

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._fail(exc or ConnectionResetError("connection closed by the peer"))


class StreamTransport(SipTransport):
    name = "TCP"
    reliable = True

    def __init__(self, tls: bool = False) -> None:
        super().__init__()
        self.name = "TLS" if tls else "TCP"
        self._transport: asyncio.Transport | None = None

    def send(self, data: bytes) -> None:
        if self.closed or self._transport is None or self._transport.is_closing():
            raise ConnectionResetError(f"{self.name} connection closed")
        self._transport.write(data)
        self.bytes_sent += len(data)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


async def open_transport(
    kind: str,
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    connect_timeout: float = 5.0,
    local_host: str | None = None,
) -> SipTransport:
    """Open a transport to ``host`` (an IP address the caller has checked) and ``port``.

    Raises ``OSError`` (refused, unreachable, TLS failure) or ``TimeoutError``.
    """
    kind = kind.lower()
    loop = asyncio.get_running_loop()
    local_addr = (local_host, 0) if local_host else None
    transport: SipTransport
    if kind == "udp":
        udp = UdpTransport()
        dgram, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(udp), remote_addr=(host, port), local_addr=local_addr
        )
        udp._transport = dgram
        transport = udp
        sock_name = dgram.get_extra_info("sockname")
    elif kind in ("tcp", "tls"):
        stream = StreamTransport(tls=kind == "tls")
        if kind == "tls":
            context = ssl_context or ssl.create_default_context()
            name = server_hostname or host
        else:
            context, name = None, None
        connect = loop.create_connection(
            lambda: _StreamProtocol(stream), host, port, ssl=context, server_hostname=name,
            local_addr=local_addr,
        )
        try:
            raw, _ = await asyncio.wait_for(connect, connect_timeout)
        except ssl.SSLError as exc:
            raise ConnectionError(f"TLS handshake with {host}:{port} failed: {exc}") from exc
        stream._transport = raw
        transport = stream
        sock_name = raw.get_extra_info("sockname")
    else:
        raise ValueError(f"unknown SIP transport {kind!r} (use one of {', '.join(TRANSPORTS)})")
    transport.local = (str(sock_name[0]), int(sock_name[1]))
    transport.remote = (host, port)
    return transport
