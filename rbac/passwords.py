"""Password hashes: argon2id with the library's defaults (RFC 9106's second profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps one request from costing seconds

_hasher = PasswordHasher()
# Checked against when the account does not exist, so that a wrong e-mail costs as much time as
# a wrong password and the response time tells nothing.
_UNKNOWN_ACCOUNT_HASH = _hasher.hash("no such account")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _UNKNOWN_ACCOUNT_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problems(password: str, email: str) -> list[str]:
    """What is wrong with a new password, in words the person can act on."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"use at most {MAX_LENGTH} characters")
    if password.strip().lower() in {email.lower(), email.split("@")[0].lower()}:
        problems.append("do not use your e-mail address as the password")
    if len(set(password)) < 4:
        problems.append("use more than three different characters")
    return problems
