"""The one DNS stub of the tests and benchmarks: the lab's real DNS server on a few records.

Tests that need a handful of names (not a whole lab world) describe them as a dict
and get :class:`~auditor.lab.dns.LabDNSServer` serving them, with its query counter::

    with serve_records({"mx.shop.example": {"A": ["127.0.0.2"]},
                        "shop.example": {"MX": ["10 mx.shop.example."]}},
                       behaviours={"slow.example": "timeout"}) as dns:
        resolver = DnsResolver(f"127.0.0.1:{dns.port}")

Each name falls in a zone named after its top-level label (``example``, ``test``):
a name under such a zone that is not listed is NXDOMAIN, a listed name without
the asked type is NODATA, and anything under another top-level label is REFUSED,
so a test's client can reach nothing but what the test declared. Behaviours are
the lab's (``nxdomain``, ``servfail``, ``timeout``, ``huge``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from auditor.lab.dns import LabDNSServer
from auditor.lab.world import NameRecords, Zone

Records = Mapping[str, Mapping[str, Sequence[str]]]  # name -> {"A": [...], "MX": ["10 host."], ...}


def _mx(record: str) -> tuple[int, str]:
    preference, _, host = record.strip().partition(" ")
    host = host.strip().lower()
    return int(preference), host if host == "." else host.rstrip(".")


def name_records(data: Mapping[str, Sequence[str]], behaviour: str | None = None) -> NameRecords:
    """One name's records from ``{"A": [...], "AAAA": [...], "MX": [...], "TXT": [...], "CNAME": [...]}``."""
    unknown = set(data) - {"A", "AAAA", "MX", "TXT", "CNAME"}
    if unknown:
        raise ValueError(f"record types the stub does not serve: {', '.join(sorted(unknown))}")
    cname = list(data.get("CNAME", ()))
    return NameRecords(
        a=tuple(data.get("A", ())),
        aaaa=tuple(data.get("AAAA", ())),
        mx=tuple(_mx(r) for r in data.get("MX", ())),
        txt=tuple(data.get("TXT", ())),
        cname=cname[0].lower().rstrip(".") if cname else None,
        behaviour=behaviour,
    )


@dataclass
class RecordZones:
    """Zones built from a dict of records, one per top-level label; what LabDNSServer reads."""

    zones: dict[str, Zone] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Records, behaviours: Mapping[str, str] | None = None) -> RecordZones:
        behaviours = {k.lower().rstrip("."): v for k, v in (behaviours or {}).items()}
        names: dict[str, dict[str, NameRecords]] = {}
        for raw in {**dict.fromkeys(records), **dict.fromkeys(behaviours)}:
            name = raw.lower().rstrip(".")
            origin = name.rpartition(".")[2]
            names.setdefault(origin, {})[name] = name_records(records.get(raw, {}), behaviours.get(name))
        return cls({origin: Zone(origin=origin, names=found, ttl=60) for origin, found in names.items()})

    def zone_for(self, name: str) -> Zone | None:
        return self.zones.get(name.lower().rstrip(".").rpartition(".")[2])


@contextmanager
def serve_records(records: Records, behaviours: Mapping[str, str] | None = None) -> Iterator[LabDNSServer]:
    """The lab DNS server answering ``records`` on a free loopback port until the block ends."""
    server = LabDNSServer(RecordZones.of(records, behaviours)).start()
    try:
        yield server
    finally:
        server.stop()


def a_records(names: Mapping[str, str], nxdomain: Sequence[str] = ()) -> RecordZones:
    """Zones for tests that need only A records (``{"site.test": "127.0.0.1"}``) and some NXDOMAINs."""
    return RecordZones.of({name: {"A": [ip]} for name, ip in names.items()},
                          dict.fromkeys(nxdomain, "nxdomain"))
