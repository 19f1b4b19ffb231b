"""The [sip] table: trunk, windows, and no password in the file."""

from pathlib import Path

import pytest

from auditor.probes.sip.config import SipConfigError, load_sip_config, parse_days


def test_trunk_and_windows(tmp_path: Path) -> None:
    cfg = tmp_path / "probes.toml"
    cfg.write_text('[sip]\nhost = "sip.example.net"\ntransport = "tcp"\nusername = "audit"\n'
                   'password_env = "MY_SIP_SECRET"\n[sip.windows.lunch]\ndays = "Mo-Fr"\nstart = "12:00"\nend = "13:00"\n')
    config = load_sip_config(cfg)
    assert config.host == "sip.example.net" and config.transport == "tcp"
    assert "lunch" in config.windows and "business-hours" in config.windows
    assert config.windows["lunch"].days == frozenset(range(5))


def test_password_in_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "probes.toml"
    cfg.write_text('[sip]\nhost = "sip.example.net"\npassword = "hunter2"\n')
    with pytest.raises(SipConfigError, match="never put the SIP password"):
        load_sip_config(cfg)


def test_days() -> None:
    assert parse_days("Sa,Su") == frozenset({5, 6})
    assert parse_days("Fr-Mo") == frozenset({4, 5, 6, 0})
    with pytest.raises(SipConfigError):
        parse_days("Xy")
