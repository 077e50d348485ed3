"""Building sources from configuration mappings (``{"name", "kind", "path" | "url", ...}``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from lab.sources.base import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_TIMEOUT_S, Source
from lab.sources.folder import FolderSource
from lab.sources.http_index import HttpIndexSource
from lab.sources.m3u import M3uSource
from lab.sources.rss import RssSource

__all__ = ["SOURCE_KINDS", "build_source", "build_sources"]

SOURCE_KINDS: frozenset[str] = frozenset({"folder", "http_index", "m3u", "rss"})
"""The ``kind`` values a source configuration may name."""

_COMMON_KEYS = frozenset({"name", "kind"})
# Unknown keys are refused rather than ignored: a misspelt option must not silently vanish.
_KEYS: dict[str, frozenset[str]] = {
    "folder": frozenset({"path", "extensions", "recursive"}),
    "http_index": frozenset({"url", "extensions", "timeout_s", "max_bytes", "concurrency"}),
    "m3u": frozenset({"path", "url", "timeout_s", "max_bytes"}),
    "rss": frozenset({"path", "url", "extensions", "timeout_s", "max_bytes"}),
}


def _str(config: Mapping[str, Any], key: str, label: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"source {label}: {key!r} must be a non-empty string")
    return value


def _positive(config: Mapping[str, Any], key: str, label: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"source {label}: {key!r} must be a positive number")
    return float(value)


def _extensions(config: Mapping[str, Any], label: str) -> list[str] | None:
    value = config.get("extensions")
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"source {label}: 'extensions' must be a list of strings")
    items = list(value)
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"source {label}: 'extensions' must be a non-empty list of strings")
    return items


def _location(config: Mapping[str, Any], label: str) -> str:
    present = [key for key in ("path", "url") if key in config]
    if len(present) != 1:
        raise ValueError(f"source {label}: give exactly one of 'path' or 'url'")
    return _str(config, present[0], label)


def build_source(config: Mapping[str, Any], *, client: httpx.AsyncClient | None = None) -> Source:
    """One source from its configuration; ``ValueError`` says what is wrong with it."""
    name = _str(config, "name", "<unnamed>")
    label = repr(name)
    kind = config.get("kind")
    if kind not in SOURCE_KINDS:
        kinds = sorted(SOURCE_KINDS)
        raise ValueError(f"source {label}: kind must be one of {kinds}, not {kind!r}")
    unknown = set(config) - _COMMON_KEYS - _KEYS[kind]
    if unknown:
        raise ValueError(f"source {label}: unknown keys {sorted(unknown)} for kind {kind!r}")
    timeout_s = _positive(config, "timeout_s", label, DEFAULT_TIMEOUT_S)
    max_bytes = int(_positive(config, "max_bytes", label, DEFAULT_MAX_DOCUMENT_BYTES))
    if kind == "folder":
        recursive = config.get("recursive", True)
        if not isinstance(recursive, bool):
            raise ValueError(f"source {label}: 'recursive' must be true or false")
        return FolderSource(
            name,
            _str(config, "path", label),
            extensions=_extensions(config, label),
            recursive=recursive,
        )
    if kind == "http_index":
        return HttpIndexSource(
            name,
            _str(config, "url", label),
            client=client,
            extensions=_extensions(config, label),
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            concurrency=int(_positive(config, "concurrency", label, 8)),
        )
    if kind == "m3u":
        return M3uSource(
            name, _location(config, label), client=client, timeout_s=timeout_s, max_bytes=max_bytes
        )
    return RssSource(
        name,
        _location(config, label),
        client=client,
        extensions=_extensions(config, label),
        timeout_s=timeout_s,
        max_bytes=max_bytes,
    )


def build_sources(
    configs: Iterable[Mapping[str, Any]], *, client: httpx.AsyncClient | None = None
) -> list[Source]:
    """All configured sources, in order; names must be unique (failures are counted per name)."""
    sources = [build_source(config, client=client) for config in configs]
    names = [source.name for source in sources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate source names: {duplicates}")
    return sources
