"""The project's resolver against dnsmasq, the DNS server many networks run."""

from auditor.net.resolver import NODATA, NXDOMAIN, OK, DnsResolver
from tests.support.servers import dnsmasq

ZONE = [
    "--local=/conformance.test/",
    "--mx-host=conformance.test,mx.conformance.test,10",
    "--mx-host=conformance.test,mx2.conformance.test,20",
    "--host-record=mx.conformance.test,127.0.0.1",
    "--mx-host=nullmx.conformance.test,.,0",
    "--host-record=nomx.conformance.test,127.0.0.1",
]


def test_mx_null_mx_nodata_nxdomain_against_dnsmasq() -> None:
    with dnsmasq(ZONE) as nameserver:
        resolver = DnsResolver(nameserver, timeout=3)
        mx = resolver.query("conformance.test", "MX")
        assert mx.status == OK
        assert sorted(mx.records) == ["10 mx.conformance.test.", "20 mx2.conformance.test."]
        assert resolver.query("nullmx.conformance.test", "MX").records == ("0 .",)
        assert resolver.query("nomx.conformance.test", "MX").status == NODATA
        assert resolver.addresses("nomx.conformance.test")[0] == ["127.0.0.1"]
        assert resolver.query("missing.conformance.test", "A").status == NXDOMAIN
        before = resolver.queries_sent
        resolver.query("conformance.test", "MX")
        assert resolver.queries_sent == before, "a second lookup of the same name must come from the cache"
