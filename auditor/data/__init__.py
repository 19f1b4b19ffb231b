"""Facts as data: keyword lists, fingerprints, rules and weights (TOML files)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """Parse the packaged data file ``name`` (e.g. ``contact_keywords.toml``) once."""
    with resources.files(__package__).joinpath(name).open("rb") as fh:
        return tomllib.load(fh)
