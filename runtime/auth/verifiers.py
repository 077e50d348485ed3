"""Security scheme verifiers for the generated routers' guards."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from runtime.auth.tokens import InvalidTokenError, TokenService

__all__ = ["bearer_verifier"]


def bearer_verifier(tokens: TokenService) -> Any:
    """Checks ``Authorization: Bearer <jwt>`` and records the caller in the scope."""

    def verify(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        header = connection.headers.get("authorization", "")
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("a bearer token is required")
        try:
            connection.scope["user"] = tokens.verify(token.strip())
        except InvalidTokenError:
            # Never say why: expired, forged and malformed look the same from outside.
            raise NotAuthorizedException("the bearer token is not valid") from None

    return verify
