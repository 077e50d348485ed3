"""A local folder of media files: each file's sha256 is both its key and its checksum."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from pathlib import Path

import structlog

from lab.sources.base import SourceError, is_media_name, normalise_extensions, title_from_name
from lab.stages.types import Discovered

__all__ = ["FolderSource"]

_log = structlog.get_logger(__name__)

_HASH_CHUNK = 1024 * 1024


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FolderSource:
    """Media files under a directory (recursively by default), hashed off the event loop."""

    def __init__(
        self,
        name: str,
        path: Path | str,
        *,
        extensions: Iterable[str] | None = None,
        recursive: bool = True,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.extensions = normalise_extensions(extensions)
        self.recursive = recursive
        # An hourly rescan of a big library must not re-read every byte: reuse the hash of
        # a file whose size and mtime have not changed since the previous scan.
        self._hashes: dict[Path, tuple[int, int, str]] = {}

    def __repr__(self) -> str:
        return f"FolderSource(name={self.name!r}, path={str(self.path)!r})"

    async def list_items(self) -> list[Discovered]:
        """Every media file under the folder, in path order."""
        return await asyncio.to_thread(self._scan)

    def _scan(self) -> list[Discovered]:
        if not self.path.is_dir():
            raise SourceError(f"{self.path} is not a readable directory")
        pattern = "**/*" if self.recursive else "*"
        items: list[Discovered] = []
        for file in sorted(self.path.glob(pattern)):
            relative = file.relative_to(self.path)
            # Hidden files include our own and other tools' temporary downloads.
            if any(part.startswith(".") for part in relative.parts):
                continue
            if not is_media_name(file.name, self.extensions) or not file.is_file():
                continue
            try:
                sha256, size = self._hash(file)
            except OSError as exc:
                # One unreadable file (being written, permissions) must not hide the rest.
                _log.warning("folder_file_unreadable", source=self.name, file=str(relative),
                             error=exc.strerror or str(exc))  # fmt: skip
                continue
            items.append(
                Discovered(
                    source=self.name,
                    uri=file.resolve().as_uri(),
                    content_hash=sha256,
                    title=title_from_name(file.name),
                    size_bytes=size,
                    expected_sha256=sha256,
                    metadata={"relative_path": relative.as_posix()},
                )
            )
        return items

    def _hash(self, file: Path) -> tuple[str, int]:
        stat = file.stat()
        cached = self._hashes.get(file)
        if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2], stat.st_size
        sha256 = _sha256_file(file)
        self._hashes[file] = (stat.st_size, stat.st_mtime_ns, sha256)
        return sha256, stat.st_size
