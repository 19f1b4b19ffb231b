"""The lab's DNS server: authoritative for every zone of the world, nothing else.

Real DNS wire protocol over UDP and TCP on one loopback port, so the resolver code
under test runs unchanged against it. Names outside the world get REFUSED (never
recursion: the lab must not lead anything to the real Internet). Per-zone or
per-name behaviours simulate broken DNS: NXDOMAIN, SERVFAIL, or silence (timeout);
a ``huge`` name answers MX and TXT queries with hundreds of records (~30 and ~60 KB,
too big for UDP: the client must retry over TCP); its addresses stay as declared. CNAME loops end in SERVFAIL after
:data:`MAX_CNAME_CHAIN` steps, as a real server's would.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import Counter
from typing import Any, Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rrset

from auditor.lab.world import NameRecords, Zone

IN = dns.rdataclass.IN
T = dns.rdatatype
MAX_CNAME_CHAIN = 8
NEGATIVE_TTL = 60
TCP_SILENCE = 30.0  # how long a 'timeout' name keeps a TCP client waiting
HUGE_COUNTS = {"MX": 1200, "TXT": 220}  # records of a 'huge' answer (< 64 KiB)


class Zones(Protocol):
    """What the server answers from: a :class:`~auditor.lab.world.World`, or a test's own zones."""

    def zone_for(self, name: str) -> Zone | None: ...


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text if text.endswith(".") else text + ".")


class Authority:
    """Builds answers from the world's zones; pure, so it is testable without sockets."""

    def __init__(self, world: Zones) -> None:
        self.world = world
        self._lock = threading.Lock()
        self.queries: Counter[tuple[str, str]] = Counter()

    def count(self, name: str, rdtype: str) -> None:
        with self._lock:
            self.queries[(name, rdtype)] += 1

    def counts(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.queries)

    def reset(self) -> None:
        with self._lock:
            self.queries.clear()

    def total(self) -> int:
        """Every query that arrived (answered, refused or left unanswered)."""
        with self._lock:
            return sum(self.queries.values())

    def answer(self, wire: bytes, udp: bool = False) -> bytes | None:
        """The response to one query in wire format; None means stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return _formerr(wire)
        response = dns.message.make_response(query)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.count(name, T.to_text(question.rdtype))
        zone = self.world.zone_for(name)
        if zone is None or question.rdclass != IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        if not self._resolve(response, zone, name, question.rdtype):
            return None
        max_size = 65535
        if udp:  # RFC 1035 / 6891: 512 bytes unless the client's EDNS says more
            max_size = max(512, query.payload) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            # Too big for UDP: the client must retry over TCP.
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    def _resolve(self, response: dns.message.Message, zone: Zone, name: str, rdtype: int) -> bool:
        """Fill ``response`` for ``name``; False when the query must go unanswered."""
        for _ in range(MAX_CNAME_CHAIN):
            behaviour = zone.behaviour
            records = zone.names.get(name)
            if records is not None and records.behaviour:
                behaviour = records.behaviour
            if behaviour == "timeout":
                return False
            if behaviour == "servfail":
                response.flags &= ~dns.flags.AA
                response.set_rcode(dns.rcode.SERVFAIL)
                return True
            if behaviour == "nxdomain" or records is None:
                exists = behaviour != "nxdomain" and any(n.endswith("." + name) for n in zone.names)
                if not exists:  # an empty non-terminal is NODATA, anything else NXDOMAIN
                    response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(_soa(zone))
                return True
            if records.cname and rdtype not in (T.CNAME, T.ANY):
                response.answer.append(_rrset(name, zone.ttl, [_rd_cname(records.cname)]))
                target_zone = self.world.zone_for(records.cname)
                if target_zone is None:
                    return True  # out of the world: the client resolves it elsewhere (or not)
                zone, name = target_zone, records.cname
                continue
            rrsets = self._rrsets(zone, name, records, rdtype)
            if rrsets:
                response.answer.extend(rrsets)
            else:
                response.authority.append(_soa(zone))
            return True
        response.set_rcode(dns.rcode.SERVFAIL)
        return True

    def _rrsets(
        self, zone: Zone, name: str, records: NameRecords, rdtype: int
    ) -> list[dns.rrset.RRset]:
        if records.behaviour == "huge" and rdtype in (T.MX, T.TXT):
            return _huge(zone, name, rdtype)
        data: dict[int, list[dns.rdata.Rdata]] = {
            T.A: [dns.rdtypes.IN.A.A(IN, T.A, a) for a in records.a],
            T.AAAA: [dns.rdtypes.IN.AAAA.AAAA(IN, T.AAAA, a) for a in records.aaaa],
            T.MX: [dns.rdtypes.ANY.MX.MX(IN, T.MX, pref, _name(host)) for pref, host in records.mx],
            T.TXT: [dns.rdtypes.ANY.TXT.TXT(IN, T.TXT, _chunks(text)) for text in records.txt],
            T.CNAME: [_rd_cname(records.cname)] if records.cname else [],
        }
        if name == zone.origin:
            data[T.SOA] = list(_soa(zone))
            data[T.NS] = [dns.rdtypes.ANY.NS.NS(IN, T.NS, _name(f"ns1.{zone.origin}"))]
        wanted = list(data) if rdtype == T.ANY else [rdtype]
        return [_rrset(name, zone.ttl, data[t]) for t in wanted if data.get(t)]


def _huge(zone: Zone, name: str, rdtype: int) -> list[dns.rrset.RRset]:
    """Hundreds of records; the most preferred MX (mx1, preference 0) is the real one."""
    rdatas: list[dns.rdata.Rdata]
    if rdtype == T.MX:
        hosts = [f"mx{i}.{zone.origin}" for i in range(1, HUGE_COUNTS["MX"] + 1)]
        rdatas = [dns.rdtypes.ANY.MX.MX(IN, T.MX, i, _name(h)) for i, h in enumerate(hosts)]
    else:
        rdatas = [
            dns.rdtypes.ANY.TXT.TXT(IN, T.TXT, [f"{i:04d}".encode() + b"x" * 250])
            for i in range(HUGE_COUNTS["TXT"])
        ]
    return [_rrset(name, zone.ttl, rdatas)]


def _rd_cname(target: str) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.CNAME.CNAME(IN, T.CNAME, _name(target))


def _rrset(name: str, ttl: int, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(_name(name), ttl, rdatas)


def _soa(zone: Zone) -> dns.rrset.RRset:
    soa = dns.rdtypes.ANY.SOA.SOA(
        IN,
        T.SOA,
        _name(f"ns1.{zone.origin}"),
        _name(f"hostmaster.{zone.origin}"),
        2024010101,
        3600,
        600,
        86400,
        NEGATIVE_TTL,
    )
    return _rrset(zone.origin, NEGATIVE_TTL, [soa])


def _chunks(text: str) -> list[bytes]:
    """A TXT string longer than 255 bytes is sent as several character-strings."""
    raw = text.encode()
    return [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]


def _formerr(wire: bytes) -> bytes | None:
    """FORMERR echoing the query id, or silence when not even a header came."""
    if len(wire) < 12:
        return None
    (qid,) = struct.unpack("!H", wire[:2])
    msg = dns.message.Message(id=qid)
    msg.flags = dns.flags.QR
    msg.set_rcode(dns.rcode.FORMERR)
    return msg.to_wire()


# --------------------------------------------------------------------------- sockets


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.authority.answer(data, udp=True)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(10)
        try:
            while True:
                head = _recv_exactly(conn, 2)
                if head is None:
                    return
                (length,) = struct.unpack("!H", head)
                data = _recv_exactly(conn, length)
                if data is None:
                    return
                reply = self.server.authority.answer(data)
                if reply is None:
                    # Hold the connection open without a word, as a dead server would.
                    self.server.stopping.wait(TCP_SILENCE)
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    buf = b""
    while len(buf) < size:
        chunk = conn.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    authority: Authority


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    authority: Authority
    stopping: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing early is not an error worth a traceback."""


