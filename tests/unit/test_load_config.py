"""`load_config`: the bundle a process runs with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.config import ConfigError, RuleId, load_config


def test_default_and_chosen_tier() -> None:
    assert load_config().tier == "COST_LOW"
    assert load_config("COST_SAVER").tier == "COST_SAVER"


def test_a_broken_tier_fails_even_when_another_is_in_use(root: Path, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    shutil.copytree(root / "manifests", manifests)
    tiers = manifests / "cost-tiers.yaml"
    text = tiers.read_text().replace("max_skips_per_minute: 6", "max_skips_per_minute: 30")
    tiers.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config("COST_LOW", manifests_dir=manifests)
    (problem,) = caught.value.problems
    assert problem.rule is RuleId.TIER_RAISES_LIMIT
    assert "kill_switches.max_skips_per_minute from 12 to 30" in problem.message


def test_unknown_tier_is_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("COST_NOPE")
    (problem,) = caught.value.problems
    assert problem.rule is RuleId.REF_TIER
    assert problem.file.endswith("cost-tiers.yaml") and problem.line > 1
