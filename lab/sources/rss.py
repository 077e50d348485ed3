"""An RSS 2.0 feed (local or over HTTP): one item per audio/video ``<enclosure>``.

Parsed with the standard library's ElementTree, after an expat pass that refuses any
DTD: no DOCTYPE means no entity declarations, so no entity expansion ("billion laughs")
and no external entity is ever resolved. Feeds carry no checksum, so an item is keyed by
sha256 over its enclosure URL and declared length.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import httpx

from lab.sources._http import read_location
from lab.sources.base import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_TIMEOUT_S,
    SourceError,
    is_media_name,
    locator_hash,
    normalise_extensions,
    redact_url,
    title_from_name,
)
from lab.stages.types import Discovered

__all__ = ["RssSource", "parse_duration", "parse_rss"]

_MEDIA_TYPE_PREFIXES = ("video/", "audio/")
_UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _refuse_dtd(data: bytes) -> None:
    def refuse(*_args: object) -> None:
        raise SourceError("the feed declares a DTD; refused (no entity is ever expanded)")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise SourceError(f"the feed is not well-formed XML: {exc}") from exc


def parse_duration(text: str | None) -> float | None:
    """``itunes:duration`` as seconds: ``SS``, ``MM:SS`` or ``HH:MM:SS``; ``None`` if unreadable."""
    if not text:
        return None
    total = 0.0
    try:
        for part in text.strip().split(":"):
            total = total * 60 + float(part)
    except ValueError:
        return None
    return total if total > 0 else None


def _is_media(url: str, mime: str, extensions: frozenset[str]) -> bool:
    mime = mime.split(";", 1)[0].strip().lower()
    if mime.startswith(_MEDIA_TYPE_PREFIXES):
        return True
    return mime in _UNTYPED and is_media_name(urlsplit(url).path, extensions)


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name and child.text:
            return child.text.strip()
    return None


def parse_rss(
    data: bytes | str,
    *,
    source: str,
    base: str = "",
    extensions: Iterable[str] | None = None,
) -> list[Discovered]:
    """The audio/video enclosures of a feed, in order; relative URLs resolve on ``base``."""
    raw = data.encode() if isinstance(data, str) else data
    _refuse_dtd(raw)
    try:
        root = ET.fromstring(raw)  # noqa: S314 - _refuse_dtd ran first: no DTD, no entities
    except ET.ParseError as exc:
        raise SourceError(f"the feed is not well-formed XML: {exc}") from exc
    if _local(root.tag) not in {"rss", "RDF"}:
        raise SourceError(f"not an RSS feed (root element <{_local(root.tag)}>)")
    allowed = normalise_extensions(extensions)
    items: list[Discovered] = []
    seen: set[str] = set()
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        title = _child_text(item, "title")
        duration = parse_duration(_child_text(item, "duration"))  # itunes:duration
        guid = _child_text(item, "guid")
        for enclosure in item:
            if _local(enclosure.tag) != "enclosure":
                continue
            href = (enclosure.get("url") or "").strip()
            if not href:
                continue
            url = urljoin(base, href) if base else href
            mime = enclosure.get("type") or ""
            if url in seen or not _is_media(url, mime, allowed):
                continue
            seen.add(url)
            length_text = (enclosure.get("length") or "").strip()
            # Feeds often write length="0" when they do not know it.
            size = int(length_text) if length_text.isdigit() and int(length_text) > 0 else None
            metadata: dict[str, Any] = {"mime_type": mime} if mime else {}
            if guid:
                metadata["guid"] = guid
            items.append(
                Discovered(
                    source=source,
                    uri=url,
                    content_hash=locator_hash(url, size),
                    title=title or title_from_name(urlsplit(url).path),
                    size_bytes=size,
                    duration_s=duration,
                    metadata=metadata,
                )
            )
    return items


class RssSource:
    """The audio/video enclosures of one RSS feed, read from a path or an http(s) URL."""

    def __init__(
        self,
        name: str,
        location: str,
        *,
        client: httpx.AsyncClient | None = None,
        extensions: Iterable[str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    ) -> None:
        self.name = name
        self.location = location
        self.extensions = normalise_extensions(extensions)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._client = client

    def __repr__(self) -> str:
        return f"RssSource(name={self.name!r}, location={redact_url(self.location)!r})"

    async def list_items(self) -> list[Discovered]:
        """Read the feed and return its media enclosures in feed order."""
        data, base = await read_location(
            self.location, client=self._client, timeout_s=self.timeout_s, max_bytes=self.max_bytes
        )
        return parse_rss(data, source=self.name, base=base, extensions=self.extensions)
