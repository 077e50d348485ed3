"""The OpenAPI documents: spec validity and the project's own rules for operations."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import ValidatorDetectError

from codegen.contracts.error_rules import closed_request_problems, response_problems
from codegen.contracts.examples import example_problems
from codegen.contracts.operations import Op, json_media, operations, request_body, responses
from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, Tree
from codegen.contracts.unused_schemas import unused_schema_problems
from codegen.contracts.validation import crash_text, error_problems

__all__ = ["lint_openapi"]

_SNAKE_CASE: Final = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def lint_openapi(tree: Tree, doc: Node | None) -> Iterator[LintProblem]:
    """Every rule for one OpenAPI document."""
    if doc is None:
        return
    yield from _spec_problems(doc)
    if not isinstance(doc.value, dict):
        return
    ops = list(operations(tree, doc))
    yield from _operation_id_problems(ops)
    yield from example_problems(tree, doc, ops)
    yield from unused_schema_problems(doc)
    declared = {
        name for tag in doc.members("tags") if isinstance(name := tag.at("name").value, str)
    }
    for op in ops:
        yield from _tag_problems(op, declared)
        yield from _docs_problems(op)
        yield from _examples_presence_problems(tree, op)
        yield from response_problems(tree, op, doc)
        yield from closed_request_problems(tree, op)


def _spec_problems(doc: Node) -> Iterator[LintProblem]:
    """Validate with openapi-spec-validator."""
    if not isinstance(doc.value, dict):
        yield doc.problem("openapi.invalid", "not a mapping")
        return
    try:
        validator = get_validator_cls(doc.value)(doc.value, base_uri=doc.file.uri)
    except (ValidatorDetectError, TypeError):
        yield doc.problem("openapi.invalid", "no supported 'openapi' version")
        return
    try:
        errors = list(validator.iter_errors())
    except Exception as exc:
        yield doc.problem("openapi.invalid", crash_text(exc))
        return
    yield from error_problems(doc, "openapi.invalid", errors)


def _operation_id_problems(ops: Iterable[Op]) -> Iterator[LintProblem]:
    """``operation.id``: present, snake_case, unique in the document."""
    first: dict[str, str] = {}
    for op in ops:
        node = op.node.at("operationId")
        if node.value is None:
            yield op.node.problem("operation.id", "no operationId")
        elif not isinstance(node.value, str) or not _SNAKE_CASE.match(node.value):
            yield node.problem("operation.id", f"operationId {node.value!r} is not snake_case")
        elif node.value in first:
            yield node.problem(
                "operation.id", f"operationId {node.value!r} already used at {first[node.value]}"
            )
        else:
            first[node.value] = op.node.pointer


def _tag_problems(op: Op, declared: set[str]) -> Iterator[LintProblem]:
    """``operation.tags``: exactly one tag, declared at the top level."""
    tags = op.node.at("tags")
    if not isinstance(tags.value, list) or len(tags.value) != 1:
        count = len(tags.value) if isinstance(tags.value, list) else 0
        yield tags.problem("operation.tags", f"has {count} tags, expected exactly one")
    elif not isinstance(tags.value[0], str) or tags.value[0] not in declared:
        yield tags.at(0).problem(
            "operation.tags", f"tag {tags.value[0]!r} is not declared in the top-level tags"
        )


def _docs_problems(op: Op) -> Iterator[LintProblem]:
    """``operation.docs``: a summary and a description."""
    for field in ("summary", "description"):
        value = op.node.at(field).value
        if not isinstance(value, str) or not value.strip():
            yield op.node.problem("operation.docs", f"no {field}")


def _examples_presence_problems(tree: Tree, op: Op) -> Iterator[LintProblem]:
    """``operation.examples``: JSON request and 2xx media types carry examples."""
    holders = [node for status, node in responses(tree, op) if status.startswith("2")]
    body = request_body(tree, op)
    if body is not None:
        holders.append(body)
    for holder in holders:
        for media in json_media(holder):
            value = media.value if isinstance(media.value, dict) else {}
            if not value.get("examples") and "example" not in value:
                yield media.problem("operation.examples", "JSON media type without examples")
