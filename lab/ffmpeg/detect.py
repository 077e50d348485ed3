"""Pure builders and stderr readers for the QA pass and the output loudness measurement.

QA decodes a prepared clip once: the video through ``blackdetect`` then
``freezedetect``, the audio through ``silencedetect``, into the null muxer. That one
decode is also the decode check: with ``-loglevel level+info`` every line carries
its level, so the errors the decoders and the demuxer report (what
``ffmpeg -v error ... -f null -`` would print) are told apart from the detectors'
``info`` lines without a second pass. The final statistics line gives how far the
decode got, which shows a truncated file even when every packet read was clean.

The output loudness is read by ``ebur128`` (integrated loudness and true peak),
which on the audio alone is several times cheaper than a loudnorm pass.

As in ``lab.ffmpeg.argv`` these functions only build ``argv`` lists and read text;
every threshold arrives from the caller. Parsers anchor on the filter's log prefix
(``[blackdetect @ 0x...]``), so text inside the file (a title in the metadata dump)
cannot pose as a detection.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ffmpeg  # type: ignore[import-untyped]

from lab.ffmpeg.argv import PathLike

__all__ = [
    "DetectReport",
    "Interval",
    "Loudness",
    "covered_share",
    "detect_argv",
    "loudness_argv",
    "parse_black",
    "parse_decode_errors",
    "parse_decoded_s",
    "parse_detect",
    "parse_ebur128",
    "parse_freeze",
    "parse_silence",
]

_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|-?inf|nan)"
# A filter's log prefix: ``[blackdetect @ 0x55...]`` (``Parsed_blackdetect_0`` under -vf).
_PREFIX = r"^\[(?:Parsed_)?{name}(?:_\d+)? @ 0x[0-9a-fA-F]+\] (?:\[\w+\] )?"
_BLACK = re.compile(
    _PREFIX.format(name="blackdetect") + rf"black_start:\s*{_NUMBER}\s+black_end:\s*{_NUMBER}",
    re.MULTILINE,
)
_FREEZE = re.compile(
    _PREFIX.format(name="freezedetect") + rf"lavfi\.freezedetect\.freeze_(start|end):\s*{_NUMBER}",
    re.MULTILINE,
)
_SILENCE = re.compile(
    _PREFIX.format(name="silencedetect") + rf"silence_(start|end):\s*{_NUMBER}",
    re.MULTILINE,
)
# ``[h264 @ 0x..] [error] ...`` or ``[error] ...``: the level tag of ``-loglevel level+...``.
_ERROR = re.compile(r"^(?:\[[^\[\]]+\] )?\[(?:error|fatal|panic)\] (.*)$", re.MULTILINE)
# The final statistics line (printed even with -nostats): ``... time=00:00:04.01 ...``.
_TIME = re.compile(r"\btime=\s*(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_EBUR128_I = re.compile(rf"Integrated loudness:\s*\n\s*I:\s*{_NUMBER}\s*LUFS")
# EBU R128's absolute gate: blocks quieter than this do not count towards loudness.
_GATE_LUFS = -70.0
_EBUR128_PEAK = re.compile(rf"True peak:\s*\n\s*Peak:\s*{_NUMBER}\s*dBFS")


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of the clip a detector flagged, in seconds from the start."""

    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        """Its length in seconds (never negative)."""
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True, slots=True)
class DetectReport:
    """What one QA decode found: flagged stretches, decode errors, how far it decoded."""

    black: tuple[Interval, ...]
    freeze: tuple[Interval, ...]
    silence: tuple[Interval, ...]
    errors: tuple[str, ...]
    decoded_s: float | None


@dataclass(frozen=True, slots=True)
class Loudness:
    """A clip's integrated loudness (LUFS) and true peak (dBTP) as ``ebur128`` measured them."""

    integrated_lufs: float
    true_peak_dbtp: float


def detect_argv(
    src: PathLike,
    *,
    video: bool,
    audio: bool,
    black_min_s: float,
    black_pixel_th: float,
    black_picture_th: float,
    freeze_noise_db: float,
    freeze_min_s: float,
    silence_noise_db: float,
    silence_min_s: float,
    binary: str = "ffmpeg",
) -> list[str]:
    """One decode of ``src``'s first video and audio stream through the three detectors.

    ``video``/``audio`` say which of the two the file has (from ffprobe): a filter
    graph naming a missing stream would make ffmpeg refuse to start.
    """
    if not (video or audio):
        raise ValueError("nothing to decode: the file has neither video nor audio")
    source = ffmpeg.input(_path(src))
    outputs: list[Any] = []
    if video:
        outputs.append(
            source.video.filter(
                "blackdetect",
                d=_num(black_min_s),
                pix_th=_num(black_pixel_th),
                pic_th=_num(black_picture_th),
            ).filter("freezedetect", n=f"{_num(freeze_noise_db)}dB", d=_num(freeze_min_s))
        )
    if audio:
        outputs.append(
            source.audio.filter(
                "silencedetect", n=f"{_num(silence_noise_db)}dB", d=_num(silence_min_s)
            )
        )
    stream = ffmpeg.output(*outputs, "-", format="null")
    # info: the detectors log there; level: tags each line so errors can be picked out.
    return [binary, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info",
            *_args(stream)]  # fmt: skip


