"""How many live-chat technologies of a Wappalyzer-format database the project detects.

Usage: python3 bench/chat_coverage.py PATH [--misses]

PATH is a checkout of such a database that you fetched yourself (a folder with
``categories.json`` and ``technologies/*.json``, e.g. webappanalyzer's ``src/``); the
project ships none of it. Two figures:

* by name: the technology's name (or slug) is one of the project's providers;
* by detection: for each technology with ``scriptSrc`` patterns, a page is generated
  with one ``<script src>`` per pattern (a URL built from the regex) and the project's
  own chat extractor, without ``--fingerprints``, must report a chat on it.

The misses are listed so that fingerprints can be written for them from the vendors'
own documentation (never copied from the database).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.data import load  # noqa: E402
from auditor.extract.chat import extract_chat  # noqa: E402
from auditor.extract.chat_external import (  # noqa: E402
    as_list,
    chat_category_ids,
    fold_name,
    read_json,
    script_url,
    split_pattern,
    technology_files,
)
from auditor.extract.page import parse_page  # noqa: E402


def measure(path: Path) -> dict[str, Any]:
    """Counts and misses for the live-chat technologies under ``path``."""
    categories, tech_files = technology_files(path)
    chat_ids = chat_category_ids(read_json(categories), categories)
    own = load("chat_providers.toml")["provider"]
    own_names = {fold_name(str(e.get(k, ""))) for e in own for k in ("slug", "name")} - {""}
    total = by_name = with_src = detected = ungenerated = 0
    name_misses: list[str] = []
    detect_misses: list[str] = []
    for tech_file in tech_files:
        table = read_json(tech_file)
        for name, tech in sorted(table.items()):
            if not isinstance(tech, dict) or not {str(c) for c in tech.get("cats", [])} & chat_ids:
                continue
            total += 1
            if fold_name(name) in own_names:
                by_name += 1
            else:
                name_misses.append(name)
            patterns = [split_pattern(p)[0] for p in as_list(tech.get("scriptSrc"))]
            if not patterns:
                continue
            with_src += 1
            urls = [u for u in (script_url(p) for p in patterns) if u]
            if not urls:
                ungenerated += 1
                detect_misses.append(f"{name} (no URL could be generated)")
                continue
            html = "<html><head>" + "".join(f'<script async src="{u}"></script>' for u in urls) + "</head></html>"
            if extract_chat(parse_page(html, "https://coverage.test/")):
                detected += 1
            else:
                detect_misses.append(f"{name} ({urls[0]})")
    return {"total": total, "by_name": by_name, "with_script_src": with_src, "detected": detected,
            "ungenerated": ungenerated, "name_misses": name_misses, "detect_misses": detect_misses}


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}%" if d else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", type=Path, help="Wappalyzer-format folder (categories.json + technologies/)")
    parser.add_argument("--misses", action="store_true", help="list every technology not detected")
    args = parser.parse_args(argv)
    r = measure(args.path)
    print(f"live-chat technologies: {r['total']}")
    print(f"known by name: {r['by_name']}/{r['total']} ({_pct(r['by_name'], r['total'])})")
    print(f"detected on a page built from scriptSrc: {r['detected']}/{r['with_script_src']}"
          f" ({_pct(r['detected'], r['with_script_src'])}); no URL generated for {r['ungenerated']}")
    if args.misses:
        print("\nnot known by name:")
        for name in r["name_misses"]:
            print(f"  {name}")
        print("\nnot detected from scriptSrc:")
        for line in r["detect_misses"]:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
