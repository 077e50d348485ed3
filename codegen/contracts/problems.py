"""What the contracts linter reports: the rule ids and one problem at one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["LintProblem", "RULES", "shorten"]

RULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "file.parse": "a contract file is not valid JSON or YAML",
        "openapi.invalid": "an OpenAPI document fails openapi-spec-validator",
        "asyncapi.invalid": "asyncapi.yaml fails the AsyncAPI 3.0.0 JSON Schema",
        "asyncapi.payload": "a message payload $ref does not name a file under events/",
        "events.invalid_schema": "an event schema is not valid JSON Schema 2020-12",
        "events.example": "an event schema has no examples, or one fails the schema",
        "example.invalid": "an OpenAPI example fails its schema",
        "operation.id": "operationId missing, not snake_case, or duplicated",
        "operation.tags": "not exactly one tag, or the tag is not declared",
        "operation.docs": "summary or description missing",
        "operation.examples": "a JSON request body or 2xx JSON response without examples",
        "errors.problem_json": "a 4xx/5xx response that is not the shared problem+json",
        "errors.auth": "a secured operation without a 401 response",
        "errors.validation": "an operation taking a body or query parameters without a 422",
        "errors.not_found": "an operation with a path parameter without a 404",
        "errors.retry_after": "a 429 response without a Retry-After header",
        "errors.roles": "x-vvtv-roles not a list of Role names, unsecured, or without a 403",
        "problem.code": "a problem example whose code is not in ProblemCode",
        "schema.unused": "a component schema never referenced",
        "request.closed": "a request body object schema without additionalProperties: false",
    }
)

_MAX_MESSAGE: Final = 240


@dataclass(frozen=True, order=True)
class LintProblem:
    """One broken rule at one place of one contract file."""

    file: str
    pointer: str
    rule: str
    message: str

    def render(self) -> str:
        """Format as ``file#pointer: rule: message``."""
        return f"{self.file}#{self.pointer}: {self.rule}: {self.message}"


def shorten(message: str) -> str:
    """Collapse whitespace and cap the length of a message."""
    flat = " ".join(message.split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3] + "..."
