"""The AsyncAPI document: valid against its meta-schema, payloads naming event schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from codegen.contracts.problems import LintProblem
from codegen.contracts.tree import Node, Tree
from codegen.contracts.validation import error_problems, validation_errors

__all__ = ["lint_asyncapi"]


def lint_asyncapi(tree: Tree, doc: Node | None, meta_schema: Path) -> Iterator[LintProblem]:
    """``asyncapi.invalid`` and ``asyncapi.payload``, against the ``meta_schema`` file."""
    if doc is None:
        return
    meta = json.loads(meta_schema.read_text(encoding="utf-8"))
    errors = validation_errors(validator_for(meta)(meta), doc.value)
    yield from error_problems(doc, "asyncapi.invalid", (best_match([error]) for error in errors))
    events = (tree.root / "contracts" / "events").resolve()
    for payload in _payloads(doc):
        yield from _payload_problems(payload, events)


def _payloads(node: Node) -> Iterator[Node]:
    """Every message ``payload`` (or its multi-format ``schema``) in the document."""
    if isinstance(node.value, dict):
        for key in node.value:
            child = node.at(key)
            if key == "payload" and isinstance(child.value, dict):
                is_multi = "schemaFormat" in child.value and "schema" in child.value
                yield child.at("schema") if is_multi else child
            else:
                yield from _payloads(child)
    elif isinstance(node.value, list):
        for index in range(len(node.value)):
            yield from _payloads(node.at(index))


def _payload_problems(payload: Node, events: Path) -> Iterator[LintProblem]:
    """A payload must be a ``$ref`` to an existing file under ``contracts/events``."""
    ref = payload.value.get("$ref") if isinstance(payload.value, dict) else None
    if not isinstance(ref, str):
        yield payload.problem("asyncapi.payload", "payload is not a $ref to an event schema")
        return
    target = urlsplit(urljoin(payload.file.uri, ref))
    path = Path(url2pathname(target.path))
    if target.scheme != "file" or events not in path.parents or not path.is_file():
        yield payload.at("$ref").problem(
            "asyncapi.payload", f"{ref!r} is not an existing file under contracts/events"
        )
