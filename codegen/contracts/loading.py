"""Reading the contract files into a tree whose references resolve across files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from codegen.contracts.problems import LintProblem, shorten
from codegen.contracts.tree import ContractFile, Node, Tree

__all__ = ["load_tree", "node_for"]

_YAML_LOADER: Final[type[yaml.SafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_tree(root: Path) -> tuple[Tree, list[LintProblem]]:
    """Parse every contract file and build the reference registry."""
    contracts = root / "contracts"
    files: dict[str, ContractFile] = {}
    problems: list[LintProblem] = []
    for path in _contract_paths(contracts):
        rel = path.relative_to(root).as_posix()
        try:
            data = _parse(path)
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(LintProblem(rel, "", "file.parse", _parse_error(exc)))
            continue
        files[path.resolve().as_uri()] = ContractFile(rel, path.resolve().as_uri(), data)
    problem_uri = (contracts / "problem.schema.json").resolve().as_uri()
    problem = files.get(problem_uri)
    tree = Tree(root, files, _registry(files), problem_uri, _problem_codes(problem))
    return tree, problems


def node_for(tree: Tree, path: Path) -> Node | None:
    """The root node of a parsed file, if it exists and parsed."""
    file = tree.files.get(path.resolve().as_uri())
    return None if file is None else file.root


def _contract_paths(contracts: Path) -> list[Path]:
    """Contract files, excluding vendored meta-schemas and released snapshots."""
    skipped = {contracts / "meta", contracts / "released"}
    paths = [
        path
        for pattern in ("*.json", "*.yaml", "*.yml")
        for path in contracts.rglob(pattern)
        if path.is_file() and not any(parent in skipped for parent in path.parents)
    ]
    return sorted(paths)


def _parse(path: Path) -> Any:
    """Read JSON or YAML."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)


def _parse_error(exc: ValueError | yaml.YAMLError) -> str:
    """A parse error's message, with its line and column when known."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return shorten(f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})")
    return shorten(str(exc))


def _registry(files: Mapping[str, ContractFile]) -> Registry[Any]:
    """Register every mapping file by its URI and by its ``$id``."""
    pairs: list[tuple[str, Resource[Any]]] = []
    for uri, file in files.items():
        if not isinstance(file.data, dict):
            continue
        resource = DRAFT202012.create_resource(file.data)
        pairs.append((uri, resource))
        if isinstance(file.data.get("$id"), str):
            pairs.append((file.data["$id"], resource))
    return Registry().with_resources(pairs)


def _problem_codes(problem: ContractFile | None) -> frozenset[str] | None:
    """The shared ``ProblemCode`` enum, if the problem schema declares one."""
    if problem is None:
        return None
    enum = problem.root.at("$defs", "ProblemCode", "enum").value
    return frozenset(str(code) for code in enum) if isinstance(enum, list) else None
