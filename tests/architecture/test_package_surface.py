"""Every package states its public surface with a sorted ``__all__``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("codegen", "runtime", "lab", "vvtv", "generated")


def _inits() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py"))


def _all_of(path: Path) -> list[str] | None:
    for node in ast.parse(path.read_text()).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = node.value
            assert isinstance(value, ast.List)
            return [ast.literal_eval(e) for e in value.elts]
    return None


@pytest.mark.parametrize("init", _inits(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_package_exports_a_sorted_all(init: Path) -> None:
    names = _all_of(init)
    assert names is not None, "missing __all__"
    assert names == sorted(names)


def test_design_layout_folders_exist() -> None:
    for folder in (
        "contracts",
        "manifests",
        "config",
        "codegen",
        "generated",
        "runtime",
        "lab",
        "ci",
        "tests",
    ):
        assert (ROOT / folder).is_dir(), folder
