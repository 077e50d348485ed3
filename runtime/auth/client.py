"""The client address of the request being served, for what keys limits on it."""

from __future__ import annotations

from contextvars import ContextVar

from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["client_address", "remember_client"]

_CLIENT: ContextVar[str] = ContextVar("vvtv_client_address", default="unknown")


def client_address() -> str:
    """The peer address of the request in progress (``unknown`` outside one).

    Behind a proxy this is what the ASGI server reports, which trusts forwarding headers
    only from the proxies it is told to (uvicorn's ``forwarded_allow_ips``).
    """
    return _CLIENT.get()


def remember_client(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: record each request's client address for ``client_address``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        token = _CLIENT.set(str(client[0]) if client else "unknown")
        try:
            await app(scope, receive, send)
        finally:
            _CLIENT.reset(token)

    return middleware
