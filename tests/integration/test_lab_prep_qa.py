"""Prep and QA stages on real ffmpeg: clips made here, prepared, damaged, judged.

Small on purpose (320x180, a few seconds each): every test makes its source with
ffmpeg, runs the stage, and checks the result with ffprobe/ffmpeg independently of
the code under test.
"""

from __future__ import annotations

import json
import random
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from lab.ffmpeg import BroadcastProfile, loudnorm_measure_argv, parse_loudnorm, probe_argv
from lab.stages.prep import PrepError, prepare
from lab.stages.qa import inspect
from lab.stages.types import Fetched, Prepared, QaVerdict

PROFILE = BroadcastProfile(
    width=320,
    height=180,
    fps=25,
    video_kbps=500,
    audio_kbps=96,
    audio_rate=48000,
    segment_s=2,
    loudness_i=-16.0,
    loudness_tp=-1.5,
    loudness_lra=11.0,
)
SECONDS = 6
TIMEOUT_S = 60.0

TESTSRC = "testsrc2=size=640x360:rate=30"
TONE = "sine=frequency=440:sample_rate=44100"


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


def _make(path: Path, video: str, audio: str | None, *, codecs: tuple[str, ...] = ()) -> Fetched:
    """A source clip from lavfi graphs (``audio`` None: no audio track at all)."""
    inputs = ["-f", "lavfi", "-i", video]
    if audio is not None:
        inputs += ["-f", "lavfi", "-i", audio]
    encode = list(codecs) or ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *inputs,
          "-t", str(SECONDS), *encode, "-shortest", str(path)])  # fmt: skip
    return Fetched(plan_id=path.stem, path=path, sha256="0" * 64, size_bytes=path.stat().st_size)


async def _prepared(tmp_path: Path, video: str = TESTSRC, audio: str | None = TONE) -> Prepared:
    source = _make(tmp_path / "source.mp4", video, audio)
    return await prepare(source, tmp_path / "out", PROFILE, timeout_s=TIMEOUT_S)


def _streams(path: Path, kind: str) -> list[dict[str, Any]]:
    streams: list[dict[str, Any]] = json.loads(_run(probe_argv(path)).stdout)["streams"]
    return [s for s in streams if s["codec_type"] == kind]


def _keyframe_times(path: Path) -> list[float]:
    argv = ["ffprobe", "-hide_banner", "-loglevel", "error", "-select_streams", "v",
            "-skip_frame", "nokey", "-show_entries", "frame=pts_time", "-of", "json",
            str(path)]  # fmt: skip
    return [float(f["pts_time"]) for f in json.loads(_run(argv).stdout)["frames"]]


def _check(verdict: QaVerdict, name: str) -> tuple[bool, str]:
    (check,) = [c for c in verdict.checks if c.name == name]
    return check.passed, check.detail or ""


def _failed(verdict: QaVerdict) -> set[str]:
    return {c.name for c in verdict.checks if not c.passed}


async def test_a_good_clip_is_prepared_and_passes(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path)

    assert prepared.path == tmp_path / "out" / "source.mp4"
    # Written under a temporary name and renamed: nothing else is left behind.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["source.mp4"]
    assert prepared.duration_s == pytest.approx(SECONDS, abs=0.2)
    assert prepared.integrated_lufs == pytest.approx(PROFILE.loudness_i, abs=1.0)
    assert prepared.true_peak_dbtp is not None and prepared.true_peak_dbtp <= -1.0

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.passed and verdict.score >= 0.85
    assert _failed(verdict) == set()
    assert [c.name for c in verdict.checks] == [
        "streams", "duration", "decode", "black", "freeze", "silence",
    ]  # fmt: skip


async def test_an_odd_loud_clip_comes_out_in_the_profile_shape(tmp_path: Path) -> None:
    # Odd size, NTSC frame rate, FFV1 in Matroska, mono 44.1 kHz audio peaking at -0.9 dBFS.
    source = _make(
        tmp_path / "odd.mkv",
        "testsrc2=size=320x240:rate=30000/1001,scale=301:223,format=yuv444p",
        "aevalsrc=0.9*sin(2*PI*440*t)+0.05*sin(2*PI*3000*t):s=44100",
        codecs=("-c:v", "ffv1", "-c:a", "pcm_s16le"),
    )
    prepared = await prepare(source, tmp_path / "out", PROFILE, timeout_s=TIMEOUT_S)

    (video,) = _streams(prepared.path, "video")
    (audio,) = _streams(prepared.path, "audio")
    assert (video["width"], video["height"]) == (PROFILE.width, PROFILE.height)
    assert Fraction(video["avg_frame_rate"]) == PROFILE.fps
    assert (audio["codec_name"], int(audio["sample_rate"])) == ("aac", PROFILE.audio_rate)

    step = PROFILE.segment_s
    times = _keyframe_times(prepared.path)
    assert [round(t / step) * step for t in times] == list(range(0, SECONDS, step))
    assert all(abs(t - round(t / step) * step) < 0.5 / PROFILE.fps for t in times)

    # Measured independently of the stage's own ebur128 reading: loudnorm on the output.
    out = parse_loudnorm(_run(loudnorm_measure_argv(prepared.path, PROFILE)).stderr)
    assert out.input_i == pytest.approx(PROFILE.loudness_i, abs=1.0)
    assert out.input_tp <= -1.0
    assert prepared.integrated_lufs == pytest.approx(out.input_i, abs=0.5)

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.passed, verdict.checks


