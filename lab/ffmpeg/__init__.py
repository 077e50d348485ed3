"""ffmpeg for the LAB: pure command builders and the loudnorm measurement parser."""

from lab.ffmpeg.argv import (
    BroadcastProfile,
    loudnorm_measure_argv,
    prep_argv,
    probe_argv,
    remux_argv,
)
from lab.ffmpeg.loudnorm import LoudnormMeasurement, parse_loudnorm

__all__ = [
    "BroadcastProfile",
    "LoudnormMeasurement",
    "loudnorm_measure_argv",
    "parse_loudnorm",
    "prep_argv",
    "probe_argv",
    "remux_argv",
]
