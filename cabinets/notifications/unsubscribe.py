"""The one-click unsubscribe link in every letter about a message (RFC 8058): a signed token
naming the address, so that the link works without signing in and cannot be made for
someone else's address."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from tenancy.settings import Settings

_SALT = "priemnaya.unsubscribe"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def unsubscribe_token(secret_key: str, address: str) -> str:
    return _serializer(secret_key).dumps(address.strip().lower())


def address_of(secret_key: str, token: str) -> str | None:
    """The address a token was made for, or None for a token not made here."""
    try:
        address = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    return address if isinstance(address, str) else None


def unsubscribe_url(settings: Settings, address: str) -> str | None:
    if not settings.secret_key:
        return None
    return f"{settings.base_url}/unsubscribe/{unsubscribe_token(settings.secret_key, address)}"
