"""Password hashing (argon2id through argon2-cffi), the complexity policy and generation."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mujun.auth.settings import AuthSettings

# Generated passwords avoid look-alikes (0/O, 1/l/I) because they are read off paper or a screen.
_GEN = {
    "lower": "abcdefghijkmnpqrstuvwxyz",
    "upper": "ABCDEFGHJKLMNPQRSTUVWXYZ",
    "digit": "23456789",
    "symbol": "#%+=?@",
}
# Generated one-time passwords carry ~80 bits of entropy, so a cheap argon2 profile is enough and
# keeps a bulk import of 100,000 enterprise accounts at about a millisecond each; the hash is
# replaced by a full-cost one at the forced change on first login.
ONE_TIME_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(settings: AuthSettings) -> PasswordHasher:
    """The argon2id hasher configured by ``settings``."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def hash_password(password: str, settings: AuthSettings) -> str:
    """An argon2id hash string of ``password`` (salt and parameters included)."""
    return hasher(settings).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (any argon2 parameters)."""
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash to verify against when the username is unknown, so that the answer takes as long
# as for a real account and does not reveal which usernames exist.
@cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))


def verify_dummy(password: str, settings: AuthSettings) -> None:
    """Spend about the time of a real verification (for unknown usernames)."""
    verify_password(
        _dummy_hash(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        ),
        password,
    )


def character_classes(password: str) -> int:
    """How many of lower-case, upper-case, digit and other characters ``password`` uses."""
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def check_password_policy(
    password: str, settings: AuthSettings, username: str | None = None
) -> list[str]:
    """Every way ``password`` breaks the complexity policy (empty when it is acceptable)."""
    errors = []
    if len(password) < settings.password_min_length:
        errors.append(
            f"口令至少 {settings.password_min_length} 位 / "
            f"at least {settings.password_min_length} characters"
        )
    if character_classes(password) < settings.password_min_classes:
        errors.append(
            f"口令须包含小写字母、大写字母、数字、符号中的至少 {settings.password_min_classes} 类 / "
            f"use at least {settings.password_min_classes} of lower, upper, digit, symbol"
        )
    if username and len(username) >= 3 and username.lower() in password.lower():
        errors.append("口令不得包含用户名 / must not contain the username")
    if password != password.strip():
        errors.append("口令首尾不得为空格 / no leading or trailing spaces")
    return errors


def generate_password(length: int = 14) -> str:
    """A random password with every character class, for initial and reset passwords."""
    length = max(length, 12)
    chars = [secrets.choice(pool) for pool in _GEN.values()]
    pool = "".join(_GEN.values())
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def needs_rehash(password_hash: str, settings: AuthSettings) -> bool:
    """Whether a stored hash is weaker than the configured parameters."""
    try:
        return hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


__all__ = [
    "ONE_TIME_HASHER",
    "character_classes",
    "check_password_policy",
    "generate_password",
    "hash_password",
    "needs_rehash",
    "verify_dummy",
    "verify_password",
]
