"""Facts as data: keyword lists, fingerprints, rules and weights, read through one loader.

Every packaged data file (``*.toml``, ``*.json``) is parsed by :func:`load`, once per
process. The parsed value is shared by every caller, so callers treat it as read-only
and copy before adding derived keys (the schema test checks that none writes into it).
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from importlib import resources
from typing import Any

_SUFFIXES = (".toml", ".json")


def names() -> list[str]:
    """The data files this package ships, sorted (what the schema test covers)."""
    return sorted(
        entry.name for entry in resources.files(__package__).iterdir() if entry.name.endswith(_SUFFIXES)
    )


@cache
def load(name: str) -> dict[str, Any]:
    """Parse the packaged data file ``name`` (e.g. ``contact_keywords.toml``) once."""
    if not name.endswith(_SUFFIXES):
        raise ValueError(f"not a data file name: {name!r}")
    source = resources.files(__package__).joinpath(name)
    if name.endswith(".json"):
        parsed = json.loads(source.read_text("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError(f"{name}: the top level must be an object")
        return parsed
    with source.open("rb") as fh:
        return tomllib.load(fh)
