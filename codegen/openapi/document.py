"""Loading an OpenAPI document and bundling its external references into one tree."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

import yaml

from codegen.errors import CodegenError

__all__ = ["Bundle", "bundle", "load_document"]


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodegenError(f"{path}: cannot read: {exc}") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CodegenError(f"{path}: not valid {path.suffix.lstrip('.')}: {exc}") from exc


def _pointer(doc: Any, fragment: str, where: str) -> Any:
    node = doc
    if not fragment or fragment == "/":
        return node
    for raw in fragment.lstrip("/").split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise CodegenError(f"{where}: $ref target #{fragment} does not exist") from exc
    return node


def load_document(path: Path) -> dict[str, Any]:
    """Read an OpenAPI document (YAML or JSON) as plain data."""
    doc = _read(path)
    if not isinstance(doc, dict) or "openapi" not in doc:
        raise CodegenError(f"{path}: not an OpenAPI document (no 'openapi' field)")
    return doc


class _Bundler:
    """Inlines schemas from other files under ``components/schemas``, rewriting refs."""

    def __init__(self, root_path: Path, root: dict[str, Any]) -> None:
        self.root_path = root_path.resolve()
        self.root = root
        self.taken = set(root.get("components", {}).get("schemas", {}))
        self.schemas: dict[str, Any] = {}
        self.files: dict[Path, Any] = {self.root_path: root}
        self.placed: dict[tuple[Path, str], str] = {}

    def _name_for(self, file: Path, fragment: str, target: Any) -> str:
        key = (file, fragment)
        if key in self.placed:
            return self.placed[key]
        base = fragment.rstrip("/").rsplit("/", 1)[-1] if fragment.strip("/") else ""
        if not base:
            base = str(target.get("title") or "") if isinstance(target, dict) else ""
        if not base:
            base = file.name.split(".")[0].replace("-", "_").title().replace("_", "")
        name, n = base, 2
        while name in self.schemas or name in self.taken:
            name, n = f"{base}{n}", n + 1
        self.placed[key] = name
        return name

    def walk(self, node: Any, file: Path, where: str) -> Any:
        if isinstance(node, list):
            return [self.walk(v, file, f"{where}/{i}") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out = {k: self.walk(v, file, f"{where}/{k}") for k, v in node.items() if k != "$ref"}
        ref = node.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = self.ref(ref, file, f"{where}/$ref")
        return out

    def ref(self, ref: str, file: Path, where: str) -> str:
        target_file, _, fragment = ref.partition("#")
        if not target_file:
            if file == self.root_path:
                return ref
            # A local ref inside an external file points into that file.
            return self.ref(f"{file.name}#{fragment}", file, where)
        path = (file.parent / target_file).resolve()
        if not path.is_file():
            raise CodegenError(f"{where}: $ref {ref!r} names a missing file")
        doc = self.files.setdefault(path, _read(path))
        target = _pointer(doc, fragment, where)
        known = (path, fragment) in self.placed
        name = self._name_for(path, fragment, target)
        if not known:
            self.schemas[name] = {}
            self.schemas[name] = self.walk(copy.deepcopy(target), path, f"{path.name}#{fragment}")
            self.schemas[name].pop("$id", None)
            self.schemas[name].pop("$schema", None)
            defs = self.schemas[name].pop("$defs", None)
            if defs:
                # $defs of an inlined file become components of their own.
                for def_name in defs:
                    self.ref(f"{path.name}#/$defs/{def_name}", path, where)
        return f"#/components/schemas/{name}"


class Bundle(NamedTuple):
    """A self-contained document and every file it was made from."""

    document: dict[str, Any]
    files: tuple[Path, ...]


def bundle(path: Path) -> Bundle:
    """The document at ``path`` with every external ``$ref`` inlined as a component."""
    root = load_document(path)
    bundler = _Bundler(path, root)
    out: dict[str, Any] = bundler.walk(root, bundler.root_path, "#")
    if bundler.schemas:
        schemas = out.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(bundler.schemas)
    return Bundle(out, tuple(sorted(bundler.files)))
