"""The session state machine, lease math and cost estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from runtime.sessions.rules import (
    EDGES,
    InvalidTransitionError,
    check_edge,
    cost_estimate,
    egress_gb_per_hour,
    handover_between,
    lease_expiry,
    received_mbps,
)

STATES = ("creating", "active", "ending", "ended", "failed")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_only_the_documented_edges_exist() -> None:
    assert {
        ("creating", "active"),
        ("creating", "failed"),  # the media endpoints could not be created
        ("active", "ending"),
        ("ending", "ended"),
        ("ending", "failed"),
    } == EDGES


@pytest.mark.parametrize(("current", "wanted"), list(product(STATES, STATES)))
def test_every_other_edge_is_refused(current: str, wanted: str) -> None:
    if (current, wanted) in EDGES:
        check_edge(current, wanted)  # type: ignore[arg-type]
    else:
        with pytest.raises(InvalidTransitionError) as caught:
            check_edge(current, wanted)  # type: ignore[arg-type]
        assert (caught.value.current, caught.value.wanted) == (current, wanted)


def test_lease_math() -> None:
    assert lease_expiry(T0, 2) == T0 + timedelta(seconds=2)
    with pytest.raises(ValueError, match="positive"):
        lease_expiry(T0, 0)


def test_handover_comes_from_the_manifest_transitions() -> None:
    party = {"broadcast": "crossfade", "random": "placeholder", "mirror": "cut"}
    assert handover_between(party, "random") == "placeholder"
    assert handover_between(party, "meeting") is None


def test_egress_formula_of_the_planning_documents() -> None:
    # GB/h = 0.439 x Mbps received x concurrent viewers.
    assert egress_gb_per_hour(1.0, 1) == pytest.approx(0.439)
    assert egress_gb_per_hour(0.18, 12) == pytest.approx(0.439 * 0.18 * 12)
    # thumb_low: 180 kbps, audio off.
    assert received_mbps(180, 0, False) == pytest.approx(0.18)
    assert received_mbps(1500, 48, True) == pytest.approx(1.548)


def test_cost_estimate_of_an_hour_long_private_call() -> None:
    estimate = cost_estimate("call_private", 1.548, 2, T0, T0 + timedelta(hours=1))
    assert estimate.duration_s == 3600
    assert estimate.estimated_egress_gb == pytest.approx(0.439 * 1.548 * 2, rel=1e-6)
    # A clock going backwards never yields a negative cost.
    assert cost_estimate("thumb_low", 0.18, 1, T0, T0 - timedelta(seconds=5)).duration_s == 0
