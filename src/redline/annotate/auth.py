"""Passwords (Argon2id via argon2-cffi) and session tokens (random, stored only as sha256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: argon2-cffi's defaults are RFC 9106's low-memory recommendation (Argon2id, t=3, m=64 MiB, p=4)
_HASHER = PasswordHasher()
MIN_PASSWORD = 8
#: verified against when the user does not exist, so unknown names cost the same time
_DUMMY_HASH = _HASHER.hash("redline-dummy-password")


def hash_password(password: str) -> str:
    """An Argon2id PHC string for ``password``."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """``(ok, new_hash)``: new_hash is set when ok and the stored hash's parameters are outdated
    (rehash-on-login). ``stored=None`` (unknown user) still spends the time of one verification."""
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, (_HASHER.hash(password) if _HASHER.check_needs_rehash(stored) else None)


def new_token() -> str:
    """A session cookie token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_csrf() -> str:
    """A fresh CSRF token for a form or session (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its sha256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison (CSRF tokens)."""
    return hmac.compare_digest(a.encode(), b.encode())
