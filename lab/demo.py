"""A small demo library made by ffmpeg (testsrc2 and sine tones), so the channel plays anywhere.

Used when no discovery source is configured: a few distinct clips for the queue and
a bars-and-tone slate for the reserve loop. Made once; kept under the LAB folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import ffmpeg  # type: ignore[import-untyped]

from lab.ffmpeg.runner import run

__all__ = ["DEMO_CLIPS", "demo_clip_argv", "ensure_demo_library", "ensure_slate", "slate_argv"]

# (name, seconds, tone Hz): distinct pictures and pitches, so switches are visible and
# audible; each at least the OwnerCard's shortest slot (slots.min_minutes), or the planner
# would turn them all down once their real length is known.
DEMO_CLIPS = (
    ("demo-aurora", 70, 330),
    ("demo-boreal", 84, 440),
    ("demo-cirrus", 64, 550),
    ("demo-dunes", 76, 660),
)
_SIZE = "640x360"  # chosen: small sources keep the first prep quick on 2 cores


def _encode(video: object, audio: object, dst: Path, seconds: int) -> list[str]:
    stream = ffmpeg.output(
        video,
        audio,
        str(dst),
        t=seconds,
        **{"c:v": "libx264", "preset": "ultrafast", "pix_fmt": "yuv420p", "c:a": "aac"},
    )
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *stream.get_args()]


def demo_clip_argv(dst: Path, seconds: int, tone_hz: int) -> list[str]:
    """A testsrc2 picture with a sine tone (phase and rate differ per clip)."""
    video = ffmpeg.input(f"testsrc2=size={_SIZE}:rate=25", f="lavfi")
    audio = ffmpeg.input(f"sine=frequency={tone_hz}:sample_rate=44100", f="lavfi")
    return _encode(video, audio, dst, seconds)


def slate_argv(dst: Path, seconds: int = 16) -> list[str]:
    """SMPTE bars with a 1 kHz tone: the reserve loop."""
    video = ffmpeg.input(f"smptehdbars=size={_SIZE}:rate=25", f="lavfi")
    audio = ffmpeg.input("sine=frequency=1000:sample_rate=44100", f="lavfi")
    return _encode(video, audio, dst, seconds)


async def ensure_demo_library(folder: Path) -> list[Path]:
    """The demo clips in ``folder``, made now where missing."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    made = []
    for name, seconds, tone in DEMO_CLIPS:
        target = folder / f"{name}.mp4"
        if not await asyncio.to_thread(target.is_file):
            partial = folder / f".{name}.part.mp4"
            await run(demo_clip_argv(partial, seconds, tone), timeout_s=300)
            partial.replace(target)
        made.append(target)
    return made


async def ensure_slate(path: Path) -> Path:
    """The reserve slate at ``path``, made now if missing."""
    if not await asyncio.to_thread(path.is_file):
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.part.mp4")
        await run(slate_argv(partial), timeout_s=300)
        partial.replace(path)
    return path
