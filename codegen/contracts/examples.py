"""OpenAPI examples checked against their schemas, and problem examples' codes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, NamedTuple

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30Validator, OAS31Validator

from codegen.contracts.operations import PROBLEM_JSON, Op
from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, Tree
from codegen.contracts.validation import error_text, validation_errors

__all__ = ["example_problems"]

_SCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_SINGLES: Final = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)


class _Example(NamedTuple):
    """An example value to check against a schema."""

    schema: Node
    value: Node
    problem: bool
    via: str | None


def example_problems(tree: Tree, doc: Node, ops: Iterable[Op]) -> Iterator[LintProblem]:
    """``example.invalid`` and ``problem.code`` for every example of the document."""
    version = str(doc.value.get("openapi", ""))
    cls = OAS30Validator if version.startswith("3.0") else OAS31Validator
    for example in _examples(tree, doc, ops):
        schema = {"$ref": example.schema.uri}
        validator = cls(schema, registry=tree.registry, format_checker=cls.FORMAT_CHECKER)
        yield from _check_example(tree, example, validator)


def _check_example(tree: Tree, example: _Example, validator: Validator) -> Iterator[LintProblem]:
    """Validate one example; ``problem.code`` owns the ``code`` of problem examples."""
    errors = validation_errors(validator, example.value.value)
    bad_code = list(_problem_code_problems(tree, example.value)) if example.problem else []
    if bad_code:
        errors = [error for error in errors if list(error.absolute_path)[:1] != ["code"]]
    yield from bad_code
    if errors:
        used = f" (example used at {example.via})" if example.via else ""
        message = f"{error_text(best_match(errors))}, schema {example.schema.pointer}{used}"
        yield example.value.problem("example.invalid", message)


def _problem_code_problems(tree: Tree, example: Node) -> Iterator[LintProblem]:
    """``problem.code``: a problem example's code is a shared ``ProblemCode``."""
    code = example.at("code")
    if tree.problem_codes is None or not isinstance(example.value, dict):
        return
    known = isinstance(code.value, str) and code.value in tree.problem_codes
    if "code" in example.value and not known:
        yield code.problem("problem.code", f"{code.value!r} is not a ProblemCode")


def _examples(tree: Tree, doc: Node, ops: Iterable[Op]) -> Iterator[_Example]:
    """Every example of the document paired with the schema it illustrates."""
    for holder, problem in _example_holders(doc, ops):
        schema = holder.at("schema")
        if schema.value is not None:
            yield from _holder_examples(tree, holder, schema, problem)
            yield from _schema_examples(schema)
    for schema in doc.at("components").members("schemas"):
        yield from _schema_examples(schema)


def _holder_examples(tree: Tree, holder: Node, schema: Node, problem: bool) -> Iterator[_Example]:
    """``example`` and ``examples[*].value`` of a media type, parameter or header."""
    if isinstance(holder.value, dict) and "example" in holder.value:
        yield _Example(schema, holder.at("example"), problem, None)
    for entry in holder.members("examples"):
        resolved = tree.deref(entry)
        if resolved is not None and isinstance(resolved.value, dict) and "value" in resolved.value:
            via = entry.pointer if resolved.pointer != entry.pointer else None
            yield _Example(schema, resolved.at("value"), problem, via)


def _schema_examples(schema: Node) -> Iterator[_Example]:
    """Schema-level ``examples`` (and ``example``) of a schema and its inline subschemas."""
    for node in _subschemas(schema):
        if not isinstance(node.value, dict):
            continue
        if "example" in node.value:
            yield _Example(node, node.at("example"), False, None)
        if isinstance(node.value.get("examples"), list):
            yield from (_Example(node, item, False, None) for item in node.members("examples"))


def _subschemas(schema: Node) -> Iterator[Node]:
    """A schema and its inline subschemas (references are not followed)."""
    yield schema
    if not isinstance(schema.value, dict):
        return
    for key in _SCHEMA_MAPS + _SCHEMA_LISTS:
        for child in schema.members(key):
            yield from _subschemas(child)
    for key in _SCHEMA_SINGLES:
        if isinstance(schema.value.get(key), dict):
            yield from _subschemas(schema.at(key))


def _example_holders(doc: Node, ops: Iterable[Op]) -> Iterator[tuple[Node, bool]]:
    """Inline media types, parameters and headers, flagged when problem+json."""
    components = doc.at("components")
    for op in ops:
        for param in (*op.item.members("parameters"), *op.node.members("parameters")):
            yield from _param_holders(param)
        yield from _body_holders(op.node.at("requestBody"))
        for response in op.node.members("responses"):
            yield from _response_holders(response)
    for param in (*components.members("parameters"), *components.members("headers")):
        yield from _param_holders(param)
    for body in components.members("requestBodies"):
        yield from _body_holders(body)
    for response in components.members("responses"):
        yield from _response_holders(response)


def _is_inline(node: Node) -> bool:
    """Whether a node is an inline object rather than a reference."""
    return isinstance(node.value, dict) and "$ref" not in node.value


def _param_holders(param: Node) -> Iterator[tuple[Node, bool]]:
    """An inline parameter or header, and the media types of its ``content``."""
    if _is_inline(param):
        yield param, False
        yield from ((media, False) for media in param.members("content"))


def _body_holders(body: Node) -> Iterator[tuple[Node, bool]]:
    """The media types of an inline request body or response, flagged when problem+json."""
    if _is_inline(body):
        yield from ((media, media.key == PROBLEM_JSON) for media in body.members("content"))


def _response_holders(response: Node) -> Iterator[tuple[Node, bool]]:
    """The media types and inline headers of an inline response."""
    yield from _body_holders(response)
    if _is_inline(response):
        for header in response.members("headers"):
            yield from _param_holders(header)
