"""The reserve loop: a clip cut into HLS segments once, replayed round-robin with no encoder.

When the queue runs dry or an encoder dies, the transmitter publishes these files
itself, so the fallback depends on nothing that can die at that moment.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import m3u8  # type: ignore[import-untyped]

from lab.ffmpeg.argv import BroadcastProfile
from lab.ffmpeg.runner import run
from lab.stages.transmitter_argv import MUXER_PLAYLIST, reserve_segments_argv

__all__ = ["ReserveLoop", "ReserveSegment", "prepare_reserve", "read_muxer_playlist"]


@dataclass(frozen=True, slots=True)
class ReserveSegment:
    """One cut segment on disk and its length."""

    path: Path
    duration: float


class ReserveLoop:
    """Hands out the reserve segments in order, forever; says when it wraps."""

    def __init__(self, segments: tuple[ReserveSegment, ...]) -> None:
        if not segments:
            raise ValueError("the reserve loop needs at least one segment")
        self.segments = segments
        self._index = 0

    def rewind(self) -> None:
        """Start the next episode from the top of the clip."""
        self._index = 0

    def next(self) -> tuple[ReserveSegment, bool]:
        """The next segment, and whether the loop wrapped to reach it (a discontinuity)."""
        segment = self.segments[self._index]
        wrapped = self._index == 0
        self._index = (self._index + 1) % len(self.segments)
        return segment, wrapped

    @property
    def duration_s(self) -> float:
        """One pass of the loop."""
        return sum(segment.duration for segment in self.segments)


def read_muxer_playlist(folder: Path) -> tuple[ReserveSegment, ...]:
    """The complete segments ffmpeg's HLS muxer has listed in ``folder`` so far."""
    try:
        text = (folder / MUXER_PLAYLIST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    parsed: Any = m3u8.loads(text)
    return tuple(
        ReserveSegment(path=folder / str(segment.uri), duration=float(segment.duration))
        for segment in parsed.segments
    )


async def prepare_reserve(
    clip: Path,
    folder: Path,
    profile: BroadcastProfile,
    *,
    binary: str = "ffmpeg",
    timeout_s: float = 300.0,
) -> ReserveLoop:
    """Cut ``clip`` into ``folder`` (emptied first); ``ValueError`` if it breaks the target."""
    await asyncio.to_thread(_reset, clip, folder)
    await run(reserve_segments_argv(clip, folder, profile, binary=binary), timeout_s=timeout_s)
    segments = read_muxer_playlist(folder)
    for segment in segments:
        if round(segment.duration) > profile.segment_s:
            # A reserve that breaks the target duration would break every fallback.
            raise ValueError(
                f"reserve segment {segment.path.name} lasts {segment.duration:.3f} s, over "
                f"the {profile.segment_s} s target: is {clip} a prepared clip?"
            )
    return ReserveLoop(segments)


def _reset(clip: Path, folder: Path) -> None:
    if not clip.is_file():
        raise FileNotFoundError(f"reserve clip {clip} does not exist")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
