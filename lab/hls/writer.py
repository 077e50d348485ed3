"""The live media playlist the transmitter publishes: a sliding window, pure bookkeeping.

The writer numbers segments (``EXT-X-MEDIA-SEQUENCE`` only ever grows by one per
segment), marks ``EXT-X-DISCONTINUITY`` where the caller says a switch happened,
stamps ``EXT-X-PROGRAM-DATE-TIME`` on every segment, and slides the window: a
segment leaves once more than ``window_segments`` are listed, but never so that
the listed time falls under ``min_window_factor`` target durations (RFC 8216
6.2.2). A discontinuity that leaves the window is counted in
``EXT-X-DISCONTINUITY-SEQUENCE`` (6.2.1). Segments that left are kept on disk for
``keep_after_window`` more segments (clients holding an older playlist still fetch
them), then handed back for deletion. No I/O here except ``write_text_atomic``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lab.hls.rules import read_live_playlist

__all__ = ["LivePlaylistWriter", "LiveSegment", "write_text_atomic"]


@dataclass(frozen=True, slots=True)
class LiveSegment:
    """One published segment: its number, file name, length and markers."""

    sequence: int
    uri: str
    duration: float
    program_date_time: datetime
    discontinuity: bool

    @property
    def end(self) -> datetime:
        """The date and time its last sample ends."""
        return self.program_date_time + timedelta(seconds=self.duration)


class LivePlaylistWriter:
    """The sliding window of a live media playlist, rendered on demand."""

    def __init__(
        self,
        *,
        target_duration: int,
        window_segments: int = 6,
        min_window_factor: float = 3.0,
        keep_after_window: int = 3,
        first_sequence: int = 0,
        discontinuity_sequence: int = 0,
        uri_template: str = "seg_{sequence}.ts",
    ) -> None:
        if target_duration <= 0:
            raise ValueError(f"target_duration must be positive, got {target_duration}")
        if window_segments <= 0:
            raise ValueError(f"window_segments must be positive, got {window_segments}")
        if keep_after_window < 0:
            raise ValueError(f"keep_after_window must be >= 0, got {keep_after_window}")
        if first_sequence < 0 or discontinuity_sequence < 0:
            raise ValueError("sequence numbers start at 0")
        self.target_duration = target_duration
        self.window_segments = window_segments
        self.min_window_s = min_window_factor * target_duration
        self.keep_after_window = keep_after_window
        self._uri_template = uri_template
        self._window: deque[LiveSegment] = deque()
        self._retired: deque[LiveSegment] = deque()
        self._next_sequence = first_sequence
        self._discontinuity_sequence = discontinuity_sequence

    @classmethod
    def resume(
        cls,
        text: str,
        *,
        target_duration: int,
        window_segments: int = 6,
        min_window_factor: float = 3.0,
        keep_after_window: int = 3,
        uri_template: str = "seg_{sequence}.ts",
    ) -> LivePlaylistWriter:
        """Continue the playlist an earlier run left, so clients never see the numbers go back."""
        previous = read_live_playlist(text)
        writer = cls(
            target_duration=target_duration,
            window_segments=window_segments,
            min_window_factor=min_window_factor,
            keep_after_window=keep_after_window,
            first_sequence=previous.media_sequence,
            discontinuity_sequence=previous.discontinuity_sequence,
            uri_template=uri_template,
        )
        for segment in previous.segments:
            writer._window.append(
                LiveSegment(
                    sequence=segment.sequence,
                    uri=segment.uri,
                    duration=segment.duration,
                    program_date_time=segment.program_date_time or datetime.now(UTC),
                    discontinuity=segment.discontinuity,
                )
            )
        writer._next_sequence = previous.media_sequence + len(previous.segments)
        return writer

    @property
    def next_sequence(self) -> int:
        """The number the next appended segment gets."""
        return self._next_sequence

    @property
    def next_uri(self) -> str:
        """The file name the next appended segment must be published under."""
        return self.uri_for(self._next_sequence)

    def uri_for(self, sequence: int) -> str:
        """The file name of segment ``sequence``."""
        return self._uri_template.format(sequence=sequence)

    @property
    def media_sequence(self) -> int | None:
        """``EXT-X-MEDIA-SEQUENCE``: the number of the first listed segment; None when empty."""
        return self._window[0].sequence if self._window else None

    @property
    def discontinuity_sequence(self) -> int:
        """``EXT-X-DISCONTINUITY-SEQUENCE`` of the current window."""
        return self._discontinuity_sequence

    @property
    def segments(self) -> tuple[LiveSegment, ...]:
        """The listed segments, oldest first."""
        return tuple(self._window)

    @property
    def window_s(self) -> float:
        """The time the listed segments cover."""
        return sum(segment.duration for segment in self._window)

    @property
    def ready(self) -> bool:
        """True once the window is long enough to be served (a client needs 3 targets)."""
        return self.window_s >= self.min_window_s

    def append(
        self, duration: float, program_date_time: datetime, *, discontinuity: bool = False
    ) -> list[str]:
        """List the next segment (file ``next_uri``); returns the files now safe to delete."""
        if duration <= 0:
            raise ValueError(f"a segment lasts a positive time, got {duration}")
        if round(duration) > self.target_duration:
            raise ValueError(
                f"a {duration:.3f} s segment is over the {self.target_duration} s target"
            )
        if program_date_time.tzinfo is None:
            raise ValueError("program_date_time must be timezone-aware")
        pdt = program_date_time
        if self._window and pdt < self._window[-1].end:
            # The timeline never overlaps itself, even when a switch publishes early.
            pdt = self._window[-1].end
        self._window.append(
            LiveSegment(
                sequence=self._next_sequence,
                uri=self.next_uri,
                duration=duration,
                program_date_time=pdt,
                discontinuity=discontinuity,
            )
        )
        self._next_sequence += 1
        return self._slide()

    def render(self) -> str:
        """The playlist text, as clients read it."""
        first = self._window[0].sequence if self._window else self._next_sequence
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self._discontinuity_sequence}",
        ]
        for segment in self._window:
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(segment.program_date_time)}")
            lines.append(f"#EXTINF:{segment.duration:.6f},")
            lines.append(segment.uri)
        return "\n".join(lines) + "\n"

    def _slide(self) -> list[str]:
        while len(self._window) > self.window_segments:
            oldest = self._window[0]
            if self.window_s - oldest.duration < self.min_window_s:
                break
            self._window.popleft()
            if oldest.discontinuity:
                self._discontinuity_sequence += 1
            self._retired.append(oldest)
        expired = []
        while len(self._retired) > self.keep_after_window:
            expired.append(self._retired.popleft().uri)
        return expired


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a reader sees the old file or the new one."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temp).chmod(0o644)  # mkstemp makes it private; the file is served
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temp).unlink()
        raise


def _pdt(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
