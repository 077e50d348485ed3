"""The live playlist writer, without ffmpeg: window, discontinuity sequence, PDT, deletions.

Every rendered playlist is read back with the broadcast rules (``lab.hls.rules``),
against the one rendered before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.hls.rules import LivePlaylist, check_live_playlist, read_live_playlist
from lab.hls.writer import LivePlaylistWriter, write_text_atomic

T0 = datetime(2025, 10, 22, 12, 0, 0, tzinfo=UTC)


def _writer(
    *, window_segments: int = 4, keep_after_window: int = 2, first_sequence: int = 0
) -> LivePlaylistWriter:
    return LivePlaylistWriter(
        target_duration=2,
        window_segments=window_segments,
        keep_after_window=keep_after_window,
        first_sequence=first_sequence,
    )


def _feed(
    writer: LivePlaylistWriter, durations: list[float], switches: set[int]
) -> tuple[list[LivePlaylist], list[str], frozenset[str]]:
    """Append segments (switch before each index in ``switches``); every read, every deletion."""
    reads: list[LivePlaylist] = []
    deleted: list[str] = []
    switch_after: set[str] = set()
    at = T0
    for index, duration in enumerate(durations):
        if index in switches and index > 0:
            switch_after.add(writer.uri_for(writer.next_sequence - 1))
        deleted += writer.append(duration, at, discontinuity=index in switches)
        at += timedelta(seconds=duration)
        if writer.ready:
            reads.append(read_live_playlist(writer.render()))
    return reads, deleted, frozenset(switch_after)


def test_every_read_keeps_the_live_rules() -> None:
    writer = _writer()
    durations = [2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 0.5, 2.0, 2.0, 2.0, 2.0, 1.5, 2.0, 2.0]
    reads, _, switches = _feed(writer, durations, switches={3, 7, 12})
    assert reads
    previous = None
    for playlist in reads:
        assert (
            check_live_playlist(
                playlist, target_duration=2, switches_after=switches, previous=previous
            )
            == []
        )
        previous = playlist


def test_window_holds_the_count_but_never_less_than_three_targets() -> None:
    writer = _writer(window_segments=3)
    writer.append(2.0, T0)
    writer.append(2.0, T0)
    writer.append(2.0, T0)
    assert len(writer.segments) == 3
    writer.append(0.5, T0)
    # Dropping the oldest would leave 4.5 s < 6 s: it stays.
    assert [s.sequence for s in writer.segments] == [0, 1, 2, 3]
    writer.append(2.0, T0)
    assert [s.sequence for s in writer.segments] == [1, 2, 3, 4]
    assert writer.media_sequence == 1
    assert writer.window_s == pytest.approx(6.5)


def test_not_ready_until_three_targets_are_listed() -> None:
    writer = _writer()
    writer.append(2.0, T0)
    writer.append(2.0, T0)
    assert not writer.ready
    writer.append(1.9, T0)
    assert not writer.ready
    writer.append(0.2, T0)
    assert writer.ready


def test_discontinuity_sequence_counts_markers_that_leave() -> None:
    writer = _writer(window_segments=3, keep_after_window=0)
    marks = [False, True, False, True, True, False, False, False]
    seen = []
    for mark in marks:
        writer.append(2.0, T0, discontinuity=mark)
        seen.append((writer.media_sequence, writer.discontinuity_sequence))
    # Markers on segments 1, 3 and 4; the window holds three segments.
    assert seen[-1] == (5, 3)
    assert seen[4] == (2, 1)
    text = writer.render()
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:3" in text
    assert "#EXT-X-MEDIA-SEQUENCE:5" in text


def test_program_date_time_on_every_segment_and_never_overlapping() -> None:
    writer = _writer()
    writer.append(2.0, T0)
    # Published early (a switch): the timeline still continues where it was.
    writer.append(2.0, T0 + timedelta(seconds=1))
    writer.append(2.0, T0 + timedelta(seconds=10))
    pdts = [s.program_date_time for s in writer.segments]
    assert pdts == [T0, T0 + timedelta(seconds=2), T0 + timedelta(seconds=10)]
    text = writer.render()
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == 3
    assert "#EXT-X-PROGRAM-DATE-TIME:2025-10-22T12:00:02.000Z" in text
    parsed = read_live_playlist(text)
    assert [s.program_date_time for s in parsed.segments] == pdts


def test_deletion_list_trails_the_window() -> None:
    writer = _writer(window_segments=3, keep_after_window=2)
    deleted = []
    for _ in range(10):
        deleted += writer.append(2.0, T0)
    listed = [s.sequence for s in writer.segments]
    assert listed == [7, 8, 9]
    # 5 and 6 left the window but stay on disk for clients with an older playlist.
    assert deleted == [f"seg_{n}.ts" for n in range(5)]


def test_sequence_and_uris_are_global_and_contiguous() -> None:
    writer = _writer(first_sequence=40)
    assert writer.next_uri == "seg_40.ts"
    writer.append(2.0, T0)
    writer.append(2.0, T0)
    assert [s.uri for s in writer.segments] == ["seg_40.ts", "seg_41.ts"]
    assert writer.next_sequence == 42


def test_segment_over_the_target_is_refused() -> None:
    writer = _writer()
    writer.append(2.4, T0)  # rounds to the target: allowed (RFC 8216 4.3.3.1)
    with pytest.raises(ValueError, match="over"):
        writer.append(2.6, T0)
    with pytest.raises(ValueError, match="timezone"):
        writer.append(1.0, datetime(2025, 1, 1))  # naive: the point of the test
    assert writer.next_sequence == 1


def test_resume_continues_an_earlier_playlist() -> None:
    first = _writer()
    for _ in range(7):
        first.append(2.0, T0, discontinuity=first.next_sequence == 2)
    before = read_live_playlist(first.render())
    resumed = LivePlaylistWriter.resume(
        first.render(), target_duration=2, window_segments=4, keep_after_window=2
    )
    assert resumed.media_sequence == before.media_sequence
    assert resumed.next_sequence == 7
    resumed.append(2.0, T0 + timedelta(hours=1), discontinuity=True)
    after = read_live_playlist(resumed.render())
    assert check_live_playlist(after, target_duration=2, previous=before) == []
    assert after.segments[-1].discontinuity


def test_write_text_atomic_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "main.m3u8"
    write_text_atomic(target, "one\n")
    write_text_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["main.m3u8"]
    assert target.stat().st_mode & 0o777 == 0o644
