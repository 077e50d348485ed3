"""The live playlist and its segments, served by the app with HLS content types and cache headers.

The playlist changes every segment, so clients and caches must revalidate it; a
segment never changes once published, so it may be cached for as long as it lives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from litestar import Response, get
from litestar.params import PathParameter
from litestar.response import File

from generated.server_support import ProblemError

__all__ = ["CONTENT_TYPES", "live_routes"]

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(m3u8|ts)$")
_PLAYLIST_CACHE = "no-cache"  # revalidate: a new segment arrives every few seconds
_SEGMENT_CACHE = "public, max-age=3600, immutable"


def live_routes(live_dir: Path) -> list[Any]:
    """``GET /live/{name}``: the playlist (``main.m3u8``) and segments from ``live_dir``."""

    @get("/live/{name:str}", include_in_schema=False, sync_to_thread=False)
    def live(name: Annotated[str, PathParameter()]) -> Response[Any]:
        if not _NAME.match(name):
            raise ProblemError(404, "NOT_FOUND", "Not found", "no such live file")
        path = live_dir / name
        suffix = path.suffix
        if suffix == ".m3u8":
            # Read whole: the writer replaces it atomically, so a read sees one version.
            try:
                text = path.read_bytes()
            except FileNotFoundError:
                raise ProblemError(
                    404, "NOT_FOUND", "Not found", "the channel has not started yet"
                ) from None
            return Response(
                text,
                media_type=CONTENT_TYPES[suffix],
                headers={"Cache-Control": _PLAYLIST_CACHE},
            )
        if not path.is_file():
            raise ProblemError(404, "NOT_FOUND", "Not found", "segment gone or not yet published")
        return File(
            path,
            media_type=CONTENT_TYPES[suffix],
            content_disposition_type="inline",
            headers={"Cache-Control": _SEGMENT_CACHE},
        )

    return [live]
