"""A minimal DNS server on 127.0.0.1 for tests that need only a few A records.

Answers A for ``names``, NXDOMAIN for ``nxdomain`` and REFUSED for everything else, so a
test's client can reach nothing but loopback. Tests that need real zones use the lab's DNS.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Mapping

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def serve_names(
    names: Mapping[str, str], stop: threading.Event, nxdomain: Iterable[str] = ()
) -> tuple[socket.socket, threading.Thread]:
    """Start answering on a free UDP port until ``stop`` is set; close the socket after."""
    missing = frozenset(nxdomain)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            if name in names:
                if question.rdtype == dns.rdatatype.A:
                    reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", names[name]))
            elif name in missing:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            else:
                reply.set_rcode(dns.rcode.REFUSED)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, thread
