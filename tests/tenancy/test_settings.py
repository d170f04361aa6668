"""Settings fail at start, naming the variable; the embedded default keeps its own key."""

from pathlib import Path

import pytest

from tenancy.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith("PRIEMNAYA_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("PRIEMNAYA_HOME", str(home))
    return home


def test_embedded_default_generates_the_secret_key_once(clean_environment: Path) -> None:
    first = load_settings()
    second = load_settings()
    assert first.embedded
    assert first.secret_key
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key
    key_file = clean_environment / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_external_database_requires_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_DATABASE_URL", "postgresql://db.example/priemnaya")
    with pytest.raises(SettingsError, match="PRIEMNAYA_SECRET_KEY is required"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PRIEMNAYA_DATABASE_URL", "mysql://db/x", "PRIEMNAYA_DATABASE_URL: must be a postgresql"),
        ("PRIEMNAYA_BASE_URL", "example.org", "PRIEMNAYA_BASE_URL: must be an absolute"),
        ("PRIEMNAYA_SECRET_KEY", "short", "PRIEMNAYA_SECRET_KEY: must be at least 32"),
        ("PRIEMNAYA_SMTP_PORT", "seventy", "PRIEMNAYA_SMTP_PORT:"),
        ("PRIEMNAYA_LOG_LEVEL", "LOUD", "PRIEMNAYA_LOG_LEVEL:"),
        ("PRIEMNAYA_LISTEN_DATABASE_URL", "redis://x", "PRIEMNAYA_LISTEN_DATABASE_URL: must be"),
    ],
)
def test_bad_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert any(message in problem for problem in raised.value.problems), raised.value.problems


def test_s3_endpoint_needs_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_S3_ENDPOINT", "http://127.0.0.1:9000")
    with pytest.raises(SettingsError, match="PRIEMNAYA_S3_ACCESS_KEY"):
        load_settings()


def test_a_transaction_pooler_needs_a_direct_connection_to_listen_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIEMNAYA_TRANSACTION_POOLER", "true")
    with pytest.raises(SettingsError, match="PRIEMNAYA_LISTEN_DATABASE_URL is required"):
        load_settings()
