"""The operations of an OpenAPI document, with their parameters, bodies and responses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final, NamedTuple

from codegen.contracts.tree import Node, Tree

__all__ = ["PROBLEM_JSON", "Op", "json_media", "operations", "request_body", "responses"]

PROBLEM_JSON: Final = "application/problem+json"
_JSON_MEDIA: Final = re.compile(r"^application/(?:[\w.-]+\+)?json$")
_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Op(NamedTuple):
    """One operation of an OpenAPI document."""

    node: Node
    item: Node
    path: str
    params: list[dict[str, Any]]


def operations(tree: Tree, doc: Node) -> Iterator[Op]:
    """Operations under ``paths`` and ``webhooks``, with their effective parameters."""
    for section in ("paths", "webhooks"):
        for item in doc.members(section):
            if not isinstance(item.value, dict):
                continue
            for method in _METHODS:
                op = item.at(method)
                if isinstance(op.value, dict):
                    yield Op(op, item, item.key, _effective_params(tree, item, op))


def request_body(tree: Tree, op: Op) -> Node | None:
    """The operation's resolved request body, if it has one."""
    body = op.node.at("requestBody")
    resolved = tree.deref(body) if body.value is not None else None
    return resolved if resolved is not None and isinstance(resolved.value, dict) else None


def responses(tree: Tree, op: Op) -> Iterator[tuple[str, Node]]:
    """The operation's responses by status, resolved."""
    for response in op.node.members("responses"):
        status = response.key.upper()
        resolved = tree.deref(response)
        if resolved is not None and isinstance(resolved.value, dict):
            yield status, resolved


def json_media(holder: Node) -> Iterator[Node]:
    """JSON media types of a request body's or response's ``content``."""
    for media in holder.members("content"):
        if _JSON_MEDIA.match(media.key.split(";")[0].strip()):
            yield media


def _effective_params(tree: Tree, item: Node, op: Node) -> list[dict[str, Any]]:
    """Path-item parameters overridden by operation parameters, references resolved."""
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for param in (*item.members("parameters"), *op.members("parameters")):
        resolved = tree.deref(param)
        if resolved is not None and isinstance(resolved.value, dict):
            key = str(resolved.value.get("name")), str(resolved.value.get("in"))
            params[key] = resolved.value
    return list(params.values())
