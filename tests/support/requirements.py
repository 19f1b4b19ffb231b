"""What a test needs from the machine, and the one policy for when it is missing.

Under CI (the ``CI`` environment variable set to anything but ``""``, ``"0"`` or
``"false"``; ``.ci/run`` sets it) a missing server, browser, root privilege or
platform feature FAILS the test: a run that silently skipped them would exit 0
without having tested them. Elsewhere the test skips, and the message names the
command that installs what is missing.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import pytest

SETUP = "bash scripts/setup.sh"


def in_ci() -> bool:
    """True when running under CI: there, nothing a test needs may be missing."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def missing(what: str, fix: str) -> NoReturn:
    """Fail under CI, skip elsewhere; ``fix`` is the command (or step) that provides ``what``."""
    message = f"{what}: {fix}"
    if in_ci():
        pytest.fail(f"{message} (required under CI)", pytrace=False)
    pytest.skip(message)


def apt_fix(package: str) -> str:
    return f"install it with `{SETUP}` (or `apt-get install {package}`)"


def need_binary(binary: str, package: str) -> str:
    """Path of ``binary`` (also looked for in /usr/sbin) from the Debian ``package``."""
    path = shutil.which(binary)
    if path is None and (Path("/usr/sbin") / binary).exists():
        path = str(Path("/usr/sbin") / binary)
    if path is None:
        missing(f"{binary} is not installed (Debian package {package})", apt_fix(package))
    return path


def need_root(what: str) -> None:
    """``what`` (a real Postfix, which drops privileges to its own user) must run as root."""
    if os.geteuid() != 0:
        missing(f"{what} needs root", "run the tests as root (`sudo -E python3 -m pytest ...`)")


def need_module(module: str, package: str) -> None:
    """The Python ``module`` from the pip ``package``, a dependency of this project."""
    try:
        importlib.import_module(module)
    except ImportError:
        missing(f"the Python package {package} is not installed",
                f"install it with `{SETUP}` (or `python3 -m pip install -e .`)")


def need_chromium(path: str) -> str:
    """Debian's Chromium at ``path`` (never a browser downloaded by ``playwright install``)."""
    need_module("playwright.sync_api", "playwright")
    if not os.access(path, os.X_OK):
        missing(f"Chromium is not installed at {path}", apt_fix("chromium"))
    return path


def need_ipv6_loopback() -> None:
    """A socket can be bound to ::1."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        missing(f"no IPv6 loopback ({exc})", "enable it with `sysctl -w net.ipv6.conf.lo.disable_ipv6=0`")


def missing_test_extras(required: list[str] | None = None) -> list[str]:
    """Distributions of this project's test extra that are not installed (a plain install lacks them)."""
    if required is None:
        try:
            required = metadata.requires("contact-auditor") or []
        except metadata.PackageNotFoundError:
            return ["contact-auditor"]
    missing = []
    for spec in required:
        if not re.search(r"""extra\s*==\s*["']test["']""", spec):
            continue
        name = re.split(r"[\s<>=!~;\[(]", spec.strip(), maxsplit=1)[0]
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing
