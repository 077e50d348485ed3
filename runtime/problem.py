"""RFC 9457 problem+json for the whole app: the contract's handlers plus a last resort."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from generated.server_support import PROBLEM_JSON, ProblemError, problem_response
from generated.server_support import exception_handlers as contract_handlers

__all__ = ["PROBLEM_JSON", "ProblemError", "exception_handlers", "invalid", "problem_response"]

_log = structlog.get_logger(__name__)


def invalid(pointer: str, message: str) -> ProblemError:
    """422 ``SCHEMA_INVALID`` naming the one field at fault (``/body/path`` or ``query.name``)."""
    return ProblemError(
        422,
        "SCHEMA_INVALID",
        "Request does not match the contract",
        message,
        errors=[{"pointer": pointer, "message": message}],
    )


def _unhandled(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Details stay in the log; the client gets a stable code and no internals.
    _log.error("unhandled error", path=request.url.path, exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "Internal server error",
        instance=request.url.path,
    )


exception_handlers: ExceptionHandlersMap = {**contract_handlers, Exception: _unhandled}
