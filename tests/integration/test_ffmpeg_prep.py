"""The prep commands, run for real: a 4:3 25 fps clip comes out in the channel's shape.

One end-to-end pass over the builders in ``lab.ffmpeg``: measure loudness, parse,
encode, then check with ffprobe what HLS segmenting relies on (frame size, constant
frame rate, keyframes exactly on segment boundaries, audio, loudness on target).
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

from lab.ffmpeg import (
    BroadcastProfile,
    loudnorm_measure_argv,
    parse_loudnorm,
    prep_argv,
    probe_argv,
)

PROFILE = BroadcastProfile(
    width=1280,
    height=720,
    fps=30,
    video_kbps=2800,
    audio_kbps=128,
    audio_rate=48000,
    segment_s=2,
    loudness_i=-16.0,
    loudness_tp=-1.5,
    loudness_lra=11.0,
)
DURATION_S = 6


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


def _source(tmp_path: Path) -> Path:
    clip = tmp_path / "source.mp4"
    _run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
         "-t", str(DURATION_S), "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(clip)]
    )  # fmt: skip
    return clip


def _keyframe_times(clip: Path) -> list[float]:
    argv = ["ffprobe", "-hide_banner", "-loglevel", "error", "-select_streams", "v",
            "-skip_frame", "nokey", "-show_entries", "frame=pts_time", "-of", "json",
            str(clip)]  # fmt: skip
    return [float(f["pts_time"]) for f in json.loads(_run(argv).stdout)["frames"]]


def test_prep_gives_the_channel_shape(tmp_path: Path) -> None:
    source = _source(tmp_path)
    prepared = tmp_path / "prepared.mp4"

    measured = parse_loudnorm(_run(loudnorm_measure_argv(source, PROFILE)).stderr)
    _run(prep_argv(source, prepared, PROFILE, measured))

    probe = json.loads(_run(probe_argv(prepared)).stdout)
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]
    audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1
    assert len(audio) == 1
    v = video[0]
    assert (v["width"], v["height"]) == (1280, 720)
    assert v["codec_name"] == "h264"
    assert v["pix_fmt"] == "yuv420p"
    assert Fraction(v["r_frame_rate"]) == Fraction(v["avg_frame_rate"]) == 30
    assert int(audio[0]["sample_rate"]) == 48000
    assert audio[0]["codec_name"] == "aac"
    assert abs(float(probe["format"]["duration"]) - DURATION_S) < 0.2

    # Every segment boundary has a keyframe, and there is no other keyframe.
    step = PROFILE.segment_s
    times = _keyframe_times(prepared)
    assert [round(t / step) * step for t in times] == list(range(0, DURATION_S, step))
    assert all(abs(t - round(t / step) * step) < 0.5 / PROFILE.fps for t in times)

    out = parse_loudnorm(_run(loudnorm_measure_argv(prepared, PROFILE)).stderr)
    assert abs(out.input_i - PROFILE.loudness_i) <= 1.0
    assert out.input_tp <= PROFILE.loudness_tp + 0.5
