"""The store, on SQLite and on PostgreSQL: dedupe with sightings kept, idempotent per-company writes, resume."""

from pathlib import Path

from auditor.models import (
    Check,
    Company,
    CompanyResult,
    ContactPoint,
    Failure,
    InputError,
    PageRecord,
    Verdict,
)
from auditor.store import open_store


def _cp(value: str, page: str, label: str | None = None, method: str = "text") -> ContactPoint:
    return ContactPoint("phone", value, value, label, method, page, "ctx")


def test_dedupe_keeps_every_sighting_and_is_idempotent(store_target: str | Path) -> None:
    store = open_store(store_target)
    store.start_run({"a": 1}, "0")
    company = Company(2, "Acme", "https://acme.hu/", "HU")
    store.register_companies([company, Company(3, "B", "https://b.hu/")])
    result = CompanyResult(
        company,
        pages=(PageRecord("https://acme.hu/", 200),),
        contacts=(
            _cp("+3612345678", "https://acme.hu/"),
            _cp("+3612345678", "https://acme.hu/kapcsolat", "hotline", "tel-link"),
            _cp("+3612345679", "https://acme.hu/kapcsolat", "fax"),
        ),
        failures=(Failure("page-budget-reached", "x"),),
    )
    store.save_company(result)
    store.save_company(result)  # a retry after a crash must not duplicate
    results = list(store.results())
    acme = next(r for r in results if r.company.key == company.key)
    assert [(c.value, c.label, c.method) for c in acme.contacts] == [
        ("+3612345678", "hotline", "tel-link"),
        ("+3612345679", "fax", "text"),
    ]
    assert len(store.sightings(company.key)) == 3
    assert len(acme.pages) == 1 and len(acme.failures) == 1
    assert store.done_keys() == {company.key}
    store.close()
    # resume: the run is found again and only the unfinished company is left
    store = open_store(store_target)
    store.start_run({}, "0", resume=True)
    assert {c.key for c in store.companies()} - store.done_keys() == {"3:https://b.hu/"}
    store.close()


def test_runs_input_errors_and_a_fresh_run(store_target: str | Path) -> None:
    store = open_store(store_target)
    assert store.run_info() == {}
    first = store.start_run({"b": 2, "a": [1]}, "1.0")
    store.save_input_errors([InputError(5, "bad-url", "https://user:secret@x.test/ is bad",
                                        "x,https://user:secret@x.test/")])
    store.register_companies([Company(1, "A", "https://a.test/")])
    store.finish_run({"companies": 1})
    info = store.run_info()
    assert (info["id"], info["version"], info["settings"], info["summary"]) == (
        first, "1.0", {"a": [1], "b": 2}, {"companies": 1})
    assert info["finished"] >= info["started"] > 0
    (err,) = store.input_errors()
    assert (err.row, err.tag) == (5, "bad-url") and "secret" not in err.message + err.raw
    # resume clears the finish mark; a new run starts from nothing
    assert store.start_run({}, "1.0", resume=True) == first and store.run_info()["finished"] is None
    second = store.start_run({}, "1.1")
    assert second > first
    assert store.companies() == [] and store.input_errors() == [] and store.run_info()["version"] == "1.1"
    store.close()


def test_results_read_back_in_stored_order_and_bytewise_value_order(store_target: str | Path) -> None:
    store = open_store(store_target)
    store.start_run({}, "0")
    late, early = Company(9, "Late", "https://late.test/"), Company(1, "Early", "https://early.test/", "DE",
                                                                   "retail", "de")
    store.register_companies([late, early, early])  # registering twice keeps one
    emails = ["b@x.test", "B@x.test", "a-b@x.test", "a_b@x.test", "a.b@x.test", "ä@x.test"]
    urls = ["https://early.test/z", "https://early.test/a", "https://early.test/m"]
    store.save_company(CompanyResult(
        early,
        pages=tuple(PageRecord(u, 200, None, "", 1, 0.5, 12.5, 100) for u in urls),
        contacts=tuple(ContactPoint("email", e, e, None, "mailto", urls[0], "c", 0.9, {"n": i})
                       for i, e in enumerate(emails)),
        failures=(Failure("z-tag", "m1", "u1"), Failure("a-tag", "m2")),
        external_links=("https://z.test/", "https://a.test/"),
        status="partial",
    ))
    results = list(store.results())
    assert [r.company for r in results] == [early, late]
    got = results[0]
    assert [p.url for p in got.pages] == urls and got.pages[0] == PageRecord(urls[0], 200, None, "", 1, 0.5, 12.5, 100)
    assert [c.value for c in got.contacts] == sorted(emails, key=lambda e: e.encode())
    assert got.contacts[0].details == {"n": 1}
    assert [f.tag for f in got.failures] == ["z-tag", "a-tag"] and got.failures[1].url == ""
    assert got.external_links == ("https://z.test/", "https://a.test/") and got.status == "partial"
    assert (results[1].status, results[1].pages) == ("pending", ())
    assert store.done_keys() == {early.key}
    assert [s["value"] for s in store.sightings(early.key)] == emails
    store.close()


def test_contacts_found_later_are_added_once(store_target: str | Path) -> None:
    store = open_store(store_target)
    store.start_run({}, "0")
    company = Company(1, "A", "https://a.test/")
    store.save_company(CompanyResult(company, contacts=(_cp("+3611111111", "https://a.test/"),)))
    later = [ContactPoint("chat", "intercom", "intercom", None, "widget-script", "https://a.test/", "w", 0.7,
                          {"app": "x"}), _cp("+3611111111", "https://a.test/b")]
    assert store.add_contacts(company.key, later) == 1
    assert store.add_contacts(company.key, later) == 0
    (result,) = store.results()
    assert [(c.kind, c.value, c.details) for c in result.contacts] == [
        ("chat", "intercom", {"app": "x"}), ("phone", "+3611111111", {})]
    assert [s["value"] for s in store.sightings(company.key)] == ["+3611111111", "intercom"]
    store.close()


