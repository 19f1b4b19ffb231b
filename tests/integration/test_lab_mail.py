"""The lab's mail and TLS side: MX hosts answer as the world declares, HTTPS verifies.

Every mail host of the world is checked through the lab's own DNS (MX, then A) and
then spoken to over real SMTP on its loopback address, one behaviour at a time, so a
world file that declares "greylist" gets a server that greylists. HTTPS is checked
with and without the lab CA, by the standard library and by the auditor's own client.
"""

from __future__ import annotations

import asyncio
import http.client
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from auditor.lab import Lab, MailHost
from auditor.lab.world import MAIL_BEHAVIOURS
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.http import HttpClient

pytestmark = pytest.mark.integration

HELO = "lab-test.example"
SENDER = "probe@lab-test.example"
TIMEOUT = 2.0
# The behaviours the brief asks the world to show; "garbage" stays a unit-level server.
WORLD_BEHAVIOURS = {
    "mailboxes",
    "accept-all",
    "greylist",
    "policy",
    "too-many-rcpt",
    "tarpit",
    "drop",
    "starttls",
    "starttls-broken",
    "421",
    "silent",
    "closed",
}


def ask(lab: Lab, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(
        dns.message.make_query(name, rdtype), "127.0.0.1", port=lab.dns_port, timeout=2
    )


def records(msg: dns.message.Message, rdtype: str) -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in msg.answer if rrset.rdtype == wanted for rd in rrset)


def first_host(lab: Lab, behaviour: str) -> MailHost:
    return next(h for h in lab.world.mail_hosts if h.behaviour == behaviour)


def outsider(host: MailHost) -> str:
    """An address at the host's domain that no world mailbox list names."""
    return f"nobody-{int(time.time() * 1000) % 100000}@{host.company}"


def smtp(lab: Lab, host: MailHost) -> smtplib.SMTP:
    """A session with ``host`` as the validator would open it: its A record, the lab port."""
    assert lab.smtp_port is not None
    return smtplib.SMTP(host.ip, lab.smtp_port, local_hostname=HELO, timeout=TIMEOUT)


def rcpt(client: smtplib.SMTP, address: str) -> tuple[int, bytes]:
    client.rset()
    code, _ = client.mail(SENDER)
    assert code == 250
    return client.rcpt(address)


def no_banner_within(lab: Lab, host: MailHost, seconds: float) -> bool:
    """True when the host accepts TCP but says nothing for ``seconds``."""
    assert lab.smtp_port is not None
    with socket.create_connection((host.ip, lab.smtp_port), timeout=TIMEOUT) as sock:
        sock.settimeout(seconds)
        try:
            sock.recv(100)
        except TimeoutError:
            return True
        return False


@pytest.fixture()
def counted(lab: Lab) -> Iterator[Lab]:
    """The session lab with its SMTP counters zeroed, checked for DATA afterwards."""
    servers = lab.mail_servers
    assert servers is not None
    servers.reset_counters()
    yield lab
    assert servers.data_commands == 0


# --------------------------------------------------------------------------- DNS


def test_the_world_declares_every_behaviour(lab: Lab) -> None:
    declared = {h.behaviour for h in lab.world.mail_hosts}
    assert WORLD_BEHAVIOURS <= declared <= set(MAIL_BEHAVIOURS)
    assert lab.smtp_port and lab.smtp_port not in (lab.http_port, lab.https_port, lab.dns_port)


def test_mx_and_a_records_point_at_the_declared_hosts(lab: Lab) -> None:
    for company in lab.world.companies:
        if not company.mail:
            continue
        explicit = company.zone.names[company.domain].mx  # type: ignore[union-attr]
        mx = records(ask(lab, company.domain, "MX"), "MX")
        assert mx == sorted(f"{pref} {name}." for pref, name in explicit), company.domain
        for host in company.mail:
            assert records(ask(lab, host.name, "A"), "A") == [host.ip], host.name
            if host.implicit:  # no MX at all: the domain's own address takes the mail
                assert mx == [] and host.ip == "127.0.0.1"
            else:
                assert f"{host.preference} {host.name}." in mx
                assert ipaddress_is_private_loopback(host.ip)


def ipaddress_is_private_loopback(ip: str) -> bool:
    first, *_ = ip.split(".")
    return first == "127" and ip != "127.0.0.1"


