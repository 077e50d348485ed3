"""OpenAPI documents compared operation by operation: parameters, bodies, responses."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codegen.breaking.common import schema_changes
from codegen.breaking.model import BREAKING, NON_BREAKING, Change
from codegen.breaking.operation import (
    Operation,
    identity_changes,
    operations,
    parameter_changes,
)
from codegen.breaking.refs import ORIGINS, Documents
from codegen.breaking.security import document_security, security_changes

__all__ = ["SHARED_PROBLEM", "compare_openapi"]

SHARED_PROBLEM = "problem.schema.json#"
"""Error bodies that are this schema on both sides are compared once, not per operation."""


def _content(part: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict((part or {}).get("content") or {})


def _request_body(old: Operation, new: Operation, where: str) -> list[Change]:
    """The body added, removed or made required, media types dropped, schema changes."""
    before, after = old.body.get("requestBody"), new.body.get("requestBody")
    at = f"{where} request"
    if before is None and after is None:
        return []
    if before is None:
        required = bool(after and after.get("required"))
        text = f"{'required' if required else 'optional'} body added"
        return [Change("request.body_added", BREAKING if required else NON_BREAKING, at, text)]
    if after is None:
        return [Change("request.body_removed", BREAKING, at, "request body removed")]
    out: list[Change] = []
    if after.get("required") is True and before.get("required") is not True:
        out.append(Change("request.body_became_required", BREAKING, at, "body now required"))
    new_content = _content(after)
    for media, entry in sorted(_content(before).items()):
        if media not in new_content:
            text = f"media type {media} no longer accepted"
            out.append(Change("request.media_type_removed", BREAKING, at, text))
            continue
        old_schema, new_schema = entry.get("schema", {}), new_content[media].get("schema", {})
        out += schema_changes("request", old_schema, new_schema, f"{at} {media}")
    return out


def _shared_problem(schema: Any) -> bool:
    return isinstance(schema, dict) and SHARED_PROBLEM in schema.get(ORIGINS, ())


def _responses(old: Operation, new: Operation, where: str) -> list[Change]:
    """Statuses and media types added or removed, and the response schemas' changes."""
    out: list[Change] = []
    before = {str(k): v for k, v in dict(old.body.get("responses") or {}).items()}
    after = {str(k): v for k, v in dict(new.body.get("responses") or {}).items()}
    for status in sorted(set(before) | set(after)):
        success = status.startswith("2")
        at = f"{where} response {status}"
        kind = BREAKING if success else NON_BREAKING
        if status not in after:
            out.append(Change("response.status_removed", kind, at, f"status {status} removed"))
            continue
        if status not in before:
            out.append(Change("response.status_added", kind, at, f"status {status} added"))
            continue
        new_content = _content(after[status])
        for media, entry in sorted(_content(before[status]).items()):
            if media not in new_content:
                text = f"media type {media} no longer returned"
                out.append(Change("response.media_type_removed", kind, at, text))
                continue
            old_schema, new_schema = entry.get("schema", {}), new_content[media].get("schema", {})
            if _shared_problem(old_schema) and _shared_problem(new_schema):
                continue
            out += schema_changes("response", old_schema, new_schema, f"{at} {media}")
    return out


def _document(docs: Documents, path: Path) -> dict[str, Any]:
    """The parts of an OpenAPI document compared, with the paths' refs inlined."""
    if not path.is_file():
        return {}
    raw = docs.load(path)
    if not isinstance(raw, dict):
        return {}
    schemes = dict(raw.get("components") or {}).get("securitySchemes", {})
    return {
        "paths": docs.inline(raw.get("paths") or {}, path),
        "security": raw.get("security"),
        "components": {"securitySchemes": schemes},
    }


def _compare_document(old_docs: Documents, new_docs: Documents, name: str) -> list[Change]:
    old = _document(old_docs, old_docs.root / "openapi" / name)
    new = _document(new_docs, new_docs.root / "openapi" / name)
    file = f"openapi/{name}"
    old_ops, new_ops = operations(old), operations(new)
    out: list[Change] = []
    for key in sorted(set(old_ops) | set(new_ops)):
        before, after = old_ops.get(key), new_ops.get(key)
        if after is None and before is not None:
            where = f"{file} {before.method} {before.path}"
            out.append(Change("operation.removed", BREAKING, where, "operation removed"))
        elif before is None and after is not None:
            where = f"{file} {after.method} {after.path}"
            out.append(Change("operation.added", NON_BREAKING, where, "operation added"))
        elif before is not None and after is not None:
            where = f"{file} {after.method} {after.path}"
            out += identity_changes(before, after, where)
            out += parameter_changes(before, after, where)
            out += _request_body(before, after, where)
            out += _responses(before, after, where)
            out += security_changes(before.security, after.security, where)
    if old and new:
        out += document_security(old, new, file)
    return out


def compare_openapi(old: Documents, new: Documents) -> list[Change]:
    """Every change between the ``openapi/`` documents of two contracts folders."""
    names: set[str] = set()
    for docs in (old, new):
        folder = docs.root / "openapi"
        if folder.is_dir():
            names |= {p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json")}
    return [change for name in sorted(names) for change in _compare_document(old, new, name)]
