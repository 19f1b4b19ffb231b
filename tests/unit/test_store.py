"""SQLite store: dedupe with sightings kept, idempotent per-company writes, resume."""

from pathlib import Path

from auditor.models import Company, CompanyResult, ContactPoint, Failure, PageRecord
from auditor.store import open_store


def _cp(value: str, page: str, label: str | None = None, method: str = "text") -> ContactPoint:
    return ContactPoint("phone", value, value, label, method, page, "ctx")


def test_dedupe_keeps_every_sighting_and_is_idempotent(tmp_path: Path) -> None:
    store = open_store(tmp_path)
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
    store = open_store(tmp_path)
    store.start_run({}, "0", resume=True)
    assert {c.key for c in store.companies()} - store.done_keys() == {"3:https://b.hu/"}
