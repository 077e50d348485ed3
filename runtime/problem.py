"""RFC 9457 problem+json responses with a stable ``code``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

__all__ = ["PROBLEM_JSON", "ProblemCode", "exception_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://voulezvous.tv/problems/"


class ProblemCode(StrEnum):
    """Stable problem codes; clients switch on these, never on titles."""

    NOT_READY = "NOT_READY"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    HTTP_ERROR = "HTTP_ERROR"
    INTERNAL = "INTERNAL"


_CODE_BY_STATUS = {
    400: ProblemCode.SCHEMA_INVALID,
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    503: ProblemCode.NOT_READY,
}


def problem_response(
    status: int, code: ProblemCode, title: str, detail: str | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    """A problem+json response; ``extra`` members are added as RFC 9457 extensions."""
    body: dict[str, Any] = {
        "type": _TYPE_BASE + code.value.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "code": code.value,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _CODE_BY_STATUS.get(exc.status_code, ProblemCode.HTTP_ERROR)
    extra: dict[str, Any] = {"instance": request.url.path}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    return problem_response(exc.status_code, code, exc.detail or "HTTP error", None, **extra)


def _unhandled(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request.logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        ProblemCode.INTERNAL,
        "Internal server error",
        instance=request.url.path,
    )


exception_handlers: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    Exception: _unhandled,
}
