"""Bearer JWTs (HS256, PyJWT): issue and verify; the subject is the user id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

__all__ = ["Caller", "InvalidTokenError", "TokenService"]

_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Caller:
    """Who a request acts for."""

    user_id: uuid.UUID
    roles: tuple[str, ...] = ()


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
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 characters")
        self._secret, self._issuer, self._ttl, self._clock = secret, issuer, ttl, clock

    def issue(self, caller: Caller) -> str:
        """A signed token for ``caller`` that expires after the configured time to live."""
        now = self._clock()
        claims = {
            "sub": str(caller.user_id),
            "iss": self._issuer,
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "roles": list(caller.roles),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Caller:
        """The caller a valid token names; ``InvalidTokenError`` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iat", "iss"]},
                leeway=0,
            )
            now = self._clock().timestamp()
            if claims["exp"] <= now:
                raise InvalidTokenError("expired")
            roles = claims.get("roles", [])
            return Caller(uuid.UUID(str(claims["sub"])), tuple(str(r) for r in roles))
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise InvalidTokenError(str(exc)) from None
