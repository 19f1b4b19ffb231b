"""Settings: defaults < config file < flags, with clear errors."""

from pathlib import Path

import pytest

from auditor.config import ConfigError, build_settings


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "auditor.toml"
    cfg.write_text('[crawl]\nmax_pages = 10\ndelay = 2.5\n[network]\nnameserver = "127.0.0.1:5353"\n')
    s = build_settings(cfg, max_pages=7, delay=None)
    assert (s.max_pages, s.delay, s.nameserver) == (7, 2.5, "127.0.0.1:5353")
    assert s.scrapy_settings()["DOWNLOAD_DELAY"] == 2.5
    assert "contact-auditor/" in s.effective_user_agent() and "+http" in s.effective_user_agent()


def test_errors_are_clear(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("max_pagez = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'max_pagez'"):
        build_settings(cfg)
    cfg.write_text("max_pages = 'many'\n")
    with pytest.raises(ConfigError, match="max_pages"):
        build_settings(cfg)
    with pytest.raises(ConfigError, match="cannot read"):
        build_settings(tmp_path / "missing.toml")


def test_settings_remember_their_config_file_which_the_file_cannot_set(tmp_path: Path) -> None:
    path = tmp_path / "auditor.toml"
    path.write_text("[crawl]\nmax_pages = 5\n", encoding="utf-8")
    settings = build_settings(path)
    assert settings.config_file == str(path) and settings.max_pages == 5
    assert build_settings(None).config_file is None
    path.write_text('config_file = "/etc/other.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'config_file'"):
        build_settings(path)