class LabDNSServer:
    """UDP and TCP listeners on the same loopback port, sharing one Authority."""

    def __init__(self, world: Zones, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world
        self.host = host
        self.requested_port = port
        self.authority = Authority(world)
        self._stopping = threading.Event()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []

    @property
    def queries(self) -> Counter[tuple[str, str]]:
        """(name, type) -> how many queries came; a copy, safe to read while serving."""
        return self.authority.counts()

    def clear_queries(self) -> None:
        self.authority.reset()

    @property
    def port(self) -> int:
        if not self._servers:
            raise RuntimeError("the DNS server is not running")
        address = self._servers[0].server_address
        assert isinstance(address, tuple)
        return int(address[1])

    def start(self) -> LabDNSServer:
        udp, tcp = self._bind()
        self._stopping.clear()
        for server in (udp, tcp):
            server.authority = self.authority
        tcp.stopping = self._stopping
        self._servers = [udp, tcp]
        for server, label in ((udp, "udp"), (tcp, "tcp")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"lab-dns-{label}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _bind(self) -> tuple[_UDPServer, _TCPServer]:
        """UDP first (port 0 picks one), then TCP on the same number; retry on a clash."""
        attempts = 1 if self.requested_port else 20
        last: OSError | None = None
        for _ in range(attempts):
            udp = _UDPServer((self.host, self.requested_port), _UDPHandler)
            port = udp.server_address[1]
            try:
                tcp = _TCPServer((self.host, port), _TCPHandler)
            except OSError as exc:
                udp.server_close()
                last = exc
                continue
            return udp, tcp
        raise OSError(f"no port free for both UDP and TCP on {self.host}: {last}")

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._servers = []
        self._threads = []