def test_verdicts_replace_earlier_ones_and_clear(store_target: str | Path) -> None:
    store = open_store(store_target)
    store.start_run({}, "0")
    company = Company(1, "A", "https://a.test/")
    store.register_companies([company])
    check = Check("smtp-rcpt", "unknown", "greylisted", "later", {"code": 451, "host": "mx.a.test"}, 1.5, 20.0)
    store.save_verdicts(company.key, [Verdict("email", "a@a.test", "unknown", "greylisted", "m", (check,),
                                              ("accept-all",))])
    store.save_verdicts(company.key, [Verdict("email", "a@a.test", "active", "mailbox-exists"),
                                      Verdict("phone", "+3611111111", "inactive", "unassigned-number")])
    got = store.verdicts(company.key)
    assert got[("email", "a@a.test")] == Verdict("email", "a@a.test", "active", "mailbox-exists")
    assert got[("phone", "+3611111111")].reason == "unassigned-number"
    store.save_verdicts(company.key, [Verdict("email", "b@a.test", "unknown", "x", "", (check,), ("f",))])
    assert store.verdicts(company.key)[("email", "b@a.test")].checks[0].evidence == {"code": 451,
                                                                                   "host": "mx.a.test"}
    store.save_verdicts(company.key, [])
    store.clear_verdicts()
    assert store.verdicts(company.key) == {}
    store.close()


def test_a_hostile_pages_nul_characters_never_fail_a_write(store_target: str | Path) -> None:
    """PostgreSQL refuses NUL in text; the store replaces it (U+FFFD) the same way on both databases."""
    store = open_store(store_target)
    store.start_run({}, "0")
    company = Company(1, "Nul\x00 GmbH", "https://nul.de/", "DE")
    store.register_companies([company])
    page = "https://nul.de/kontakt?\x00"
    result = CompanyResult(
        company,
        pages=(PageRecord(page, 200, None, "bad\x00page"),),
        contacts=(ContactPoint("email", "info@nul.de", "info@\x00nul.de", "support\x00", "text", page,
                               "Mail\x00 us", details={"note": "a\x00b"}),),
        failures=(Failure("http-4xx", "gone\x00", page),),
        external_links=("https://t.me/\x00nul",),
    )
    store.save_company(result)
    store.save_input_errors([InputError(3, "malformed-row", "bad\x00row", "x\x00y")])
    store.close()
    store = open_store(store_target)
    try:
        [back] = list(store.results())
        assert back.company.name == "Nul\ufffd GmbH"
        assert back.pages[0].url == "https://nul.de/kontakt?\ufffd" and back.pages[0].message == "bad\ufffdpage"
        [cp] = back.contacts
        assert (cp.raw, cp.label, cp.context, cp.page_url) == ("info@\ufffdnul.de", "support\ufffd", "Mail\ufffd us",
                                                              "https://nul.de/kontakt?\ufffd")
        assert cp.details == {"note": "a\x00b"}  # JSON carries it escaped, as text without a NUL
        assert back.failures[0].message == "gone\ufffd" and back.external_links == ("https://t.me/\ufffdnul",)
        assert store.done_keys() == {company.key}
        assert store.input_errors()[0].message == "bad\ufffdrow"
    finally:
        store.close()


def test_counts_and_pending_companies_come_from_sql_in_batches(store_target: str | Path) -> None:
    store = open_store(store_target)
    try:
        store.start_run({}, "0")
        listed = [Company(i, f"C{i}", f"https://c{i}.de/") for i in range(1, 8)]
        store.register_companies(listed)
        for c in (listed[1], listed[4]):
            store.save_company(CompanyResult(c, status="done"))
        store.save_company(CompanyResult(listed[6], status="failed"))
        assert store.company_counts() == {"registered": 7, "stored": 3}
        pending = list(store.pending_companies(batch=2))  # several batches, the last one short
        assert sorted(c.row for c in pending) == [1, 3, 4, 6]
        assert len({c.key for c in pending}) == 4
        assert list(store.pending_companies(batch=4))  # a batch exactly full, then an empty one
    finally:
        store.close()


def test_a_fenced_write_of_an_older_claim_is_refused_whole(store_target: str | Path) -> None:
    """A distributed run's claim number: a later claim's stored result is never replaced by an older one's."""
    import pytest

    from auditor.store import StaleWrite

    store = open_store(store_target)
    store.start_run({}, "0")
    company = Company(1, "Acme", "https://acme.hu/", "HU")
    store.register_companies([company])
    newer = CompanyResult(company, pages=(PageRecord("https://acme.hu/", 200),),
                          contacts=(_cp("+3612345678", "https://acme.hu/"),))
    older = CompanyResult(company, status="failed", failures=(Failure("connect-timeout", "cut off"),))
    assert store.max_fence() is None
    store.save_company(newer, fence=7)
    with pytest.raises(StaleWrite):
        store.save_company(older, fence=3)
    [kept] = list(store.results())
    assert kept.status == "done" and [c.value for c in kept.contacts] == ["+3612345678"] and not kept.failures
    store.save_company(newer, fence=7)  # the same claim again (a retried commit) is no older
    store.save_company(older, fence=9)  # a later claim replaces it
    [kept] = list(store.results())
    assert kept.status == "failed" and not kept.contacts and store.max_fence() == 9
    store.save_company(newer)  # an embedded write has no fence
    assert store.max_fence() is None
    store.close()
