"""Bearer JWTs (HS256, PyJWT): issue and verify; the subject is the user id.

Claims: ``sub`` (user id), ``iss``, ``iat``, ``exp``, ``role`` (the highest role) with
``roles`` (every role it holds, as ``CurrentUser.roles`` lists them) and ``did`` (the
device the token was issued to, when the client named one at sign-in).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt

from runtime.auth.roles import ROLE_ORDER

__all__ = ["Caller", "InvalidTokenError", "TokenService"]

_ALGORITHM = "HS256"
_ISSUED_SKEW_S = 5  # clocks of two processes may differ a little (chosen)
_VERIFIED_CACHE = 10_000  # distinct live tokens remembered (chosen); the oldest go first


@dataclass(frozen=True)
class Caller:
    """Who a request acts for."""

    user_id: uuid.UUID
    roles: tuple[str, ...] = ()
    device_id: str | None = None
    # When the token that vouches for the caller stops working (epoch seconds); a socket
    # opened with it is closed then. Not part of who the caller is.
    expires_at: float | None = field(default=None, compare=False)

    @property
    def role(self) -> str:
        """The highest known role held (``user`` when the token names none)."""
        known = [r for r in ROLE_ORDER if r in self.roles]
        return known[-1] if known else "user"


class InvalidTokenError(ValueError):
    """The token is missing, malformed, expired or not ours; the reason stays internal."""


class TokenService:
    """Issues and verifies the control plane's bearer tokens."""

    def __init__(
        self,
        secret: str,
        *,
        issuer: str = "voulezvous",
        ttl: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(secret.encode()) < 32:  # RFC 7518 section 3.2: at least the hash's size
            raise ValueError("the token secret must be at least 32 bytes")
        self._secret, self._issuer, self._ttl, self._clock = secret, issuer, ttl, clock
        # Tokens verified before, with their expiry: a token that was valid stays valid
        # until it expires, so its signature need not be checked on every request.
        self._verified: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    @property
    def ttl_s(self) -> int:
        """Seconds an issued token lives."""
        return int(self._ttl.total_seconds())

    def issue(self, caller: Caller) -> str:
        """A signed token for ``caller`` that expires after the configured time to live."""
        now = self._clock()
        claims: dict[str, object] = {
            "sub": str(caller.user_id),
            "iss": self._issuer,
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "roles": list(caller.roles),
            "role": caller.role,
        }
        if caller.device_id is not None:
            claims["did"] = caller.device_id
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Caller:
        """The caller a valid token names; ``InvalidTokenError`` otherwise."""
        now = self._clock().timestamp()
        known = self._verified.get(token)
        if known is not None and known[1] > now:
            self._verified.move_to_end(token)
            return known[0]
        caller, expires = self._decode(token, now)
        self._verified[token] = (caller, expires)
        if len(self._verified) > _VERIFIED_CACHE:
            self._verified.popitem(last=False)
        return caller

    def _decode(self, token: str, now: float) -> tuple[Caller, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                # Time is judged below on the injected clock, not on PyJWT's own.
                options={
                    "require": ["sub", "exp", "iat", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            if float(claims["exp"]) <= now:
                raise InvalidTokenError("expired")
            if float(claims["iat"]) > now + _ISSUED_SKEW_S:
                raise InvalidTokenError("issued in the future")
            roles = claims.get("roles", [])
            device = claims.get("did")
            caller = Caller(
                uuid.UUID(str(claims["sub"])),
                tuple(str(r) for r in roles),
                device_id=None if device is None else str(device),
                expires_at=float(claims["exp"]),
            )
            return caller, float(claims["exp"])
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise InvalidTokenError(str(exc)) from None
