"""Pure rules of sessions: the state machine, leases, handovers and cost. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "CostEstimate",
    "EDGES",
    "EGRESS_GB_PER_HOUR_PER_MBPS",
    "InvalidTransitionError",
    "State",
    "check_edge",
    "cost_estimate",
    "egress_gb_per_hour",
    "handover_between",
    "lease_expiry",
    "received_mbps",
]

State = Literal["creating", "active", "ending", "ended", "failed"]

# creating -> active -> ending -> ended | failed, and creating -> failed when the media
# endpoints could not be created; nothing else.
EDGES: frozenset[tuple[State, State]] = frozenset(
    {
        ("creating", "active"),
        ("creating", "failed"),
        ("active", "ending"),
        ("ending", "ended"),
        ("ending", "failed"),
    }
)

# GB/h = 0.439 x Mbps received x concurrent viewers (implementation plan, phase 8):
# 1 Mbit/s for an hour is 3600 / 8 / 1024 GB = 0.439 GB.
EGRESS_GB_PER_HOUR_PER_MBPS = 0.439


class InvalidTransitionError(ValueError):
    """A state change the state machine does not allow."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"a session cannot go from {current} to {wanted}")
        self.current, self.wanted = current, wanted


def check_edge(current: State, wanted: State) -> None:
    """Raise ``InvalidTransitionError`` unless ``current -> wanted`` is an edge."""
    if (current, wanted) not in EDGES:
        raise InvalidTransitionError(current, wanted)


def lease_expiry(now: datetime, ttl_s: float) -> datetime:
    """When a lease taken or renewed at ``now`` runs out."""
    if ttl_s <= 0:
        raise ValueError("a lease needs a positive time to live")
    return now + timedelta(seconds=ttl_s)


def handover_between(transitions: Mapping[str, str], target: str) -> str | None:
    """The handover hint (cut, crossfade, placeholder) the manifest gives for ``target``.

    ``transitions`` maps target modes to handovers for the current mode; ``None`` means
    the manifest does not allow that transition.
    """
    return transitions.get(target)


def received_mbps(video_max_kbps: int, audio_max_kbps: int, audio_enabled: bool) -> float:
    """Megabits per second a viewer receives at a profile's caps."""
    return (video_max_kbps + (audio_max_kbps if audio_enabled else 0)) / 1000


def egress_gb_per_hour(mbps: float, viewers: int) -> float:
    """Estimated egress rate in GB/h (0.439 x Mbps received x concurrent viewers)."""
    return EGRESS_GB_PER_HOUR_PER_MBPS * mbps * viewers


@dataclass(frozen=True)
class CostEstimate:
    """What a session cost, estimated from its profile, viewers and duration."""

    media_profile: str
    duration_s: float
    received_mbps: float
    concurrent_viewers: int
    estimated_egress_gb: float


def cost_estimate(
    media_profile: str, mbps: float, viewers: int, started: datetime, ended: datetime
) -> CostEstimate:
    """The estimate of a session that ran from ``started`` to ``ended``."""
    duration_s = max(0.0, (ended - started).total_seconds())
    egress = egress_gb_per_hour(mbps, viewers) * duration_s / 3600
    return CostEstimate(media_profile, duration_s, mbps, viewers, round(egress, 6))
