"""Where checks and renders may connect beyond the defaults: the lab's ports and CA."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NetworkOptions:
    """Where the validators may connect; the lab sets ports and its own CA."""

    http_port_overrides: dict[str, int] = field(default_factory=dict)
    ca_file: str | None = None
