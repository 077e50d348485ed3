"""`vvtv config validate` and `vvtv config show` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from vvtv.cli import cli as app

runner = CliRunner()


def _copy(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "manifests"
    shutil.copytree(root / "manifests", target)
    return target


def test_validate_real_manifests_exits_zero() -> None:
    result = runner.invoke(app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert "ok: manifests valid for tier(s) COST_LOW, COST_SAVER, COST_CRITICAL" in result.output


def test_validate_one_tier() -> None:
    result = runner.invoke(app, ["config", "validate", "--tier", "COST_SAVER"])
    assert result.exit_code == 0, result.output
    assert "COST_SAVER" in result.output and "COST_LOW" not in result.output


def test_unknown_tier_is_a_problem() -> None:
    result = runner.invoke(app, ["config", "validate", "--tier", "COST_NOPE"])
    assert result.exit_code == 1
    assert "ref.tier" in result.output and "COST_NOPE" in result.output


def test_every_problem_is_reported_at_once_with_location(root: Path, tmp_path: Path) -> None:
    folder = _copy(root, tmp_path)
    media = folder / "media-profiles.yaml"
    text = media.read_text()
    text = text.replace(
        "      audio: {enabled: false, max_bitrate_kbps: 0}\n      max_per_viewer: 12",
        "      audio: {enabled: true, max_bitrate_kbps: 0}\n      max_per_viewer: 12",
        1,
    )
    text = text.replace("to_layer: q120", "to_layer: q999", 1)
    media.write_text(text)
    tiers = folder / "cost-tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace("max_matches_per_hour: 40", "max_matches_per_hour: 90")
    )
    result = runner.invoke(app, ["config", "validate", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": " in line and "[" in line]
    rules = {line.split(": ")[1] for line in lines}
    assert {"media.thumb_no_audio", "media.degrade_layer", "tier.raises_limit"} <= rules, (
        result.output
    )
    raise_line = next(line for line in lines if "tier.raises_limit" in line)
    # file:line:column, rule id, a sentence naming the key and both values, a JSON pointer.
    assert "cost-tiers.yaml:" in raise_line
    assert "limits.random.max_matches_per_hour from 60 to 90" in raise_line
    assert raise_line.endswith("[/tiers/COST_SAVER/overrides/limits/random/max_matches_per_hour]")


def test_json_report(root: Path, tmp_path: Path) -> None:
    folder = _copy(root, tmp_path)
    (folder / "telemetry-events.yaml").write_text("privacy: [\n")
    result = runner.invoke(app, ["config", "validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    (problem,) = report["problems"]
    assert problem["rule"] == "yaml.syntax"
    assert problem["file"].endswith("telemetry-events.yaml")
    assert problem["line"] == 2


def test_malformed_yaml_is_a_clear_error_not_a_traceback(root: Path, tmp_path: Path) -> None:
    folder = _copy(root, tmp_path)
    (folder / "mode-manifests.yaml").write_text("modes:\n  party: {route: /party\n")
    result = runner.invoke(app, ["config", "validate", str(folder)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "mode-manifests.yaml:3:1: yaml.syntax: malformed YAML" in result.output


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    stray = tmp_path / "notes.yaml"
    stray.write_text("a: 1\n")
    result = runner.invoke(app, ["config", "validate", str(stray), str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "file.unknown" in result.output
    assert "file.missing" in result.output


def test_show_prints_the_effective_bundle() -> None:
    as_json = runner.invoke(app, ["config", "show", "--tier", "COST_CRITICAL", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    bundle = json.loads(as_json.output)
    assert bundle["tier"] == "COST_CRITICAL"
    assert bundle["kill_switches"]["random_enabled"] is False
    as_yaml = runner.invoke(app, ["config", "show", "--tier", "COST_CRITICAL", "--format", "yaml"])
    assert yaml.safe_load(as_yaml.output) == bundle


def test_show_refuses_an_unknown_tier() -> None:
    result = runner.invoke(app, ["config", "show", "--tier", "NOPE"])
    assert result.exit_code == 1
    assert "ref.tier" in result.output


def test_help_explains_every_subcommand() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "codegen", "config"):
        assert command in result.output
    for sub in (["config", "--help"], ["up", "--help"], ["codegen", "--help"]):
        assert runner.invoke(app, sub).exit_code == 0
