"""The operations of an OpenAPI document, their identity and their parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codegen.breaking.common import schema_changes
from codegen.breaking.model import BREAKING, NON_BREAKING, Change

__all__ = ["Operation", "identity_changes", "operations", "parameter_changes"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
"""Header parameters OpenAPI says to ignore (the media types and security describe them)."""


@dataclass(frozen=True)
class Operation:
    """One operation with its effective parameters and security requirements."""

    method: str
    path: str
    body: Mapping[str, Any]
    params: Mapping[tuple[str, str], Mapping[str, Any]]
    security: Any


def _param_key(param: Mapping[str, Any]) -> tuple[str, str]:
    where, name = str(param.get("in", "")), str(param.get("name", ""))
    return where, name.lower() if where == "header" else name


def operations(doc: Mapping[str, Any]) -> dict[tuple[str, str], Operation]:
    """Operations keyed by method and path template with the parameter names blanked."""
    found: dict[tuple[str, str], Operation] = {}
    for path, item in dict(doc.get("paths") or {}).items():
        shared = {_param_key(p): p for p in item.get("parameters", ())}
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = {**shared, **{_param_key(p): p for p in op.get("parameters", ())}}
            params = {k: v for k, v in params.items() if k[1] not in _IGNORED_HEADERS}
            key = (method.upper(), re.sub(r"\{[^}]*\}", "{}", str(path)))
            security = op.get("security", doc.get("security"))
            found[key] = Operation(method.upper(), str(path), op, params, security)
    return found


def _param_schema(param: Mapping[str, Any]) -> Any:
    if "schema" in param:
        return param["schema"]
    for media in dict(param.get("content") or {}).values():
        return media.get("schema", {})
    return {}


def _required(param: Mapping[str, Any]) -> bool:
    return param.get("in") == "path" or param.get("required") is True


def parameter_changes(old: Operation, new: Operation, where: str) -> list[Change]:
    """Parameters added, removed, made required or optional, and their schemas' changes."""
    out: list[Change] = []
    for key in sorted(set(old.params) | set(new.params)):
        at = f"{where} {key[0]}.{key[1]}"
        before, after = old.params.get(key), new.params.get(key)
        if after is None and before is not None:
            req = _required(before)
            kind = BREAKING if req else NON_BREAKING
            text = f"{'required' if req else 'optional'} parameter removed"
            out.append(Change("parameter.removed", kind, at, text))
        elif before is None and after is not None:
            if _required(after):
                text = "required parameter added"
                out.append(Change("parameter.added_required", BREAKING, at, text))
            else:
                text = "optional parameter added"
                out.append(Change("parameter.added_optional", NON_BREAKING, at, text))
        elif before is not None and after is not None:
            if _required(after) and not _required(before):
                out.append(Change("parameter.became_required", BREAKING, at, "now required"))
            if _required(before) and not _required(after):
                out.append(Change("parameter.became_optional", NON_BREAKING, at, "now optional"))
            out += schema_changes("parameter", _param_schema(before), _param_schema(after), at)
    return out


def identity_changes(old: Operation, new: Operation, where: str) -> list[Change]:
    """A changed operationId or first tag: the generated SDK and handler names move."""
    out: list[Change] = []
    before, after = old.body.get("operationId"), new.body.get("operationId")
    if before != after:
        text = f"operationId {before!r} -> {after!r} (renames the SDK and handler methods)"
        out.append(Change("operation.id_changed", BREAKING, where, text))
    tag_before = list(old.body.get("tags") or [])[:1]
    tag_after = list(new.body.get("tags") or [])[:1]
    if tag_before != tag_after:
        text = f"tag {tag_before} -> {tag_after} (moves the SDK and handler group)"
        out.append(Change("operation.tag_changed", BREAKING, where, text))
    return out
