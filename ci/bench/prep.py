"""Benchmark: the prep stage against the bare ffmpeg commands it wraps, on one file.

A 1280x720 testsrc2+sine source is made once. Each round runs (a) the two bare
commands directly with subprocess (loudnorm's measuring pass, then the encode pass:
the same argvs the stage builds) and (b) ``prepare()`` through the stage (which adds
its probes, its output loudness reading and the atomic rename). The two alternate,
and swap order every round, so a slow minute of the machine lands on both sides.
The figure is bare_time / stage_time: 1.0 means the stage costs nothing on top.
Wall time is the target; the CPU time of the child processes (ffmpeg, ffprobe) is
printed beside it, as it stays readable when other work shares the machine.
Usage: python ci/bench/prep.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from lab.ffmpeg import (  # noqa: E402
    BroadcastProfile,
    loudnorm_measure_argv,
    parse_loudnorm,
    prep_argv,
)
from lab.stages.prep import prepare  # noqa: E402
from lab.stages.types import Fetched  # noqa: E402

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
TARGET = 0.95


def _source(path: Path, seconds: int) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _bare(source: Path, out: Path) -> tuple[float, float]:
    """The two commands the stage wraps, run directly; wall and child CPU seconds."""
    started, cpu = time.perf_counter(), _children_cpu()
    measure = subprocess.run(
        loudnorm_measure_argv(source, PROFILE), capture_output=True, text=True, check=True
    )
    measured = parse_loudnorm(measure.stderr)
    subprocess.run(prep_argv(source, out, PROFILE, measured), capture_output=True, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def _stage(source: Path, out_dir: Path) -> tuple[float, float]:
    """``prepare()`` on the same file, event loop included; wall and child CPU seconds."""
    fetched = Fetched("bench", source, "0" * 64, source.stat().st_size)
    started, cpu = time.perf_counter(), _children_cpu()
    asyncio.run(prepare(fetched, out_dir, PROFILE, timeout_s=3600))
    return time.perf_counter() - started, _children_cpu() - cpu


def _row(what: str, bare: list[float], stage: list[float]) -> str:
    ratios = [b / s for b, s in zip(bare, stage, strict=True)]
    bare_median, stage_median = statistics.median(bare), statistics.median(stage)
    return (
        f"| {what} | {bare_median:.2f} s | {stage_median:.2f} s | "
        f"{bare_median / stage_median:.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side")
    parser.add_argument("--seconds", type=int, default=30, help="length of the source clip")
    args = parser.parse_args()
    # The stage's per-clip log line is not part of the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    bare: list[tuple[float, float]] = []
    stage: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="vvtv-bench-prep-") as scratch:
        work = Path(scratch)
        source = work / "source.mp4"
        _source(source, args.seconds)
        # Unmeasured: bring the source into the page cache for both sides alike.
        subprocess.run(loudnorm_measure_argv(source, PROFILE), capture_output=True, check=True)
        for index in range(args.rounds):
            for side in ("bare", "stage") if index % 2 == 0 else ("stage", "bare"):
                if side == "bare":
                    bare.append(_bare(source, work / "bare.mp4"))
                else:
                    stage.append(_stage(source, work / "stage"))
            print(
                f"round {index + 1}: bare {bare[-1][0]:.2f} s (cpu {bare[-1][1]:.2f} s), "
                f"stage {stage[-1][0]:.2f} s (cpu {stage[-1][1]:.2f} s)"
            )
    clip = f"{args.seconds} s 1280x720 30 fps, {args.rounds} rounds"
    print(
        "| measure | bare measure+encode (median) | prepare() (median) | "
        "ratio bare/stage (median; min-max of rounds) |\n|---|---|---|---|"
    )
    print(_row(f"wall, {clip}", [b[0] for b in bare], [s[0] for s in stage]))
    print(_row("CPU of ffmpeg/ffprobe", [b[1] for b in bare], [s[1] for s in stage]))
    print(f"target: ratio {TARGET} or more")


if __name__ == "__main__":
    main()
