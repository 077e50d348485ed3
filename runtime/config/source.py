"""YAML documents loaded with the line and column of every key and value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runtime.config.problems import ConfigProblem, RuleId

__all__ = ["Mark", "Path_", "SourceDoc", "load_yaml"]

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass
class SourceDoc:
    """A parsed YAML file as plain data, with positions indexed by path."""

    file: Path
    display: str
    data: Any
    keys: dict[Path_, Mark] = field(default_factory=dict)
    values: dict[Path_, Mark] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> Mark:
        """Position of ``path`` or, if absent, of its deepest present ancestor."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            table = self.keys if key and end == len(path) else self.values
            if prefix in table:
                return table[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return Mark(1, 1)

    def has(self, path: Path_) -> bool:
        """Whether ``path`` was written in this file."""
        return path in self.values


# libyaml's composer when available: the round-trip parsers in pure Python cost
# half a second on our manifests, and positions come from the node marks anyway.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str, node: Node, first: Node) -> None:
        self.key, self.node, self.first = key, node, first


def _plain(node: Node | None, path: Path_, doc: SourceDoc, ctor: SafeConstructor) -> Any:
    if isinstance(node, MappingNode):
        ctor.flatten_mapping(node)
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = str(ctor.construct_object(key_node, deep=True))
            if key in out:
                raise _DuplicateKeyError(key, key_node, first[key])
            first[key] = key_node
            child = (*path, key)
            doc.keys[child] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            doc.values[child] = Mark(
                value_node.start_mark.line + 1, value_node.start_mark.column + 1
            )
            out[key] = _plain(value_node, child, doc, ctor)
        return out
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.keys[child] = doc.values[child] = Mark(
                item.start_mark.line + 1, item.start_mark.column + 1
            )
            items.append(_plain(item, child, doc, ctor))
        return items
    if isinstance(node, ScalarNode):
        value = ctor.construct_object(node, deep=True)
        if isinstance(value, dt.date):
            # Dates are never valid here; keep them as text so the schema names the type.
            return value.isoformat()
        return value
    return None


def load_yaml(file: Path, display: str) -> SourceDoc | ConfigProblem:
    """Parse ``file``; a syntax error becomes a located problem, never a traceback."""
    doc = SourceDoc(file=file, display=display, data=None)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigProblem(display, 1, 1, RuleId.FILE_MISSING, "", "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        return ConfigProblem(display, 1, 1, RuleId.FILE_MISSING, "", f"cannot read file: {exc}")
    try:
        tree = yaml.compose(text, Loader=_LOADER)
        doc.values[()] = Mark(1, 1)
        doc.data = _plain(tree, (), doc, SafeConstructor())
    except _DuplicateKeyError as exc:
        mark, first = exc.node.start_mark, exc.first.start_mark
        return ConfigProblem(
            display,
            mark.line + 1,
            mark.column + 1,
            RuleId.YAML_DUPLICATE_KEY,
            "",
            f"duplicate key {exc.key!r} (first defined at line {first.line + 1})",
        )
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        line, col = (where.line + 1, where.column + 1) if where is not None else (1, 1)
        detail = " ".join(str(x) for x in (exc.problem, exc.context) if x)
        return ConfigProblem(
            display, line, col, RuleId.YAML_SYNTAX, "", f"malformed YAML: {detail}"
        )
    except yaml.YAMLError as exc:
        return ConfigProblem(display, 1, 1, RuleId.YAML_SYNTAX, "", f"malformed YAML: {exc}")
    return doc
