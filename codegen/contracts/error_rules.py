"""The error responses an operation must document, and closed request bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag

from codegen.contracts.operations import PROBLEM_JSON, Op, json_media, request_body, responses
from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, Tree

__all__ = ["closed_request_problems", "response_problems"]


def response_problems(tree: Tree, op: Op, doc: Node) -> Iterator[LintProblem]:
    """``errors.*``: the error responses an operation must document, and their shape."""
    documented = list(responses(tree, op))
    statuses = {status for status, _ in documented}
    for status, response in documented:
        if status[:1] in {"4", "5"}:
            yield from _problem_json_problems(tree, response)
        if status == "429":
            yield from _retry_after_problems(response)
    where = op.node.at("responses")
    if _is_secured(op, doc) and not _has_status(statuses, "401"):
        yield where.problem("errors.auth", "secured operation without a 401 response")
    takes_query = any(param.get("in") == "query" for param in op.params)
    if (takes_query or request_body(tree, op) is not None) and not _has_status(statuses, "422"):
        yield where.problem("errors.validation", "operation taking input without a 422 response")
    has_path_param = "{" in op.path or any(param.get("in") == "path" for param in op.params)
    if has_path_param and not _has_status(statuses, "404"):
        yield where.problem("errors.not_found", "operation with a path parameter without a 404")
    yield from _roles_problems(op, doc, statuses)


def _roles_problems(op: Op, doc: Node, statuses: set[str]) -> Iterator[LintProblem]:
    """``errors.roles``: roles named by the document's Role enum, on a secured op with a 403."""
    roles = op.node.at("x-vvtv-roles")
    if roles.value is None:
        return
    known = doc.at("components").at("schemas").at("Role").at("enum").value
    if not isinstance(roles.value, list) or not roles.value:
        yield roles.problem("errors.roles", "x-vvtv-roles must be a non-empty list of roles")
        return
    if not isinstance(known, list):
        yield roles.problem("errors.roles", "x-vvtv-roles needs a components/schemas/Role enum")
        return
    for index, role in enumerate(roles.value):
        if role not in known:
            yield roles.at(index).problem("errors.roles", f"{role!r} is not one of Role {known}")
    if not _is_secured(op, doc):
        yield roles.problem("errors.roles", "an operation that needs a role must be secured")
    if not _has_status(statuses, "403"):
        yield op.node.at("responses").problem(
            "errors.roles", "an operation that needs a role without a 403 response"
        )


def closed_request_problems(tree: Tree, op: Op) -> Iterator[LintProblem]:
    """``request.closed``: request body object schemas forbid unknown properties."""
    body = request_body(tree, op)
    if body is None:
        return
    for media in json_media(body):
        if media.at("schema").value is not None:
            yield from _open_object_problems(tree, media.at("schema"), depth=0)


def _has_status(statuses: set[str], code: str) -> bool:
    """Whether ``code`` or its range (``4XX``) is documented."""
    return code in statuses or f"{code[0]}XX" in statuses


def _is_secured(op: Op, doc: Node) -> bool:
    """Whether the effective security requires some credential."""
    security = op.node.value.get("security", doc.value.get("security"))
    return isinstance(security, list) and any(isinstance(req, dict) and req for req in security)


def _problem_json_problems(tree: Tree, response: Node) -> Iterator[LintProblem]:
    """``errors.problem_json``: only problem+json, with the shared problem schema."""
    content = response.at("content").value
    if not isinstance(content, dict) or set(content) != {PROBLEM_JSON}:
        found = sorted(content) if isinstance(content, dict) else []
        yield response.problem(
            "errors.problem_json", f"error content is {found}, expected only {PROBLEM_JSON}"
        )
    elif not _refers_to_problem(tree, response.at("content", PROBLEM_JSON, "schema")):
        yield response.at("content", PROBLEM_JSON, "schema").problem(
            "errors.problem_json", "schema is not a $ref to the shared problem.schema.json"
        )


def _refers_to_problem(tree: Tree, schema: Node) -> bool:
    """Whether a chain of ``$ref`` from ``schema`` reaches the shared problem schema."""
    return any(urldefrag(uri) == (tree.problem_uri, "") for uri, _ in tree.hops(schema))


def _retry_after_problems(response: Node) -> Iterator[LintProblem]:
    """``errors.retry_after``: a 429 carries ``Retry-After``."""
    headers = response.at("headers").value
    names = {str(name).lower() for name in headers} if isinstance(headers, dict) else set()
    if "retry-after" not in names:
        yield response.problem("errors.retry_after", "429 response without a Retry-After header")


def _open_object_problems(tree: Tree, schema: Node, depth: int) -> Iterator[LintProblem]:
    """Open object schemas at the top of a request schema, through oneOf/anyOf branches."""
    resolved = tree.deref(schema)
    if resolved is None or not isinstance(resolved.value, dict) or depth > 8:
        return
    value = resolved.value
    if value.get("additionalProperties") is False or value.get("unevaluatedProperties") is False:
        return
    branches = [*resolved.members("oneOf"), *resolved.members("anyOf")]
    if branches:
        for branch in branches:
            yield from _open_object_problems(tree, branch, depth + 1)
    elif _is_object_schema(value):
        yield resolved.problem(
            "request.closed", "request object schema without additionalProperties: false"
        )


def _is_object_schema(schema: dict[str, Any]) -> bool:
    """Whether a schema describes an object."""
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    return is_object or "properties" in schema or "allOf" in schema
