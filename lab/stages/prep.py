"""The prep stage: a fetched file becomes one clip in the channel's exact shape.

Order of work, each step an ffmpeg run under one deadline for the whole stage:

1. ffprobe the input, and at the same time run loudnorm's measuring pass (the two
   read the file independently, so the probe costs no wall time on the usual path).
2. Container fix: only when ffprobe cannot read the file, finds no duration or no
   video stream, the streams are copied into a fresh Matroska container
   (``remux_argv``) and step 1 is redone on it. Remuxing every input would copy
   every byte once more for the rare broken file; Matroska takes any codec.
3. Audio: the live stream carries audio and video without a break, so every item
   must have an audio track. A file without one, or whose audio measures silent
   (below loudnorm's -70 LUFS gate, so no gain is defined), gets a track of digital
   silence (``anullsrc``) and skips measuring. QA still flags it as silent.
4. The encode (``prep_argv``): scale/pad to the profile, constant frame rate, a
   keyframe every ``segment_s`` only, loudnorm's linear gain from step 1.
   It writes a hidden temporary name in ``out_dir``, renamed over the final name
   only once complete, so a reader never sees half a clip. Whatever the decoder
   printed is logged: re-encoding conceals a damaged source, and QA sees only the
   clean output.
5. The output is probed for its duration and its loudness measured with
   ``ebur128`` (audio only, a few hundred ms for half an hour): ``Prepared``
   records what the channel will air after AAC coding, not what loudnorm aimed at.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import ffmpeg  # type: ignore[import-untyped]
import structlog

from lab.ffmpeg import (
    BroadcastProfile,
    FfmpegError,
    LoudnormMeasurement,
    MediaInfo,
    RunResult,
    loudness_argv,
    loudnorm_measure_argv,
    parse_ebur128,
    parse_loudnorm,
    prep_argv,
    probe,
    remux_argv,
    run,
)
from lab.stages.types import Fetched, Prepared

__all__ = ["PrepError", "prepare"]

_log = structlog.get_logger(__name__)

# A plan id becomes a file name: nothing that could climb out of ``out_dir``.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# loudnorm prints ``"input_i" : "-inf"`` when nothing passes its -70 LUFS gate.
_SILENT = re.compile(r'"input_i"\s*:\s*"-?inf"')
# What the second pass is told about a track of digital silence: any finite values
# select loudnorm's linear mode, and a gain applied to zeros leaves zeros.
_SILENCE_MEASURED = LoudnormMeasurement(
    input_i=-70.0, input_tp=-70.0, input_lra=0.0, input_thresh=-80.0, target_offset=0.0
)


class PrepError(RuntimeError):
    """A file could not be prepared; the message says which step failed and why."""


async def prepare(
    fetched: Fetched, out_dir: Path, profile: BroadcastProfile, *, timeout_s: float
) -> Prepared:
    """Turn ``fetched`` into ``out_dir/<plan_id>.mp4`` in the profile's shape, in ``timeout_s``."""
    if not _SAFE_NAME.match(fetched.plan_id):
        raise ValueError(f"plan id {fetched.plan_id!r} is not usable as a file name")
    deadline = _Deadline(timeout_s)
    started = time.monotonic()
    log = _log.bind(plan_id=fetched.plan_id)
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    final = out_dir / f"{fetched.plan_id}.mp4"
    stem = f".{fetched.plan_id}.{uuid.uuid4().hex[:8]}"
    scratch: list[Path] = []
    try:
        source = fetched.path
        info, measured_text = await _probe_and_measure(source, profile, deadline)
        remuxed = False
        if info is None or not _usable(info):
            remuxed = True
            # Why: ffprobe could not make sense of the container; a remux rebuilds it.
            log.warning("lab.prep.remux", reason="probe failed or found no duration/video")
            fixed = out_dir / f"{stem}.remux.mkv"
            scratch.append(fixed)
            await _run(remux_argv(source, fixed), deadline, "remux")
            source = fixed
            info, measured_text = await _probe_and_measure(source, profile, deadline)
            if info is None or not info.video:
                raise PrepError(f"{fetched.path}: no readable video stream, even after a remux")
        measured = _measurement(info, measured_text)
        if measured is None:
            log.warning("lab.prep.silent_audio", had_audio=bool(info.audio))
            silent = out_dir / f"{stem}.silent.mkv"
            scratch.append(silent)
            await _run(_with_silence_argv(source, silent, profile, info), deadline, "add silence")
            source, measured = silent, _SILENCE_MEASURED
        part = out_dir / f"{stem}.part.mp4"
        scratch.append(part)
        complaints = await _run(prep_argv(source, part, profile, measured), deadline, "encode")
        if complaints.strip():
            # The encode conceals what the decoder could not read, and QA sees only the
            # clean output: this log line is the one trace that the source was damaged.
            lines = complaints.strip().splitlines()
            log.warning("lab.prep.source_errors", count=len(lines), first=lines[:3])
        out_info, loudness = await asyncio.gather(
            probe(part, timeout_s=deadline.left("probe output")),
            run(loudness_argv(part), timeout_s=deadline.left("measure output")),
            return_exceptions=True,
        )
        if isinstance(out_info, BaseException) or out_info.duration_s is None:
            raise PrepError(f"the encoded clip cannot be probed: {out_info}")
        lufs, peak = _loudness(loudness)
        _publish(part, final)
        scratch.remove(part)
    except FfmpegError as exc:
        raise PrepError(f"{fetched.path}: {exc}") from exc
    finally:
        _discard(scratch)
    prepared = Prepared(
        plan_id=fetched.plan_id,
        path=final,
        duration_s=out_info.duration_s,
        integrated_lufs=lufs,
        true_peak_dbtp=peak,
    )
    log.info(
        "lab.prep.done",
        path=str(final),
        duration_s=prepared.duration_s,
        integrated_lufs=lufs,
        true_peak_dbtp=peak,
        remuxed=remuxed,
        silent_audio=measured is _SILENCE_MEASURED,
        elapsed_s=round(time.monotonic() - started, 3),
    )
    return prepared


