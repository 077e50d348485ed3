"""The prep stage's ffmpeg command lines, and the parser between the two loudnorm passes.

Builders are checked as data (no subprocess); only the fixture that captures a real
loudnorm stderr sample runs ffmpeg, once per module.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab.ffmpeg import (
    BroadcastProfile,
    LoudnormMeasurement,
    loudnorm_measure_argv,
    parse_loudnorm,
    prep_argv,
    probe_argv,
    remux_argv,
)


def _profile(**overrides: object) -> BroadcastProfile:
    values: dict[str, object] = {
        "width": 1280,
        "height": 720,
        "fps": 30,
        "video_kbps": 2800,
        "audio_kbps": 128,
        "audio_rate": 48000,
        "segment_s": 4,
        "loudness_i": -23.0,
        "loudness_tp": -1.5,
        "loudness_lra": 11.0,
    }
    values.update(overrides)
    return BroadcastProfile(**values)  # type: ignore[arg-type]


PROFILE = _profile()
MEASURED = LoudnormMeasurement(
    input_i=-27.43, input_tp=-4.5, input_lra=6.2, input_thresh=-37.8, target_offset=0.31
)

# The shape loudnorm prints (ffmpeg 5.1), preceded by ordinary stderr noise.
SAMPLE = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'src.mp4':
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono
[Parsed_loudnorm_0 @ 0x55d910bb49c0]
{
\t"input_i" : "-21.83",
\t"input_tp" : "-17.68",
\t"input_lra" : "0.00",
\t"input_thresh" : "-31.83",
\t"output_i" : "-16.00",
\t"output_tp" : "-11.88",
\t"output_lra" : "0.10",
\t"output_thresh" : "-26.00",
\t"normalization_type" : "dynamic",
\t"target_offset" : "0.00"
}
"""
FIELDS = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")


def _value(argv: list[str], flag: str) -> str:
    """The value after ``flag``, which must appear exactly once."""
    assert argv.count(flag) == 1, f"{flag} appears {argv.count(flag)} times in {argv}"
    return argv[argv.index(flag) + 1]


def _filters(argv: list[str]) -> str:
    return _value(argv, "-filter_complex")


