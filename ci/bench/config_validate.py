"""Benchmark: wall time of `vvtv config validate` on the real manifests.

Prints, side by side in one run, the whole command (process start included) and the
in-process pipeline with and without building the typed bundles.
Usage: python ci/bench/config_validate.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (
        f"min {ms[0]:7.1f} ms  median {statistics.median(ms):7.1f} ms  "
        f"max {ms[-1]:7.1f} ms  (n={len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs

    command = [sys.executable, "-m", "vvtv", "config", "validate"]
    wall: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        wall.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"vvtv config validate failed:\n{done.stdout.decode()}{done.stderr.decode()}")

    sys.path.insert(0, str(ROOT))
    from runtime.config import check_config  # noqa: PLC0415

    check_config(build=True)  # warm imports once; the loops below time the work alone
    checks: list[float] = []
    builds: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        check_config(build=False)
        checks.append(time.perf_counter() - start)
        start = time.perf_counter()
        check_config(build=True)
        builds.append(time.perf_counter() - start)

    print(f"vvtv config validate (process, wall)     {_stats(wall)}")
    print(f"check_config(build=False) (in process)   {_stats(checks)}")
    print(f"check_config(build=True)  (in process)   {_stats(builds)}")
    print("target: whole command under 1000 ms wall")


if __name__ == "__main__":
    main()
