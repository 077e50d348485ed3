"""Running ffmpeg and ffprobe: bounded in time, never reading our stdin, errors that say why.

A stuck ffmpeg must not stall a stage: every run has a deadline, after which the whole
process is killed and waited for. A failure carries the exit status and the last lines
of stderr, which is where ffmpeg explains itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FfmpegError", "RunResult", "run"]

_STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class RunResult:
    """What a finished run printed, and how long it took."""

    argv: tuple[str, ...]
    stdout: bytes
    stderr: str
    elapsed_s: float


class FfmpegError(RuntimeError):
    """A run failed or overran its deadline; ``stderr_tail`` says what ffmpeg said."""

    def __init__(self, argv: Sequence[str], reason: str, stderr_tail: str = "") -> None:
        super().__init__(f"{argv[0]} {reason}" + (f": {stderr_tail}" if stderr_tail else ""))
        self.argv, self.reason, self.stderr_tail = tuple(argv), reason, stderr_tail


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_STDERR_TAIL_LINES:])


async def run(argv: Sequence[str], *, timeout_s: float) -> RunResult:
    """Run ``argv`` to the end within ``timeout_s``; ``FfmpegError`` otherwise."""
    if timeout_s <= 0:
        raise ValueError("a run needs a positive deadline")
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:  # not installed, not executable
        raise FfmpegError(argv, f"could not start ({exc.strerror or exc})") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        process.kill()
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        raise FfmpegError(argv, f"overran its {timeout_s:g} s deadline and was killed") from None
    except asyncio.CancelledError:
        process.kill()  # a cancelled stage leaves no ffmpeg behind
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        raise
    text = stderr.decode(errors="replace")
    if process.returncode != 0:
        raise FfmpegError(argv, f"exited with status {process.returncode}", _tail(text))
    return RunResult(tuple(argv), stdout, text, time.monotonic() - started)
