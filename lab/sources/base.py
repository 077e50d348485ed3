"""What every discovery source shares: the ``Source`` protocol, its error, and small helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from lab.stages.types import Discovered

__all__ = [
    "DEFAULT_MAX_DOCUMENT_BYTES",
    "DEFAULT_TIMEOUT_S",
    "MEDIA_EXTENSIONS",
    "Source",
    "SourceError",
    "is_media_name",
    "local_path",
    "locator_hash",
    "normalise_extensions",
    "redact_url",
    "title_from_name",
]

MEDIA_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".aac", ".avi", ".flac", ".flv", ".m4a", ".m4v", ".mkv", ".mov", ".mp3", ".mp4",
        ".mpeg", ".mpg", ".mts", ".ogg", ".ogv", ".opus", ".ts", ".wav", ".webm",
    }
)  # fmt: skip
"""Extensions a source treats as media when it has nothing better (a MIME type) to go by."""

DEFAULT_TIMEOUT_S = 30.0
"""Per-request timeout of the HTTP sources unless the config gives one."""

DEFAULT_MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""Largest index page, playlist or feed a source reads; a bigger one is refused, not truncated."""


class SourceError(RuntimeError):
    """A source could not list its items (unreachable, refused, malformed)."""


@runtime_checkable
class Source(Protocol):
    """A place media comes from; ``list_items`` says what it offers right now."""

    @property
    def name(self) -> str:
        """The configured name, the key the orchestrator counts failures under."""
        ...

    async def list_items(self) -> list[Discovered]:
        """Everything the source offers now (the caller dedupes against what is known)."""
        ...


def normalise_extensions(extensions: Iterable[str] | None) -> frozenset[str]:
    """Lower-case, dot-prefixed extensions; ``None`` means ``MEDIA_EXTENSIONS``."""
    if extensions is None:
        return MEDIA_EXTENSIONS
    out = frozenset(
        ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in extensions if ext
    )
    if not out:
        raise ValueError("a source needs at least one media extension")
    return out


def is_media_name(name: str, extensions: frozenset[str] = MEDIA_EXTENSIONS) -> bool:
    """Whether a file name or URL path ends in one of ``extensions``."""
    return PurePosixPath(name).suffix.lower() in extensions


def title_from_name(name: str) -> str:
    """A readable title from a file name or URL path: the stem, underscores as spaces."""
    stem = PurePosixPath(unquote(name)).stem
    return " ".join(stem.replace("_", " ").split()) or stem


def locator_hash(*parts: str | int | None) -> str:
    """A stable key for an item whose bytes we have not seen: sha256 over its locator parts."""
    # Newline-joined with an explicit marker for "unknown" so ("a", None) != ("a", "").
    text = "\n".join("\0" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe to log (tokens live there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def local_path(location: str) -> Path | None:
    """The filesystem path of a ``file://`` URL or a plain path; ``None`` for other schemes."""
    parts = urlsplit(location)
    if parts.scheme.lower() == "file":
        if parts.netloc not in {"", "localhost"}:
            return None  # a file on another host is not ours to read
        return Path(url2pathname(parts.path))  # url2pathname also percent-decodes
    # One-letter "schemes" are Windows drive letters, not URLs.
    if parts.scheme and len(parts.scheme) > 1:
        return None
    return Path(location)
