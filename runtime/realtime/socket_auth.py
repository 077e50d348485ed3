"""How a WebSocket authenticates: the same guard as HTTP, three ways to carry the token.

- ``Authorization: Bearer <jwt>`` (SDKs, servers);
- ``Sec-WebSocket-Protocol: vvtv.v1, bearer.<jwt>`` (browsers); the server selects
  ``vvtv.v1``, so the token is never echoed in the handshake's answer;
- ``?ticket=<ticket>`` from ``POST /v1/auth/socket-ticket`` (single use).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from runtime.auth import Authenticator, Banned, Caller, Unauthenticated, bearer_token
from runtime.realtime.channel import SocketRefusedError
from runtime.realtime.connection import CloseCode

__all__ = ["BEARER_PROTOCOL_PREFIX", "SUBPROTOCOL", "Credentials", "SocketAuthenticator"]

SUBPROTOCOL = "vvtv.v1"
BEARER_PROTOCOL_PREFIX = "bearer."

RedeemTicket = Callable[[str], Awaitable[Caller | None]]


@dataclass(frozen=True)
class Credentials:
    """What a handshake carried, read before it is answered."""

    token: str | None
    ticket: str | None
    subprotocol: str | None  # the one to select in the answer


def read_credentials(
    headers: dict[str, str], subprotocols: Sequence[str], query: dict[str, str]
) -> Credentials:
    """The token, ticket and subprotocol of a handshake (nothing is checked yet)."""
    token = bearer_token(headers.get("authorization", ""))
    offered = [p.strip() for p in subprotocols]
    if token is None:
        token = next(
            (
                p[len(BEARER_PROTOCOL_PREFIX) :]
                for p in offered
                if p.startswith(BEARER_PROTOCOL_PREFIX) and len(p) > len(BEARER_PROTOCOL_PREFIX)
            ),
            None,
        )
    chosen = SUBPROTOCOL if SUBPROTOCOL in offered else None
    return Credentials(token=token, ticket=query.get("ticket") or None, subprotocol=chosen)


class SocketAuthenticator:
    """Turns a handshake's credentials into a caller, or a close code."""

    def __init__(self, authenticator: Authenticator, redeem_ticket: RedeemTicket) -> None:
        self.authenticator, self._redeem = authenticator, redeem_ticket

    async def caller(self, credentials: Credentials) -> Caller:
        """The authenticated caller; ``SocketRefusedError`` (4401/4403) otherwise."""
        try:
            if credentials.token is not None:
                return await self.authenticator.authenticate(credentials.token)
            if credentials.ticket is not None:
                caller = await self._redeem(credentials.ticket)
                if caller is None:
                    raise Unauthenticated("the ticket is not valid")
                status = await self.authenticator.status(caller.user_id)
                if status is None:
                    raise Unauthenticated("no such account")
                if status.banned:
                    raise Banned("the account is banned")
                return caller
        except Unauthenticated:
            raise SocketRefusedError(CloseCode.UNAUTHENTICATED, "not authenticated") from None
        except Banned:
            raise SocketRefusedError(CloseCode.FORBIDDEN, "the account is banned") from None
        raise SocketRefusedError(CloseCode.UNAUTHENTICATED, "a bearer token or ticket is required")
