"""Mail routes case by case: implicit MX outcomes, A/AAAA status mixes, limits and evidence."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import auditor.validate.email.routing as routing
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import NODATA, NXDOMAIN, OK, SERVFAIL, TIMEOUT, DnsAnswer
from auditor.validate.email.routing import MailHost, MailRoute, mail_hosts

Answers = dict[tuple[str, str], tuple[str, tuple[str, ...]]]
PUBLIC = AddressPolicy()
D = "firma.example"


class Recorded:
    """Answers from a table (NXDOMAIN for anything else), and the questions asked."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        self.asked.append((name, rdtype))
        status, records = self.answers.get((name, rdtype), (NXDOMAIN, ()))
        return DnsAnswer(name, rdtype, status, records)


def implicit(a: tuple[str, tuple[str, ...]], aaaa: tuple[str, tuple[str, ...]]) -> MailRoute:
    return mail_hosts(Recorded({(D, "MX"): (NODATA, ()), (D, "A"): a, (D, "AAAA"): aaaa}), D, PUBLIC)


@pytest.mark.parametrize(
    ("a", "aaaa", "verdict", "reason"),
    [
        ((NODATA, ()), (NODATA, ()), "inactive", "no-mail-host"),
        ((NODATA, ()), (NXDOMAIN, ()), "inactive", "no-mail-host"),
        ((SERVFAIL, ()), (NODATA, ()), "unknown", "dns-servfail"),  # the A failure is the news
        ((TIMEOUT, ()), (SERVFAIL, ()), "unknown", "dns-timeout"),  # A first
        ((NODATA, ()), (SERVFAIL, ()), "unknown", "dns-servfail"),  # then AAAA
        ((NODATA, ()), (TIMEOUT, ()), "unknown", "dns-timeout"),
        ((SERVFAIL, ()), (OK, ("2a00:1450:4001:80b::200e",)), "active", "implicit-mx"),
    ],
)
def test_implicit_mx_status_mixes(
    a: tuple[str, tuple[str, ...]], aaaa: tuple[str, tuple[str, ...]], verdict: str, reason: str
) -> None:
    route = implicit(a, aaaa)
    assert (route.verdict, route.reason, route.implicit) == (verdict, reason, True)
    assert route.domain == D


def test_implicit_mx_whose_name_vanished_is_nxdomain_without_asking_aaaa() -> None:
    stub = Recorded({(D, "MX"): (NODATA, ())})
    route = mail_hosts(stub, D, PUBLIC)
    assert (route.verdict, route.reason, route.implicit, route.hosts) == ("inactive", "nxdomain", True, ())
    assert stub.asked == [(D, "MX"), (D, "A")]


def test_implicit_mx_private_keeps_the_host_as_evidence() -> None:
    route = implicit((OK, ("10.0.0.5",)), (OK, ("fd00::5",)))
    assert (route.verdict, route.reason, route.implicit) == ("unknown", "mx-private", True)
    assert route.hosts == (MailHost(D, 0, (), ("10.0.0.5", "fd00::5"), OK),)
    assert route.targets == ()


def test_implicit_mx_host_has_preference_zero() -> None:
    route = implicit((OK, ("8.8.8.8",)), (NODATA, ()))
    assert route.hosts == (MailHost(D, 0, ("8.8.8.8",), (), OK),)


def test_mx_answer_without_records_means_implicit_mx() -> None:
    stub = Recorded({(D, "MX"): (OK, ()), (D, "A"): (OK, ("8.8.8.8",)), (D, "AAAA"): (NODATA, ())})
    route = mail_hosts(stub, D, PUBLIC)
    assert (route.verdict, route.reason, route.implicit) == ("active", "implicit-mx", True)


def test_unparsable_mx_records_are_a_dns_error_not_a_null_mx() -> None:
    stub = Recorded({(D, "MX"): (OK, ("mx.firma.example", "ten mx.firma.example."))})
    route = mail_hosts(stub, D, PUBLIC)
    assert (route.verdict, route.reason, route.hosts) == ("unknown", "dns-error", ())
    assert stub.asked == [(D, "MX")]


def test_domain_is_lowercased_and_its_root_dot_dropped() -> None:
    stub = Recorded({(D, "MX"): (OK, ("10 MX.Firma.Example.",)), ("mx.firma.example", "A"): (OK, ("8.8.8.8",))})
    route = mail_hosts(stub, "Firma.Example.", PUBLIC)
    assert route.domain == D
    assert stub.asked[0] == (D, "MX")
    assert route.hosts[0].name == "mx.firma.example"
    assert route.hosts[0].preference == 10


