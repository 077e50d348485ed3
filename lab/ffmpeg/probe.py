"""ffprobe's JSON, read into what the QA stage asks of a file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from lab.ffmpeg.argv import PathLike, probe_argv
from lab.ffmpeg.runner import run

__all__ = ["MediaInfo", "StreamInfo", "parse_probe", "probe"]


@dataclass(frozen=True)
class StreamInfo:
    """One stream: its kind and codec, and the numbers QA checks."""

    index: int
    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    """A file as ffprobe sees it."""

    format_name: str
    duration_s: float | None
    bit_rate: int | None
    streams: tuple[StreamInfo, ...]

    @property
    def video(self) -> tuple[StreamInfo, ...]:
        """The video streams."""
        return tuple(s for s in self.streams if s.kind == "video")

    @property
    def audio(self) -> tuple[StreamInfo, ...]:
        """The audio streams."""
        return tuple(s for s in self.streams if s.kind == "audio")


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value) if value not in (None, "", "N/A") else None
    except (TypeError, ValueError):
        return None


def _rate(value: Any) -> float | None:
    """``"30000/1001"`` -> 29.97; ``"0/0"`` (unknown) -> None."""
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None


def _stream(raw: dict[str, Any]) -> StreamInfo:
    return StreamInfo(
        index=int(raw.get("index", 0)),
        kind=str(raw.get("codec_type", "unknown")),
        codec=str(raw.get("codec_name", "unknown")),
        width=_number(raw.get("width"), int),
        height=_number(raw.get("height"), int),
        fps=_rate(raw.get("avg_frame_rate")) or _rate(raw.get("r_frame_rate")),
        sample_rate=_number(raw.get("sample_rate"), int),
        channels=_number(raw.get("channels"), int),
    )


def parse_probe(text: str) -> MediaInfo:
    """Read ``ffprobe -show_format -show_streams -of json``; ``ValueError`` if it is not that."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"ffprobe output is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("format"), dict):
        raise ValueError("ffprobe output has no 'format' object")
    container = data["format"]
    streams = data.get("streams", [])
    if not isinstance(streams, list):
        raise ValueError("ffprobe output's 'streams' is not a list")
    return MediaInfo(
        format_name=str(container.get("format_name", "unknown")),
        duration_s=_number(container.get("duration"), float),
        bit_rate=_number(container.get("bit_rate"), int),
        streams=tuple(_stream(s) for s in streams if isinstance(s, dict)),
    )


async def probe(path: PathLike, *, binary: str = "ffprobe", timeout_s: float = 30) -> MediaInfo:
    """What ffprobe says of ``path`` (``FfmpegError`` if it cannot read it)."""
    result = await run(probe_argv(path, binary=binary), timeout_s=timeout_s)
    return parse_probe(result.stdout.decode(errors="replace"))
