"""An M3U playlist (local or over HTTP): entries in order, titles and durations from ``#EXTINF``.

A playlist carries no checksum, so an entry is keyed by its resolved URI: the same
URI listed again (here or in another playlist) is the same item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import structlog

from lab.sources._http import read_location
from lab.sources.base import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_TIMEOUT_S,
    SourceError,
    locator_hash,
    redact_url,
    title_from_name,
)
from lab.stages.types import Discovered

__all__ = ["M3uSource", "parse_m3u"]

_log = structlog.get_logger(__name__)

_EXTINF_RE = re.compile(r"^#EXTINF:\s*(?P<duration>-?\d+(?:\.\d+)?)(?P<attrs>[^,]*),(?P<title>.*)$")
_ATTR_RE = re.compile(r'([A-Za-z0-9_-]+)="([^"]*)"')
# These tags only appear in HLS playlists, whose entries are segments or variants, not clips.
_HLS_TAGS = ("#EXT-X-TARGETDURATION", "#EXT-X-STREAM-INF", "#EXT-X-MEDIA-SEQUENCE")
_PLAYLIST_SUFFIXES = frozenset({".m3u", ".m3u8"})


@dataclass(frozen=True, slots=True)
class _Info:
    duration_s: float | None
    title: str
    attrs: dict[str, str]


def _parse_extinf(line: str) -> _Info | None:
    match = _EXTINF_RE.match(line)
    if match is None:
        return None
    duration = float(match.group("duration"))
    return _Info(
        duration_s=duration if duration > 0 else None,  # -1 means "unknown" (a live stream)
        title=match.group("title").strip(),
        attrs=dict(_ATTR_RE.findall(match.group("attrs"))),
    )


def _resolve(entry: str, base: str) -> str:
    parts = urlsplit(entry)
    if parts.scheme and len(parts.scheme) > 1:
        return entry  # already absolute
    if urlsplit(base).scheme == "file":
        # A local playlist names files: a "%" or a space in them is literal, not URL syntax.
        return urljoin(base, quote(entry.replace("\\", "/")))
    return urljoin(base, entry.replace(" ", "%20"))


def parse_m3u(text: str, *, source: str, base: str) -> list[Discovered]:
    """The entries of an M3U playlist whose own location is ``base`` (relative entries resolve)."""
    text = text.removeprefix("\ufeff")
    items: list[Discovered] = []
    pending: _Info | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(_HLS_TAGS):
            raise SourceError("an HLS playlist (segments or variants), not a list of clips")
        if line.startswith("#EXTINF:"):
            pending = _parse_extinf(line)
            continue
        if line.startswith("#"):
            continue  # #EXTM3U, #EXTGRP, #EXTVLCOPT, comments
        uri = _resolve(line, base)
        info, pending = pending, None
        path = urlsplit(uri).path
        if PurePosixPath(path).suffix.lower() in _PLAYLIST_SUFFIXES:
            _log.warning("m3u_nested_playlist_skipped", source=source, uri=redact_url(uri))
            continue
        metadata: dict[str, Any] = dict(info.attrs) if info else {}
        items.append(
            Discovered(
                source=source,
                uri=uri,
                content_hash=locator_hash(uri),
                title=(info.title if info and info.title else title_from_name(path)),
                duration_s=info.duration_s if info else None,
                metadata=metadata,
            )
        )
    return items


class M3uSource:
    """The entries of one M3U playlist, read from a path or an http(s) URL."""

    def __init__(
        self,
        name: str,
        location: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    ) -> None:
        self.name = name
        self.location = location
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._client = client

    def __repr__(self) -> str:
        return f"M3uSource(name={self.name!r}, location={redact_url(self.location)!r})"

    async def list_items(self) -> list[Discovered]:
        """Read the playlist and return its entries in order."""
        data, base = await read_location(
            self.location, client=self._client, timeout_s=self.timeout_s, max_bytes=self.max_bytes
        )
        # M3U is Latin-1 by the book, but every tool writes UTF-8 (and .m3u8 must be).
        return parse_m3u(data.decode("utf-8", errors="replace"), source=self.name, base=base)
