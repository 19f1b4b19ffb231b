"""A verdict's flags reach the company page with what they mean, not as bare tags."""

from __future__ import annotations

from pathlib import Path

from auditor import reasons
from auditor.models import Company, CompanyResult, PageRecord, Verdict
from auditor.store import open_store
from reports.render import render_report
from tests.unit.test_report import SECRETS, _check, _cp

SITE = "https://wa.example/"
WHATSAPP = _cp("messaging", "https://wa.me/36201234567", method="deep-link", page=SITE,
               raw="wa.me/36201234567",
               details={"platform": "whatsapp", "account": "36201234567", "written_without_scheme": True})


def _render(tmp_path: Path, flags: tuple[str, ...]) -> str:
    store = open_store(tmp_path)
    store.start_run(SECRETS, "0.1.0")
    result = CompanyResult(Company(1, "Wa Kft.", SITE, "HU", "retail", "hu"),
                           pages=(PageRecord(SITE, 200, None, "", 0, 1.0, 50.0, 100),), contacts=(WHATSAPP,))
    store.register_companies([result.company])
    store.save_company(result)
    check = _check("messaging-number", "unknown", "unverifiable", {"number": "+36201234567"})
    store.save_verdicts(result.company.key, [Verdict("messaging", WHATSAPP.value, "unknown", "unverifiable",
                                    "a valid number", (check,), flags)])
    store.finish_run({})
    index = render_report(store, tmp_path / "out")
    store.close()
    (page,) = [p.read_text("utf-8") for p in index.parent.rglob("*.html") if "wa-example" in p.name]
    return page


def test_a_link_written_without_its_scheme_is_said_on_the_company_page(tmp_path: Path) -> None:
    page = _render(tmp_path, (reasons.LINK_WITHOUT_SCHEME,))
    message = reasons.message(reasons.LINK_WITHOUT_SCHEME)
    assert message.startswith("The site's link is written without https://")
    assert f'title="{message.replace(chr(39), "&#39;")}"' in page  # the tag's tooltip
    assert 'flag-link-without-scheme' in page
    assert "written_without_scheme" in page  # the harvested fact, among the point's details


def test_no_flag_line_without_flags(tmp_path: Path) -> None:
    page = _render(tmp_path, ())
    assert "link-without-scheme" not in page
