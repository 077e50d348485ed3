"""The QA stage: is a prepared clip fit to air? Six checks and one score.

``streams``  exactly one video stream (h264, the profile's size and frame rate) and
             one audio stream (AAC at the profile's sample rate): the transmitter cuts
             HLS without re-encoding, so anything else breaks the live stream.
``duration`` ffprobe's duration is at least ``min_duration_s`` and matches what prep
             recorded (a file changed or cut after prep no longer does).
``decode``   one decode end to end prints no error and reaches the probed duration.
``black``    the share of black picture stays within ``black_max_share``.
``freeze``   the share of frozen picture stays within ``freeze_max_share``.
``silence``  the share of silence stays within ``silence_max_share``.

The last four come from one ffmpeg run (``lab.ffmpeg.detect_argv``): the decode the
detectors need is the decode check itself.

The score (``score``) is the weighted share of passed checks, except that a failed
``streams``, ``duration`` or ``decode`` check gives 0: such a file cannot be aired at
all, whatever else is true of it. The weights make dead air the line: black picture
alone, or a picture that neither moves nor sounds (freeze and silence together),
falls below 0.85; a still picture with sound (music with a cover) or a silent film
(and a clip prep gave a silent track) scores 0.9 and airs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import structlog

from lab.ffmpeg import (
    BroadcastProfile,
    DetectReport,
    FfmpegError,
    MediaInfo,
    covered_share,
    detect_argv,
    parse_detect,
    probe,
    run,
)
from lab.stages.types import Prepared, QaCheck, QaVerdict

__all__ = ["CHECK_WEIGHTS", "HARD_CHECKS", "QaLimits", "inspect", "score"]

_log = structlog.get_logger(__name__)

CHECK_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"streams": 1.0, "duration": 1.0, "decode": 1.0, "black": 1.0, "freeze": 0.5, "silence": 0.5}
)
HARD_CHECKS = frozenset({"streams", "duration", "decode"})

# What prep_argv encodes; the transmitter copies these streams into HLS as they are.
_VIDEO_CODEC = "h264"
_AUDIO_CODEC = "aac"


@dataclass(frozen=True, slots=True)
class QaLimits:
    """What QA tolerates: durations in seconds, shares of the clip in 0..1, levels in dB."""

    min_duration_s: float = 1.0
    # Container durations differ from stream ends by a frame or an AAC packet.
    duration_tolerance_s: float = 0.5
    fps_tolerance: float = 0.01
    black_max_share: float = 0.3
    black_min_s: float = 0.5
    black_pixel_th: float = 0.10
    black_picture_th: float = 0.98
    freeze_max_share: float = 0.5
    freeze_noise_db: float = -60.0
    freeze_min_s: float = 2.0
    silence_max_share: float = 0.5
    silence_noise_db: float = -60.0
    silence_min_s: float = 2.0


def score(checks: Iterable[QaCheck]) -> float:
    """Weighted share of passed checks in 0..1; 0 if a hard check failed or there is none."""
    checks = tuple(checks)
    for check in checks:
        if check.name not in CHECK_WEIGHTS:
            raise ValueError(f"unknown QA check {check.name!r}")
    if not checks or any(c.name in HARD_CHECKS and not c.passed for c in checks):
        return 0.0
    total = sum(CHECK_WEIGHTS[c.name] for c in checks)
    return sum(CHECK_WEIGHTS[c.name] for c in checks if c.passed) / total


async def inspect(
    prepared: Prepared,
    profile: BroadcastProfile,
    *,
    threshold: float = 0.85,
    timeout_s: float,
    limits: QaLimits = QaLimits(),
) -> QaVerdict:
    """Run every check on ``prepared`` within ``timeout_s`` and score it against ``threshold``."""
    if timeout_s <= 0:
        raise ValueError("inspect needs a positive timeout_s")
    end = time.monotonic() + timeout_s
    log = _log.bind(plan_id=prepared.plan_id, path=str(prepared.path))
    try:
        info = await probe(prepared.path, timeout_s=_left(end))
    except (FfmpegError, ValueError) as exc:
        checks = _all_failed(f"ffprobe cannot read the file: {exc}")
    else:
        checks = (
            _streams(info, profile, limits),
            _duration(info, prepared, limits),
            *(await _decode_and_detect(info, prepared, limits, end)),
        )
    verdict = QaVerdict(score=score(checks), threshold=threshold, checks=checks)
    failed = {c.name: c.detail for c in checks if not c.passed}
    log.info("lab.qa.verdict", score=round(verdict.score, 3), passed=verdict.passed, failed=failed)
    return verdict


def _all_failed(reason: str) -> tuple[QaCheck, ...]:
    return tuple(
        QaCheck(name, False, reason if name == "streams" else "not run: the file is unreadable")
        for name in ("streams", "duration", "decode", "black", "freeze", "silence")
    )


def _streams(info: MediaInfo, profile: BroadcastProfile, limits: QaLimits) -> QaCheck:
    problems: list[str] = []
    if len(info.video) != 1:
        problems.append(f"{len(info.video)} video streams, not 1")
    for video in info.video[:1]:
        if video.codec != _VIDEO_CODEC:
            problems.append(f"video codec {video.codec}, not {_VIDEO_CODEC}")
        if (video.width, video.height) != (profile.width, profile.height):
            problems.append(
                f"video {video.width}x{video.height}, not {profile.width}x{profile.height}"
            )
        if video.fps is None or abs(video.fps - profile.fps) > limits.fps_tolerance:
            problems.append(f"video at {video.fps} fps, not {profile.fps}")
    if len(info.audio) != 1:
        problems.append(f"{len(info.audio)} audio streams, not 1")
    for audio in info.audio[:1]:
        if audio.codec != _AUDIO_CODEC:
            problems.append(f"audio codec {audio.codec}, not {_AUDIO_CODEC}")
        if audio.sample_rate != profile.audio_rate:
            problems.append(f"audio at {audio.sample_rate} Hz, not {profile.audio_rate}")
    if problems:
        return QaCheck("streams", False, "; ".join(problems))
    return QaCheck("streams", True, f"{profile.width}x{profile.height} {profile.fps} fps + audio")


def _duration(info: MediaInfo, prepared: Prepared, limits: QaLimits) -> QaCheck:
    probed = info.duration_s
    if probed is None:
        return QaCheck("duration", False, "ffprobe reports no duration")
    if probed < limits.min_duration_s:
        return QaCheck("duration", False, f"{probed:.2f} s, under {limits.min_duration_s:g} s")
    if abs(probed - prepared.duration_s) > limits.duration_tolerance_s:
        return QaCheck(
            "duration", False, f"{probed:.2f} s, prep recorded {prepared.duration_s:.2f} s"
        )
    return QaCheck("duration", True, f"{probed:.2f} s")


async def _decode_and_detect(
    info: MediaInfo, prepared: Prepared, limits: QaLimits, end: float
) -> tuple[QaCheck, ...]:
    """The ``decode``, ``black``, ``freeze`` and ``silence`` checks from one ffmpeg run."""
    if not (info.video or info.audio):
        return _not_run("decode", "no video or audio stream to decode")
    argv = detect_argv(
        prepared.path,
        video=bool(info.video),
        audio=bool(info.audio),
        black_min_s=limits.black_min_s,
        black_pixel_th=limits.black_pixel_th,
        black_picture_th=limits.black_picture_th,
        freeze_noise_db=limits.freeze_noise_db,
        freeze_min_s=limits.freeze_min_s,
        silence_noise_db=limits.silence_noise_db,
        silence_min_s=limits.silence_min_s,
    )
    try:
        result = await run(argv, timeout_s=_left(end))
    except FfmpegError as exc:
        return _not_run("decode", f"ffmpeg could not decode the file: {exc}")
    duration = info.duration_s or prepared.duration_s
    report = parse_detect(result.stderr, duration_s=duration)
    return (
        _decode(report, duration, limits),
        _share("black", report, duration, limits.black_max_share, present=bool(info.video)),
        _share("freeze", report, duration, limits.freeze_max_share, present=bool(info.video)),
        _share("silence", report, duration, limits.silence_max_share, present=bool(info.audio)),
    )


def _not_run(name: str, reason: str) -> tuple[QaCheck, ...]:
    """The failed check with its reason; the detectors it carried did not run."""
    detail = f"not run: {name} failed"
    return (
        QaCheck(name, False, reason),
        QaCheck("black", False, detail),
        QaCheck("freeze", False, detail),
        QaCheck("silence", False, detail),
    )


def _decode(report: DetectReport, duration: float, limits: QaLimits) -> QaCheck:
    if report.errors:
        return QaCheck(
            "decode", False, f"{len(report.errors)} decode errors, first: {report.errors[0]}"
        )
    if report.decoded_s is None:
        return QaCheck("decode", False, "ffmpeg reported no decoded time")
    if report.decoded_s < duration - limits.duration_tolerance_s:
        return QaCheck(
            "decode", False, f"decoding stopped at {report.decoded_s:.2f} s of {duration:.2f} s"
        )
    return QaCheck("decode", True, f"clean to {report.decoded_s:.2f} s")


def _share(
    name: str, report: DetectReport, duration: float, limit: float, *, present: bool
) -> QaCheck:
    if not present:
        return QaCheck(name, False, f"no {'audio' if name == 'silence' else 'video'} stream")
    intervals = {"black": report.black, "freeze": report.freeze, "silence": report.silence}[name]
    share = covered_share(intervals, duration)
    detail = f"{share:.0%} {name} (limit {limit:.0%})"
    return QaCheck(name, share <= limit, detail)


def _left(end: float) -> float:
    """Time left before the deadline; once past it, a sliver that makes the run overrun."""
    return max(end - time.monotonic(), 0.001)
