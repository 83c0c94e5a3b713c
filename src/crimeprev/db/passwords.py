"""Password hashing with argon2id (argon2-cffi's recommended parameters).

Examples
--------
>>> stored = hash_password("correct horse battery staple")
>>> stored.startswith("$argon2id$")
True
>>> verify_password(stored, "correct horse battery staple")
True
>>> verify_password(stored, "wrong")
False
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crimeprev.errors import InvalidInputError

#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


@contextmanager
def password_hasher(hasher: PasswordHasher) -> Iterator[None]:
    """Hash with `hasher` inside the block (tests use argon2's CHEAPEST profile for speed).

    Hashes made with other parameters still verify; :func:`needs_rehash` flags them.

    Examples
    --------
    >>> from argon2 import profiles
    >>> with password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST)):
    ...     verify_password(hash_password("long enough passphrase"), "long enough passphrase")
    True
    """
    global _hasher
    previous = _hasher
    _hasher = hasher
    try:
        yield
    finally:
        _hasher = previous


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short or blank.

    Raises
    ------
    InvalidInputError
        If the password has fewer than :data:`MIN_PASSWORD_LENGTH` characters.

    Examples
    --------
    >>> check_password_strength("long enough passphrase")
    >>> check_password_strength("short")
    Traceback (most recent call last):
    ...
    crimeprev.errors.InvalidInputError: passwords need at least 10 characters, got 5
    """
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters, got {len(password.strip())}"
        )


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` (salted; differs on every call)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Return whether `password` matches `stored_hash`; never raises for a mismatch."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Return whether `stored_hash` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, so unknown usernames take as long as wrong passwords."""
    verify_password(_dummy_hash(_hasher), password)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("crimeprev-dummy-password-for-timing")
