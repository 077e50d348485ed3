"""An HTTP(S) directory index (nginx ``autoindex``, Apache, ``python -m http.server``).

The page is parsed for links to media files in that directory; a HEAD per file gives
size, ETag and Last-Modified, and a ``<file>.sha256`` sidecar listed next to it gives
the checksum. Identity (``content_hash``): the sidecar's sha256 itself when there is one,
so the same bytes reached through a folder or another mirror are recorded once; without
it, sha256 over the URL, the ETag (or the size when there is no ETag) and Last-Modified,
so a file replaced in place is discovered again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from posixpath import dirname
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

import httpx
import structlog

from lab.sources._http import get_document, open_client
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

__all__ = ["HttpIndexSource", "parse_index_links", "parse_sha256_sidecar"]

_log = structlog.get_logger(__name__)

_SIDECAR_SUFFIX = ".sha256"
_SIDECAR_MAX_BYTES = 4096
_SHA256_RE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
_HEAD_UNSUPPORTED = frozenset({405, 501})


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for key, value in attrs:
                if key == "href" and value:
                    self.hrefs.append(value)


def _directory_of(path: str) -> str:
    return dirname(path).rstrip("/") + "/"


def parse_index_links(html: str, base_url: str) -> list[str]:
    """Absolute URLs of the files an index page at ``base_url`` lists, in page order.

    Only links to files directly in the index's own directory count: parent and
    sub-directory links, sort links (``?C=N;O=D``) and other hosts are dropped.
    """
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    base = urlsplit(base_url)
    directory = base.path or "/"
    if not directory.endswith("/"):
        last = directory.rsplit("/", 1)[-1]
        # ".../index.html" names a page in the directory; ".../media" (no slash, as some
        # configs are written) is the directory itself.
        directory = _directory_of(directory) if "." in last else directory + "/"
    join_base = urlunsplit((base.scheme, base.netloc, directory, "", ""))
    seen: set[str] = set()
    links: list[str] = []
    for href in collector.hrefs:
        absolute, _fragment = urldefrag(urljoin(join_base, href.strip()))
        parts = urlsplit(absolute)
        if parts.query or (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            continue
        if parts.path.endswith("/") or _directory_of(parts.path) != directory:
            continue
        if absolute not in seen:
            seen.add(absolute)
            links.append(absolute)
    return links


def parse_sha256_sidecar(text: str) -> str | None:
    """The sha256 in a sidecar (``<hex>  name``, ``<hex> *name``, BSD or bare), lower-cased."""
    match = _SHA256_RE.search(text)
    return match.group(0).lower() if match else None


class HttpIndexSource:
    """The media files an HTTP directory index lists, with sizes and sidecar checksums."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        extensions: Iterable[str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        concurrency: int = 8,
    ) -> None:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"an http_index source needs an http(s) URL, not {redact_url(url)}")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.name = name
        self.url = url
        self.extensions = normalise_extensions(extensions)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self._client = client

    def __repr__(self) -> str:
        return f"HttpIndexSource(name={self.name!r}, url={redact_url(self.url)!r})"

    async def list_items(self) -> list[Discovered]:
        """GET the index, then HEAD each media file (and read its sidecar) concurrently."""
        async with open_client(self._client, self.timeout_s) as client:
            page, final_url = await get_document(
                client, self.url, timeout_s=self.timeout_s, max_bytes=self.max_bytes
            )
            # After a redirect ("/media" -> "/media/") links are relative to where we landed.
            links = parse_index_links(page.decode("utf-8", errors="replace"), final_url)
            listed = set(links)
            media = [link for link in links if is_media_name(urlsplit(link).path, self.extensions)]
            gate = asyncio.Semaphore(self.concurrency)

            async def describe(url: str) -> Discovered | None:
                async with gate:
                    sidecar = url + _SIDECAR_SUFFIX
                    return await self._describe(client, url, sidecar if sidecar in listed else None)

            described = await asyncio.gather(*(describe(url) for url in media))
        return [item for item in described if item is not None]

    async def _describe(
        self, client: httpx.AsyncClient, url: str, sidecar_url: str | None
    ) -> Discovered | None:
        try:
            head = await client.head(url, timeout=self.timeout_s, follow_redirects=True)
        except httpx.TransportError as exc:
            raise SourceError(f"HEAD {redact_url(url)} failed: {type(exc).__name__}") from exc
        size: int | None = None
        etag = last_modified = content_type = None
        if head.is_success:
            length = head.headers.get("content-length")
            size = int(length) if length is not None and length.isdigit() else None
            etag = head.headers.get("etag")
            last_modified = head.headers.get("last-modified")
            content_type = head.headers.get("content-type")
        elif head.status_code not in _HEAD_UNSUPPORTED:
            # Gone or forbidden since the page was rendered: the next run will see.
            _log.warning("index_item_unavailable", source=self.name, url=redact_url(url),
                         status=head.status_code)  # fmt: skip
            return None
        expected: str | None = None
        if sidecar_url is not None:
            expected = await self._read_sidecar(client, sidecar_url)
            if expected is None:
                # The publisher meant this file to be verified; airing it unverified (and
                # under a different key than once the sidecar is fixed) is worse than waiting.
                return None
        content_hash = expected or locator_hash(url, etag or size, last_modified)
        metadata = {
            key: value
            for key, value in (
                ("etag", etag),
                ("last_modified", last_modified),
                ("content_type", content_type),
            )
            if value is not None
        }
        return Discovered(
            source=self.name,
            uri=url,
            content_hash=content_hash,
            title=title_from_name(unquote(urlsplit(url).path)),
            size_bytes=size,
            expected_sha256=expected,
            metadata=metadata,
        )

    async def _read_sidecar(self, client: httpx.AsyncClient, url: str) -> str | None:
        try:
            body, _final = await get_document(
                client, url, timeout_s=self.timeout_s, max_bytes=_SIDECAR_MAX_BYTES
            )
        except SourceError as exc:
            if isinstance(exc.__cause__, httpx.TransportError):
                raise  # the server is failing: let the whole source be retried
            _log.warning("index_sidecar_unreadable", source=self.name, url=redact_url(url),
                         error=str(exc))  # fmt: skip
            return None
        sha256 = parse_sha256_sidecar(body.decode("utf-8", errors="replace"))
        if sha256 is None:
            _log.warning("index_sidecar_malformed", source=self.name, url=redact_url(url))
        return sha256
