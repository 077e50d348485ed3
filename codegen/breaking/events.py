"""Event schemas compared by event type, for backward and forward compatibility."""

from __future__ import annotations

from typing import Any

from codegen.breaking.common import schema_changes
from codegen.breaking.model import BREAKING, NON_BREAKING, Change
from codegen.breaking.refs import Documents
from codegen.breaking.shape import flatten

__all__ = ["compare_events", "event_schemas"]


def event_schemas(docs: Documents) -> dict[str, tuple[str, Any]]:
    """Event type -> (file, inlined schema); files without a ``type`` const are shared parts."""
    folder = docs.root / "events"
    found: dict[str, tuple[str, Any]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.schema.json")):
        schema = docs.inline(docs.load(path), path)
        type_schema = flatten(dict(flatten(schema).get("properties") or {}).get("type", {}))
        if "const" in type_schema:
            found[str(type_schema["const"])] = (docs.rel(path), schema)
    return found


def compare_events(old: Documents, new: Documents) -> list[Change]:
    """Every change between the ``events/`` schemas of two contracts folders."""
    before, after = event_schemas(old), event_schemas(new)
    out: list[Change] = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            text = f"event {name!r} removed"
            out.append(Change("event.removed", BREAKING, before[name][0], text))
        elif name not in before:
            text = f"event {name!r} added"
            out.append(Change("event.added", NON_BREAKING, after[name][0], text))
        else:
            out += schema_changes("event", before[name][1], after[name][1], after[name][0])
    return out
