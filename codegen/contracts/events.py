"""Event schemas: valid JSON Schema 2020-12, with examples that pass them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, Tree
from codegen.contracts.validation import error_problems, error_text, validation_errors

__all__ = ["lint_event"]

_DRAFT_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"


def lint_event(tree: Tree, schema: Node | None) -> Iterator[LintProblem]:
    """``events.invalid_schema`` and ``events.example`` for one event schema."""
    if schema is None:
        return
    if not isinstance(schema.value, dict):
        yield schema.problem("events.invalid_schema", "not a JSON object")
        return
    dialect = schema.value.get("$schema", _DRAFT_2020_12)
    if str(dialect).rstrip("#") != _DRAFT_2020_12:
        yield schema.at("$schema").problem(
            "events.invalid_schema", f"$schema is {dialect!r}, expected {_DRAFT_2020_12}"
        )
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = list(meta.iter_errors(schema.value))
    yield from error_problems(schema, "events.invalid_schema", errors)
    if not errors:
        yield from _example_problems(tree, schema)


def _example_problems(tree: Tree, schema: Node) -> Iterator[LintProblem]:
    """Each example of an event schema validates, references resolved by ``$id``."""
    examples = list(schema.members("examples"))
    if not examples:
        yield schema.problem("events.example", "event schema without examples")
    validator = Draft202012Validator(
        {"$ref": schema.file.uri}, registry=tree.registry, format_checker=FormatChecker()
    )
    for example in examples:
        errors = validation_errors(validator, example.value)
        if errors:
            yield example.problem("events.example", error_text(best_match(errors)))
