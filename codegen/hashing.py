"""Content hashes of contract inputs, written into every generated file's header."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["contract_hash"]


def contract_hash(root: Path, files: Iterable[Path]) -> str:
    """Hash the given files' paths (relative to ``root``) and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return f"sha256:{digest.hexdigest()}"
