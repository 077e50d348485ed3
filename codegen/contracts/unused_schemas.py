"""Component schemas that nothing outside ``components`` reaches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, pointer_tokens

__all__ = ["unused_schema_problems"]


def unused_schema_problems(doc: Node) -> Iterator[LintProblem]:
    """``schema.unused``: component schemas unreachable from outside ``components``."""
    schemas = doc.at("components", "schemas")
    if not isinstance(schemas.value, dict):
        return
    reached: set[tuple[str, str, str]] = set()
    pending = [value for key, value in doc.value.items() if key != "components"]
    while pending:
        for ref in _refs(pending.pop()):
            component = _local_component(doc.file.uri, ref)
            if component is not None and component not in reached:
                reached.add(component)
                pending.append(doc.at(*component).value)
    for name in schemas.value:
        if ("components", "schemas", name) not in reached:
            yield schemas.at(name).problem("schema.unused", f"schema {name!r} is never referenced")


def _refs(value: Any) -> Iterator[str]:
    """Every ``$ref`` and discriminator mapping target inside a value."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref
        discriminator = value.get("discriminator")
        if isinstance(discriminator, dict) and isinstance(discriminator.get("mapping"), dict):
            for target in discriminator["mapping"].values():
                yield str(target) if "#" in str(target) else f"#/components/schemas/{target}"
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _local_component(doc_uri: str, ref: str) -> tuple[str, str, str] | None:
    """The ``components/<kind>/<name>`` a same-document reference lands in."""
    target, fragment = urldefrag(urljoin(doc_uri, ref))
    tokens = pointer_tokens(unquote(fragment))
    if target != doc_uri or len(tokens) < 4 or tokens[:2] != ["", "components"]:
        return None
    return "components", tokens[2], tokens[3]
