"""Pure rules of tiles: where a mode shows them, their budget, their cost. No I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from runtime.presence.rules import LISTED_IN
from runtime.sessions.rules import EGRESS_GB_PER_HOUR_PER_MBPS

__all__ = ["HourCost", "Surface", "budget", "hourly_costs", "silent", "surfaces"]


@dataclass(frozen=True)
class Surface:
    """Where a mode shows tiles: the thumbnail profile they play, whose presences."""

    media_profile: str
    visibilities: tuple[str, ...]


def surfaces(modes: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Surface]:
    """Each mode whose shell places a tile component, from its manifest.

    Tiles in the shell's rail show the rail's presences (the party rail's: visible and
    party-only); tiles anywhere else show the grid's (visible only). A mode is what its
    manifest composes, never a name in code.
    """
    found: dict[str, Surface] = {}
    for name, mode in modes.items():
        for region in ("stage", "rail", "overlays", "topbar"):
            for placement in getattr(mode.shell, region):
                component = components.get(placement.component)
                if component is None or not component.shows_tiles or not placement.media_profile:
                    continue
                listed = LISTED_IN["party" if region == "rail" else "grid"]
                found.setdefault(name, Surface(placement.media_profile, listed))
    return found


def budget(tiles_active: int, max_per_viewer: int) -> int:
    """Tiles one device may have open: the tier's budget within the profile's own cap."""
    return max(0, min(tiles_active, max_per_viewer))


def silent(audio_enabled: bool, audio_max_kbps: int) -> bool:
    """Whether a profile carries no audio (thumbnails never do)."""
    return not audio_enabled and audio_max_kbps == 0


@dataclass(frozen=True)
class HourCost:
    """What the tiles of one mode cost in one hour (implementation plan, phase 2)."""

    hour: datetime
    mode: str
    viewers: int
    tile_seconds: float
    mbps_hours: float  # tiles connected x profile bitrate x time

    @property
    def estimated_egress_gb(self) -> float:
        """GB = 0.439 x Mbps x hours (phase 8's GB/h = 0.439 x Mbps x viewers)."""
        return EGRESS_GB_PER_HOUR_PER_MBPS * self.mbps_hours


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_costs(
    rows: Iterable[Mapping[str, Any]], *, since: datetime, until: datetime
) -> list[HourCost]:
    """Tile time and egress per mode per hour between ``since`` and ``until``.

    A tile still open counts until ``until``; each tile's time is split over the hours
    it spans.
    """
    seconds: dict[tuple[datetime, str], float] = defaultdict(float)
    mbps_h: dict[tuple[datetime, str], float] = defaultdict(float)
    viewers: dict[tuple[datetime, str], set[Any]] = defaultdict(set)
    for row in rows:
        start = max(row["opened_at"], since)
        end = min(row["closed_at"] or until, until)
        cursor = start
        while cursor < end:
            step_end = min(_hour(cursor) + timedelta(hours=1), end)
            key = (_hour(cursor), row["mode"])
            span = (step_end - cursor).total_seconds()
            seconds[key] += span
            mbps_h[key] += row["bitrate_kbps"] / 1000 * span / 3600
            viewers[key].add(row["viewer_id"])
            cursor = step_end
    return [
        HourCost(
            hour, mode, len(viewers[(hour, mode)]), seconds[(hour, mode)], mbps_h[(hour, mode)]
        )
        for hour, mode in sorted(seconds)
    ]
