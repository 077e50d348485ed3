"""Identity: accounts, sign-in, rotating refresh tokens, roles and flags, socket tickets."""

from runtime.identity.handlers import IdentityHandlers
from runtime.identity.passwords import HashProfile, Passwords
from runtime.identity.service import IdentityPolicy, IdentityService, IssuedTokens

__all__ = [
    "HashProfile",
    "IdentityHandlers",
    "IdentityPolicy",
    "IdentityService",
    "IssuedTokens",
    "Passwords",
]
