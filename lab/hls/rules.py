"""The live HLS rules of the broadcast, checked on a playlist as a client reads it.

From the LAB issue and RFC 8216: a constant ``EXT-X-TARGETDURATION`` and every
``EXTINF`` within it (rounded, as section 4.3.3.1 allows); a window of at least three
target durations; ``EXT-X-PROGRAM-DATE-TIME`` on the segments; ``EXT-X-DISCONTINUITY``
where one item gives way to another (the caller says where the switches are); and,
across successive reads, a media sequence that never goes back and never skips a
segment that was not yet seen (no gap). The parser is the m3u8 library; the rules are ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import m3u8  # type: ignore[import-untyped]

__all__ = ["LivePlaylist", "Violation", "check_live_playlist", "read_live_playlist"]


@dataclass(frozen=True)
class Segment:
    """One segment as listed: its number, length, file and markers."""

    sequence: int
    duration: float
    uri: str
    discontinuity: bool
    program_date_time: datetime | None


@dataclass(frozen=True)
class LivePlaylist:
    """What a live media playlist says, in our terms."""

    target_duration: int
    media_sequence: int
    discontinuity_sequence: int
    ended: bool
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    @property
    def window_s(self) -> float:
        """The time the listed segments cover."""
        return sum(segment.duration for segment in self.segments)


@dataclass(frozen=True)
class Violation:
    """A broken rule, named, with what was seen."""

    rule: str
    detail: str


def read_live_playlist(text: str) -> LivePlaylist:
    """Parse a media playlist; ``ValueError`` if it is not one."""
    parsed: Any = m3u8.loads(text)
    if parsed.is_variant or parsed.target_duration is None:
        raise ValueError("not a media playlist: no EXT-X-TARGETDURATION")
    first = int(parsed.media_sequence or 0)
    segments = tuple(
        Segment(
            sequence=first + index,
            duration=float(segment.duration),
            uri=str(segment.uri),
            discontinuity=bool(segment.discontinuity),
            program_date_time=segment.current_program_date_time,
        )
        for index, segment in enumerate(parsed.segments)
    )
    return LivePlaylist(
        target_duration=int(parsed.target_duration),
        media_sequence=first,
        discontinuity_sequence=int(parsed.discontinuity_sequence or 0),
        ended=bool(parsed.is_endlist),
        segments=segments,
    )


def check_live_playlist(
    playlist: LivePlaylist,
    *,
    target_duration: int,
    min_window_factor: float = 3.0,
    switches_after: frozenset[str] = frozenset(),
    previous: LivePlaylist | None = None,
) -> list[Violation]:
    """Every rule ``playlist`` breaks (empty when it keeps them all).

    ``switches_after``: segment URIs after which another item starts, so the next
    segment must carry ``EXT-X-DISCONTINUITY``. ``previous``: the playlist read before
    this one, for the sequence rules.
    """
    found: list[Violation] = []
    if playlist.ended:
        found.append(Violation("live", "EXT-X-ENDLIST on a live playlist"))
    if playlist.target_duration != target_duration:
        found.append(
            Violation(
                "target_duration",
                f"EXT-X-TARGETDURATION {playlist.target_duration}, expected {target_duration}",
            )
        )
    for segment in playlist.segments:
        # RFC 8216 4.3.3.1: each EXTINF, rounded to the nearest integer, <= the target.
        if round(segment.duration) > playlist.target_duration:
            found.append(
                Violation("extinf", f"{segment.uri}: {segment.duration:.3f} s over the target")
            )
        if segment.program_date_time is None:
            found.append(Violation("program_date_time", f"{segment.uri}: no date and time"))
    if playlist.window_s < min_window_factor * target_duration:
        found.append(
            Violation(
                "window",
                f"{playlist.window_s:.1f} s listed, at least {min_window_factor:g} x "
                f"{target_duration} s wanted",
            )
        )
    found += _discontinuities(playlist, switches_after)
    if previous is not None:
        found += _sequence(previous, playlist)
    return found


def _discontinuities(playlist: LivePlaylist, switches_after: frozenset[str]) -> list[Violation]:
    found = []
    for before, after in zip(playlist.segments, playlist.segments[1:], strict=False):
        if before.uri in switches_after and not after.discontinuity:
            found.append(
                Violation("discontinuity", f"{after.uri} starts a new item without a marker")
            )
    return found


def _sequence(previous: LivePlaylist, current: LivePlaylist) -> list[Violation]:
    found = []
    if current.media_sequence < previous.media_sequence:
        found.append(
            Violation(
                "media_sequence",
                f"went back from {previous.media_sequence} to {current.media_sequence}",
            )
        )
    last_seen = previous.media_sequence + len(previous.segments) - 1
    if current.media_sequence > last_seen + 1:
        found.append(
            Violation(
                "gap",
                f"segments {last_seen + 1}..{current.media_sequence - 1} were never listed",
            )
        )
    # RFC 8216 6.2.1: a discontinuity that slides out of the window is counted in
    # EXT-X-DISCONTINUITY-SEQUENCE, or clients lose their timeline.
    dropped = sum(
        1
        for segment in previous.segments
        if segment.discontinuity and segment.sequence < current.media_sequence
    )
    if current.discontinuity_sequence != previous.discontinuity_sequence + dropped:
        found.append(
            Violation(
                "discontinuity_sequence",
                f"{current.discontinuity_sequence}, expected "
                f"{previous.discontinuity_sequence + dropped}",
            )
        )
    # The same number must name the same segment in both reads.
    before = {segment.sequence: segment.uri for segment in previous.segments}
    for segment in current.segments:
        if segment.sequence in before and before[segment.sequence] != segment.uri:
            found.append(
                Violation(
                    "media_sequence",
                    f"segment {segment.sequence} was {before[segment.sequence]}, now {segment.uri}",
                )
            )
    return found
