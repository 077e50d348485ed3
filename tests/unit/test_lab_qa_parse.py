"""The QA readers and the score, on stderr text captured from ffmpeg 5.1 runs.

The samples are what ``detect_argv`` and ``loudness_argv`` printed for real clips
(addresses and dumps shortened): a black silent clip, a corrupt mp4, a truncated one.
"""

from __future__ import annotations

import math

import pytest

from lab.ffmpeg import (
    Interval,
    Loudness,
    covered_share,
    detect_argv,
    loudness_argv,
    parse_black,
    parse_decode_errors,
    parse_decoded_s,
    parse_detect,
    parse_ebur128,
    parse_freeze,
    parse_silence,
)
from lab.stages.qa import CHECK_WEIGHTS, HARD_CHECKS, score
from lab.stages.types import QaCheck

BLACK_SILENT = """\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'black.mp4':
[info]   Metadata:
[info]     title           : black_start:0 black_end:99 [error] not a real line
[info]   Duration: 00:00:04.00, start: 0.000000, bitrate: 13 kb/s
[info] Stream mapping:
[info]   Stream #0:0 (h264) -> blackdetect:default
[info] Output #0, null, to 'pipe:':
[silencedetect @ 0x563bd86c0f00] [info] silence_start: 0
[freezedetect @ 0x563bd86c0800] [info] lavfi.freezedetect.freeze_start: 0
[info] frame=  100 fps=0.0 q=-0.0 Lsize=N/A time=00:00:04.01 bitrate=N/A speed= 261x
[info] video:46kB audio:752kB subtitle:0kB other streams:0kB muxing overhead: unknown
[blackdetect @ 0x563bd86c01c0] [info] black_start:0 black_end:3.96 black_duration:3.96
[silencedetect @ 0x563bd86c0f00] [info] silence_end: 4.01067 | silence_duration: 4.01067
"""

CORRUPT = """\
[h264 @ 0x5608e28d01c0] [info] concealing 54 DC, 54 AC, 54 MV errors in B frame
[aac @ 0x5608e2894940] [warning] Sample rate index in program config element does not match
[aac @ 0x5608e2894940] [error] channel element 2.0 is not allocated
[error] Error while decoding stream #0:1: Invalid data found when processing input
[NULL @ 0x5608e2847f40] [error] Invalid NAL unit size (-142301071 > 1077).
[h264 @ 0x5608e287fbc0] [error] Error splitting the input into NAL units.
[info] frame=  100 fps=0.0 q=-0.0 Lsize=N/A time=00:00:04.01 bitrate=N/A speed= 180x
"""

TRUNCATED = """\
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55beb99c7a40] [warning] Packet corrupt (stream = 0, dts = 33280).
[warning] trunc.mp4: corrupt input packet in stream 0
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55beb99c7a40] [error] stream 1, offset 0x19c93: partial file
[info] frame=   67 fps=0.0 q=-0.0 Lsize=N/A time=00:00:02.68 bitrate=N/A speed= 150x
"""

SEVERAL = """\
[blackdetect @ 0x1] [info] black_start:0 black_end:1.5 black_duration:1.5
[freezedetect @ 0x2] [info] lavfi.freezedetect.freeze_start: 2.04
[freezedetect @ 0x2] [info] lavfi.freezedetect.freeze_duration: 3
[freezedetect @ 0x2] [info] lavfi.freezedetect.freeze_end: 5.04
[freezedetect @ 0x2] [info] lavfi.freezedetect.freeze_start: 8
[silencedetect @ 0x3] [info] silence_start: -0.0213333
[silencedetect @ 0x3] [info] silence_end: 2.5 | silence_duration: 2.52133
[Parsed_blackdetect_0 @ 0x4] black_start:6 black_end:7 black_duration:1
"""

EBUR128 = """\
size=N/A time=00:00:30.01 bitrate=N/A speed= 363x
[Parsed_ebur128_0 @ 0x556251453000] Summary:

  Integrated loudness:
    I:         -16.1 LUFS
    Threshold: -26.1 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold: -36.1 LUFS
    LRA low:   -16.1 LUFS
    LRA high:  -16.1 LUFS

  True peak:
    Peak:       -6.7 dBFS
"""

