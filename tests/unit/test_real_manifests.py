"""The real manifests pass, carry the planning documents' numbers, and round-trip."""

from __future__ import annotations

import json

import pytest

from runtime.config import check_config, dump_bundle, load_config
from runtime.config.schemas import BUNDLE_SCHEMA, SchemaSet
from runtime.settings import Settings


@pytest.fixture(scope="module")
def result():
    return check_config()


def test_every_tier_is_valid(result) -> None:
    assert result.problems == []
    assert result.tiers == ["COST_LOW", "COST_SAVER", "COST_CRITICAL"]
    assert set(result.bundles) == set(result.tiers)


def test_schemas_are_valid_json_schema_2020_12() -> None:
    SchemaSet(Settings().schemas_dir).check_schemas()


def test_bundles_dumped_to_json_validate_against_the_schemas_again(result) -> None:
    schemas = SchemaSet(Settings().schemas_dir)
    for bundle in result.bundles.values():
        data = json.loads(json.dumps(dump_bundle(bundle)))
        assert schemas.violations(BUNDLE_SCHEMA, data) == []


def test_default_tier_is_cost_low_with_the_published_numbers() -> None:
    bundle = load_config()
    assert bundle.tier == "COST_LOW"
    thumb = bundle.media.profiles["thumb_low"]
    assert thumb.kind == "thumb"
    assert (thumb.caps.resolution.height, thumb.caps.fps, thumb.caps.max_bitrate_kbps) == (
        180,
        8,
        180,
    )
    assert thumb.caps.audio.enabled is False
    degrade = next(layer for layer in thumb.layers if layer.name == thumb.degrade.to_layer)
    assert (degrade.resolution.height, degrade.fps) == (120, 4)
    assert thumb.degrade.reconnect is False
    random = bundle.limits.random
    assert random.cooldown_schedule_s == [0, 0, 0, 3, 5, 8, 15, 30, 60]
    assert random.min_time_before_skip_ms == 2000
    assert random.reconnect.max_attempts_per_minute == 2
    assert random.quarantine.account_age_below_days == 3
    assert random.quarantine.max_matches_per_hour == 20
    assert random.max_matches_per_hour == 60
    presence = bundle.limits.presence
    assert (presence.tiles_active.desktop, presence.tiles_active.mobile) == (12, 6)
    assert presence.anti_ghost_ttl_s == 15
    assert presence.out_of_viewport_disconnect_ms == 2000
    assert bundle.limits.consent.timeout_s == 20
    assert bundle.kill_switches.max_skips_per_minute == 12
    assert bundle.telemetry.sampling.qos_default_rate == 0.10
    assert bundle.telemetry.sampling.qos_incident_rate == 1.0
    assert bundle.telemetry.funnel[:5] == [
        "app_open",
        "view_broadcast",
        "click_login",
        "auth_success",
        "enter_mode",
    ]


def test_modes_have_the_documented_routes_and_separation() -> None:
    modes = load_config().modes.modes
    routes = {name: mode.route for name, mode in modes.items()}
    assert routes["broadcast"] == "/"
    assert routes["party"] == "/party"
    assert routes["sniffers"] == "/sniffers"
    assert routes["random"] == "/random"
    assert routes["private_call"] == "/call/{token}"
    assert routes["mirror"] == "/mirror"
    assert {"meeting", "live_public", "performer_room"} <= set(modes)
    live = modes["live_public"]
    assert live.policies.separate_ecosystem_from_party is True
    assert all(p.component != "PresenceRail" for p in live.shell.rail)
    assert modes["private_call"].policies.consent_required is True


def test_tiers_only_tighten(result) -> None:
    low, saver, critical = (result.bundles[t] for t in ("COST_LOW", "COST_SAVER", "COST_CRITICAL"))
    assert critical.kill_switches.random_enabled is False
    for tight in (saver, critical):
        assert tight.limits.random.max_matches_per_hour <= low.limits.random.max_matches_per_hour
        assert (
            tight.limits.presence.tiles_active.desktop <= low.limits.presence.tiles_active.desktop
        )
        for name, profile in tight.media.profiles.items():
            assert profile.caps.max_bitrate_kbps <= low.media.profiles[name].caps.max_bitrate_kbps
            # Clamps: no layer stays above a tier's lowered caps.
            for layer in profile.layers:
                assert layer.fps <= profile.caps.fps
                assert layer.max_bitrate_kbps <= profile.caps.max_bitrate_kbps


def test_config_hash_is_stable_and_tier_specific(result) -> None:
    again = check_config()
    hashes = {t: b.config_hash for t, b in result.bundles.items()}
    assert hashes == {t: b.config_hash for t, b in again.bundles.items()}
    assert len(set(hashes.values())) == len(hashes)
