"""Tokens of the local backend's app URLs: exact grants, refused when expired or tampered."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import InvalidToken, TokenExpired
from storage.signed_urls import (
    issue_download_token,
    issue_upload_token,
    verify_download_token,
    verify_upload_token,
)

SECRET = "signing-secret-for-token-tests"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
KEY = "0b1f3f5e-8c1a-4a43-9a51-4b0e0c6f8e21/2025/05/" + "a" * 32


def upload_token(key: str = KEY) -> str:
    return issue_upload_token(
        SECRET,
        key=key,
        size=2048,
        content_type="image/png",
        ttl=timedelta(minutes=15),
        now=NOW,
    )


def test_an_upload_token_carries_its_grant() -> None:
    grant = verify_upload_token(SECRET, upload_token(), now=NOW + timedelta(minutes=14))

    assert (grant.key, grant.size, grant.content_type) == (KEY, 2048, "image/png")
    assert grant.expires_at == NOW + timedelta(minutes=15)


def test_an_expired_upload_token_is_refused() -> None:
    with pytest.raises(TokenExpired, match="expired"):
        verify_upload_token(SECRET, upload_token(), now=NOW + timedelta(minutes=15))


def test_an_expired_download_token_is_refused() -> None:
    token = issue_download_token(
        SECRET,
        key=KEY,
        filename="Ответ.pdf",
        content_type="application/pdf",
        ttl=timedelta(minutes=5),
        now=NOW,
    )

    grant = verify_download_token(SECRET, token, now=NOW + timedelta(minutes=4))
    assert (grant.key, grant.filename, grant.content_type) == (KEY, "Ответ.pdf", "application/pdf")
    with pytest.raises(TokenExpired):
        verify_download_token(SECRET, token, now=NOW + timedelta(minutes=5, seconds=1))


_BASE64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def _flip(token: str, index: int) -> str:
    # Change a high bit of the base64 digit: its low bits may be padding that decodes the same.
    char = token[index]
    replacement = _BASE64[_BASE64.index(char) ^ 32] if char in _BASE64 else "A"
    position = index % len(token)
    return token[:position] + replacement + token[position + 1 :]


@pytest.mark.parametrize("index", [0, 10, -1, -10])
def test_a_tampered_token_is_refused(index: int) -> None:
    token = upload_token()

    with pytest.raises(InvalidToken, match="damaged or was not issued by this server"):
        verify_upload_token(SECRET, _flip(token, index), now=NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify_upload_token("another-secret-key-entirely", upload_token(), now=NOW)


def test_a_download_token_cannot_be_used_to_upload() -> None:
    token = issue_download_token(
        SECRET,
        key=KEY,
        filename="a.pdf",
        content_type="application/pdf",
        ttl=timedelta(minutes=5),
        now=NOW,
    )

    with pytest.raises(InvalidToken):
        verify_upload_token(SECRET, token, now=NOW)


def test_a_token_for_an_invalid_key_is_never_issued() -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        upload_token(key="../../etc/passwd")


def test_a_short_signing_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        issue_upload_token(
            "short", key=KEY, size=1, content_type="text/plain", ttl=timedelta(minutes=1)
        )
