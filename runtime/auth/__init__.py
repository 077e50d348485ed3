"""Identity, minimal but real: bearer JWTs and the verifiers the routers' guards call."""

from runtime.auth.tokens import Caller, InvalidTokenError, TokenService
from runtime.auth.verifiers import bearer_verifier

__all__ = ["Caller", "InvalidTokenError", "TokenService", "bearer_verifier"]