@pytest.fixture(autouse=True)
def _no_subprocess(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builders are pure: any process start outside the capture fixture fails the test."""
    if "real_stderr" in request.fixturenames:
        return

    def _refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a pure builder tried to start a process")

    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)


# --- remux -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dst", "faststart"),
    [("out.mp4", True), ("OUT.MOV", True), ("out.m4v", True), ("out.mkv", False)],
)
def test_remux_copies_every_stream_into_the_new_container(dst: str, faststart: bool) -> None:
    argv = remux_argv("in.avi", dst)
    assert argv[0] == "ffmpeg"
    assert _value(argv, "-c") == "copy"
    assert _value(argv, "-map") == "0"
    assert _value(argv, "-loglevel") == "error"
    assert {"-nostdin", "-hide_banner", "-y"} <= set(argv)
    assert ("-movflags" in argv) is faststart
    if faststart:
        assert _value(argv, "-movflags") == "+faststart"
    assert argv[-1] == dst
    assert argv.index("-i") < argv.index("-c") < len(argv) - 1
    assert _value(argv, "-i") == "in.avi"


def test_paths_that_look_like_options_are_made_harmless_and_pathlike_is_accepted() -> None:
    argv = remux_argv(Path("-in.avi"), "-out.mp4", binary="/opt/ffmpeg")
    assert argv[0] == "/opt/ffmpeg"
    assert _value(argv, "-i") == "./-in.avi"
    assert argv[-1] == "./-out.mp4"


# --- first loudnorm pass ------------------------------------------------------------


def test_measure_pass_decodes_audio_only_and_prints_json() -> None:
    argv = loudnorm_measure_argv("in.mp4", PROFILE)
    graph = _filters(argv)
    assert graph == "[0:a]loudnorm=I=-23:LRA=11:TP=-1.5:print_format=json[s0]"
    assert "[0:v]" not in graph
    assert _value(argv, "-map") == "[s0]"
    assert argv[-3:] == ["-f", "null", "-"]
    # The JSON is logged at info level; stats lines would only add noise to parse.
    assert _value(argv, "-loglevel") == "info"
    assert {"-nostdin", "-nostats", "-hide_banner"} <= set(argv)
    assert argv.index("-i") < argv.index("-filter_complex")


# --- second pass (prep) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fps", "segment_s", "gop"),
    [(30, 4, 120), (30, 2, 60), (25, 2, 50), (24, 6, 144)],
)
def test_prep_gop_is_one_segment_and_keyframes_only_at_segment_starts(
    fps: int, segment_s: int, gop: int
) -> None:
    argv = prep_argv("in.mp4", "out.mp4", _profile(fps=fps, segment_s=segment_s), MEASURED)
    assert _value(argv, "-g") == str(gop)
    assert _value(argv, "-keyint_min") == str(gop)
    assert _value(argv, "-sc_threshold") == "0"
    assert _value(argv, "-force_key_frames") == f"expr:gte(t,n_forced*{segment_s})"
    assert f"fps=fps={fps}" in _filters(argv)
    assert _value(argv, "-fps_mode") == "cfr"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("-c:v", "libx264"),
        ("-pix_fmt", "yuv420p"),
        ("-b:v", "2800k"),
        ("-maxrate", "2800k"),
        ("-bufsize", "11200k"),  # one 4 s segment at the cap
        ("-c:a", "aac"),
        ("-b:a", "128k"),
        ("-ar", "48000"),
        ("-movflags", "+faststart"),
        ("-f", "mp4"),
        ("-loglevel", "error"),
    ],
)
def test_prep_flags(flag: str, value: str) -> None:
    assert _value(prep_argv("in.mp4", "out.mp4", PROFILE, MEASURED), flag) == value


def test_prep_scales_to_fit_and_pads_to_the_exact_frame() -> None:
    graph = _filters(prep_argv("in.mp4", "out.mp4", _profile(width=854, height=480), MEASURED))
    chain = [
        "[0:v]scale=854:480:force_original_aspect_ratio=decrease",
        "pad=854:480:(ow-iw)/2:(oh-ih)/2",
        "setsar=1",
        "fps=fps=30",
    ]
    positions = [graph.index(part) for part in chain]
    assert positions == sorted(positions)


def test_prep_second_loudnorm_pass_feeds_back_the_measurement() -> None:
    graph = _filters(prep_argv("in.mp4", "out.mp4", PROFILE, MEASURED))
    loudnorm = graph.split("[0:a]")[1]
    params = dict(
        p.split("=", 1) for p in loudnorm.removeprefix("loudnorm=").split("[")[0].split(":")
    )
    assert params == {
        "I": "-23",
        "TP": "-1.5",
        "LRA": "11",
        "measured_I": "-27.43",
        "measured_TP": "-4.5",
        "measured_LRA": "6.2",
        "measured_thresh": "-37.8",
        "offset": "0.31",
        "linear": "true",
    }


def test_prep_maps_both_streams_reads_input_before_writing_output() -> None:
    argv = prep_argv("in.mp4", "out.mp4", PROFILE, MEASURED)
    assert argv[0] == "ffmpeg"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-map"] == ["[s3]", "[s4]"]
    assert argv[-1] == "out.mp4"
    assert argv.index("-i") < argv.index("-filter_complex") < argv.index("-c:v")
    assert {"-nostdin", "-hide_banner", "-y"} <= set(argv)


# --- ffprobe ------------------------------------------------------------------------


def test_probe_asks_for_format_and_streams_as_json() -> None:
    assert probe_argv("clip.mp4") == [
        "ffprobe",
        "-hide_banner",
        "-loglevel",
        "error",
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        "clip.mp4",
    ]
    assert probe_argv("c.mp4", binary="ffprobe6")[0] == "ffprobe6"


# --- profile validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"width": 1279}, "even"),
        ({"fps": 0}, "fps"),
        ({"segment_s": 0}, "segment_s"),
        ({"video_kbps": -1}, "video_kbps"),
        ({"loudness_i": -3.0}, "loudness_i"),
        ({"loudness_tp": 1.0}, "loudness_tp"),
        ({"loudness_lra": 0.5}, "loudness_lra"),
    ],
)
def test_an_impossible_profile_fails_before_ffmpeg_runs(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        _profile(**overrides)


# --- the loudnorm parser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_stderr(tmp_path_factory: pytest.TempPathFactory) -> str:
    """stderr of the first pass, run once on a generated 3 s tone."""
    clip = tmp_path_factory.mktemp("loudnorm") / "tone.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
         "-i", "sine=frequency=1000:sample_rate=48000:duration=3", str(clip)],
        check=True,
        timeout=30,
    )  # fmt: skip
    argv = loudnorm_measure_argv(clip, PROFILE)
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stderr


def test_parses_what_ffmpeg_really_prints(real_stderr: str) -> None:
    measured = parse_loudnorm(real_stderr)
    # A 1 kHz sine at amplitude 1/8: about -21 LUFS, true peak about -18 dBTP, no range.
    assert -24.0 < measured.input_i < -18.0
    assert -21.0 < measured.input_tp < -15.0
    assert measured.input_lra < 1.0
    assert measured.input_thresh < measured.input_i


def test_parses_the_sample() -> None:
    assert parse_loudnorm(SAMPLE) == LoudnormMeasurement(
        input_i=-21.83, input_tp=-17.68, input_lra=0.0, input_thresh=-31.83, target_offset=0.0
    )


def test_the_last_object_wins() -> None:
    earlier = SAMPLE.replace('"-21.83"', '"-99.00"')
    assert parse_loudnorm(earlier + "\nmore noise\n" + SAMPLE).input_i == -21.83


@pytest.mark.parametrize("field", FIELDS)
def test_a_missing_field_is_named(field: str) -> None:
    data = json.loads(SAMPLE[SAMPLE.index("{") :])
    del data[field]
    broken = SAMPLE[: SAMPLE.index("{")] + json.dumps(data, indent=1)
    with pytest.raises(ValueError, match=f"missing '{field}'"):
        parse_loudnorm(broken)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("bad", ['"n/a"', '"-inf"', '"nan"', "null", "true"])
def test_a_field_that_is_not_a_finite_number_is_named(field: str, bad: str) -> None:
    line = next(line for line in SAMPLE.splitlines() if f'"{field}"' in line)
    broken = SAMPLE.replace(line, line.split(":")[0] + ": " + bad + ("," if "," in line else ""))
    with pytest.raises(ValueError, match=field):
        parse_loudnorm(broken)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no loudnorm JSON object"),
        ("[aac @ 0x1] Too many bits\nsize=N/A time=00:00:06.01\n", "no loudnorm JSON object"),
        (SAMPLE.replace('"input_tp" : "-17.68",', '"input_tp" : "-17.68"'), "malformed"),
    ],
)
def test_absent_or_malformed_json_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_loudnorm(text)