def loudness_argv(src: PathLike, *, binary: str = "ffmpeg") -> list[str]:
    """Measure the first audio stream's integrated loudness and true peak (``ebur128``).

    Per-frame lines go to ``verbose`` so that only the summary is printed at ``info``.
    """
    audio = ffmpeg.input(_path(src))["a:0"].filter("ebur128", peak="true", framelog="verbose")
    stream = audio.output("-", format="null")
    return [binary, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *_args(stream)]


def parse_black(stderr_text: str) -> tuple[Interval, ...]:
    """The black stretches ``blackdetect`` reported (it closes one open at the end itself)."""
    return tuple(
        Interval(max(0.0, float(start)), float(end)) for start, end in _BLACK.findall(stderr_text)
    )


def parse_freeze(stderr_text: str, *, end_s: float) -> tuple[Interval, ...]:
    """The frozen stretches; one still frozen at the end of the file closes at ``end_s``.

    ``freezedetect`` prints no end for a freeze that lasts to the last frame.
    """
    return _pairs(_FREEZE.findall(stderr_text), end_s)


def parse_silence(stderr_text: str, *, end_s: float) -> tuple[Interval, ...]:
    """The silent stretches; one still open at the end of the file closes at ``end_s``."""
    return _pairs(_SILENCE.findall(stderr_text), end_s)


def parse_decode_errors(stderr_text: str) -> tuple[str, ...]:
    """The lines logged at ``error`` or worse, without their prefix (needs ``level+``)."""
    return tuple(message.strip() for message in _ERROR.findall(stderr_text))


def parse_decoded_s(stderr_text: str) -> float | None:
    """How far the decode got, from the last ``time=`` statistics; None if never printed."""
    found = _TIME.findall(stderr_text)
    if not found:
        return None
    sign, hours, minutes, seconds = found[-1]
    value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return -value if sign else value


def parse_detect(stderr_text: str, *, duration_s: float) -> DetectReport:
    """Read everything one ``detect_argv`` run printed; open stretches close at ``duration_s``."""
    return DetectReport(
        black=parse_black(stderr_text),
        freeze=parse_freeze(stderr_text, end_s=duration_s),
        silence=parse_silence(stderr_text, end_s=duration_s),
        errors=parse_decode_errors(stderr_text),
        decoded_s=parse_decoded_s(stderr_text),
    )


def parse_ebur128(stderr_text: str) -> Loudness:
    """Read the summary ``ebur128=peak=true`` prints; ``ValueError`` if there is no loudness.

    When nothing passes the -70 LUFS absolute gate (silence), ebur128 prints
    ``I: -70.0`` and often ``Peak: -inf``: a floor, not a measurement, so refused.
    """
    integrated = _EBUR128_I.findall(stderr_text)
    peak = _EBUR128_PEAK.findall(stderr_text)
    if not integrated or not peak:
        raise ValueError("no ebur128 summary with integrated loudness and true peak on stderr")
    value_i, value_tp = float(integrated[-1]), float(peak[-1])
    if not (math.isfinite(value_i) and math.isfinite(value_tp)) or value_i <= _GATE_LUFS:
        raise ValueError(f"ebur128 measured no loudness (I={value_i:g}, TP={value_tp:g})")
    return Loudness(integrated_lufs=value_i, true_peak_dbtp=value_tp)


def covered_share(intervals: Iterable[Interval], duration_s: float) -> float:
    """The share of ``[0, duration_s]`` the intervals cover, overlaps counted once (0..1)."""
    if duration_s <= 0:
        return 0.0
    covered, reach = 0.0, 0.0
    for interval in sorted(intervals, key=lambda i: i.start_s):
        start = max(interval.start_s, reach, 0.0)
        end = min(interval.end_s, duration_s)
        if end > start:
            covered += end - start
            reach = end
    return min(1.0, covered / duration_s)


def _pairs(events: list[tuple[str, str]], end_s: float) -> tuple[Interval, ...]:
    """Pair ``start``/``end`` events in order; an unmatched start runs to ``end_s``."""
    intervals: list[Interval] = []
    opened: float | None = None
    for kind, raw in events:
        value = float(raw)
        if kind == "start":
            # Some filters report a start before 0 (their analysis window); clip to the file.
            opened = max(0.0, value) if opened is None else opened
        elif opened is not None:
            intervals.append(Interval(opened, value))
            opened = None
    if opened is not None:
        intervals.append(Interval(opened, max(opened, end_s)))
    return tuple(intervals)


def _num(value: float) -> str:
    """Shortest faithful text of a number, as ``lab.ffmpeg.argv`` writes them."""
    return f"{value:.6g}"


def _path(path: PathLike) -> str:
    """A path ffmpeg cannot mistake for an option (``-x.mp4`` would be parsed as a flag)."""
    text = os.fspath(path)
    return f"./{text}" if text.startswith("-") and text != "-" else text


def _args(stream: Any) -> list[str]:
    return [str(a) for a in stream.get_args()]
