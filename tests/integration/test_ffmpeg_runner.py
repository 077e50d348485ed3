"""The ffmpeg runner and ffprobe reader against the real binaries, with clips made here."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from lab.ffmpeg import FfmpegError, probe, run


def _ffmpeg_children_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "ffmpeg" in cmdline:
            found.append(entry.name)
    return found


@pytest.fixture
async def clip(tmp_path: Path) -> Path:
    out = tmp_path / "clip.mp4"
    await run(
        [
            "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out),
        ],
        timeout_s=30,
    )  # fmt: skip
    return out


async def test_probe_reads_streams_and_duration(clip: Path) -> None:
    info = await probe(clip)
    (video,) = info.video
    (audio,) = info.audio
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 320, 240, 25.0)
    assert (audio.codec, audio.sample_rate) == ("aac", 48000)
    assert info.duration_s is not None and 0.9 <= info.duration_s <= 1.2
    assert "mp4" in info.format_name


async def test_a_failed_run_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(FfmpegError) as failed:
        await run(["ffmpeg", "-nostdin", "-i", str(missing), "-f", "null", "-"], timeout_s=10)
    assert "exited with status" in failed.value.reason
    assert "nowhere.mp4" in failed.value.stderr_tail
    with pytest.raises(FfmpegError) as unreadable:
        await probe(missing)
    assert "nowhere.mp4" in unreadable.value.stderr_tail
    with pytest.raises(FfmpegError, match="could not start"):
        await run(["ffmpeg-that-is-not-installed", "-version"], timeout_s=5)


async def test_an_overrun_is_killed_and_a_cancel_leaves_no_ffmpeg() -> None:
    marker = f"size=123x{77 + os.getpid() % 100}"
    forever = [
        "ffmpeg",
        "-nostdin",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2={marker}",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(FfmpegError, match=r"overran its 0\.5 s deadline"):
        await run(forever, timeout_s=0.5)
    assert _ffmpeg_children_with(marker) == []
    task = asyncio.ensure_future(run(forever, timeout_s=60))
    await asyncio.sleep(0.5)
    assert _ffmpeg_children_with(marker)  # it runs...
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _ffmpeg_children_with(marker) == []  # ...and is gone with the cancel
