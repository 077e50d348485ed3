"""The one authentication path of HTTP routes and WebSockets: token, account, role.

A bearer token is verified (signature, issuer, expiry), then its account is looked up
(it must exist and not be banned); what an account is does not change from one request
to the next, so the answer is remembered for a few seconds per process. A route that
needs a role names it in the contract (``x-vvtv-roles``, carried into the route's
``opt``), and a caller without it is 403 ``FORBIDDEN``.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from generated.server_support import Guard, ProblemError
from runtime.auth.roles import has_role
from runtime.auth.tokens import Caller, InvalidTokenError, TokenService

__all__ = [
    "ROLES_OPT",
    "AccountGone",
    "AccountStatus",
    "Authenticator",
    "Banned",
    "StatusLookup",
    "Unauthenticated",
    "bearer_token",
    "caller_of",
]

ROLES_OPT = "vvtv_roles"  # the route ``opt`` key the generated routers fill from x-vvtv-roles
_CACHED = 50_000  # chosen: accounts remembered per process; the oldest go first


@dataclass(frozen=True)
class AccountStatus:
    """What the guard needs to know of an account."""

    banned: bool
    role: str


StatusLookup = Callable[[uuid.UUID], Awaitable[AccountStatus | None]]


class Unauthenticated(Exception):  # noqa: N818 - an outcome, named like the contract's
    """No valid token: missing, malformed, expired, forged, or its account is gone."""


class AccountGone(Unauthenticated):
    """The token is valid but names an account that does not exist (any more)."""


class Banned(Exception):  # noqa: N818 - an outcome, named like the contract's BANNED
    """The token is valid but its account is banned."""


def caller_of(caller: Any) -> Caller:
    """The caller the guard recorded for a secured route (it always records one)."""
    if not isinstance(caller, Caller):
        raise ProblemError(401, "AUTH_FAILED", "Authentication required")
    return caller


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if it is one."""
    scheme, _space, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Authenticator:
    """Verifies a bearer token and its account; the guard every route and socket uses."""

    def __init__(
        self,
        tokens: TokenService,
        lookup: StatusLookup,
        *,
        cache_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tokens, self._lookup, self._cache_s, self._clock = tokens, lookup, cache_s, clock
        self._statuses: OrderedDict[uuid.UUID, tuple[AccountStatus | None, float]] = OrderedDict()

    async def authenticate(self, token: str) -> Caller:
        """The caller ``token`` names; ``Unauthenticated`` or ``Banned`` otherwise."""
        try:
            caller = self.tokens.verify(token)
        except InvalidTokenError:
            raise Unauthenticated("the bearer token is not valid") from None
        status = await self.status(caller.user_id)
        if status is None:
            raise AccountGone("the bearer token is not valid")
        if status.banned:
            raise Banned("the account is banned")
        return caller

    async def status(self, user_id: uuid.UUID, *, fresh: bool = False) -> AccountStatus | None:
        """The account's status, remembered for ``cache_s`` unless ``fresh``."""
        now = self._clock()
        known = self._statuses.get(user_id)
        if not fresh and known is not None and known[1] > now:
            return known[0]
        status = await self._lookup(user_id)
        self.remember(user_id, status)
        return status

    def remember(self, user_id: uuid.UUID, status: AccountStatus | None) -> None:
        """Record a status read elsewhere (a bulk re-check of connected sockets)."""
        self._statuses[user_id] = (status, self._clock() + self._cache_s)
        self._statuses.move_to_end(user_id)
        if len(self._statuses) > _CACHED:
            self._statuses.popitem(last=False)

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop what is remembered of an account (it was just changed in this process)."""
        self._statuses.pop(user_id, None)

    def http_verifier(self) -> Guard:
        """The ``bearerAuth`` verifier of the generated routers' guards."""

        async def verify(
            connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
        ) -> None:
            token = bearer_token(connection.headers.get("authorization", ""))
            if token is None:
                raise NotAuthorizedException("a bearer token is required")
            try:
                caller = await self.authenticate(token)
            except Unauthenticated:
                # Never say why: expired, forged and malformed look the same from outside.
                raise NotAuthorizedException("the bearer token is not valid") from None
            except Banned:
                # The routes document 401 for a token that stopped working; sign-in (which
                # documents 403 BANNED) tells the account why.
                raise NotAuthorizedException("the bearer token is not valid") from None
            wanted = tuple(handler.opt.get(ROLES_OPT, ()))
            if not has_role(caller.roles, wanted):
                raise ProblemError(
                    403,
                    "FORBIDDEN",
                    "Forbidden",
                    f"This action needs the {' or '.join(wanted)} role.",
                )
            connection.scope["user"] = caller

        return verify
