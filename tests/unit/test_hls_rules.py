"""The live HLS rules on hand-written playlists: each rule kept, and each one broken."""

from __future__ import annotations

import pytest

from lab.hls import check_live_playlist, read_live_playlist


def _playlist(
    first: int = 10,
    durations: tuple[float, ...] = (2.0, 2.0, 2.0, 2.0),
    *,
    target: int = 2,
    discontinuity_before: frozenset[int] = frozenset(),
    discontinuity_sequence: int = 0,
    dates: bool = True,
    ended: bool = False,
) -> str:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}",
    ]
    for index, duration in enumerate(durations):
        number = first + index
        if number in discontinuity_before:
            lines.append("#EXT-X-DISCONTINUITY")
        if dates:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:2026-11-22T10:00:{number:02d}.000Z")
        lines += [f"#EXTINF:{duration:.3f},", f"seg{number}.ts"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _rules(text: str, **kwargs: object) -> set[str]:
    found = check_live_playlist(read_live_playlist(text), target_duration=2, **kwargs)  # type: ignore[arg-type]
    return {violation.rule for violation in found}


def test_a_good_live_playlist_keeps_every_rule() -> None:
    assert (
        _rules(
            _playlist(discontinuity_before=frozenset({12})), switches_after=frozenset({"seg11.ts"})
        )
        == set()
    )


@pytest.mark.parametrize(
    ("text", "kwargs", "rule"),
    [
        (_playlist(durations=(2.0, 2.6, 2.0, 2.0)), {}, "extinf"),  # 2.6 rounds to 3 > 2
        (_playlist(target=4), {}, "target_duration"),
        (_playlist(durations=(2.0, 2.0)), {}, "window"),  # 4 s < 3 x 2 s
        (_playlist(dates=False), {}, "program_date_time"),
        (_playlist(ended=True), {}, "live"),
        (_playlist(), {"switches_after": frozenset({"seg11.ts"})}, "discontinuity"),
    ],
)
def test_each_broken_rule_is_named(text: str, kwargs: dict[str, object], rule: str) -> None:
    assert rule in _rules(text, **kwargs)


def test_successive_reads_must_advance_without_gaps() -> None:
    first = read_live_playlist(_playlist(10, discontinuity_before=frozenset({11})))
    later = read_live_playlist(_playlist(12, discontinuity_sequence=1))
    assert check_live_playlist(later, target_duration=2, previous=first) == []
    gap = read_live_playlist(_playlist(15, discontinuity_sequence=1))
    assert "gap" in {v.rule for v in check_live_playlist(gap, target_duration=2, previous=first)}
    back = read_live_playlist(_playlist(9))
    assert "media_sequence" in {
        v.rule for v in check_live_playlist(back, target_duration=2, previous=first)
    }
    # The discontinuity at 11 slid out: the count must go up.
    stale = read_live_playlist(_playlist(12, discontinuity_sequence=0))
    assert "discontinuity_sequence" in {
        v.rule for v in check_live_playlist(stale, target_duration=2, previous=first)
    }


def test_a_master_playlist_is_not_a_live_media_playlist() -> None:
    master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow.m3u8\n"
    with pytest.raises(ValueError, match="TARGETDURATION"):
        read_live_playlist(master)
