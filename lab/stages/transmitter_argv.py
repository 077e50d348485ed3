"""Pure builders of the transmitter's ffmpeg command lines (ffmpeg-python stays in here).

Prepared clips already have the channel's shape and a keyframe exactly every
``segment_s`` seconds, so both commands only cut HLS segments with ``-c copy``:
no encoder runs, and every segment opens on a keyframe.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import ffmpeg  # type: ignore[import-untyped]

from lab.ffmpeg.argv import BroadcastProfile, PathLike

__all__ = ["MUXER_PLAYLIST", "aligned_offset", "item_segments_argv", "reserve_segments_argv"]

# The playlist name the segmenter writes in its own directory.
MUXER_PLAYLIST = "index.m3u8"
_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")


def aligned_offset(start_offset_s: float, profile: BroadcastProfile) -> float:
    """The keyframe at or before ``start_offset_s``: where a resumed item really starts.

    Stream copy can only start on a keyframe; starting on the one before the
    offset re-airs a little rather than losing anything.
    """
    if start_offset_s <= 0:
        return 0.0
    step = profile.segment_s
    # The epsilon keeps an offset of exactly k segments (a float sum) on keyframe k.
    return float(math.floor(start_offset_s / step + 1e-6) * step)


def item_segments_argv(
    src: PathLike,
    out_dir: PathLike,
    profile: BroadcastProfile,
    *,
    start_offset_s: float = 0.0,
    binary: str = "ffmpeg",
) -> list[str]:
    """Cut one item into HLS segments in ``out_dir`` in real time (``-re``), from a keyframe."""
    input_options: dict[str, Any] = {"re": None}
    offset = aligned_offset(start_offset_s, profile)
    if offset > 0:
        input_options["ss"] = _num(offset)
    source = ffmpeg.input(_path(src), **input_options)
    return _hls(source, out_dir, profile, binary=binary, vod=False)


def reserve_segments_argv(
    src: PathLike, out_dir: PathLike, profile: BroadcastProfile, *, binary: str = "ffmpeg"
) -> list[str]:
    """Cut the reserve clip into HLS segments once, as fast as the disk allows."""
    return _hls(ffmpeg.input(_path(src)), out_dir, profile, binary=binary, vod=True)


def _hls(
    source: Any, out_dir: PathLike, profile: BroadcastProfile, *, binary: str, vod: bool
) -> list[str]:
    folder = Path(out_dir)
    options: dict[str, Any] = {
        "c": "copy",
        "f": "hls",
        "hls_time": str(profile.segment_s),
        "hls_list_size": "0",
        # Segments are written under a temporary name and renamed when complete.
        "hls_flags": "temp_file",
        "hls_segment_filename": _path(folder / "s%06d.ts"),
    }
    if vod:
        options["hls_playlist_type"] = "vod"
    stream = ffmpeg.output(source.video, source.audio, _path(folder / MUXER_PLAYLIST), **options)
    return [binary, *_QUIET, "-y", *[str(a) for a in stream.get_args()]]


def _num(value: float) -> str:
    return f"{value:.6g}"


def _path(path: PathLike) -> str:
    text = os.fspath(path)
    return f"./{text}" if text.startswith("-") and text != "-" else text
