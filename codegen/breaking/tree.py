"""Whole contracts folders compared, and the reference folder found or checked out."""

from __future__ import annotations

import atexit
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from codegen.breaking.common import schema_changes
from codegen.breaking.events import compare_events
from codegen.breaking.model import BreakingCheckError, Change, UnknownReferenceError, sort_changes
from codegen.breaking.openapi import compare_openapi
from codegen.breaking.refs import Documents

__all__ = ["compare_trees", "latest_release", "load_reference"]

_PROBLEM = "problem.schema.json"


def _holds_contracts(folder: Path) -> bool:
    return (folder / "openapi").is_dir() or (folder / "events").is_dir()


def _compare_problem(old: Documents, new: Documents) -> list[Change]:
    before, after = old.root / _PROBLEM, new.root / _PROBLEM
    if not (before.is_file() and after.is_file()):
        return []
    old_schema = old.inline(old.load(before), before)
    new_schema = new.inline(new.load(after), after)
    return schema_changes("problem", old_schema, new_schema, _PROBLEM)


def compare_trees(old: Path, new: Path) -> list[Change]:
    """Every change from the contracts folder ``old`` to ``new``, breaking ones first."""
    for folder in (old, new):
        if not _holds_contracts(folder):
            raise BreakingCheckError(f"{folder}: no openapi/ or events/ folder to compare")
    before, after = Documents(old), Documents(new)
    return sort_changes(
        [
            *compare_openapi(before, after),
            *compare_events(before, after),
            *_compare_problem(before, after),
        ]
    )


def latest_release(contracts: Path) -> Path | None:
    """The newest ``released/vN`` folder (highest N) under a contracts folder, if any."""
    folder = contracts / "released"
    found = [
        (int(m.group(1)), p)
        for p in (folder.iterdir() if folder.is_dir() else ())
        if (m := re.fullmatch(r"v(\d+)", p.name)) and p.is_dir()
    ]
    return max(found)[1] if found else None


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise UnknownReferenceError("git is not installed; pass a contracts folder instead")
    return subprocess.run([git, "-C", str(repo), *args], capture_output=True, check=False)  # noqa: S603 - fixed git argv


def load_reference(spec: str, repo: Path, workdir: Path | None = None) -> Path:
    """The contracts folder ``spec`` names: a folder, or ``contracts/`` of a git ref in ``repo``.

    A git ref is extracted into ``workdir`` (default: a temporary folder removed at exit).
    """
    for folder in (Path(spec), repo / spec):
        if folder.is_dir():
            for candidate in (folder, folder / "contracts"):
                if _holds_contracts(candidate):
                    return candidate
            raise UnknownReferenceError(f"{folder}: holds no contracts (no openapi/ or events/)")
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if found.returncode != 0:
        raise UnknownReferenceError(f"{spec!r} is neither a folder nor a git ref of {repo}")
    commit = found.stdout.decode().strip()
    # Run in ``repo``, archive paths are relative to it even when it is a subfolder.
    archive = _git(repo, "archive", "--format=tar", commit, "--", "contracts")
    if archive.returncode != 0:
        raise UnknownReferenceError(f"git ref {spec!r} has no contracts/ folder")
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="vvtv-contracts-"))
        atexit.register(shutil.rmtree, workdir, True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "contracts"
