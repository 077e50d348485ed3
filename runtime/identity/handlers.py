"""The generated `IdentityHandlers` Protocol, implemented: wire models <-> the service."""

from __future__ import annotations

from typing import Any

from generated.control_plane import models
from generated.control_plane.server import IdentityHandlers as IdentityProtocol
from generated.server_support import ProblemError
from runtime.auth import caller_of
from runtime.auth.client import client_address
from runtime.auth.roles import roles_of
from runtime.identity.service import IdentityService, IssuedTokens

__all__ = ["IdentityHandlers"]


def _tokens(issued: IssuedTokens) -> models.AuthTokens:
    return models.AuthTokens(
        token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
        access_token=issued.access_token,
        expires_in_s=issued.expires_in_s,
        refresh_token=issued.refresh_token,
        refresh_token_expires_in_s=issued.refresh_token_expires_in_s,
        user_id=issued.user_id,
    )


class IdentityHandlers:
    """Sign-in, refresh, the caller's account and socket tickets over HTTP."""

    def __init__(self, service: IdentityService) -> None:
        self.service = service

    async def issue_token(self, *, body: models.TokenRequest) -> models.AuthTokens:
        """Sign in with a password or a sign-in link."""
        if isinstance(body, models.PasswordGrant):
            issued = await self.service.sign_in_password(
                body.email, body.password, device_id=body.device_id
            )
        else:
            issued = await self.service.sign_in_magic_link(
                body.magic_link_token, device_id=body.device_id, client=client_address()
            )
        return _tokens(issued)

    async def refresh_access_token(self, *, body: models.RefreshTokenRequest) -> models.AuthTokens:
        """Rotate a refresh token."""
        return _tokens(await self.service.refresh(body.refresh_token))

    async def get_me(self, *, caller: Any) -> models.CurrentUser:
        """The caller's own account."""
        who = caller_of(caller)
        account = await self.service.account(who.user_id)
        if account is None:  # deleted since the guard looked
            raise ProblemError(401, "AUTH_FAILED", "Authentication failed", "No such account.")
        return models.CurrentUser(
            id=account.id,
            display_name=account.display_name,
            roles=list(roles_of(account.role)),
            age_verified=account.age_verified,
            quarantined_until=account.quarantined_until,
            created_at=account.created_at,
        )

    async def issue_socket_ticket(self, *, caller: Any) -> models.SocketTicket:
        """A single-use ticket for a browser's WebSocket."""
        issued = await self.service.issue_ticket(caller_of(caller))
        return models.SocketTicket(ticket=issued.ticket, expires_in_s=issued.expires_in_s)


_: type[IdentityProtocol] = IdentityHandlers  # the Protocol is implemented in full
