"""Benchmark: wall time of a full regeneration (`vvtv codegen` on every target).

Runs the generator in a fresh process several times (rendering everything and
comparing with generated/, as `vvtv codegen --check` does) and prints the figures.
Usage: python ci/bench/codegen.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    for label, args in (("vvtv codegen --check", ["--check"]), ("vvtv codegen", [])):
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "vvtv", "codegen", *args],
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
            samples.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{label} failed:\n{done.stdout.decode()}{done.stderr.decode()}")
        files = sum(
            1
            for p in (ROOT / "generated").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        print(
            f"{label:22} min {min(samples):6.2f} s  median {statistics.median(samples):6.2f} s  "
            f"max {max(samples):6.2f} s  (n={runs}, {files} generated files)"
        )


if __name__ == "__main__":
    main()