class _Deadline:
    """One time budget shared by every run of the stage."""

    def __init__(self, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("prepare needs a positive timeout_s")
        self._end = time.monotonic() + timeout_s
        self._timeout_s = timeout_s

    def left(self, step: str) -> float:
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise PrepError(f"the {self._timeout_s:g} s deadline passed before {step}")
        return remaining


async def _run(argv: list[str], deadline: _Deadline, step: str) -> str:
    try:
        result = await run(argv, timeout_s=deadline.left(step))
    except FfmpegError as exc:
        raise PrepError(f"{step} failed: {exc}") from exc
    return result.stderr


async def _probe_and_measure(
    source: Path, profile: BroadcastProfile, deadline: _Deadline
) -> tuple[MediaInfo | None, str | None]:
    """ffprobe and loudnorm's first pass side by side; None for whichever failed."""
    info, measured = await asyncio.gather(
        probe(source, timeout_s=deadline.left("probe")),
        run(loudnorm_measure_argv(source, profile), timeout_s=deadline.left("measure")),
        return_exceptions=True,
    )
    deadline.left("reading the probe")  # a run cut by the deadline is no sign of a broken file
    for outcome in (info, measured):
        # Only ffmpeg's own failures mean "this file"; anything else is a bug to surface.
        if isinstance(outcome, BaseException) and not isinstance(outcome, FfmpegError | ValueError):
            raise outcome
    return (
        None if isinstance(info, BaseException) else info,
        None if isinstance(measured, BaseException) else measured.stderr,
    )


def _usable(info: MediaInfo) -> bool:
    return bool(info.video) and info.duration_s is not None and info.duration_s > 0


def _measurement(info: MediaInfo, stderr_text: str | None) -> LoudnormMeasurement | None:
    """The first pass's result; None when the audio is missing or silent (add silence)."""
    if not info.audio:
        return None
    if stderr_text is None:
        raise PrepError("the loudness measurement failed on a file ffprobe can read")
    if _SILENT.search(stderr_text):
        return None
    try:
        return parse_loudnorm(stderr_text)
    except ValueError as exc:
        raise PrepError(f"the loudness measurement is unreadable: {exc}") from exc


def _loudness(outcome: RunResult | BaseException) -> tuple[float | None, float | None]:
    """Integrated loudness and true peak of the output; None for silence or a failed pass."""
    if isinstance(outcome, BaseException):
        _log.warning("lab.prep.output_unmeasured", error=str(outcome))
        return None, None
    try:
        measured = parse_ebur128(outcome.stderr)
    except ValueError:
        return None, None  # digital silence has no loudness to record
    return measured.integrated_lufs, measured.true_peak_dbtp


def _with_silence_argv(
    src: Path, dst: Path, profile: BroadcastProfile, info: MediaInfo
) -> list[str]:
    """Copy the first video stream and pair it with digital silence, into Matroska."""
    silence_options: dict[str, Any] = {"f": "lavfi"}
    if info.duration_s:
        silence_options["t"] = f"{info.duration_s:.3f}"
    silence = ffmpeg.input(f"anullsrc=r={profile.audio_rate}:cl=stereo", **silence_options)
    # PCM: no encoder delay or padding to shift the audio against the copied video.
    options = {"c:v": "copy", "c:a": "pcm_s16le", "shortest": None, "f": "matroska"}
    stream = ffmpeg.output(ffmpeg.input(_path(src))["v:0"], silence, _path(dst), **options)
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            *(str(a) for a in stream.get_args())]  # fmt: skip


def _publish(part: Path, final: Path) -> None:
    """Rename the finished clip over its final name: atomic within one directory."""
    part.replace(final)


def _discard(paths: list[Path]) -> None:
    """Remove scratch files; synchronous so that a second cancellation cannot skip it."""
    for path in paths:
        path.unlink(missing_ok=True)


def _path(path: Path) -> str:
    """A path ffmpeg cannot mistake for an option."""
    text = os.fspath(path)
    return f"./{text}" if text.startswith("-") else text
