"""Signed tokens for the local-disk backend's app URLs.

S3 signs its own URLs; a local disk has no server of its own, so the app serves uploads and
downloads at its own routes and trusts only what such a token carries: the exact key, the
declared size and content type (uploads) or the display name (downloads), and an expiry. The
token is signed with a key the caller passes in (the app's secret key), and salted per purpose
so that a download token can never be replayed as an upload token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from storage.errors import InvalidToken, TokenExpired
from storage.keys import check_object_key

_UPLOAD_SALT = "priemnaya.storage.upload"
_DOWNLOAD_SALT = "priemnaya.storage.download"


@dataclass(frozen=True)
class UploadGrant:
    """What a browser may upload: exactly ``size`` bytes of ``content_type`` to ``key``."""

    key: str
    size: int
    content_type: str
    expires_at: datetime


@dataclass(frozen=True)
class DownloadGrant:
    """What a browser may download, and the name and type to serve it with."""

    key: str
    filename: str
    content_type: str
    expires_at: datetime


def _serializer(secret_key: str, salt: str) -> URLSafeSerializer:
    if len(secret_key) < 16:
        raise ValueError("the signing key must be at least 16 characters")
    return URLSafeSerializer(secret_key, salt=salt)


def _expiry(ttl: timedelta, now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    return (moment + ttl).replace(microsecond=0)


def _load(secret_key: str, salt: str, token: str, now: datetime | None) -> dict[str, Any]:
    try:
        payload = _serializer(secret_key, salt).loads(token)
    except BadSignature as exc:
        raise InvalidToken("the link is damaged or was not issued by this server") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), int):
        raise InvalidToken("the link is damaged or was not issued by this server")
    expires_at = datetime.fromtimestamp(payload["e"], UTC)
    if (now or datetime.now(UTC)) >= expires_at:
        raise TokenExpired("the link has expired; request a new one")
    return payload


def issue_upload_token(
    secret_key: str,
    *,
    key: str,
    size: int,
    content_type: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> str:
    expires_at = _expiry(ttl, now)
    payload = {
        "k": check_object_key(key),
        "s": size,
        "t": content_type,
        "e": int(expires_at.timestamp()),
    }
    return str(_serializer(secret_key, _UPLOAD_SALT).dumps(payload))


def verify_upload_token(secret_key: str, token: str, *, now: datetime | None = None) -> UploadGrant:
    """The grant a token carries; ``InvalidToken``/``TokenExpired`` when it is not valid."""
    payload = _load(secret_key, _UPLOAD_SALT, token, now)
    return UploadGrant(
        key=payload["k"],
        size=payload["s"],
        content_type=payload["t"],
        expires_at=datetime.fromtimestamp(payload["e"], UTC),
    )


def issue_download_token(
    secret_key: str,
    *,
    key: str,
    filename: str,
    content_type: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> str:
    expires_at = _expiry(ttl, now)
    payload = {
        "k": check_object_key(key),
        "n": filename,
        "t": content_type,
        "e": int(expires_at.timestamp()),
    }
    return str(_serializer(secret_key, _DOWNLOAD_SALT).dumps(payload))


def verify_download_token(
    secret_key: str, token: str, *, now: datetime | None = None
) -> DownloadGrant:
    """The grant a token carries; ``InvalidToken``/``TokenExpired`` when it is not valid."""
    payload = _load(secret_key, _DOWNLOAD_SALT, token, now)
    return DownloadGrant(
        key=payload["k"],
        filename=payload["n"],
        content_type=payload["t"],
        expires_at=datetime.fromtimestamp(payload["e"], UTC),
    )
