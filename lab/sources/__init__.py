"""LAB discovery sources: where media comes from (folder, HTTP index, M3U, RSS), pluggable.

A source is anything with a ``name`` and ``async list_items() -> list[Discovered]``
(the ``Source`` protocol); ``build_source`` makes the built-in kinds from configuration.
"""

from lab.sources.base import MEDIA_EXTENSIONS, Source, SourceError, locator_hash, redact_url
from lab.sources.factory import SOURCE_KINDS, build_source, build_sources
from lab.sources.folder import FolderSource
from lab.sources.http_index import HttpIndexSource, parse_index_links, parse_sha256_sidecar
from lab.sources.m3u import M3uSource, parse_m3u
from lab.sources.rss import RssSource, parse_duration, parse_rss

__all__ = [
    "FolderSource",
    "HttpIndexSource",
    "M3uSource",
    "MEDIA_EXTENSIONS",
    "RssSource",
    "SOURCE_KINDS",
    "Source",
    "SourceError",
    "build_source",
    "build_sources",
    "locator_hash",
    "parse_duration",
    "parse_index_links",
    "parse_m3u",
    "parse_rss",
    "parse_sha256_sidecar",
    "redact_url",
]
