"""Authentication: bearer JWTs, roles, and the one guard of routes and sockets."""

from runtime.auth.guard import (
    AccountStatus,
    Authenticator,
    Banned,
    Unauthenticated,
    bearer_token,
    caller_of,
)
from runtime.auth.tokens import Caller, InvalidTokenError, TokenService

__all__ = [
    "AccountStatus",
    "Authenticator",
    "Banned",
    "Caller",
    "InvalidTokenError",
    "TokenService",
    "Unauthenticated",
    "bearer_token",
    "caller_of",
]