async def test_a_clip_without_audio_gets_a_silent_track(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path, audio=None)

    (audio,) = _streams(prepared.path, "audio")
    assert (audio["codec_name"], int(audio["sample_rate"])) == ("aac", PROFILE.audio_rate)
    assert prepared.duration_s == pytest.approx(SECONDS, abs=0.2)
    assert prepared.integrated_lufs is None  # silence has no loudness to record

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    # Silence alone is flagged but airs (a silent film); see lab.stages.qa.
    assert _failed(verdict) == {"silence"}
    assert verdict.score == pytest.approx(0.9)


async def test_a_silent_clip_fails_silence(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path, audio="anullsrc=r=44100:cl=mono")

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    passed, detail = _check(verdict, "silence")
    assert not passed
    assert detail.startswith("100% silence")
    assert _failed(verdict) == {"silence"}


async def test_a_black_clip_fails_black_and_is_rejected(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path, video="color=black:size=640x360:rate=30")

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert not verdict.passed and verdict.score < 0.85
    assert _failed(verdict) == {"black", "freeze"}  # black is also a still picture


async def test_a_frozen_clip_fails_freeze(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path, video="smptebars=size=640x360:rate=30")

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    passed, detail = _check(verdict, "freeze")
    assert not passed, detail
    assert _failed(verdict) == {"freeze"}
    assert verdict.passed  # a still picture with sound airs


async def test_a_still_silent_clip_is_rejected(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path, video="smptebars=size=640x360:rate=30", audio=None)

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert _failed(verdict) == {"freeze", "silence"}
    assert not verdict.passed


async def test_bytes_overwritten_mid_file_fail_decode(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path)
    data = bytearray(prepared.path.read_bytes())
    noise = random.Random(7)
    middle = len(data) // 2
    data[middle : middle + 8192] = bytes(noise.randrange(256) for _ in range(8192))
    prepared.path.write_bytes(bytes(data))

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.score == 0.0 and not verdict.passed
    passed, detail = _check(verdict, "decode")
    assert not passed
    assert "decode errors" in detail


async def test_a_truncated_file_fails_decode(tmp_path: Path) -> None:
    prepared = await _prepared(tmp_path)
    data = prepared.path.read_bytes()
    prepared.path.write_bytes(data[: len(data) * 2 // 3])  # moov is up front: still probes

    verdict = await inspect(prepared, PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.score == 0.0
    assert "decode" in _failed(verdict)


async def test_random_bytes_are_rejected_by_qa_and_prep(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(random.Random(3).randbytes(64_000))

    verdict = await inspect(Prepared("junk", junk, SECONDS), PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.score == 0.0
    passed, detail = _check(verdict, "streams")
    assert not passed and "ffprobe cannot read" in detail

    fetched = Fetched("junk", junk, "0" * 64, 64_000)
    with pytest.raises(PrepError, match="remux failed"):
        await prepare(fetched, tmp_path / "out", PROFILE, timeout_s=TIMEOUT_S)
    assert list((tmp_path / "out").iterdir()) == []  # no scratch left behind


async def test_a_file_off_profile_fails_streams(tmp_path: Path) -> None:
    # A clip that never went through prep: 640x360 at 30 fps, 44.1 kHz.
    source = _make(tmp_path / "raw.mp4", TESTSRC, TONE)
    duration = float(json.loads(_run(probe_argv(source.path)).stdout)["format"]["duration"])

    verdict = await inspect(Prepared("raw", source.path, duration), PROFILE, timeout_s=TIMEOUT_S)
    assert verdict.score == 0.0
    passed, detail = _check(verdict, "streams")
    assert not passed
    assert "640x360, not 320x180" in detail and "30.0 fps" in detail and "44100 Hz" in detail


async def test_a_container_without_duration_is_remuxed_first(tmp_path: Path) -> None:
    # A raw H.264 elementary stream: no container, so ffprobe finds no duration.
    raw = tmp_path / "raw.h264"
    _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
          "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4",
          "-c:v", "libx264", "-preset", "ultrafast", "-f", "h264", str(raw)])  # fmt: skip
    fetched = Fetched("raw", raw, "0" * 64, raw.stat().st_size)

    prepared = await prepare(fetched, tmp_path / "out", PROFILE, timeout_s=TIMEOUT_S)
    assert prepared.duration_s == pytest.approx(4.0, abs=0.2)
    assert len(_streams(prepared.path, "audio")) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["raw.mp4"]


async def test_prep_overrunning_its_deadline_leaves_nothing(tmp_path: Path) -> None:
    source = _make(tmp_path / "source.mp4", TESTSRC, TONE)
    with pytest.raises(PrepError, match="deadline"):
        await prepare(source, tmp_path / "out", PROFILE, timeout_s=0.1)
    assert list((tmp_path / "out").iterdir()) == []


async def test_prep_refuses_a_plan_id_that_is_not_a_file_name(tmp_path: Path) -> None:
    source = _make(tmp_path / "source.mp4", TESTSRC, TONE)
    bad = Fetched("../escape", source.path, source.sha256, source.size_bytes)
    with pytest.raises(ValueError, match="file name"):
        await prepare(bad, tmp_path / "out", PROFILE, timeout_s=TIMEOUT_S)