# Silence: the -70 LUFS gate printed as the integrated loudness, and no peak at all.
EBUR128_SILENT = EBUR128.replace(
    "-16.1 LUFS\n    Threshold: -26.1", "-70.0 LUFS\n    Threshold: 0.0"
)
EBUR128_GATED = EBUR128_SILENT  # a faint hiss: the gate as loudness, a finite peak
EBUR128_SILENT = EBUR128_SILENT.replace("-6.7 dBFS", "-inf dBFS")


def test_black_silent_clip() -> None:
    report = parse_detect(BLACK_SILENT, duration_s=4.0)
    # The metadata line that mimics a detection is ignored: only the filter's own prefix counts.
    assert report.black == (Interval(0.0, 3.96),)
    assert report.freeze == (Interval(0.0, 4.0),)  # no end printed: runs to the end
    assert report.silence == (Interval(0.0, 4.01067),)
    assert report.errors == ()
    assert report.decoded_s == pytest.approx(4.01)


def test_several_intervals_and_prefix_variants() -> None:
    assert parse_black(SEVERAL) == (Interval(0.0, 1.5), Interval(6.0, 7.0))
    assert parse_freeze(SEVERAL, end_s=10.0) == (Interval(2.04, 5.04), Interval(8.0, 10.0))
    # A start before 0 (the detector's window) is clipped to the file.
    assert parse_silence(SEVERAL, end_s=10.0) == (Interval(0.0, 2.5),)


def test_open_interval_never_runs_backwards() -> None:
    text = "[silencedetect @ 0xa] [info] silence_start: 5\n"
    assert parse_silence(text, end_s=4.0) == (Interval(5.0, 5.0),)
    assert Interval(5.0, 4.0).length_s == 0.0


def test_corrupt_decode_errors_are_picked_by_level() -> None:
    errors = parse_decode_errors(CORRUPT)
    assert errors == (
        "channel element 2.0 is not allocated",
        "Error while decoding stream #0:1: Invalid data found when processing input",
        "Invalid NAL unit size (-142301071 > 1077).",
        "Error splitting the input into NAL units.",
    )
    # Warnings and concealment notes (info) are not errors.
    assert not any("concealing" in e or "Sample rate" in e for e in errors)


def test_truncated_file_errors_and_decoded_time() -> None:
    assert parse_decode_errors(TRUNCATED) == ("stream 1, offset 0x19c93: partial file",)
    assert parse_decoded_s(TRUNCATED) == pytest.approx(2.68)


def test_clean_run_has_no_errors() -> None:
    assert parse_decode_errors("") == ()
    assert parse_decoded_s("") is None
    assert parse_decode_errors("[info] error: just a word in a line\n") == ()


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("frame= 1 time=00:00:04.01 bitrate", 4.01),
        ("size=N/A time=01:02:03.50 bitrate=N/A", 3723.5),
        ("frame= 1 time=-00:00:00.02 bitrate", -0.02),
    ],
)
def test_decoded_time(line: str, seconds: float) -> None:
    assert parse_decoded_s(f"[info] {line}\n") == pytest.approx(seconds)


def test_ebur128_summary() -> None:
    assert parse_ebur128(EBUR128) == Loudness(integrated_lufs=-16.1, true_peak_dbtp=-6.7)


@pytest.mark.parametrize(
    "text", [EBUR128_SILENT, EBUR128_GATED, "", "Integrated loudness:\n    I: -16 LUFS\n"]
)
def test_ebur128_without_a_loudness_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ebur128"):
        parse_ebur128(text)


