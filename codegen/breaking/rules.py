"""Which check id and kind a schema ``Delta`` gets, by the direction data flows in."""

from __future__ import annotations

from typing import Literal

from codegen.breaking.model import BREAKING, NON_BREAKING, Kind
from codegen.breaking.schema import Delta

__all__ = ["Direction", "classify"]

Direction = Literal["request", "parameter", "response", "problem", "event"]
"""``request``/``parameter``: the server reads what old clients send. ``response``/``problem``:
old clients read what the server sends. ``event``: both (consumers old and new, events old
and new)."""

Rule = tuple[str, Kind] | None


def _reader(prefix: str, d: Delta) -> Rule:
    """The new schema must accept everything the old one did (requests, parameters)."""
    b, n = BREAKING, NON_BREAKING
    table: dict[str, Rule] = {
        "field_added_required": (f"{prefix}.field_added_required", b),
        "field_added_optional": (f"{prefix}.field_added_optional", n),
        "field_removed": (f"{prefix}.field_removed", b if d.closed else n),
        "field_became_required": (f"{prefix}.field_became_required", b),
        "field_became_optional": (f"{prefix}.field_became_optional", n),
        "nullable_added": (f"{prefix}.type_changed", n),
        "type_widened": (f"{prefix}.type_changed", n),
        "type_narrowed": (f"{prefix}.type_changed", b),
        "type_changed": (f"{prefix}.type_changed", b),
        "enum_widened": (f"{prefix}.enum_widened", n),
        "enum_narrowed": (f"{prefix}.enum_narrowed", b),
        "constraint_narrowed": (f"{prefix}.constraint_narrowed", b),
        "constraint_changed": (f"{prefix}.constraint_narrowed", b),
        "constraint_relaxed": (f"{prefix}.constraint_relaxed", n),
        "variant_added": (f"{prefix}.variant_added", n),
        "variant_removed": (f"{prefix}.variant_removed", b),
        "default_changed": (f"{prefix}.default_changed", b),
    }
    return table[d.kind]


def _writer(prefix: str, d: Delta) -> Rule:
    """Old clients must accept everything the new schema allows (responses, problems)."""
    b, n = BREAKING, NON_BREAKING
    problem = prefix == "problem"
    if d.keyword == "additionalProperties" or d.kind == "default_changed":
        return None  # clients ignore unknown response fields; defaults do not apply
    table: dict[str, Rule] = {
        "field_added_required": (f"{prefix}.field_added", n),
        "field_added_optional": (f"{prefix}.field_added", n),
        "field_removed": (f"{prefix}.field_removed", b),
        "field_became_required": (f"{prefix}.field_became_required", n),
        "field_became_optional": (f"{prefix}.field_became_optional", b),
        "nullable_added": (f"{prefix}.field_became_optional", b),
        "type_widened": (f"{prefix}.field_type_changed", b),
        "type_narrowed": (f"{prefix}.field_type_changed", n),
        "type_changed": (f"{prefix}.field_type_changed", b),
        "enum_widened": (f"{prefix}.enum_widened", n if problem else b),
        "enum_narrowed": (f"{prefix}.enum_narrowed", b if problem else n),
        "constraint_narrowed": (f"{prefix}.constraint_narrowed", n),
        "constraint_changed": (f"{prefix}.constraint_relaxed", b),
        "constraint_relaxed": (f"{prefix}.constraint_relaxed", b),
        "variant_added": (f"{prefix}.variant_added", b),
        "variant_removed": (f"{prefix}.variant_removed", n),
    }
    return table[d.kind]


def _event(d: Delta) -> Rule:
    """Full compatibility: old and new schemas must accept the same events."""
    if d.kind == "default_changed":
        return None
    kinds: dict[str, str] = {
        "nullable_added": "type_changed",
        "type_widened": "type_changed",
        "type_narrowed": "type_changed",
        "constraint_narrowed": "constraint_changed",
        "constraint_relaxed": "constraint_changed",
    }
    check = f"event.{kinds.get(d.kind, d.kind)}"
    if d.kind == "field_added_optional":
        return check, BREAKING if d.closed else NON_BREAKING
    if d.kind == "field_removed":
        return check, BREAKING if d.closed or d.was_required else NON_BREAKING
    return check, BREAKING


def classify(direction: Direction, delta: Delta) -> Rule:
    """The check id and kind of ``delta`` in ``direction``; None when it does not matter."""
    if direction in ("request", "parameter"):
        return _reader(direction, delta)
    if direction in ("response", "problem"):
        return _writer(direction, delta)
    return _event(delta)
