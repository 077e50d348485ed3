"""The presence expiry bound: the sweeper's lease and the worst case after the last heartbeat."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import RuleId, check_config, dump_bundle
from runtime.config.rules import expiry_within_bound
from runtime.presence.rules import GONE_WITHIN_MS, sweeper_lease_ms, worst_case_gone_ms


def test_the_bound_is_the_planning_documents_20_seconds() -> None:
    assert GONE_WITHIN_MS == 20_000


@pytest.mark.parametrize(
    ("interval_ms", "lease_ms"),
    [(50, 1000), (250, 1000), (251, 1004), (500, 2000), (1000, 4000), (60_000, 240_000)],
)
def test_lease_is_four_sweeps_and_never_below_a_second(interval_ms: int, lease_ms: int) -> None:
    assert sweeper_lease_ms(interval_ms) == lease_ms


@pytest.mark.parametrize(
    ("ttl_s", "interval_ms", "gone_ms"),
    [(15, 500, 17_500), (19, 500, 21_500), (17, 600, 20_000), (1, 50, 2050)],
)
def test_worst_case_is_ttl_plus_one_sweep_plus_the_lease(
    ttl_s: int, interval_ms: int, gone_ms: int
) -> None:
    assert worst_case_gone_ms(ttl_s, interval_ms) == gone_ms


def test_worst_case_grows_with_the_ttl_and_the_interval() -> None:
    for interval_ms in (50, 250, 251, 500, 4000):
        assert worst_case_gone_ms(16, interval_ms) > worst_case_gone_ms(15, interval_ms)
        assert worst_case_gone_ms(15, interval_ms + 1) > worst_case_gone_ms(15, interval_ms)


def _bundle(ttl_s: int, interval_ms: int) -> dict[str, Any]:
    bundle = dump_bundle(check_config(tier="COST_LOW").bundles["COST_LOW"])
    bundle["limits"]["presence"].update(anti_ghost_ttl_s=ttl_s, sweep_interval_ms=interval_ms)
    return bundle


@pytest.mark.parametrize(
    ("ttl_s", "interval_ms", "fires"),
    [(15, 500, False), (17, 599, False), (17, 600, True), (19, 500, True), (15, 1000, True)],
)
def test_the_config_rule_fires_when_the_worst_case_is_not_below_the_bound(
    ttl_s: int, interval_ms: int, fires: bool
) -> None:
    findings = list(expiry_within_bound(_bundle(ttl_s, interval_ms)))
    assert bool(findings) is fires
    for finding in findings:
        assert finding.rule is RuleId.PRESENCE_EXPIRY_WITHIN_BOUND
        assert finding.path == ("limits", "presence", "sweep_interval_ms")
        assert finding.related == (("limits", "presence", "anti_ghost_ttl_s"),)
        assert str(worst_case_gone_ms(ttl_s, interval_ms)) in finding.message


def test_every_real_tier_meets_the_bound() -> None:
    result = check_config(build=False)
    assert result.ok
    for tier in result.tiers:
        presence = dump_bundle(check_config(tier=tier).bundles[tier])["limits"]["presence"]
        gone = worst_case_gone_ms(presence["anti_ghost_ttl_s"], presence["sweep_interval_ms"])
        assert gone < GONE_WITHIN_MS, tier
