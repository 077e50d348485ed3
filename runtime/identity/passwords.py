"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["HashProfile", "Passwords"]

HashProfile = Literal["rfc9106_low_memory", "cheapest"]

_PROFILES = {
    # RFC 9106's second recommended option: argon2id, t=3, 64 MiB, p=4.
    "rfc9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    # For tests only: settings refuse it outside dev and test.
    "cheapest": profiles.CHEAPEST,
}


class Passwords:
    """Hashes and verifies passwords; verifying an unknown account costs the same time."""

    def __init__(self, profile: HashProfile = "rfc9106_low_memory") -> None:
        self._hasher = PasswordHasher.from_parameters(_PROFILES[profile])
        # Checked against when the account does not exist, so that the answer's timing
        # does not tell which email addresses have accounts.
        self._decoy = self._hasher.hash("decoy password never used by anyone")

    async def hash(self, password: str) -> str:
        """The PHC string of ``password`` (salted)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; ``None`` (no account) is checked and fails."""
        return await asyncio.to_thread(self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(stored)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored is not None
