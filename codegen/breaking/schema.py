"""Direction-neutral differences between two inlined schemas, as ``Delta`` records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from codegen.breaking.shape import LOWER_BOUNDS, MISSING, UPPER_BOUNDS, Shape, View, shape

__all__ = ["Delta", "diff", "escape"]


@dataclass(frozen=True)
class Delta:
    """One schema difference; ``rules`` turns it into a check id and a kind for a direction."""

    kind: str
    pointer: str
    message: str
    closed: bool = False
    was_required: bool = False
    keyword: str = ""


def escape(name: str) -> str:
    """A property name as a JSON pointer token."""
    return name.replace("~", "~0").replace("/", "~1")


def _fmt(values: frozenset[str] | None) -> str:
    return "any" if values is None else ", ".join(sorted(values)) or "none"


def _covered(types: frozenset[str], by: frozenset[str]) -> frozenset[str]:
    """The members of ``types`` that ``by`` does not accept (integer is a number)."""
    return frozenset(t for t in types if t not in by and not (t == "integer" and "number" in by))


def _type_deltas(old: Shape, new: Shape, at: str) -> Iterator[Delta]:
    if old.types == new.types:
        return
    text = f"type {_fmt(old.types)} -> {_fmt(new.types)}"
    if old.types is None:
        yield Delta("type_narrowed", at, text)
        return
    if new.types is None:
        yield Delta("type_widened", at, text)
        return
    added, removed = _covered(new.types, old.types), _covered(old.types, new.types)
    if added == {"null"} and not removed:
        yield Delta("nullable_added", at, f"{text} (now nullable)")
    elif added and removed:
        yield Delta("type_changed", at, text)
    elif added:
        yield Delta("type_widened", at, text)
    elif removed:
        yield Delta("type_narrowed", at, text)


def _enum_deltas(old: Shape, new: Shape, at: str) -> Iterator[Delta]:
    if old.enum == new.enum:
        return
    if old.enum is None:
        yield Delta("enum_narrowed", at, f"values now restricted to {_fmt(new.enum)}")
    elif new.enum is None:
        yield Delta("enum_widened", at, f"values no longer restricted to {_fmt(old.enum)}")
    else:
        if old.enum - new.enum:
            yield Delta("enum_narrowed", at, f"values removed: {_fmt(old.enum - new.enum)}")
        if new.enum - old.enum:
            yield Delta("enum_widened", at, f"values added: {_fmt(new.enum - old.enum)}")


def _bound_kind(key: str, old: Any, new: Any) -> str:
    if old is None:
        return "constraint_narrowed"
    if new is None:
        return "constraint_relaxed"
    if not all(isinstance(v, int | float) for v in (old, new)):
        return "constraint_changed"
    if key in LOWER_BOUNDS:
        return "constraint_narrowed" if new > old else "constraint_relaxed"
    if key in UPPER_BOUNDS:
        return "constraint_narrowed" if new < old else "constraint_relaxed"
    if key == "uniqueItems":
        return "constraint_narrowed" if new else "constraint_relaxed"
    return "constraint_changed"


def _constraint_deltas(old: Shape, new: Shape, at: str) -> Iterator[Delta]:
    for key in sorted(set(old.constraints) | set(new.constraints)):
        before, after = old.constraints.get(key), new.constraints.get(key)
        if before != after:
            kind = _bound_kind(key, before, after)
            yield Delta(kind, at, f"{key} {before!r} -> {after!r}", keyword=key)
    if old.closed != new.closed:
        kind = "constraint_narrowed" if new.closed else "constraint_relaxed"
        text = "unknown fields now rejected" if new.closed else "unknown fields now allowed"
        yield Delta(kind, at, f"additionalProperties: {text}", keyword="additionalProperties")
    if old.default != new.default:
        before = "none" if old.default is MISSING else repr(old.default)
        after = "none" if new.default is MISSING else repr(new.default)
        yield Delta("default_changed", at, f"default {before} -> {after}")


def _property_deltas(
    old: Shape, new: Shape, at: str, view: View, seen: frozenset[tuple[str, str]]
) -> Iterator[Delta]:
    for name in sorted(set(old.properties) | set(new.properties)):
        here = f"{at}/properties/{escape(name)}"
        if name not in new.properties:
            was = name in old.required
            text = f"{'required' if was else 'optional'} field {name!r} removed"
            yield Delta("field_removed", here, text, closed=new.closed, was_required=was)
        elif name not in old.properties:
            kind = "field_added_required" if name in new.required else "field_added_optional"
            text = f"{'required' if name in new.required else 'optional'} field {name!r} added"
            yield Delta(kind, here, text, closed=old.closed)
        else:
            if name in old.required and name not in new.required:
                yield Delta("field_became_optional", here, f"field {name!r} no longer required")
            if name not in old.required and name in new.required:
                yield Delta("field_became_required", here, f"field {name!r} now required")
            yield from _diff(old.properties[name], new.properties[name], here, view, seen)


def _variant_deltas(
    old: Shape, new: Shape, at: str, view: View, seen: frozenset[tuple[str, str]]
) -> Iterator[Delta]:
    if old.variants is None or new.variants is None:
        if old.variants != new.variants:
            yield Delta("type_changed", at, "oneOf/anyOf composition added or removed")
        return
    for key in sorted(set(old.variants) | set(new.variants)):
        here = f"{at}/{new.union}/{escape(key)}"
        if key not in new.variants:
            yield Delta("variant_removed", here, f"variant {key!r} removed")
        elif key not in old.variants:
            yield Delta("variant_added", here, f"variant {key!r} added")
        else:
            yield from _diff(old.variants[key], new.variants[key], here, view, seen)


def _diff(
    old_schema: Any, new_schema: Any, at: str, view: View, seen: frozenset[tuple[str, str]]
) -> Iterator[Delta]:
    old, new = shape(old_schema, view), shape(new_schema, view)
    if old.recursive or new.recursive:
        return
    pair = (",".join(old.origins), ",".join(new.origins))
    if pair[0] and pair[1]:
        if pair in seen:
            return
        seen = seen | {pair}
    yield from _type_deltas(old, new, at)
    if old.types and new.types and _covered(old.types, new.types) == old.types:
        return  # a different kind of value altogether: its insides are not comparable
    yield from _enum_deltas(old, new, at)
    yield from _constraint_deltas(old, new, at)
    yield from _property_deltas(old, new, at, view, seen)
    if old.additional is not None and new.additional is not None:
        yield from _diff(old.additional, new.additional, f"{at}/additionalProperties", view, seen)
    if old.items is not None or new.items is not None:
        yield from _diff(old.items or {}, new.items or {}, f"{at}/items", view, seen)
    if old.variants is not None or new.variants is not None:
        yield from _variant_deltas(old, new, at, view, seen)


def diff(old: Any, new: Any, view: View) -> list[Delta]:
    """The differences between two inlined schemas, located by JSON pointers into them."""
    return list(_diff(old, new, "", view, frozenset()))
