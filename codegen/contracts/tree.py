"""Parsed contract files, the values inside them by JSON pointer, and references between them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple
from urllib.parse import quote, unquote, urldefrag, urljoin

from referencing import Registry

from codegen.contracts.problems import LintProblem, shorten

__all__ = ["ContractFile", "Node", "Tree", "pointer", "pointer_tokens"]

_FRAGMENT_SAFE: Final = "/~!$&'()*+,;=:@"
_MAX_HOPS: Final = 32


def pointer(base: str, *parts: str | int) -> str:
    """Extend a JSON pointer with escaped reference tokens."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return base + "".join("/" + token for token in escaped)


def pointer_tokens(text: str) -> list[str]:
    """The unescaped reference tokens of a JSON pointer, the leading empty one included."""
    return [token.replace("~1", "/").replace("~0", "~") for token in text.split("/")]


@dataclass(frozen=True)
class ContractFile:
    """A parsed contract file."""

    rel: str
    uri: str
    data: Any

    @property
    def root(self) -> Node:
        """The node of the whole document."""
        return Node(self, "", self.data)


class Node(NamedTuple):
    """A value inside a contract file, with its JSON pointer."""

    file: ContractFile
    pointer: str
    value: Any

    def at(self, *parts: str | int) -> Node:
        """Descend through mapping keys or list indexes; a missing step gives ``None``."""
        value = self.value
        for part in parts:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                value = None
        return Node(self.file, pointer(self.pointer, *parts), value)

    @property
    def key(self) -> str:
        """The last reference token of the pointer, unescaped."""
        return pointer_tokens(self.pointer)[-1]

    @property
    def uri(self) -> str:
        """A URI naming this node, usable as a ``$ref``."""
        return f"{self.file.uri}#{quote(self.pointer, safe=_FRAGMENT_SAFE)}"

    def members(self, key: str) -> Iterator[Node]:
        """The entries of the mapping or list at ``key``."""
        child = self.at(key)
        if isinstance(child.value, dict):
            yield from (child.at(name) for name in child.value)
        elif isinstance(child.value, list):
            yield from (child.at(index) for index in range(len(child.value)))

    def problem(self, rule: str, message: str) -> LintProblem:
        """A problem located at this node."""
        return LintProblem(self.file.rel, self.pointer, rule, shorten(message))


@dataclass(frozen=True)
class Tree:
    """Every parsed contract file, and a registry resolving references between them."""

    root: Path
    files: dict[str, ContractFile]
    registry: Registry[Any]
    problem_uri: str
    problem_codes: frozenset[str] | None

    def lookup(self, uri: str) -> Node | None:
        """The node a URI with a JSON pointer fragment names, if it exists."""
        base, fragment = urldefrag(uri)
        file = self.files.get(base)
        if file is None or (fragment and not fragment.startswith("/")):
            return None
        node = file.root
        for part in pointer_tokens(unquote(fragment))[1:]:
            if isinstance(node.value, list) and part.isdigit():
                node = node.at(int(part))
            elif isinstance(node.value, dict) and part in node.value:
                node = node.at(part)
            else:
                return None
        return node

    def hops(self, node: Node) -> Iterator[tuple[str, Node | None]]:
        """Each step of the ``$ref`` chain from ``node``: the target URI and its node, if any."""
        for _ in range(_MAX_HOPS):
            ref = node.value.get("$ref") if isinstance(node.value, dict) else None
            if not isinstance(ref, str):
                return
            uri = urljoin(node.file.uri, ref)
            target = self.lookup(uri)
            yield uri, target
            if target is None:
                return
            node = target

    def deref(self, node: Node) -> Node | None:
        """Follow a chain of ``$ref`` from ``node``; ``None`` when one does not resolve."""
        for count, (_, target) in enumerate(self.hops(node), start=1):
            if target is None or count == _MAX_HOPS:
                return None
            node = target
        return node
