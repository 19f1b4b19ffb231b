"""Reading the companies list: every bad row is reported with its row number."""

import json
from pathlib import Path

from auditor.harvest.inputs import normalize_website, parse_csv_text, read_companies


def test_csv_rows_and_errors_with_row_numbers() -> None:
    text = (
        "\ufeffname;website;country;industry\n"
        "Kovács Szerviz;kovacs-szerviz.hu;hu;retail\n"
        "No site;;HU;retail\n"
        "Broken;ht!tp://x;DE;tech\n"
        "Odd country;https://teashop.co.uk;XX;retail\n"
        "Again;https://kovacs-szerviz.hu/;HU;retail\n"
        '"Multi\nline";firma.com.tr;TR;travel\n'
    )
    result = parse_csv_text(text)
    assert [(c.row, c.website, c.country) for c in result.companies] == [
        (2, "https://kovacs-szerviz.hu/", "HU"),
        (5, "https://teashop.co.uk/", None),
        (7, "https://firma.com.tr/", "TR"),
    ]
    assert [(e.row, e.tag) for e in result.errors] == [
        (3, "missing-website"),
        (4, "invalid-website"),
        (5, "invalid-country"),
        (6, "duplicate-row"),
    ]


def test_missing_header_is_one_clear_error() -> None:
    result = parse_csv_text("foo,bar\n1,2\n")
    assert not result.companies
    assert result.errors[0].tag == "missing-header"


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps({"name": "A", "website": "https://a.de"}) + "\n{not json\n[1]\n"
        + json.dumps({"name": "B", "website": "b.pl", "country": "PL"}) + "\n",
        encoding="utf-8",
    )
    result = read_companies(str(path))
    assert [c.website for c in result.companies] == ["https://a.de/", "https://b.pl/"]
    assert [(e.row, e.tag) for e in result.errors] == [(2, "malformed-row"), (3, "malformed-row")]


def test_single_url_and_broken_encoding(tmp_path: Path) -> None:
    assert [c.website for c in read_companies("https://www.example.de/x").companies] == [
        "https://www.example.de/x"
    ]
    path = tmp_path / "latin.csv"
    path.write_bytes("name,website\nKávé,kave.hu\n".encode("cp1250"))
    result = read_companies(str(path))
    assert result.companies[0].website == "https://kave.hu/"


def test_normalize_website() -> None:
    assert normalize_website("Example.CO.UK") == "https://example.co.uk/"
    assert normalize_website("http://x.com.tr:8080/a?b=1#frag") == "http://x.com.tr:8080/a?b=1"
    assert normalize_website("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/"
    for bad in ("", "not a url", "ftp://x.de", "http://localhost", "https://x.notatld", "http://x.de:99999"):
        assert normalize_website(bad) is None, bad


def test_hundred_thousand_rows_with_bad_ones_among_them() -> None:
    lines = ["name,website,country"]
    for i in range(100_000):
        lines.append(f"Firma {i},firma{i}.hu,HU" if i % 1000 else f"Broken {i},,HU")
    result = parse_csv_text("\n".join(lines) + "\n")
    assert len(result.companies) == 99_900
    assert len(result.errors) == 100 and all(e.tag == "missing-website" for e in result.errors)
    assert result.errors[1].row == 1002  # header is line 1, row i is line i + 2
