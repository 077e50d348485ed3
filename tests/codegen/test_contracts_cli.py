"""`vvtv contracts lint` and `vvtv contracts breaking` as CI runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from vvtv.cli import cli

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "contracts", project / "contracts")
    return project


def _edit(project: Path, change: object) -> None:
    path = project / "contracts" / "openapi" / "control-plane.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_lint_is_clean_on_the_real_contracts() -> None:
    result = runner.invoke(cli, ["contracts", "lint", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "ok: contracts lint clean" in result.output


def test_no_breaking_change_since_the_latest_release() -> None:
    result = runner.invoke(cli, ["contracts", "breaking", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output


def test_a_removed_operation_is_breaking_and_named(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _edit(project, lambda doc: doc["paths"].pop("/v1/sessions/{session_id}/heartbeat"))
    result = runner.invoke(cli, ["contracts", "breaking", "--root", str(project)])
    assert result.exit_code == 1
    assert "[breaking] operation.removed" in result.output
    assert "POST /v1/sessions/{session_id}/heartbeat" in result.output


def test_an_added_optional_response_field_is_not_breaking(tmp_path: Path) -> None:
    project = _project(tmp_path)

    def add_field(doc: dict) -> None:  # type: ignore[type-arg]
        doc["components"]["schemas"]["Session"]["properties"]["note"] = {"type": "string"}

    _edit(project, add_field)
    result = runner.invoke(cli, ["contracts", "breaking", "--root", str(project)])
    assert result.exit_code == 0, result.output
    assert "[non-breaking] response.field_added" in result.output


def test_against_an_unknown_ref_is_a_clear_error() -> None:
    result = runner.invoke(
        cli, ["contracts", "breaking", "--against", "no-such-ref", "--root", str(ROOT)]
    )
    assert result.exit_code == 2
    assert "no-such-ref" in result.output
