"""Running JSON Schema validators and turning their errors into problem messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, pointer

__all__ = ["crash_text", "error_problems", "error_text", "validation_errors"]


def validation_errors(validator: Validator, instance: Any) -> list[ValidationError]:
    """All validation errors; a validator that cannot finish becomes one error."""
    try:
        return list(validator.iter_errors(instance))
    except Exception as exc:
        return [ValidationError(crash_text(exc))]


def crash_text(exc: Exception) -> str:
    """Describe why a validator could not finish."""
    if isinstance(exc, Unresolvable):
        return f"unresolvable reference {exc}"
    return f"the schema cannot be evaluated: {type(exc).__name__}: {exc}"


def error_text(error: ValidationError) -> str:
    """A validation error's message with the instance location it concerns."""
    where = pointer("", *error.absolute_path) or "/"
    return f"{error.message} (at {where})"


def error_problems(
    document: Node, rule: str, errors: Iterable[ValidationError]
) -> Iterator[LintProblem]:
    """Each error as a problem at the place inside ``document`` it concerns."""
    for error in errors:
        yield document.at(*error.absolute_path).problem(rule, error.message)
