"""Turning schema deltas into ``Change`` records for one location and direction."""

from __future__ import annotations

from typing import Any

from codegen.breaking.model import Change
from codegen.breaking.rules import Direction, classify
from codegen.breaking.schema import diff
from codegen.breaking.shape import View

__all__ = ["schema_changes"]

_VIEWS: dict[Direction, View] = {
    "request": "request",
    "parameter": "request",
    "response": "response",
    "problem": "response",
    "event": "all",
}


def schema_changes(direction: Direction, old: Any, new: Any, where: str) -> list[Change]:
    """The classified differences of two inlined schemas found at ``where``."""
    changes = []
    for delta in diff(old, new, _VIEWS[direction]):
        rule = classify(direction, delta)
        if rule is not None:
            at = f"{where}#{delta.pointer}" if delta.pointer else where
            changes.append(Change(rule[0], rule[1], at, delta.message))
    return changes
