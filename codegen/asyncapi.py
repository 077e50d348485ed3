"""The AsyncAPI document's channels, with the event types each one carries."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codegen.errors import CodegenError
from codegen.openapi.names import snake

__all__ = ["ASYNCAPI", "Channel", "load_channels"]

ASYNCAPI = Path("contracts/asyncapi.yaml")


@dataclass(frozen=True)
class Channel:
    """A WebSocket channel: its address, its parameters and its events' classes."""

    name: str
    py_name: str
    address: str
    params: tuple[str, ...]
    event_types: tuple[str, ...]
    event_classes: tuple[str, ...]
    description: str


def _ref(doc: dict[str, Any], node: Any, where: str) -> Any:
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = doc
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                raise CodegenError(f"{where}: $ref {ref!r} does not resolve")
            target = target[part]
        return target
    return node


def load_channels(root: Path) -> list[Channel]:
    """Every channel of ``contracts/asyncapi.yaml``; payloads must be event schema files."""
    path = root / ASYNCAPI
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    channels: list[Channel] = []
    for name, raw in (doc.get("channels") or {}).items():
        where = f"{ASYNCAPI.as_posix()}#/channels/{name}"
        channel = _ref(doc, raw, where)
        address = str(channel.get("address", ""))
        types: list[str] = []
        classes: list[str] = []
        for key, message in (channel.get("messages") or {}).items():
            payload = _ref(doc, message, f"{where}/messages/{key}").get("payload") or {}
            target = str(payload.get("$ref", ""))
            file = (path.parent / target).resolve() if target else None
            if file is None or not file.is_file():
                raise CodegenError(
                    f"{where}/messages/{key}: payload must name an event schema file"
                )
            schema = json.loads(file.read_text(encoding="utf-8"))
            event_type = next(
                (
                    str(((node.get("properties") or {}).get("type") or {})["const"])
                    for node in (schema, *schema.get("allOf", []))
                    if "const" in ((node.get("properties") or {}).get("type") or {})
                ),
                None,
            )
            if event_type is None or not schema.get("title"):
                raise CodegenError(f"{where}/messages/{key}: {target} is not an event schema")
            types.append(event_type)
            classes.append(str(schema["title"]))
        channels.append(
            Channel(
                name=name,
                py_name=snake(name),
                address=address,
                params=tuple(re.findall(r"\{([^}]+)\}", address)),
                event_types=tuple(types),
                event_classes=tuple(classes),
                description=str(channel.get("description", channel.get("title", name))).strip(),
            )
        )
    return channels