@pytest.mark.parametrize(
    ("intervals", "duration", "share"),
    [
        ([], 10.0, 0.0),
        ([Interval(0, 10)], 10.0, 1.0),
        ([Interval(0, 12)], 10.0, 1.0),  # past the end: clipped
        ([Interval(0, 4), Interval(2, 6)], 10.0, 0.6),  # overlap counted once
        ([Interval(6, 8), Interval(0, 1)], 10.0, 0.3),  # any order
        ([Interval(0, 5), Interval(1, 2)], 10.0, 0.5),  # one inside another
        ([Interval(0, 5)], 0.0, 0.0),  # no duration: nothing to share
    ],
)
def test_covered_share(intervals: list[Interval], duration: float, share: float) -> None:
    assert covered_share(intervals, duration) == pytest.approx(share)


def test_detect_argv_one_pass_over_both_streams() -> None:
    argv = detect_argv(
        "-odd.mp4",
        video=True,
        audio=True,
        black_min_s=0.5,
        black_pixel_th=0.1,
        black_picture_th=0.98,
        freeze_noise_db=-60,
        freeze_min_s=2,
        silence_noise_db=-50.5,
        silence_min_s=2,
    )
    assert argv[:6] == ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"]
    assert argv[argv.index("-i") + 1] == "./-odd.mp4"
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[0:v]blackdetect=d=0.5:pic_th=0.98:pix_th=0.1" in graph
    assert "freezedetect=d=2:n=-60dB" in graph
    assert "[0:a]silencedetect=d=2:n=-50.5dB" in graph
    assert argv[-3:] == ["-f", "null", "-"]
    assert argv.count("-map") == 2


def _argv(*, video: bool, audio: bool) -> list[str]:
    return detect_argv(
        "a.mp4",
        video=video,
        audio=audio,
        black_min_s=0.5,
        black_pixel_th=0.1,
        black_picture_th=0.98,
        freeze_noise_db=-60.0,
        freeze_min_s=2.0,
        silence_noise_db=-60.0,
        silence_min_s=2.0,
    )


def test_detect_argv_leaves_out_a_missing_stream() -> None:
    assert "silencedetect" not in " ".join(_argv(video=True, audio=False))
    assert "blackdetect" not in " ".join(_argv(video=False, audio=True))
    with pytest.raises(ValueError, match="neither"):
        _argv(video=False, audio=False)


def test_loudness_argv_reads_the_first_audio_stream() -> None:
    argv = loudness_argv("out.mp4")
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.startswith("[0:a:0]ebur128=") and "peak=true" in graph
    assert "framelog=verbose" in graph
    assert argv[argv.index("-loglevel") + 1] == "info"


def _checks(*failed: str) -> list[QaCheck]:
    return [QaCheck(name, name not in failed) for name in CHECK_WEIGHTS]


@pytest.mark.parametrize(
    ("failed", "expected", "airs"),
    [
        ((), 1.0, True),
        (("freeze",), 0.9, True),  # a still picture with sound
        (("silence",), 0.9, True),  # a silent film, or a clip given a silent track
        (("black",), 0.8, False),  # dead air
        (("freeze", "silence"), 0.8, False),  # neither moves nor sounds
        (("black", "freeze", "silence"), 0.6, False),
        (("streams",), 0.0, False),
        (("decode",), 0.0, False),
        (("duration",), 0.0, False),
        (("decode", "black"), 0.0, False),
    ],
)
def test_score_table(failed: tuple[str, ...], expected: float, airs: bool) -> None:
    value = score(_checks(*failed))
    assert value == pytest.approx(expected)
    assert (value >= 0.85) is airs


def test_every_hard_check_alone_rejects() -> None:
    for name in HARD_CHECKS:
        assert score(_checks(name)) == 0.0


def test_score_of_nothing_and_of_unknown_names() -> None:
    assert score([]) == 0.0
    assert score([QaCheck("black", True)]) == 1.0
    with pytest.raises(ValueError, match="unknown QA check"):
        score([QaCheck("loudness", True)])


def test_weights_are_finite_and_positive() -> None:
    assert all(math.isfinite(w) and w > 0 for w in CHECK_WEIGHTS.values())
    assert set(CHECK_WEIGHTS) >= HARD_CHECKS
