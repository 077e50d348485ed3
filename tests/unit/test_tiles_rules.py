"""The pure rules of tiles: where modes show them, budgets, silence, and the hourly cost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.config import load_config
from runtime.tiles.rules import HourCost, Surface, budget, hourly_costs, silent, surfaces

H10 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
VIEWER_A, VIEWER_B = uuid.UUID(int=1), uuid.UUID(int=2)

# ---------------------------------------------------------------------- surfaces


def test_the_real_manifests_show_tiles_in_the_party_rail_and_the_sniffers_grid() -> None:
    config = load_config()
    found = surfaces(config.modes.modes, config.modes.components)
    assert found == {
        "party": Surface("thumb_low", ("visible", "party_only")),
        "sniffers": Surface("thumb_low", ("visible",)),
    }


def _mode(**regions: list[tuple[str, str | None]]) -> Any:
    shell = {
        region: [
            SimpleNamespace(component=component, media_profile=profile)
            for component, profile in regions.get(region, [])
        ]
        for region in ("stage", "rail", "overlays", "topbar")
    }
    return SimpleNamespace(shell=SimpleNamespace(**shell))


COMPONENTS = {
    "Tiles": SimpleNamespace(shows_tiles=True),
    "Player": SimpleNamespace(shows_tiles=False),
}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (_mode(rail=[("Tiles", "thumb")]), Surface("thumb", ("visible", "party_only"))),
        (_mode(stage=[("Tiles", "thumb")]), Surface("thumb", ("visible",))),
        (_mode(overlays=[("Tiles", "thumb")]), Surface("thumb", ("visible",))),
        (_mode(topbar=[("Tiles", "thumb")]), Surface("thumb", ("visible",))),
        # the first placement that shows tiles decides (stage before rail)
        (
            _mode(stage=[("Tiles", "grid")], rail=[("Tiles", "rail")]),
            Surface("grid", ("visible",)),
        ),
        (
            _mode(stage=[("Player", "hls")], rail=[("Tiles", "t")]),
            Surface("t", ("visible", "party_only")),
        ),
        (_mode(stage=[("Player", "hls")]), None),  # no tile component
        (_mode(rail=[("Tiles", None)]), None),  # a tile component without a profile
        (_mode(rail=[("Unknown", "thumb")]), None),  # not a component of the kit
        (_mode(), None),
    ],
)
def test_surfaces_follow_the_shell_composition(mode: Any, expected: Surface | None) -> None:
    found = surfaces({"m": mode}, COMPONENTS)
    assert found.get("m") == expected
    assert set(found) <= {"m"}


# ---------------------------------------------------------------------- budget and silence


@pytest.mark.parametrize(
    ("tiles_active", "max_per_viewer", "expected"),
    [(12, 12, 12), (6, 12, 6), (12, 8, 8), (8, 12, 8), (0, 12, 0), (12, 0, 0), (-3, 12, 0)],
)
def test_budget_is_the_tier_within_the_profile_cap(
    tiles_active: int, max_per_viewer: int, expected: int
) -> None:
    assert budget(tiles_active, max_per_viewer) == expected


@pytest.mark.parametrize(
    ("enabled", "max_kbps", "expected"),
    [(False, 0, True), (True, 0, False), (False, 32, False), (True, 32, False)],
)
def test_silent_only_without_audio_and_at_zero_kbps(
    enabled: bool, max_kbps: int, expected: bool
) -> None:
    assert silent(enabled, max_kbps) is expected


def test_the_real_thumbnail_profile_is_silent() -> None:
    audio = load_config().media.profiles["thumb_low"].caps.audio
    assert silent(audio.enabled, audio.max_bitrate_kbps)


# ---------------------------------------------------------------------- hourly costs


def _tile(
    start: timedelta,
    end: timedelta | None,
    *,
    viewer: uuid.UUID = VIEWER_A,
    mode: str = "party",
    kbps: int = 180,
) -> dict[str, Any]:
    return {
        "viewer_id": viewer,
        "mode": mode,
        "bitrate_kbps": kbps,
        "opened_at": H10 + start,
        "closed_at": None if end is None else H10 + end,
    }


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def test_a_tile_across_an_hour_boundary_is_split_between_the_hours() -> None:
    rows = [_tile(_minutes(30), _minutes(75))]
    costs = hourly_costs(rows, since=H10, until=H10 + timedelta(hours=3))
    assert [(c.hour, c.mode, c.viewers, c.tile_seconds) for c in costs] == [
        (H10, "party", 1, 1800.0),
        (H10 + timedelta(hours=1), "party", 1, 900.0),
    ]
    assert costs[0].mbps_hours == pytest.approx(0.18 * 0.5)
    assert costs[1].mbps_hours == pytest.approx(0.18 * 0.25)


def test_an_open_tile_counts_until_until() -> None:
    until = H10 + _minutes(100)
    costs = hourly_costs([_tile(_minutes(50), None)], since=H10, until=until)
    assert [(c.hour, c.tile_seconds) for c in costs] == [
        (H10, 600.0),
        (H10 + timedelta(hours=1), 2400.0),
    ]


def test_time_outside_the_window_does_not_count() -> None:
    since, until = H10 + _minutes(15), H10 + _minutes(45)
    rows = [
        _tile(_minutes(0), _minutes(60)),  # clipped to 30 minutes
        _tile(_minutes(50), _minutes(55), viewer=VIEWER_B),  # after the window
        _tile(_minutes(-30), _minutes(10), viewer=VIEWER_B),  # before it
    ]
    costs = hourly_costs(rows, since=since, until=until)
    assert [(c.hour, c.viewers, c.tile_seconds) for c in costs] == [(H10, 1, 1800.0)]


def test_egress_is_0_439_gb_per_mbps_hour() -> None:
    one_hour = hourly_costs([_tile(_minutes(0), _minutes(60))], since=H10, until=H10 + _minutes(60))
    assert one_hour[0].mbps_hours == pytest.approx(0.18)
    assert one_hour[0].estimated_egress_gb == pytest.approx(0.439 * 0.18)
    assert HourCost(H10, "party", 3, 0.0, 2.5).estimated_egress_gb == pytest.approx(0.439 * 2.5)


def test_viewers_are_counted_once_per_hour_and_mode() -> None:
    rows = [
        _tile(_minutes(0), _minutes(10)),
        _tile(_minutes(20), _minutes(30)),  # the same viewer again
        _tile(_minutes(5), _minutes(15), viewer=VIEWER_B),
        _tile(_minutes(0), _minutes(60), viewer=VIEWER_B, mode="sniffers", kbps=80),
    ]
    costs = hourly_costs(rows, since=H10, until=H10 + timedelta(hours=2))
    by_mode = {c.mode: c for c in costs}
    assert [c.mode for c in costs] == ["party", "sniffers"]  # sorted by hour, then mode
    assert by_mode["party"].viewers == 2
    assert by_mode["party"].tile_seconds == 1800.0
    assert by_mode["party"].mbps_hours == pytest.approx(0.18 * 0.5)
    assert by_mode["sniffers"].viewers == 1
    assert by_mode["sniffers"].mbps_hours == pytest.approx(0.08)
    assert by_mode["sniffers"].estimated_egress_gb == pytest.approx(0.439 * 0.08)


def test_no_tiles_no_costs() -> None:
    assert hourly_costs([], since=H10, until=H10 + timedelta(hours=1)) == []
