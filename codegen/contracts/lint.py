"""The contracts linter: document validity, examples and our own conventions, in one pass.

``lint_contracts(root)`` reads ``root/contracts`` (``meta/`` and ``released/`` excluded)
and returns every problem, sorted. Each problem carries one stable rule id:

- ``file.parse``: a contract file is not valid JSON or YAML.
- ``openapi.invalid``: an ``openapi/*.yaml`` document fails openapi-spec-validator.
- ``asyncapi.invalid``: ``asyncapi.yaml`` fails the official AsyncAPI 3.0.0 JSON Schema.
- ``asyncapi.payload``: a message payload ``$ref`` does not name a file under ``events/``.
- ``events.invalid_schema``: an ``events/*.schema.json`` is not valid JSON Schema 2020-12.
- ``events.example``: an event schema has no ``examples``, or one fails the schema.
- ``example.invalid``: an OpenAPI example (media type, parameter, header or schema
  level) fails its schema.
- ``operation.id``: an operationId is missing, not snake_case, or duplicated.
- ``operation.tags``: an operation has not exactly one tag, or its tag is not declared.
- ``operation.docs``: an operation has no summary or no description.
- ``operation.examples``: a JSON request body or 2xx JSON response has no examples.
- ``errors.problem_json``: a 4xx/5xx response is not ``application/problem+json`` with the
  shared ``problem.schema.json``.
- ``errors.auth``: a secured operation does not document 401.
- ``errors.validation``: an operation with a request body or query parameters does not
  document 422.
- ``errors.not_found``: an operation with a path parameter does not document 404.
- ``errors.retry_after``: a 429 response has no ``Retry-After`` header.
- ``errors.roles``: ``x-vvtv-roles`` (the roles an operation needs) is not a list of the
  document's ``Role`` enum values, or its operation is unsecured or documents no 403.
- ``problem.code``: a problem example's ``code`` is not in the shared ``ProblemCode`` enum.
- ``schema.unused``: a component schema is not reachable from outside ``components``.
- ``request.closed``: a request body object schema lacks ``additionalProperties: false``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from codegen.contracts.asyncapi import lint_asyncapi
from codegen.contracts.events import lint_event
from codegen.contracts.loading import load_tree, node_for
from codegen.contracts.openapi_rules import lint_openapi
from codegen.contracts.problems import LintProblem

__all__ = ["lint_contracts"]

_ASYNCAPI_SCHEMA: Final = Path("contracts") / "meta" / "asyncapi-3.0.0.schema.json"
_REPO: Final = Path(__file__).resolve().parents[2]


def lint_contracts(root: Path) -> list[LintProblem]:
    """Lint every contract under ``root/contracts`` and return all problems, sorted."""
    tree, problems = load_tree(root)
    contracts = root / "contracts"
    for path in sorted((contracts / "openapi").glob("*.yaml")):
        problems.extend(lint_openapi(tree, node_for(tree, path)))
    asyncapi = node_for(tree, contracts / "asyncapi.yaml")
    problems.extend(lint_asyncapi(tree, asyncapi, _asyncapi_meta_schema(root)))
    for path in sorted((contracts / "events").glob("*.schema.json")):
        problems.extend(lint_event(tree, node_for(tree, path)))
    return sorted(set(problems))


def _asyncapi_meta_schema(root: Path) -> Path:
    """The vendored AsyncAPI schema: the linted tree's own, else this checkout's."""
    own = root / _ASYNCAPI_SCHEMA
    return own if own.is_file() else _REPO / _ASYNCAPI_SCHEMA
