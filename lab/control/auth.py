"""The ``labSignature`` scheme: the control token on every route, a signature on ``/v1/control/*``.

Checked in the route guard, over the raw body bytes, before anything is parsed. The
client learns only that authentication failed (401 ``AUTH_FAILED``), never which
check; a signature used twice is 409 ``NONCE_REPLAY``. The reason goes to the log.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from generated.server_support import ProblemError
from lab.control.signing import SignatureError, SignedRequest, verify_signature
from lab.store.signatures import first_use
from runtime.store import Database

__all__ = ["CONTROL_PREFIX", "lab_signature_verifier"]

CONTROL_PREFIX = "/v1/control/"
_log = structlog.get_logger(__name__)


def lab_signature_verifier(
    token: str,
    secret: str,
    *,
    skew_s: float,
    database: Database,
    now: Callable[[], float] = time.time,
) -> Any:
    """The guard callable for the ``labSignature`` security scheme.

    Accepted signatures are remembered in the store, so a replay is refused by every
    process serving the API, for longer than a signature can be fresh (both sides of
    the skew).
    """
    remember_s = 2 * skew_s + 1
    expected_token = token.encode()

    async def verify(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        header = connection.headers.get("authorization", "")
        scheme, _space, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected_token
        ):
            _log.info("lab_control_refused", path=connection.url.path, why="token")
            raise NotAuthorizedException("the request could not be authenticated")
        path = connection.scope["path"]
        if path.startswith(CONTROL_PREFIX):
            # Read once; Litestar keeps the bytes on the connection for the handler.
            body = await Request[Any, Any, Any](connection.scope, connection.receive).body()
            signed = SignedRequest(
                method=str(connection.scope.get("method", "")),
                path=path,
                timestamp=connection.headers.get("x-vvtv-ts"),
                signature=connection.headers.get("x-vvtv-signature"),
                body=body,
            )
            try:
                verify_signature(secret, signed, now=now, replays=None, skew_s=skew_s)
                signature = signed.signature or ""
                if not await database.write(
                    lambda conn: first_use(conn, signature, remember_s=remember_s)
                ):
                    raise SignatureError("replay")
            except SignatureError as exc:
                _log.info("lab_control_refused", path=path, why=exc.reason)
                if exc.reason == "replay":
                    raise ProblemError(
                        409,
                        "NONCE_REPLAY",
                        "Signature already used",
                        "This x-vvtv-signature was already used; sign the command again with"
                        " a new timestamp.",
                    ) from None
                raise NotAuthorizedException("the request could not be authenticated") from None
        connection.scope["user"] = "operator"

    return verify
