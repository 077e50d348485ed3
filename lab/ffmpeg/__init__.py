"""ffmpeg for the LAB: pure command builders, a bounded runner, ffprobe and loudnorm readers."""

from lab.ffmpeg.argv import (
    BroadcastProfile,
    loudnorm_measure_argv,
    prep_argv,
    probe_argv,
    remux_argv,
)
from lab.ffmpeg.loudnorm import LoudnormMeasurement, parse_loudnorm
from lab.ffmpeg.probe import MediaInfo, StreamInfo, parse_probe, probe
from lab.ffmpeg.runner import FfmpegError, RunResult, run

__all__ = [
    "BroadcastProfile",
    "FfmpegError",
    "LoudnormMeasurement",
    "MediaInfo",
    "RunResult",
    "StreamInfo",
    "loudnorm_measure_argv",
    "parse_loudnorm",
    "parse_probe",
    "prep_argv",
    "probe",
    "probe_argv",
    "remux_argv",
    "run",
]
