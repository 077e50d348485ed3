"""Pure builders of the ffmpeg/ffprobe command lines the prep stage runs.

Every clip that enters the 24/7 channel is turned into the same shape, so the
transmitter can cut HLS segments without re-encoding and players never see a
resolution, frame-rate or loudness jump between items:

* exact ``width x height`` (scaled to fit, padded, square pixels), constant ``fps``;
* a keyframe exactly every ``segment_s`` seconds and nowhere else (fixed GOP, no
  scene-cut keyframes), so each HLS segment starts on one;
* a bitrate cap averaged over one segment, so every segment stays within the
  ladder's advertised bandwidth;
* EBU R128 loudness by two-pass ``loudnorm`` (measure, then one linear gain).

These functions only build ``argv`` lists (with ffmpeg-python, whose untyped API
stays inside this module); running them is the runner's job. Being pure, they are
table-tested without a subprocess. No number is chosen here: every cap arrives in
a ``BroadcastProfile`` that the caller fills from configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeAlias

import ffmpeg  # type: ignore[import-untyped]

from lab.ffmpeg.loudnorm import LoudnormMeasurement

PathLike: TypeAlias = str | os.PathLike[str]

# Output extensions whose muxer (mov/mp4 family) understands ``-movflags +faststart``.
_FASTSTART_SUFFIXES = (".mp4", ".m4v", ".m4a", ".mov")


@dataclass(frozen=True, slots=True)
class BroadcastProfile:
    """The caps one prepared clip is held to, taken from the broadcast configuration.

    Units: pixels, frames per second, kbit/s, Hz, seconds; ``loudness_i`` in LUFS,
    ``loudness_tp`` in dBTP, ``loudness_lra`` in LU (loudnorm's I, TP and LRA).
    """

    width: int
    height: int
    fps: int
    video_kbps: int
    audio_kbps: int
    audio_rate: int
    segment_s: int
    loudness_i: float
    loudness_tp: float
    loudness_lra: float

    def __post_init__(self) -> None:
        for name in ("width", "height", "fps", "video_kbps", "audio_kbps", "audio_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.segment_s <= 0:
            raise ValueError(f"segment_s must be positive, got {self.segment_s}")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"yuv420p needs even dimensions, got {self.width}x{self.height}")
        # loudnorm's own accepted ranges; outside them ffmpeg fails mid-pipeline.
        _in_range("loudness_i", self.loudness_i, -70.0, -5.0)
        _in_range("loudness_tp", self.loudness_tp, -9.0, 0.0)
        _in_range("loudness_lra", self.loudness_lra, 1.0, 50.0)

    @property
    def gop(self) -> int:
        """Frames between keyframes: one keyframe opens every HLS segment."""
        return self.fps * self.segment_s


def remux_argv(src: PathLike, dst: PathLike, *, binary: str = "ffmpeg") -> list[str]:
    """Rewrite the container without touching the streams (fixes broken indexes)."""
    out = _path(dst)
    options: dict[str, Any] = {"map": "0", "c": "copy"}
    if out.lower().endswith(_FASTSTART_SUFFIXES):
        options["movflags"] = "+faststart"
    stream = ffmpeg.input(_path(src)).output(out, **options)
    return [binary, *_QUIET, "-y", *_args(stream)]


def loudnorm_measure_argv(
    src: PathLike, profile: BroadcastProfile, *, binary: str = "ffmpeg"
) -> list[str]:
    """First loudnorm pass: decode the audio only and print the measurement as JSON.

    loudnorm logs its JSON at ``info`` level, so this command is not quietened to
    ``error``; ``-nostats`` keeps the progress line out of the text to parse.
    """
    audio = ffmpeg.input(_path(src)).audio.filter(
        "loudnorm", print_format="json", **_targets(profile)
    )
    stream = audio.output("-", format="null")
    return [binary, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *_args(stream)]


def prep_argv(
    src: PathLike,
    dst: PathLike,
    profile: BroadcastProfile,
    measured: LoudnormMeasurement,
    *,
    binary: str = "ffmpeg",
) -> list[str]:
    """Second pass: the one encode that gives a clip the channel's exact shape (see above).

    ``measured`` is the first pass's output (``parse_loudnorm``). loudnorm applies
    one linear gain when it can; when the measured range or peak makes that
    impossible it falls back to its dynamic mode by itself.
    """
    p = profile
    source = ffmpeg.input(_path(src))
    video = (
        source.video.filter("scale", p.width, p.height, force_original_aspect_ratio="decrease")
        .filter("pad", p.width, p.height, "(ow-iw)/2", "(oh-ih)/2")
        .filter("setsar", 1)
        .filter("fps", fps=p.fps)
    )
    audio = source.audio.filter(
        "loudnorm",
        measured_I=_num(measured.input_i),
        measured_TP=_num(measured.input_tp),
        measured_LRA=_num(measured.input_lra),
        measured_thresh=_num(measured.input_thresh),
        offset=_num(measured.target_offset),
        linear="true",
        **_targets(p),
    )
    options: dict[str, Any] = {
        "c:v": "libx264",
        "pix_fmt": "yuv420p",
        "fps_mode": "cfr",
        "g": str(p.gop),
        "keyint_min": str(p.gop),
        "sc_threshold": "0",
        "force_key_frames": f"expr:gte(t,n_forced*{p.segment_s})",
        "b:v": f"{p.video_kbps}k",
        "maxrate": f"{p.video_kbps}k",
        # One segment's worth of bits: the cap holds over every segment.
        "bufsize": f"{p.video_kbps * p.segment_s}k",
        "c:a": "aac",
        "b:a": f"{p.audio_kbps}k",
        "ar": str(p.audio_rate),
        "movflags": "+faststart",
        "f": "mp4",
    }
    stream = ffmpeg.output(video, audio, _path(dst), **options)
    return [binary, *_QUIET, "-y", *_args(stream)]


def probe_argv(src: PathLike, *, binary: str = "ffprobe") -> list[str]:
    """ffprobe of the container and every stream, as JSON for ``json.loads``."""
    # ffprobe never reads stdin, and rejects -nostdin.
    return [
        binary,
        "-hide_banner",
        "-loglevel",
        "error",
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        _path(src),
    ]


_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")


def _args(stream: Any) -> list[str]:
    args = stream.get_args()
    return [str(a) for a in args]


def _targets(profile: BroadcastProfile) -> dict[str, str]:
    return {
        "I": _num(profile.loudness_i),
        "TP": _num(profile.loudness_tp),
        "LRA": _num(profile.loudness_lra),
    }


def _num(value: float) -> str:
    """Shortest faithful text of a number: ``-23.0`` -> ``-23``, ``-1.5`` -> ``-1.5``."""
    return f"{value:.6g}"


def _path(path: PathLike) -> str:
    """A path ffmpeg cannot mistake for an option (``-x.mp4`` would be parsed as a flag)."""
    text = os.fspath(path)
    return f"./{text}" if text.startswith("-") and text != "-" else text


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be within [{low:g}, {high:g}], got {value:g}")