def test_dns_failures_of_mail_domains(lab: Lab) -> None:
    assert ask(lab, "ancien.banque-leman.ch", "MX").rcode() == dns.rcode.NXDOMAIN
    assert ask(lab, "mail.voyages-azur.fr", "MX").rcode() == dns.rcode.SERVFAIL
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(
            dns.message.make_query("szamlazas.dunatelekom.hu", "MX"),
            "127.0.0.1",
            port=lab.dns_port,
            timeout=0.3,
        )
    assert records(ask(lab, "other.com.tr", "MX"), "MX") == ["0 ."]
    gone = records(ask(lab, "bank-wislany.pl", "MX"), "MX")
    assert gone == ["10 poczta.stary-operator.bank-wislany.pl."]
    assert ask(lab, "poczta.stary-operator.bank-wislany.pl", "A").rcode() == dns.rcode.NXDOMAIN


# --------------------------------------------------------------------------- SMTP


def test_mailboxes_host_knows_its_list(counted: Lab) -> None:
    host = counted.mail_host("mx1.kovacs-szerviz.hu")
    with smtp(counted, host) as client:
        code, _ = client.ehlo()
        assert code == 250
        assert rcpt(client, "ugyfelszolgalat@kovacs-szerviz.hu")[0] == 250
        code, text = rcpt(client, outsider(host))
        assert code == 550 and b"5.1.1" in text
    servers = counted.mail_servers
    assert servers is not None and servers.sessions[host.ip] == 1


def test_every_listed_mailbox_is_accepted_by_its_host(counted: Lab) -> None:
    plain = [h for h in counted.world.mail_hosts if h.behaviour in ("mailboxes", "accept-all")]
    for host in plain:
        with smtp(counted, host) as client:
            client.ehlo()
            for box in host.mailboxes:
                assert rcpt(client, box)[0] == 250, (host.name, box)


def test_accept_all_host_takes_anything(counted: Lab) -> None:
    host = first_host(counted, "accept-all")
    with smtp(counted, host) as client:
        client.ehlo()
        assert rcpt(client, outsider(host))[0] == 250


def test_greylist_defers_then_accepts(counted: Lab) -> None:
    host = counted.mail_host("mx1.pixelhry.sk")
    address = "info@pixelhry.sk"  # a mailbox the verdict run does not publish
    with smtp(counted, host) as client:
        client.ehlo()
        code, text = rcpt(client, address)
        assert code == 450 and b"Greylisted" in text
    time.sleep(counted.greylist_delay + 0.2)
    with smtp(counted, host) as client:
        client.ehlo()
        assert rcpt(client, address)[0] == 250
        assert rcpt(client, outsider(host))[0] == 450  # a new pair starts its own clock


def test_policy_host_refuses_every_recipient(counted: Lab) -> None:
    host = first_host(counted, "policy")
    with smtp(counted, host) as client:
        client.ehlo()
        code, text = rcpt(client, host.mailboxes[0])
        assert code == 554 and b"5.7.1" in text


def test_too_many_recipients_after_the_first(counted: Lab) -> None:
    host = first_host(counted, "too-many-rcpt")
    with smtp(counted, host) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(host.mailboxes[0])[0] == 250
        assert client.rcpt(host.mailboxes[1])[0] == 452


def test_starttls_is_required_then_works(counted: Lab) -> None:
    host = first_host(counted, "starttls")
    with smtp(counted, host) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert client.mail(SENDER)[0] == 530  # aiosmtpd: "Must issue a STARTTLS command first"
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # like an MTA: opportunistic, unverified
        client.starttls(context=context)
        client.ehlo()
        assert rcpt(client, host.mailboxes[0])[0] == 250


def test_broken_starttls_breaks_the_handshake(counted: Lab) -> None:
    host = first_host(counted, "starttls-broken")
    with smtp(counted, host) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError)):
            client.starttls(context=context)


def test_421_at_connect(counted: Lab) -> None:
    host = first_host(counted, "421")
    with pytest.raises(smtplib.SMTPConnectError) as info:
        smtp(counted, host)
    assert info.value.smtp_code == 421


def test_drop_hangs_up_at_mail_from(counted: Lab) -> None:
    host = first_host(counted, "drop")
    with smtp(counted, host) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.mail(SENDER)


