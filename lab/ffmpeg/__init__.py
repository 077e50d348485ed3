"""ffmpeg for the LAB: pure command builders, a bounded runner, ffprobe, loudnorm and QA readers."""

from lab.ffmpeg.argv import (
    BroadcastProfile,
    loudnorm_measure_argv,
    prep_argv,
    probe_argv,
    remux_argv,
)
from lab.ffmpeg.detect import (
    DetectReport,
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
from lab.ffmpeg.loudnorm import LoudnormMeasurement, parse_loudnorm
from lab.ffmpeg.probe import MediaInfo, StreamInfo, parse_probe, probe
from lab.ffmpeg.runner import FfmpegError, RunResult, run

__all__ = [
    "BroadcastProfile",
    "DetectReport",
    "FfmpegError",
    "Interval",
    "Loudness",
    "LoudnormMeasurement",
    "MediaInfo",
    "RunResult",
    "StreamInfo",
    "covered_share",
    "detect_argv",
    "loudness_argv",
    "loudnorm_measure_argv",
    "parse_black",
    "parse_decode_errors",
    "parse_decoded_s",
    "parse_detect",
    "parse_ebur128",
    "parse_freeze",
    "parse_loudnorm",
    "parse_probe",
    "parse_silence",
    "prep_argv",
    "probe",
    "probe_argv",
    "remux_argv",
    "run",
]
