"""The one policy for missing servers, browsers and privileges: fail under CI, skip elsewhere."""

from __future__ import annotations

import pytest

from tests.support.requirements import (
    SETUP,
    in_ci,
    missing,
    missing_test_extras,
    need_binary,
    need_chromium,
)


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("1", True), ("yes", True), ("True", True),
                                           ("", False), ("0", False), ("false", False), ("FALSE", False)])
def test_ci_is_any_value_but_empty_zero_or_false(monkeypatch: pytest.MonkeyPatch, value: str, ci: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is ci


def test_unset_ci_is_not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not in_ci()


def test_missing_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"dnsmasq.*required under CI"):
        need_binary("dnsmasq-not-here", "dnsmasq-base")


def test_missing_skips_elsewhere_naming_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        need_binary("dnsmasq-not-here", "dnsmasq-base")
    assert f"`{SETUP}`" in str(skipped.value) and "`apt-get install dnsmasq-base`" in str(skipped.value)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        need_chromium("/nonexistent/chromium")
    with pytest.raises(pytest.skip.Exception, match="sudo"):
        missing("Postfix conformance needs root", "run the tests as root (`sudo -E python3 -m pytest ...`)")


def test_a_missing_test_extra_is_named() -> None:
    required = ['pytest>=8; extra == "test"', 'no-such-distribution-xyz>=1; extra == "test"',
                'another-missing-one; extra == "docs"', "scrapy>=2.13"]
    assert missing_test_extras(required) == ["no-such-distribution-xyz"]
    assert missing_test_extras() == []  # this checkout has its test extra installed