def test_tarpit_and_silent_hosts_withhold_the_banner(counted: Lab) -> None:
    for behaviour in ("tarpit", "silent"):
        assert no_banner_within(counted, first_host(counted, behaviour), 0.5), behaviour
    assert counted.tarpit_delay > 3  # longer than the verdict run's SMTP timeout


def test_closed_host_refuses_the_connection(lab: Lab) -> None:
    host = first_host(lab, "closed")
    assert lab.smtp_port is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host.ip, lab.smtp_port), timeout=TIMEOUT).close()


def test_implicit_mx_host_listens_on_the_web_address(counted: Lab) -> None:
    host = counted.mail_host("teashop.co.uk")
    assert host.implicit and host.ip == "127.0.0.1"
    with smtp(counted, host) as client:
        client.ehlo()
        assert rcpt(client, "hello@teashop.co.uk")[0] == 250
        assert rcpt(client, "hello@kovacs-szerviz.hu")[0] == 550  # mailboxes are full addresses


# --------------------------------------------------------------------------- HTTPS


def https_get(lab: Lab, host: str, path: str, context: ssl.SSLContext) -> tuple[int, bytes]:
    """GET over the lab's TLS port with SNI and Host set to ``host`` (as a browser would)."""
    raw = socket.create_connection(("127.0.0.1", lab.https_port), timeout=5)
    conn = http.client.HTTPSConnection(host, lab.https_port, timeout=5, context=context)
    try:
        conn.sock = context.wrap_socket(raw, server_hostname=host)
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_https_verifies_with_the_lab_ca(lab: Lab) -> None:
    context = ssl.create_default_context(cafile=lab.ca_file)
    status, body = https_get(lab, "t.me", "/pixelhry", context)
    assert status == 200 and b"tgme_page_title" in body
    status, body = https_get(lab, "code.tidio.co", "/k3x9q2w8e7r6t5y4u3i2o1p0asdfghjk.js", context)
    assert status == 200 and b"tidioChatApi" in body
    status, body = https_get(lab, "www.pasticceria-rossi.it", "/contatti", context)
    assert status == 200 and b"info@pasticceria-rossi.it" in body  # company sites too
    assert https_get(lab, "code.jivosite.com", "/widget/Kq8Wn2Rt5Y", context)[0] == 404
    assert any(r.scheme == "https" and r.host == "t.me" for r in lab.requests)


def test_https_fails_without_the_lab_ca_or_for_other_names(lab: Lab) -> None:
    before = lab.https_server.handshake_failures
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(lab, "t.me", "/pixelhry", ssl.create_default_context())  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(lab, "example.com", "/", ssl.create_default_context(cafile=lab.ca_file))
    deadline = time.monotonic() + 2
    while lab.https_server.handshake_failures < before + 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lab.https_server.handshake_failures >= before + 2


def test_auditor_http_client_with_the_lab_network_options(lab: Lab) -> None:
    options = lab.network_options()
    assert options.http_port_overrides == {"http": lab.http_port, "https": lab.https_port}
    assert options.ca_file == lab.ca_file
    assert set(lab.env()) == {"AUDITOR_HTTP_PORT_OVERRIDES", "AUDITOR_CA_FILE"}

    async def fetch(url: str, ca_file: str | None) -> tuple[int | None, str | None, bool | None]:
        async with HttpClient(
            DnsResolver(lab.nameserver, 2.0),
            AddressPolicy(allow_private=True),
            user_agent="lab-test/1.0",
            timeout=5,
            max_tries=1,
            port_overrides=options.http_port_overrides,
            ca_file=ca_file,
        ) as client:
            result = await client.fetch(url)
            return result.status, result.error, result.tls_ok

    assert asyncio.run(fetch("https://t.me/carpatinet", options.ca_file)) == (200, None, True)
    status, error, tls_ok = asyncio.run(fetch("https://t.me/carpatinet", None))
    assert (status, error, tls_ok) == (None, "tls-error", False)
    # Platform names resolve through the lab DNS only, to the lab's web address.
    assert records(ask(lab, "embed.tawk.to", "A"), "A") == ["127.0.0.1"]
    assert ask(lab, "telegram.org", "A").rcode() == dns.rcode.REFUSED
