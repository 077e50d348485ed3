"""Loading contract files and inlining every ``$ref``, across files, with cycles cut."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from codegen.breaking.model import BreakingCheckError

__all__ = ["ORIGINS", "RECURSIVE", "Documents"]

ORIGINS = "$origins"
"""Key added to an inlined ``$ref`` target: the ``file#pointer`` names it was reached by."""
RECURSIVE = "$recursive"
"""Key of the stand-in for a ``$ref`` back to a schema being inlined (a recursive schema)."""

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ANNOTATIONS = frozenset({"description", "summary", "title", "examples", "example", "$comment"})


@functools.lru_cache(maxsize=64)
def _parse(text: str, suffix: str) -> Any:
    """Parsed JSON or YAML; shared between folders holding the same text, never mutated."""
    return json.loads(text) if suffix == ".json" else yaml.load(text, _LOADER)  # noqa: S506 - a safe loader


def _absolute(path: Path) -> Path:
    """An absolute, normalised path, without touching the file system."""
    return Path(os.path.normpath(path.absolute()))


def _pointer(doc: Any, fragment: str, where: str) -> Any:
    node = doc
    for raw in fragment.strip("/").split("/") if fragment.strip("/") else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise BreakingCheckError(f"{where}: $ref target #{fragment} does not exist") from exc
    return node


class Documents:
    """The files of one contracts folder, parsed once, with their refs inlined on demand."""

    def __init__(self, root: Path) -> None:
        self.root = _absolute(root)
        self._files: dict[Path, Any] = {}
        self._memo: dict[str, Any] = {}

    def rel(self, path: Path) -> str:
        """The path relative to the contracts folder, with forward slashes."""
        try:
            return _absolute(path).relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def load(self, path: Path) -> Any:
        """The parsed content of a JSON or YAML file."""
        path = _absolute(path)
        if path not in self._files:
            try:
                text = path.read_text(encoding="utf-8")
                data = _parse(text, path.suffix)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                raise BreakingCheckError(f"{self.rel(path)}: cannot read: {exc}") from exc
            self._files[path] = data
        return self._files[path]

    def inline(self, node: Any, file: Path) -> Any:
        """``node`` (read from ``file``) with every ``$ref`` replaced by its target."""
        return self._node(node, _absolute(file), ())[0]

    def _node(self, node: Any, file: Path, stack: tuple[str, ...]) -> tuple[Any, bool]:
        if isinstance(node, list):
            pairs = [self._node(item, file, stack) for item in node]
            return [v for v, _ in pairs], any(c for _, c in pairs)
        if not isinstance(node, dict):
            return node, False
        out: dict[str, Any] = {}
        cyclic = False
        for key, value in node.items():
            if key != "$ref":
                out[key], inner = self._node(value, file, stack)
                cyclic = cyclic or inner
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return out, cyclic
        target, inner = self._ref(ref, file, stack)
        if not isinstance(target, dict):
            return target, inner
        if set(out) - _ANNOTATIONS:
            # Keywords beside a $ref apply together with its target.
            return {"allOf": [target, out]}, cyclic or inner
        return {**target, **out}, cyclic or inner

    def _ref(self, ref: str, file: Path, stack: tuple[str, ...]) -> tuple[Any, bool]:
        location, _, fragment = ref.partition("#")
        if "://" in location:
            raise BreakingCheckError(f"{self.rel(file)}: remote $ref {ref!r} is not supported")
        target_file = _absolute(file.parent / location) if location else file
        origin = f"{self.rel(target_file)}#{fragment}"
        if origin in stack:
            return {RECURSIVE: origin}, True
        if origin in self._memo:
            return self._memo[origin], False
        if not target_file.is_file():
            raise BreakingCheckError(f"{self.rel(file)}: $ref {ref!r} names a missing file")
        target = _pointer(self.load(target_file), fragment, f"{self.rel(file)}: $ref {ref!r}")
        value, cyclic = self._node(target, target_file, (*stack, origin))
        if isinstance(value, dict):
            value = {**value, ORIGINS: (*value.get(ORIGINS, ()), origin)}
        if not cyclic:
            self._memo[origin] = value
        return value, cyclic
