"""Keep credentials out of everything the tool writes or prints."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s\"']*@")


def mask_credentials(text: str | None) -> str | None:
    """``http://user:pw@host/`` -> ``http://***@host/``: rows are echoed into errors, never secrets."""
    return _USERINFO.sub(r"\1***@", text) if text and "@" in text else text