def test_every_answer_is_kept_in_order_as_evidence() -> None:
    stub = Recorded({
        (D, "MX"): (OK, ("10 mx.firma.example.",)),
        ("mx.firma.example", "A"): (OK, ("8.8.8.8",)),
        ("mx.firma.example", "AAAA"): (NODATA, ()),
    })
    route = mail_hosts(stub, D, PUBLIC)
    assert [(a.name, a.rdtype, a.status) for a in route.answers] == [
        (D, "MX", OK), ("mx.firma.example", "A", OK), ("mx.firma.example", "AAAA", NODATA)
    ]
    assert route.evidence()["answers"] == [a.evidence() for a in route.answers]


def test_hosts_stop_once_enough_are_usable() -> None:
    answers: Answers = {(D, "MX"): (OK, tuple(f"{n} mx{n}.firma.example." for n in range(1, 7)))}
    for n in range(1, 7):
        answers[(f"mx{n}.firma.example", "A")] = (OK, (f"8.8.8.{n}",))
        answers[(f"mx{n}.firma.example", "AAAA")] = (NODATA, ())
    route = mail_hosts(Recorded(answers), D, PUBLIC)
    assert (route.verdict, route.reason) == ("active", "mx-found")
    assert [h.name for h in route.hosts] == [f"mx{n}.firma.example" for n in range(1, 1 + routing.MAX_TARGETS)]
    assert [h.preference for h in route.hosts] == list(range(1, 1 + routing.MAX_TARGETS))


def test_a_usable_host_after_unusable_ones_still_counts() -> None:
    answers: Answers = {(D, "MX"): (OK, ("1 a.firma.example.", "2 b.firma.example.", "3 c.firma.example."))}
    answers[("a.firma.example", "A")] = (OK, ("10.0.0.1",))
    answers[("b.firma.example", "A")] = (OK, ("8.8.8.8",))
    answers[("c.firma.example", "A")] = (OK, ("8.8.4.4",))
    route = mail_hosts(Recorded(answers), D, PUBLIC)
    assert route.reason == "mx-found"
    assert route.targets == (("b.firma.example", "8.8.8.8"), ("c.firma.example", "8.8.4.4"))


def test_failed_mx_hosts_stay_in_the_route() -> None:
    temporary = mail_hosts(Recorded({
        (D, "MX"): (OK, ("10 mx.firma.example.",)),
        ("mx.firma.example", "A"): (SERVFAIL, ()),
        ("mx.firma.example", "AAAA"): (SERVFAIL, ()),
    }), D, PUBLIC)
    assert (temporary.verdict, temporary.reason) == ("unknown", "dns-servfail")
    assert [(h.name, h.status) for h in temporary.hosts] == [("mx.firma.example", SERVFAIL)]
    gone = mail_hosts(Recorded({(D, "MX"): (OK, ("10 mx.firma.example.",))}), D, PUBLIC)
    assert (gone.verdict, gone.reason) == ("inactive", "no-mail-host")
    assert [(h.name, h.status) for h in gone.hosts] == [("mx.firma.example", NXDOMAIN)]


def test_route_carries_its_start_and_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([100.0, 100.25])
    clock = SimpleNamespace(time=lambda: 1_700_000_000.0, perf_counter=lambda: next(ticks))
    monkeypatch.setattr(routing, "time", clock)
    route = mail_hosts(Recorded({(D, "MX"): (OK, ("0 .",))}), D, PUBLIC)
    assert (route.reason, route.started_at, route.duration_ms) == ("null-mx", 1_700_000_000.0, 250.0)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (MailHost("acme.example", 0, ("192.0.2.1",)), ("active", "implicit-mx", True)),
        (MailHost("acme.example", 0, (), ("10.0.0.1",)), ("unknown", "mx-private", True)),
        (MailHost("acme.example", 0, status=NXDOMAIN), ("inactive", "nxdomain", False)),
        (MailHost("acme.example", 0, status=NODATA), ("inactive", "no-mail-host", False)),
        (MailHost("acme.example", 0, status=SERVFAIL), ("unknown", routing.temporary_reason(SERVFAIL), False)),
    ],
)
def test_an_implicit_host_is_kept_as_evidence_only_when_it_has_addresses(
        host: MailHost, expected: tuple[str, str, bool]) -> None:
    assert routing.implicit_verdict(host) == expected
