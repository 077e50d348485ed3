"""Plumbing the sources share: a borrowed or owned HTTP client, bounded reads of documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from lab.sources.base import SourceError, local_path, redact_url

__all__ = ["get_document", "open_client", "read_location"]


@asynccontextmanager
async def open_client(
    client: httpx.AsyncClient | None, timeout_s: float
) -> AsyncIterator[httpx.AsyncClient]:
    """The caller's client as is, or a fresh one closed on exit."""
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as owned:
        yield owned


async def get_document(
    client: httpx.AsyncClient, url: str, *, timeout_s: float, max_bytes: int
) -> tuple[bytes, str]:
    """GET ``url`` whole (body, final URL), refusing a non-2xx answer or over ``max_bytes``."""
    try:
        async with client.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
            if not response.is_success:
                raise SourceError(f"GET {redact_url(url)} answered {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(f"{redact_url(url)} is {declared} bytes, over {max_bytes}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                # A lying or absent Content-Length must not let a document eat the memory.
                if len(body) > max_bytes:
                    raise SourceError(f"{redact_url(url)} is over {max_bytes} bytes")
            return bytes(body), str(response.url)
    except httpx.TransportError as exc:
        # Transport messages name the socket problem, not the URL, so they are safe to keep.
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise SourceError(f"GET {redact_url(url)} failed: {detail}") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"GET {redact_url(url)} failed: {type(exc).__name__}") from exc


def _read_local(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SourceError(f"{path} is over {max_bytes} bytes")
    return data


async def read_location(
    location: str,
    *,
    client: httpx.AsyncClient | None,
    timeout_s: float,
    max_bytes: int,
) -> tuple[bytes, str]:
    """A document from an http(s) URL, a ``file://`` URL or a local path: (bytes, base URL).

    The base URL is where relative entries in the document resolve from: the final URL
    after redirects, or the file's ``file://`` URI.
    """
    scheme = urlsplit(location).scheme.lower()
    if scheme in {"http", "https"}:
        async with open_client(client, timeout_s) as active:
            return await get_document(active, location, timeout_s=timeout_s, max_bytes=max_bytes)
    path = local_path(location)
    if path is None:
        raise SourceError(f"unsupported location scheme {scheme!r}")
    try:
        data = await asyncio.to_thread(_read_local, path, max_bytes)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data, path.resolve().as_uri()
