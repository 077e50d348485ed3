"""The events target: models of every event, their union, and compiled validators."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError
from codegen.events.validator import ValidatorCompiler
from codegen.jsonschema_models import render_jsonschema_models
from codegen.templates import environment

__all__ = ["EVENTS_DIR", "EVENTS_TARGET", "render_events"]

EVENTS_DIR = Path("contracts/events")
EVENTS_TARGET = Path("generated/events")
ENVELOPE = "envelope.schema.json"


@dataclass(frozen=True)
class _Event:
    type: str
    py_name: str
    function: str
    module: str
    class_name: str


def _event_type(schema: dict[str, Any], where: str) -> str:
    nodes = [schema, *schema.get("allOf", [])]
    for node in nodes:
        const = ((node.get("properties") or {}).get("type") or {}).get("const")
        if isinstance(const, str):
            return const
    raise CodegenError(f"{where}: an event schema must fix `type` with `const`")


def render_events(root: Path) -> dict[Path, str]:
    """``generated/events``: one model module per schema, validators, and the union."""
    folder = root / EVENTS_DIR
    files_in = sorted(folder.glob("*.schema.json"))
    if not files_in:
        return {}
    schemas: dict[str, dict[str, Any]] = {}
    for file in files_in:
        schema = json.loads(file.read_text(encoding="utf-8"))
        schemas[str(schema.get("$id") or file.name)] = schema
    files, header = render_jsonschema_models(root, EVENTS_DIR, EVENTS_TARGET)
    compiler = ValidatorCompiler(schemas)
    events: list[_Event] = []
    for file in files_in:
        if file.name == ENVELOPE:
            continue
        schema = json.loads(file.read_text(encoding="utf-8"))
        where = f"{EVENTS_DIR.as_posix()}/{file.name}"
        event_type = _event_type(schema, where)
        title = schema.get("title")
        if not title:
            raise CodegenError(f"{where}: an event schema needs a title (its class name)")
        events.append(
            _Event(
                type=event_type,
                py_name=re.sub(r"\W+", "_", event_type),
                function=compiler.function_for(str(schema.get("$id") or file.name)),
                module=file.name.removesuffix(".json").replace(".", "_"),
                class_name=str(title),
            )
        )
    env = environment()
    exports = sorted(
        ["EVENT_TYPES", "EventValidationError", "validate_event"]
        + [f"validate_{e.py_name}" for e in events]
    )
    files[EVENTS_TARGET / "validators.py"] = env.get_template("events_validators.py.j2").render(
        header=header, compiled=compiler.source(), events=events, exports=exports
    )
    files[EVENTS_TARGET / "__init__.py"] = env.get_template("events_init.py.j2").render(
        header=header, events=events
    )
    return files
