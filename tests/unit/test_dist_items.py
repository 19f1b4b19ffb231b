"""A queue entry carries every field of a company and reads back as the same company."""

import json
from dataclasses import fields

from auditor.dist.queue import company_item, item_company
from auditor.models import Company


def test_a_queue_entry_round_trips_every_field_of_a_company() -> None:
    company = Company(7, "Zoë & Söhne", "https://zoe.de/", "DE", "retail", "de")
    item = company_item(company)
    assert item_company(item) == company
    assert set(json.loads(item)) == {f.name for f in fields(Company)} | {"key"}
    assert item_company(company_item(Company(1, "Bare", "https://bare.example/"))) == Company(
        1, "Bare", "https://bare.example/")
