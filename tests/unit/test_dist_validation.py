"""How a distributed run groups its validation into batches: by what each must be polite to."""

from __future__ import annotations

from collections.abc import Mapping

from auditor.dist.validation import PHONE_CHUNK, batch_item, group_points, item_points, link_host
from auditor.models import ContactPoint, Kind


def point(kind: Kind, value: str, **details: str) -> ContactPoint:
    return ContactPoint(kind, value, value, None, "text", "https://example.com/", details=details)


class Routes:
    """A stand-in for the MX lookups: domain -> first mail host's IP, and what was asked."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = table
        self.asked: list[list[str]] = []

    def __call__(self, domains: list[str]) -> dict[str, str]:
        self.asked.append(domains)
        return {d: self.table[d] for d in domains if d in self.table}


def test_addresses_of_domains_on_one_mail_host_share_a_batch() -> None:
    route = Routes({"a.example": "192.0.2.10", "b.example": "192.0.2.10", "c.example": "192.0.2.20"})
    groups = group_points([(point("email", "info@a.example"), "DE"), (point("email", "sales@b.example"), "DE"),
                           (point("email", "info@c.example"), None), (point("email", "info@a.example"), None),
                           (point("email", "x@nomail.example"), None), (point("email", "not an address"), None)],
                          route)
    values = {key: sorted(cp.value for cp, _ in batch) for key, batch in groups.items()}
    assert values["mx:192.0.2.10"] == ["info@a.example", "sales@b.example"]
    assert values["mx:192.0.2.20"] == ["info@c.example"]
    assert values["email:nomail.example"] == ["x@nomail.example"]  # no mail host: DNS alone decides, no SMTP
    assert values["email:invalid"] == ["not an address"]
    assert route.asked == [["a.example", "b.example", "c.example", "nomail.example"]]


def test_links_are_grouped_by_platform_host_and_chats_by_provider() -> None:
    groups = group_points([(point("messaging", "https://t.me/shop_a"), None),
                           (point("messaging", "https://T.me/shop_b"), None),
                           (point("form", "https://www.example.com/contact"), None),
                           (point("chat", "tawk", account_id="1"), None), (point("chat", "tawk", account_id="2"), None),
                           (point("hours", "Mo-Fr 9-17"), None)], Routes({}))
    assert {key: len(batch) for key, batch in groups.items()} == {
        "http:t.me": 2, "http:www.example.com": 1, "chat:tawk": 2}  # two accounts: two checks; hours: none
    assert link_host(point("form", "https://WWW.Example.com:8443/x")) == "http:www.example.com"


def test_phones_go_in_chunks_and_batches_travel_whole() -> None:
    phones = [(point("phone", f"+3612345{i:04d}"), "HU") for i in range(PHONE_CHUNK + 1)]
    groups = group_points(phones, Routes({}))
    assert sorted(len(b) for b in groups.values()) == [1, PHONE_CHUNK]
    key, batch = next(iter(groups.items()))
    assert item_points(batch_item(key, batch)) == (key, batch)
